package host

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/curtainhq/curtain/core"
)

// NearCacheConfig tunes a NearCache. Its zero value selects the defaults.
type NearCacheConfig struct {
	// Prefixes lists the key prefixes kept near; other keys only pass
	// through. Default: the keys read from the urls table (URL objects,
	// lists and redirect targets), "cache:url:".
	Prefixes []string
	// Size bounds the entries kept near (default 4096).
	Size int
	// TTL is how long an entry is served from the process before the
	// wrapped cache is asked again while no invalidation watch is in
	// place (default 2s): it then bounds how stale a near entry can be
	// after another process changed the key.
	TTL time.Duration
	// WatchedTTL is that time while the wrapped cache reports every write
	// (core.CacheWatcher): near entries are then exact, and live this long
	// or until invalidated (default 5m, the spec's URL and redirect TTL).
	WatchedTTL time.Duration
	// Logger receives the state of the invalidation watch.
	Logger *slog.Logger
}

// nearShards splits the near entries by key hash so that readers rarely
// share a lock; nearVersions is the number of per-key version counters.
const (
	nearShards   = 16
	nearVersions = 4096
)

// rewatchWait spaces attempts to start an invalidation watch.
const rewatchWait = time.Second

// NearCache is a core.Cache that keeps hot keys in process in front of a
// wrapped (remote) cache. Get serves near entries and reads the rest
// through the wrapped cache, keeping what it finds; Set and Delete always
// reach the wrapped cache and update or drop the near copy first. Only
// keys with one of the configured prefixes are kept near, at most Size of
// them, evicted by a clock (second-chance) policy.
//
// Each key has a version (keys share one of 4096 counters by hash); every
// write and invalidation of the key moves it, and a Get keeps what it read
// through only if the version did not move meanwhile, so a value read
// before a write is never kept after it, while writes of other keys do not
// disturb it. When the wrapped cache is a core.CacheWatcher, a goroutine
// watches its invalidations: writes by other hosts then drop the near
// copies within milliseconds, and entries live WatchedTTL; without a watch
// (or while it is broken, when everything near is dropped) they live TTL.
// Call Close to stop the watch.
//
// Values returned by Get may be shared with the near cache: callers must
// not modify them. NearCache is safe for concurrent use.
type NearCache struct {
	next       core.Cache
	prefixes   []string
	ttl        int64 // nanoseconds, without a watch
	watchedTTL int64 // nanoseconds, with a watch
	base       time.Time
	seed       maphash.Seed
	log        *slog.Logger
	// watched is set while an invalidation watch is in place.
	watched atomic.Bool
	// unwatched is set once the end of a watch was logged, or the cache
	// said it offers none, until a watch is in place again.
	unwatched atomic.Bool
	versions  [nearVersions]atomic.Uint64
	shards    [nearShards]nearShard
	deletes   deleteMerger

	stop context.CancelFunc
	done chan struct{}
}

var (
	_ core.Cache       = (*NearCache)(nil)
	_ core.CacheGetter = (*NearCache)(nil)
)

type nearShard struct {
	mu    sync.Mutex
	index map[string]int32
	slots []nearSlot
	free  []int32
	hand  int
	max   int
}

type nearSlot struct {
	key     string
	value   []byte
	expires int64 // nanoseconds since NearCache.base
	used    bool  // the clock's reference bit
}

// NewNearCache returns a near cache in front of next. When next is a
// core.CacheWatcher it starts watching its invalidations.
func NewNearCache(next core.Cache, cfg NearCacheConfig) *NearCache {
	if len(cfg.Prefixes) == 0 {
		cfg.Prefixes = []string{core.URLKeyPrefix}
	}
	orDefault(&cfg.Size, 4096)
	orDefault(&cfg.TTL, 2*time.Second)
	orDefault(&cfg.WatchedTTL, 5*time.Minute)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &NearCache{
		next:       next,
		prefixes:   append([]string(nil), cfg.Prefixes...),
		ttl:        int64(cfg.TTL),
		watchedTTL: int64(cfg.WatchedTTL),
		base:       time.Now(),
		seed:       maphash.MakeSeed(),
		log:        cfg.Logger.With("component", "near_cache"),
		done:       make(chan struct{}),
	}
	per := max(1, (cfg.Size+nearShards-1)/nearShards)
	for i := range c.shards {
		c.shards[i].index = make(map[string]int32, per)
		c.shards[i].max = per
	}
	ctx, stop := context.WithCancel(context.Background())
	c.stop = stop
	if w, ok := next.(core.CacheWatcher); ok {
		go c.watch(ctx, w)
	} else {
		close(c.done)
	}
	return c
}

// Close stops the invalidation watch and waits for it to end.
func (c *NearCache) Close() {
	c.stop()
	<-c.done
}

// watch keeps an invalidation watch in place until ctx is done. Whenever
// one ends, everything near is dropped and entries live TTL until the
// next watch is in place.
func (c *NearCache) watch(ctx context.Context, w core.CacheWatcher) {
	defer close(c.done)
	for ctx.Err() == nil {
		err := w.WatchInvalidations(ctx, c.apply)
		if c.watched.Swap(false) {
			c.dropAll()
		}
		if err == nil {
			err = errors.New("watch ended")
		}
		if ctx.Err() != nil {
			return
		}
		switch {
		case errors.Is(err, errors.ErrUnsupported):
			// The cache offers no watch, so there is none to lose: a
			// restart of its plugin ("is restarting") is not news here.
			c.unwatched.Store(true)
		case !c.unwatched.Swap(true):
			c.log.Warn("cache invalidation watch ended: near entries now live briefly", "error", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(rewatchWait):
		}
	}
}

// apply handles one event of the watch.
func (c *NearCache) apply(inv core.Invalidation) error {
	if inv.Reset {
		// Entries kept before the watch was in place may be stale.
		c.dropAll()
		c.watched.Store(true)
		if c.unwatched.Swap(false) {
			c.log.Info("cache invalidation watch in place again: near entries live until invalidated")
		}
		return nil
	}
	for _, k := range inv.Keys {
		if c.near(k) {
			c.version(k).Add(1)
			c.shard(k).remove(k)
		}
	}
	return nil
}

// dropAll forgets every near entry and moves every version, so that a
// read in flight keeps nothing either.
func (c *NearCache) dropAll() {
	for i := range c.versions {
		c.versions[i].Add(1)
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.index)
		clear(s.slots)
		s.slots, s.free, s.hand = s.slots[:0], s.free[:0], 0
		s.mu.Unlock()
	}
}

func (c *NearCache) now() int64 { return int64(time.Since(c.base)) }

// lifetime is how long a near entry lives now.
func (c *NearCache) lifetime() int64 {
	if c.watched.Load() {
		return c.watchedTTL
	}
	return c.ttl
}

func (c *NearCache) near(key string) bool {
	for _, p := range c.prefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

func (c *NearCache) hash(key string) uint64 { return maphash.String(c.seed, key) }

func (c *NearCache) shard(key string) *nearShard {
	return &c.shards[c.hash(key)%nearShards]
}

func (c *NearCache) version(key string) *atomic.Uint64 {
	return &c.versions[(c.hash(key)/nearShards)%nearVersions]
}

// Get returns the values of the keys that are present. Near entries are
// served from the process; the other keys are read from the wrapped cache
// in one call. If that call fails, the near hits are returned together
// with its error.
func (c *NearCache) Get(ctx context.Context, keys []string) (map[string][]byte, error) {
	now := c.now()
	out := make(map[string][]byte, len(keys))
	var missing []string
	var seen []uint64 // versions of the near keys in missing, in order
	for i, k := range keys {
		if c.near(k) {
			if v, ok := c.shard(k).get(k, now); ok {
				out[k] = v
				continue
			}
		}
		if missing == nil {
			missing = make([]string, 0, len(keys)-i)
			seen = make([]uint64, 0, len(keys)-i)
		}
		missing = append(missing, k)
		seen = append(seen, c.version(k).Load())
	}
	if len(missing) == 0 {
		return out, nil
	}
	got, err := c.next.Get(ctx, missing)
	if err != nil {
		return out, fmt.Errorf("near cache: %w", err)
	}
	expires := c.now() + c.lifetime()
	for i, k := range missing {
		v, ok := got[k]
		if !ok {
			continue
		}
		out[k] = v
		if c.near(k) {
			c.shard(k).put(k, v, expires, c.version(k), seen[i])
		}
	}
	return out, nil
}

// GetOne returns the value of one key: from memory when a near copy is
// current, else from the wrapped cache (remembering it as Get does). It
// is Get without the result map, for the redirect's and GET /urls/{id}'s
// single-key reads.
func (c *NearCache) GetOne(ctx context.Context, key string) ([]byte, bool, error) {
	near := c.near(key)
	var seen uint64
	if near {
		if v, ok := c.shard(key).get(key, c.now()); ok {
			return v, true, nil
		}
		seen = c.version(key).Load()
	}
	got, err := c.next.Get(ctx, []string{key})
	if err != nil {
		return nil, false, fmt.Errorf("near cache: %w", err)
	}
	v, ok := got[key]
	if ok && near {
		c.shard(key).put(key, v, c.now()+c.lifetime(), c.version(key), seen)
	}
	return v, ok, nil
}

// Set stores entries in the wrapped cache and refreshes their near copies.
// A near copy lives no longer than the entry's own TTL.
func (c *NearCache) Set(ctx context.Context, entries []core.CacheEntry) error {
	for _, e := range entries {
		if c.near(e.Key) {
			c.version(e.Key).Add(1)
			c.shard(e.Key).remove(e.Key)
		}
	}
	if err := c.next.Set(ctx, entries); err != nil {
		return fmt.Errorf("near cache: %w", err)
	}
	now := c.now()
	for _, e := range entries {
		if c.near(e.Key) && e.TTL > 0 {
			v := c.version(e.Key).Add(1)
			expires := now + min(c.lifetime(), int64(e.TTL))
			c.shard(e.Key).put(e.Key, e.Value, expires, c.version(e.Key), v)
		}
	}
	return nil
}

// Delete drops the near copies of keys and deletes them from the wrapped
// cache. The near copies are gone even when the wrapped cache fails.
func (c *NearCache) Delete(ctx context.Context, keys []string) error {
	c.forget(keys)
	err := c.deletes.delete(ctx, c.next, keys)
	// A Get that read through before the wrapped cache dropped the keys
	// may have kept a copy meanwhile: drop again, and move the versions
	// so that one still in flight keeps nothing.
	c.forget(keys)
	if err != nil {
		return fmt.Errorf("near cache: %w", err)
	}
	return nil
}

// deleteMerger merges concurrent Deletes into one call to the wrapped
// cache: while a call is in flight, the keys of the Deletes that arrive
// are collected, without repeats, and sent together in the next call.
// Every write invalidates the URL list keys, so concurrent creates share
// most of their keys. A Delete returns once a call that began after it
// arrived has dropped its keys. Its zero value is ready.
type deleteMerger struct {
	mu   sync.Mutex
	busy bool         // a call is in flight
	next *deleteBatch // collecting for the next call, or nil
}

// mergedDeleteTimeout bounds one merged call to the wrapped cache.
const mergedDeleteTimeout = 5 * time.Second

// deleteBatch is the keys of one call to the wrapped cache.
type deleteBatch struct {
	keys []string
	seen map[string]struct{}
	turn chan struct{} // closed when the batch's first Delete must send it
	done chan struct{} // closed when the call returned; err is then set
	err  error
}

func (m *deleteMerger) delete(ctx context.Context, next core.Cache, keys []string) error {
	m.mu.Lock()
	b := m.next
	first := b == nil
	if first {
		b = &deleteBatch{seen: make(map[string]struct{}, len(keys)), turn: make(chan struct{}), done: make(chan struct{})}
		m.next = b
	}
	for _, k := range keys {
		if _, ok := b.seen[k]; !ok {
			b.seen[k] = struct{}{}
			b.keys = append(b.keys, k)
		}
	}
	if first && !m.busy {
		m.busy = true
		m.next = nil
		close(b.turn)
	}
	m.mu.Unlock()

	if !first {
		select {
		case <-b.done:
			return b.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// The first Delete of a batch sends it when the call before is over,
	// for every Delete in it: its own cancellation must not fail theirs.
	<-b.turn
	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mergedDeleteTimeout)
	b.err = next.Delete(callCtx, b.keys)
	cancel()
	close(b.done)
	m.mu.Lock()
	if n := m.next; n != nil {
		m.next = nil
		close(n.turn)
	} else {
		m.busy = false
	}
	m.mu.Unlock()
	return b.err
}

// forget moves the versions of keys and drops their near copies.
func (c *NearCache) forget(keys []string) {
	for _, k := range keys {
		if c.near(k) {
			c.version(k).Add(1)
			c.shard(k).remove(k)
		}
	}
}

// len returns how many entries are kept near, expired ones included.
func (c *NearCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.index)
		s.mu.Unlock()
	}
	return n
}

func (s *nearShard) get(key string, now int64) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[key]
	if !ok {
		return nil, false
	}
	slot := &s.slots[i]
	if slot.expires <= now {
		s.drop(i)
		return nil, false
	}
	slot.used = true
	return slot.value, true
}

// put keeps key unless its version moved past seen, checked under the
// shard's lock: then a write may have made the value stale.
func (s *nearShard) put(key string, value []byte, expires int64, version *atomic.Uint64, seen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if version.Load() != seen {
		return
	}
	if i, ok := s.index[key]; ok {
		s.slots[i].value, s.slots[i].expires, s.slots[i].used = value, expires, true
		return
	}
	var i int32
	switch {
	case len(s.free) > 0:
		i = s.free[len(s.free)-1]
		s.free = s.free[:len(s.free)-1]
	case len(s.slots) < s.max:
		s.slots = append(s.slots, nearSlot{})
		i = int32(len(s.slots) - 1)
	default:
		i = s.evict()
	}
	s.slots[i] = nearSlot{key: key, value: value, expires: expires}
	s.index[key] = i
}

// evict frees a slot by the clock policy: sweep from the hand, giving each
// recently used slot a second chance, and take the first that is not.
func (s *nearShard) evict() int32 {
	for {
		slot := &s.slots[s.hand]
		i := int32(s.hand)
		s.hand = (s.hand + 1) % len(s.slots)
		if slot.used {
			slot.used = false
			continue
		}
		delete(s.index, slot.key)
		return i
	}
}

func (s *nearShard) remove(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.index[key]; ok {
		s.drop(i)
	}
}

func (s *nearShard) drop(i int32) {
	delete(s.index, s.slots[i].key)
	s.slots[i] = nearSlot{}
	s.free = append(s.free, i)
}
