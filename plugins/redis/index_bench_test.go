package redis

import (
	"fmt"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/curtainhq/curtain/core"
)

// BenchmarkDiscovery measures how long a consumer takes to find the click
// streams that have entries on a server where 1 million codes were ever
// clicked (each leaving its total and its visitor sketch, 2 million keys)
// and 100 have clicks pending: through the stream index, as the consumer
// does, and by the SCAN of the whole keyspace it did before.
//
//	go test -run '^$' -bench 'BenchmarkDiscovery$' -benchtime 5x ./plugins/redis/
func BenchmarkDiscovery(b *testing.B) {
	const (
		codes   = 1_000_000
		pending = 100
	)
	srv := startServer(b, "--enable-debug-command", "yes")
	raw := goredis.NewClient(&goredis.Options{Addr: srv.addr(), ReadTimeout: 5 * time.Minute})
	b.Cleanup(func() { raw.Close() })
	ctx := b.Context()
	// DEBUG POPULATE writes the keys server-side: clicks::0 ... in the
	// clicks: namespace, as many as the totals and sketches of the codes.
	if err := raw.Do(ctx, "DEBUG", "POPULATE", 2*codes, "clicks:", 8).Err(); err != nil {
		b.Fatalf("DEBUG POPULATE: %v", err)
	}
	shard := newTestShard(b, testSettings(srv, ""))
	var batch []core.Click
	for i := range pending {
		batch = append(batch, core.Click{ID: fmt.Sprint(i), Code: fmt.Sprintf("p%05d", i), At: time.Now()})
	}
	if err := shard.Record(ctx, batch); err != nil {
		b.Fatal(err)
	}
	keys := raw.DBSize(ctx).Val()
	cn := shard.b.cur.Load()
	st := shard.state(cn)
	if _, err := st.discover(ctx); err != nil { // the start-up sweep
		b.Fatal(err)
	}

	b.Run("index", func(b *testing.B) {
		for b.Loop() {
			st.forget(false)
			list, err := st.discover(ctx)
			if err != nil || len(list) != pending {
				b.Fatalf("discover = %d streams, %v; want %d", len(list), err, pending)
			}
		}
		b.ReportMetric(float64(keys), "keys")
	})
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			list, err := st.scan(ctx)
			if err != nil || len(list) != pending {
				b.Fatalf("scan = %d streams, %v; want %d", len(list), err, pending)
			}
		}
		b.ReportMetric(float64(keys), "keys")
	})
}

// BenchmarkDiscoveryCluster measures discovery through the index on a
// three-master Redis Cluster with 100 streams pending: one pipeline of 16
// ZRANGEs, split over the masters. Its cost does not depend on the keys
// that exist, so the cluster holds only the pending clicks' keys.
//
//	go test -run '^$' -bench BenchmarkDiscoveryCluster -benchtime 200x ./plugins/redis/
func BenchmarkDiscoveryCluster(b *testing.B) {
	const pending = 100
	servers := startCluster(b)
	var seeds []string
	for _, s := range servers {
		seeds = append(seeds, s.addr())
	}
	shard := newTestShard(b, Settings{Cluster: seeds, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, DialTimeout: 5 * time.Second})
	ctx := b.Context()
	var batch []core.Click
	for i := range pending {
		batch = append(batch, core.Click{ID: fmt.Sprint(i), Code: fmt.Sprintf("p%05d", i), At: time.Now()})
	}
	if err := shard.Record(ctx, batch); err != nil {
		b.Fatal(err)
	}
	st := shard.state(shard.b.cur.Load())
	if _, err := st.discover(ctx); err != nil { // the start-up sweep
		b.Fatal(err)
	}
	for b.Loop() {
		st.forget(false)
		list, err := st.discover(ctx)
		if err != nil || len(list) != pending {
			b.Fatalf("discover = %d streams, %v; want %d", len(list), err, pending)
		}
	}
}
