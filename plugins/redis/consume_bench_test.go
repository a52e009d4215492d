package redis

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/curtainhq/curtain/core"
)

// redisCPU returns the CPU time (user and system) the server has used.
func redisCPU(b *testing.B, raw *goredis.Client) time.Duration {
	b.Helper()
	var total float64
	for line := range strings.Lines(raw.Info(b.Context(), "cpu").Val()) {
		for _, f := range []string{"used_cpu_user:", "used_cpu_sys:"} {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), f); ok {
				s, _ := strconv.ParseFloat(v, 64)
				total += s
			}
		}
	}
	return time.Duration(total * float64(time.Second))
}

// ownCPU returns the CPU time this process has used.
func ownCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkConsume measures the consume side per click: each round records
// perRound clicks over codes codes (in batches of 100, as the host flushes
// them), then a consumer reads batches of up to readCount and acknowledges
// them until it has them all. It reports the CPU time the Redis server and
// this process (the plugin's share: reading, parsing, acknowledging) spend
// per click during the consume phase only. The shapes: two clicks a stream
// per read, and the harness's (one of two shards under its redirect load:
// 512 codes, a 250 ms linger's clicks, the default consumer.batch_size).
//
//	go test -run '^$' -bench 'BenchmarkConsume$' -count 6 ./plugins/redis/
func BenchmarkConsume(b *testing.B) {
	for _, shape := range []struct {
		name                       string
		codes, perRound, readCount int
	}{
		{"2perStream", 1000, 2000, 1000},
		{"harness", 512, 2200, 4000},
	} {
		b.Run(shape.name, func(b *testing.B) { benchmarkConsume(b, shape.codes, shape.perRound, shape.readCount) })
	}
}

func benchmarkConsume(b *testing.B, codes, perRound, readCount int) {
	const batch = 100
	srv := startServer(b)
	raw := srv.client()
	producer := newTestShard(b, testSettings(srv, ""))
	consumer := newTestShard(b, testSettings(srv, ""))
	ctx := b.Context()
	n := 0
	record := func() {
		for i := 0; i < perRound; i += batch {
			clicks := make([]core.Click, batch)
			for j := range clicks {
				n++
				clicks[j] = core.Click{ID: strconv.Itoa(n), Code: fmt.Sprintf("c%04d", n%codes), Visitor: "198.51.100.7", At: time.Now(),
					UserAgent: "Mozilla/5.0 (X11; Linux x86_64) bench", Target: "https://example.com/landing"}
			}
			if err := producer.Record(ctx, clicks); err != nil {
				b.Fatal(err)
			}
		}
	}
	// consume reads until it has every click of the round; a read may
	// block (Block 500ms) while the reader rediscovers streams.
	consume := func() int {
		got := 0
		for got < perRound {
			ds, err := consumer.Read(ctx, core.ReadRequest{Group: group, Consumer: "c", Count: readCount, Block: 500 * time.Millisecond, MinIdle: 30 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			if len(ds) == 0 {
				return got
			}
			got += len(ds)
			ids := make([]core.DeliveryID, len(ds))
			for i, d := range ds {
				ids[i] = core.DeliveryID{Code: d.Click.Code, ID: d.ID}
			}
			if err := consumer.Ack(ctx, core.AckRequest{Group: group, IDs: ids}); err != nil {
				b.Fatal(err)
			}
		}
		return got
	}
	record()
	consume() // the start-up sweep, groups, scripts
	raw.ConfigResetStat(ctx)
	var redisTime, ownTime time.Duration
	clicks := 0
	for b.Loop() {
		b.StopTimer()
		record()
		r0, o0 := redisCPU(b, raw), ownCPU()
		b.StartTimer()
		got := consume()
		b.StopTimer()
		redisTime += redisCPU(b, raw) - r0
		ownTime += ownCPU() - o0
		b.StartTimer()
		if got < perRound {
			b.Fatalf("consumed %d clicks, want %d", got, perRound)
		}
		clicks += got
	}
	if testing.Verbose() {
		b.Log(raw.Info(ctx, "commandstats").Val())
	}
	b.ReportMetric(float64(redisTime.Microseconds())/float64(clicks), "redis-us/click")
	b.ReportMetric(float64(ownTime.Microseconds())/float64(clicks), "client-us/click")
	b.ReportMetric(0, "ns/op")
}
