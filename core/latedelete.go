package core

import (
	"maps"
	"slices"
	"sync"
	"time"
)

// lateGather is how long one batch of late deletes takes keys in. A key is
// deleted the second time between staleFillWindow and staleFillWindow +
// lateGather after its first delete.
const lateGather = 100 * time.Millisecond

// gathered collects keys into batches and hands each batch to flush in
// one call: a batch opens with its first key, takes keys for gather, and
// is flushed wait after it closed, so every key waits at least wait and
// at most gather + wait. Late deletes gather cache keys (creates
// invalidate the same list keys again and again: a burst costs one late
// delete a tenth of a second, not one each); clicked links gather their
// URL ids.
type gathered[K comparable] struct {
	gather, wait time.Duration
	flush        func(keys []K)

	mu   sync.Mutex
	open map[K]struct{} // the batch taking keys; nil when none is
}

// add puts keys into the open batch, opening one if none is.
func (g *gathered[K]) add(keys ...K) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open == nil {
		g.open = make(map[K]struct{}, len(keys))
		time.AfterFunc(g.gather, g.close)
	}
	for _, k := range keys {
		g.open[k] = struct{}{}
	}
}

// close stops the open batch from taking keys and flushes it wait later.
func (g *gathered[K]) close() {
	g.mu.Lock()
	keys := slices.Collect(maps.Keys(g.open))
	g.open = nil
	g.mu.Unlock()
	time.AfterFunc(g.wait, func() { g.flush(keys) })
}
