package redis

import (
	"fmt"
	"strconv"
	"testing"
	"time"

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
			var flushCPU time.Duration // the server's CPU spent flushing, not recording
			cpu0, self0 := redisCPU(b, raw), ownCPU()
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
					before := redisCPU(b, raw)
					if err := raw.FlushAll(ctx).Err(); err != nil {
						b.Fatal(err)
					}
					flushCPU += redisCPU(b, raw) - before
					b.StartTimer()
				}
			}
			b.ReportMetric(float64((ownCPU()-self0).Microseconds())/float64(n), "client-us/click")
			b.ReportMetric(float64((redisCPU(b, raw)-cpu0-flushCPU).Microseconds())/float64(n), "redis-us/click")
		})
	}
}
