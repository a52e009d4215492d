// Package memory holds the reference in-memory implementations of the four
// backend kinds: Counter, ClickShard, Cache and AlertSink. They are the
// embedded default (the host serves them as plugin processes through the
// SDK), the fakes other packages test against in process, and the models
// the conformance suite in plugins/plugintest is checked on.
//
// Everything lives in the process's memory and is lost when it exits. All
// types are safe for concurrent use, and their zero-config constructors
// are all they need.
package memory

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// Counter is an in-memory core.Counter.
type Counter struct {
	mu    sync.Mutex
	value int64 // the last value handed out
}

// NewCounter returns a counter at zero: its first value is 1.
func NewCounter() *Counter { return &Counter{} }

// Reserve implements core.Counter. A Size below 1 is rejected with
// core.ErrInvalid, and so is a block that would overflow int64.
func (c *Counter) Reserve(ctx context.Context, req core.ReserveRequest) (core.Block, error) {
	if req.Size < 1 {
		return core.Block{}, fmt.Errorf("reserve %d values: size must be at least 1: %w", req.Size, core.ErrInvalid)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v := max(c.value, req.Floor)
	if v > math.MaxInt64-req.Size {
		return core.Block{}, fmt.Errorf("reserve %d values above %d: counter would overflow: %w", req.Size, v, core.ErrInvalid)
	}
	c.value = v + req.Size
	return core.Block{First: v + 1, Size: req.Size}, nil
}

// Cache is an in-memory core.Cache. Entries expire after their TTL; an
// entry with a TTL of zero or less never expires. It is also a
// core.CacheWatcher: watchers hear of every Set and Delete.
type Cache struct {
	mu        sync.Mutex
	entries   map[string]cacheEntry
	nextSweep int
	watchers  map[chan []string]struct{}
}

var (
	_ core.Cache        = (*Cache)(nil)
	_ core.CacheWatcher = (*Cache)(nil)
)

// watchBuffer is how many writes a watcher may fall behind before its
// watch is ended (it then watches again, dropping what it kept).
const watchBuffer = 1024

type cacheEntry struct {
	value   []byte
	expires time.Time // zero: never
}

// minSweep is the entry count below which Set never sweeps expired entries.
const minSweep = 1024

// NewCache returns an empty cache.
func NewCache() *Cache {
	return &Cache{entries: make(map[string]cacheEntry), nextSweep: minSweep}
}

func (e cacheEntry) live(now time.Time) bool {
	return e.expires.IsZero() || now.Before(e.expires)
}

// Get implements core.Cache. Values are copies; a hit with an empty value
// is an empty, non-nil slice.
func (c *Cache) Get(ctx context.Context, keys []string) (map[string][]byte, error) {
	now := time.Now()
	out := make(map[string][]byte, len(keys))
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		e, ok := c.entries[k]
		if !ok {
			continue
		}
		if !e.live(now) {
			delete(c.entries, k)
			continue
		}
		out[k] = append([]byte{}, e.value...)
	}
	return out, nil
}

// Set implements core.Cache. Values are copied.
func (c *Cache) Set(ctx context.Context, entries []core.CacheEntry) error {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range entries {
		ce := cacheEntry{value: append([]byte{}, e.Value...)}
		if e.TTL > 0 {
			ce.expires = now.Add(e.TTL)
		}
		c.entries[e.Key] = ce
	}
	c.notify(func() []string {
		keys := make([]string, len(entries))
		for i, e := range entries {
			keys[i] = e.Key
		}
		return keys
	})
	// Expired entries nobody reads again are dropped now and then, so that
	// the map stays proportional to the live entries.
	if len(c.entries) >= c.nextSweep {
		maps.DeleteFunc(c.entries, func(_ string, e cacheEntry) bool { return !e.live(now) })
		c.nextSweep = max(minSweep, 2*len(c.entries))
	}
	return nil
}

// Delete implements core.Cache.
func (c *Cache) Delete(ctx context.Context, keys []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.entries, k)
	}
	c.notify(func() []string { return slices.Clone(keys) })
	return nil
}

// notify hands written keys to every watcher; c.mu is held, so watchers
// see writes in order. A watcher whose buffer is full is dropped: its
// channel is closed and its watch ends with an error.
func (c *Cache) notify(keys func() []string) {
	if len(c.watchers) == 0 {
		return
	}
	ks := keys()
	for ch := range c.watchers {
		select {
		case ch <- ks:
		default:
			delete(c.watchers, ch)
			close(ch)
		}
	}
}

// WatchInvalidations implements core.CacheWatcher.
func (c *Cache) WatchInvalidations(ctx context.Context, fn func(core.Invalidation) error) error {
	ch := make(chan []string, watchBuffer)
	c.mu.Lock()
	if c.watchers == nil {
		c.watchers = make(map[chan []string]struct{})
	}
	c.watchers[ch] = struct{}{}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if _, ok := c.watchers[ch]; ok {
			delete(c.watchers, ch)
			close(ch)
		}
		c.mu.Unlock()
	}()
	if err := fn(core.Invalidation{Reset: true}); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case keys, ok := <-ch:
			if !ok {
				return fmt.Errorf("watch cache: watcher fell %d writes behind: %w", watchBuffer, core.ErrUnavailable)
			}
			if err := fn(core.Invalidation{Keys: keys}); err != nil {
				return err
			}
		}
	}
}

// Len returns the number of entries held, expired ones not yet dropped
// included.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// AlertSink is an in-memory core.AlertSink that keeps every batch it
// receives, for tests and for the embedded default (where alerts have
// nowhere else to go).
type AlertSink struct {
	mu      sync.Mutex
	batches [][]core.Alert
}

// NewAlertSink returns a sink that has received nothing.
func NewAlertSink() *AlertSink { return &AlertSink{} }

// Send implements core.AlertSink. It keeps a copy of the batch; an empty
// batch is recorded too.
func (s *AlertSink) Send(ctx context.Context, alerts []core.Alert) error {
	batch := make([]core.Alert, len(alerts))
	for i, a := range alerts {
		batch[i] = copyAlert(a)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, batch)
	return nil
}

// Batches returns copies of the batches received, in order.
func (s *AlertSink) Batches() [][]core.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]core.Alert, len(s.batches))
	for i, b := range s.batches {
		out[i] = make([]core.Alert, len(b))
		for j, a := range b {
			out[i][j] = copyAlert(a)
		}
	}
	return out
}

// Alerts returns copies of every alert received, in order.
func (s *AlertSink) Alerts() []core.Alert {
	var out []core.Alert
	for _, b := range s.Batches() {
		out = append(out, b...)
	}
	return out
}

func copyAlert(a core.Alert) core.Alert {
	a.Labels = maps.Clone(a.Labels)
	a.Annotations = maps.Clone(a.Annotations)
	return a
}

// Interface guards.
var (
	_ core.Counter      = (*Counter)(nil)
	_ core.ClickShard   = (*ClickShard)(nil)
	_ core.ClickDeleter = (*ClickShard)(nil)
	_ sdk.Configurer    = (*ClickShard)(nil)
	_ core.Cache        = (*Cache)(nil)
	_ core.AlertSink    = (*AlertSink)(nil)
)

// sortedKeys returns m's keys in ascending order.
func sortedKeys[V any](m map[uint64]V) []uint64 {
	return slices.Sorted(maps.Keys(m))
}
