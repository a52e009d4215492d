package core

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"
)

// lateGather is how long one batch of lateDeletes takes keys in. A key is
// deleted the second time between staleFillWindow and staleFillWindow +
// lateGather after its first delete.
const lateGather = 100 * time.Millisecond

// lateDeletes deletes cache keys a second time, staleFillWindow after
// their first delete (see invalidateChanged), in one cache call per
// lateGather for every key gathered in it. Creates invalidate the same
// list keys again and again; gathered, a burst of creates costs one late
// delete of those keys a tenth of a second, not one each.
type lateDeletes struct {
	delete func(ctx context.Context, keys []string)

	mu   sync.Mutex
	open *lateBatch // the batch taking keys; nil when none is
}

// lateBatch is the set of keys one late delete removes.
type lateBatch struct {
	keys   map[string]struct{}
	closes time.Time // when the batch stops taking keys
}

// add schedules keys for their second delete.
func (l *lateDeletes) add(keys []string) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.open
	if b == nil || !now.Before(b.closes) {
		b = &lateBatch{keys: make(map[string]struct{}, len(keys)), closes: now.Add(lateGather)}
		l.open = b
		// A key added up to closes is deleted no earlier than
		// staleFillWindow after it was added.
		time.AfterFunc(lateGather+staleFillWindow, func() { l.flush(b) })
	}
	for _, k := range keys {
		b.keys[k] = struct{}{}
	}
}

// flush deletes the keys of b, which takes no more keys from then on.
func (l *lateDeletes) flush(b *lateBatch) {
	l.mu.Lock()
	if l.open == b {
		l.open = nil
	}
	keys := slices.Collect(maps.Keys(b.keys))
	l.mu.Unlock()
	l.delete(context.Background(), keys)
}
