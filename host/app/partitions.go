package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/drivers/bunstore"
)

// partitionEvery is how often the consumer (`curtain consume`, or serve's
// own with consumer.in_serve) creates the event partitions of the coming
// months (a no-op while they exist).
const partitionEvery = 12 * time.Hour

// eventPartitioner is a store that partitions events by month (the bun
// store; a no-op on SQLite and on unpartitioned tables).
type eventPartitioner interface {
	AddEventPartitions(ctx context.Context, monthsAhead int) (int, error)
}

// keepEventPartitions creates the monthly event partitions
// bunstore.PartitionsAhead months ahead, now and every partitionEvery,
// until ctx ends, in a goroutine; the returned function waits for it.
// Stores without partitions are left alone.
func keepEventPartitions(ctx context.Context, store core.Store, log *slog.Logger) (wait func()) {
	p, ok := store.(eventPartitioner)
	if !ok {
		return func() {}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(partitionEvery)
		defer t.Stop()
		for {
			if made, err := p.AddEventPartitions(ctx, bunstore.PartitionsAhead); err != nil && ctx.Err() == nil {
				log.Warn("stream_consumer.partitions_failed", "error", err)
			} else if made > 0 {
				log.Info("stream_consumer.partitions_created", "count", made)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	return wg.Wait
}
