package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/curtainhq/curtain/core"
)

// BenchmarkRecord measures Record of one host batch (32 clicks, the order
// of what the click batcher sends every 5 ms under load) against a real
// redis-server: the plugin's time and allocations per batch, and the
// CPU of the whole benchmark process per click (client-us/click) and the
// server's CPU per click (redis-us/click, from INFO cpu, so other load on
// the machine does not count). "spread" clicks 1000 codes in turn, as the
// harness's redirect load does; "hot" clicks one code, as a campaign
// link does.
//
//	go test -run '^$' -bench 'BenchmarkRecord$' -count 10 ./plugins/redis/
func BenchmarkRecord(b *testing.B) {
	const batch = 32
	srv := startServer(b)
	raw := srv.client()
	shard := newTestShard(b, testSettings(srv, ""))
	for _, bc := range []struct {
		name  string
		codes int
	}{{"spread", 1000}, {"hot", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := b.Context()
			codes := make([]string, bc.codes)
			for i := range codes {
				codes[i] = fmt.Sprintf("bnch%04d", i)
			}
			clicks := make([]core.Click, batch)
			n := 0
			var flushCPU int64 // the server's CPU spent flushing, not recording
			cpu0, self0 := redisCPU(ctx, b, raw), selfCPU(b)
			for b.Loop() {
				at := time.Now()
				for i := range clicks {
					clicks[i] = core.Click{ID: strconv.Itoa(n), Code: codes[n%len(codes)], Visitor: "203.0.113.7", At: at}
					n++
				}
				if err := shard.Record(ctx, clicks); err != nil {
					b.Fatal(err)
				}
				if n%(batch*512) == 0 { // keep the streams short, as a consumer does
					b.StopTimer()
					before := redisCPU(ctx, b, raw)
					if err := raw.FlushAll(ctx).Err(); err != nil {
						b.Fatal(err)
					}
					flushCPU += redisCPU(ctx, b, raw) - before
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(selfCPU(b)-self0)/float64(n), "client-us/click")
			b.ReportMetric(float64(redisCPU(ctx, b, raw)-cpu0-flushCPU)/float64(n), "redis-us/click")
		})
	}
}

// selfCPU returns the CPU time this process has used, in microseconds:
// Record's and the collector's, as a plugin process spends them.
func selfCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano()/1e3 + ru.Stime.Nano()/1e3
}

// redisCPU returns the CPU time the server has used, in microseconds.
func redisCPU(ctx context.Context, b *testing.B, raw *goredis.Client) int64 {
	info, err := raw.Info(ctx, "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var us int64
	for _, field := range []string{"used_cpu_sys:", "used_cpu_user:"} {
		_, rest, _ := strings.Cut(info, field)
		v, _, _ := strings.Cut(rest, "\r\n")
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			b.Fatalf("INFO cpu %s %q: %v", field, v, err)
		}
		us += int64(f * 1e6)
	}
	return us
}
