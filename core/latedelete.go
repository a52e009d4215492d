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
	// waiting holds the closed batches until their flush, by the timer
	// that flushes each.
	waiting map[*time.Timer][]K
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
	defer g.mu.Unlock()
	if g.open == nil { // drained meanwhile
		return
	}
	keys := slices.Collect(maps.Keys(g.open))
	g.open = nil
	var t *time.Timer
	t = time.AfterFunc(g.wait, func() {
		g.mu.Lock()
		keys, ok := g.waiting[t]
		delete(g.waiting, t)
		g.mu.Unlock()
		if ok {
			g.flush(keys)
		}
	})
	if g.waiting == nil {
		g.waiting = make(map[*time.Timer][]K)
	}
	g.waiting[t] = keys
}

// drain flushes at once, in one call, every key added and not flushed
// yet: the open batch and those waiting. Their timers then flush nothing.
func (g *gathered[K]) drain() {
	g.mu.Lock()
	all := g.open
	if all == nil {
		all = make(map[K]struct{})
	}
	g.open = nil
	for t, batch := range g.waiting {
		t.Stop()
		for _, k := range batch {
			all[k] = struct{}{}
		}
	}
	g.waiting = nil
	g.mu.Unlock()
	if len(all) > 0 {
		g.flush(slices.Collect(maps.Keys(all)))
	}
}
