package host

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
)

// TestSettleSendsQueuedClicks: with a flush interval far longer than the
// test, Settle still returns only once the clicks queued before it are on
// their shard.
func TestSettleSendsQueuedClicks(t *testing.T) {
	log := &clickLog{}
	b, _ := newTestBatcher(t, named(okShard(log, "shard0")), nil, BatcherConfig{BatchSize: 1000, FlushInterval: time.Hour})
	t.Cleanup(func() { b.Close(context.Background()) })
	for i := range 4 {
		if err := b.Record(t.Context(), click(i, "abc123")); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Settle(t.Context()); err != nil {
		t.Fatalf("Settle: %v", err)
	}
	if got := len(log.ids()["shard0"]); got != 4 {
		t.Errorf("after Settle shard0 holds %d clicks, want the 4 queued before it", got)
	}
}

// TestSettleReportsRetries: clicks no shard and no store took are not
// settled, and Settle says so instead of waiting for their retry.
func TestSettleReportsRetries(t *testing.T) {
	b, _ := newTestBatcher(t, named(downShard()), nil, BatcherConfig{BatchSize: 1000, FlushInterval: time.Hour})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		b.Close(ctx)
	})
	if err := b.Record(t.Context(), click(1, "abc123")); err != nil {
		t.Fatal(err)
	}
	if err := b.Settle(t.Context()); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Settle with every backend down = %v, want ErrUnavailable", err)
	}
}
