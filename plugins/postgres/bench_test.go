package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/curtainhq/curtain/core"
)

// BenchmarkRecord records batches of clicks over 50 codes and 500
// visitors, as the host's batcher sends them, into a fresh schema.
func BenchmarkRecord(b *testing.B) {
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s := Settings{URL: testURL(), Schema: randomName("curtain_bench_")}
			shard, err := NewClickShard(s)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				drop := "DROP SCHEMA IF EXISTS " + pgx.Identifier{s.Schema}.Sanitize() + " CASCADE"
				if _, err := shard.b.cur.Load().pool.Exec(ctx, drop); err != nil {
					b.Errorf("drop schema: %v", err)
				}
				shard.Close()
			})
			now := time.Now().UTC()
			batch := make([]core.Click, size)
			for i := range batch {
				batch[i] = core.Click{
					ID:      fmt.Sprintf("bench-%d", i),
					Code:    fmt.Sprintf("code%02d", i%50),
					Visitor: fmt.Sprintf("10.1.%d.%d", i%500/256, i%500%256),
					At:      now,
				}
			}
			if err := shard.Record(b.Context(), batch); err != nil { // setup and statement cache
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := shard.Record(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/click")
		})
	}
}
