package main

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
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

// BenchmarkShardRecord measures one Redis click shard (a redis-server with
// the fsync'd append-only file the tests use) taking batches of 256 clicks
// through the Redis click-shard plugin code, four batches in flight as the
// host's batcher can have, and the memory each click holds in Redis until
// the consumer has stored it (stream entry, counters, buckets, sketch).
//
//	go test -run '^$' -bench BenchmarkShardRecord ./cmd/curtain/
func BenchmarkShardRecord(b *testing.B) {
	r := startRedis(b)
	sh, err := redis.NewClickShard(redis.Settings{URL: "redis://" + r.addr + "/0", DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sh.Close() })
	codes := make([]string, 1000)
	for i := range codes {
		codes[i] = core.ShortCode(int64(i + 1))
	}
	before := usedMemory(b, r)
	const batch = 256
	var seq atomic.Int64
	b.SetParallelism(2) // 2 × GOMAXPROCS(2) = 4 batches in flight
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		clicks := make([]core.Click, batch)
		for pb.Next() {
			n := seq.Add(batch)
			for j := range clicks {
				k := n + int64(j)
				clicks[j] = core.Click{ID: "c" + strconv.FormatInt(k, 36), Code: codes[k%int64(len(codes))],
					Visitor: fmt.Sprintf("10.%d.%d.%d", k>>16&255, k>>8&255, k&255), At: time.Now().UTC()}
			}
			if err := sh.Record(context.Background(), clicks); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	total := float64(b.N * batch)
	b.ReportMetric(total/b.Elapsed().Seconds(), "clicks/s")
	b.ReportMetric(float64(usedMemory(b, r)-before)/total, "bytes/click")
	b.ReportMetric(0, "ns/op")
}

// usedMemory reads used_memory from INFO memory.
func usedMemory(b *testing.B, r *redisServer) int64 {
	b.Helper()
	host, port, _ := net.SplitHostPort(r.addr)
	out, err := exec.Command("redis-cli", "-h", host, "-p", port, "info", "memory").Output()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	b.Fatal("no used_memory in INFO memory")
	return 0
}
