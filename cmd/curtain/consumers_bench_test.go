package main

import (
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/redis"
)

// BenchmarkConsumers measures how fast 1 and 2 `curtain consume` processes
// store a backlog of clicks from two Redis shards into PostgreSQL. Each
// iteration pauses the consumers (SIGSTOP), records clicksPerRound clicks
// through the Redis click-shard plugin, then resumes them and times the
// drain until every click is an event. The figure is events stored per
// second; on a two-core machine the consumers share the cores with
// PostgreSQL and Redis, so it shows the pipeline's cost, not how far more
// consumers scale on more machines.
//
//	go test -run '^$' -bench BenchmarkConsumers -benchtime 3x ./cmd/curtain/
func BenchmarkConsumers(b *testing.B) {
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("consumers=%d", n), func(b *testing.B) { benchConsumers(b, n) })
	}
}

const clicksPerRound = 20000

func benchConsumers(b *testing.B, consumers int) {
	tp := newTopology(b, newDatabase(b), 2)
	s := startServer(b, b.TempDir(), tp.env()...)
	codes := createURLs(b, s, 50)
	var shards []*redis.ClickShard
	for _, r := range tp.shards {
		sh, err := redis.NewClickShard(redis.Settings{URL: "redis://" + r.addr + "/0", DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { sh.Close() })
		shards = append(shards, sh)
	}
	var procs []*process
	for i := range consumers {
		procs = append(procs, startConsumer(b, tp.env(), "bench"+strconv.Itoa(i)))
	}
	time.Sleep(2 * time.Second) // the consumers start their plugins and join the group
	signal := func(sig syscall.Signal) {
		for _, p := range procs {
			if err := p.cmd.Process.Signal(sig); err != nil {
				b.Error(err)
			}
		}
	}
	// A stopped consumer cannot stop: resume them before their cleanup.
	b.Cleanup(func() { signal(syscall.SIGCONT) })
	var stored int64
	var elapsed time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		signal(syscall.SIGSTOP)
		recordBacklog(b, shards, codes, i)
		b.StartTimer()
		start := time.Now()
		signal(syscall.SIGCONT)
		stored += clicksPerRound
		for {
			n, distinct := storedClicks(b, tp.dbURL)
			if n != distinct {
				b.Fatalf("%d events for %d distinct clicks", n, distinct)
			}
			if n >= stored {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		elapsed += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(clicksPerRound*b.N)/elapsed.Seconds(), "events/s")
}

// recordBacklog writes clicksPerRound clicks over codes, half on each
// shard, in batches as the host's batcher sends them.
func recordBacklog(b *testing.B, shards []*redis.ClickShard, codes []string, round int) {
	b.Helper()
	const batch = 500
	now := time.Now().UTC()
	for off := 0; off < clicksPerRound; off += batch {
		clicks := make([]core.Click, batch)
		for j := range clicks {
			k := off + j
			clicks[j] = core.Click{
				ID:      fmt.Sprintf("bench-%d-%d", round, k),
				Code:    codes[k%len(codes)],
				Visitor: fmt.Sprintf("10.0.%d.%d", k/250%250, k%250),
				At:      now,
			}
		}
		if err := shards[(off/batch)%len(shards)].Record(b.Context(), clicks); err != nil {
			b.Fatal(err)
		}
	}
}
