package host

import (
	"context"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/curtainhq/curtain/core"
)

// NearCacheConfig tunes a NearCache. Its zero value selects the defaults.
type NearCacheConfig struct {
	// Prefixes lists the key prefixes kept near; other keys only pass
	// through. Default: the redirect keys, "cache:url:redirect:".
	Prefixes []string
	// Size bounds the entries kept near (default 4096).
	Size int
	// TTL is how long an entry is served from the process before the
	// wrapped cache is asked again (default 2s). It bounds how stale a
	// near entry can be after another process deleted the key.
	TTL time.Duration
}

const nearShards = 16

// NearCache is a core.Cache that keeps hot keys in process for a short
// TTL in front of a wrapped (remote) cache. Get serves near entries and
// reads the rest through the wrapped cache, keeping what it finds; Set and
// Delete always reach the wrapped cache and update or drop the near copy
// first. Only keys with one of the configured prefixes are kept near, at
// most Size of them, evicted by a clock (second-chance) policy.
//
// Values returned by Get may be shared with the near cache: callers must
// not modify them. NearCache is safe for concurrent use.
type NearCache struct {
	next     core.Cache
	prefixes []string
	ttl      int64 // nanoseconds
	base     time.Time
	seed     maphash.Seed
	// epoch counts writes (Set, Delete). A Get keeps what it read through
	// only if no write happened meanwhile, so a value read before a
	// Delete is never kept after it.
	epoch  atomic.Uint64
	shards [nearShards]nearShard
}

var _ core.Cache = (*NearCache)(nil)

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

// NewNearCache returns a near cache in front of next.
func NewNearCache(next core.Cache, cfg NearCacheConfig) *NearCache {
	if len(cfg.Prefixes) == 0 {
		cfg.Prefixes = []string{core.RedirectKeyPrefix}
	}
	orDefault(&cfg.Size, 4096)
	orDefault(&cfg.TTL, 2*time.Second)
	c := &NearCache{
		next:     next,
		prefixes: append([]string(nil), cfg.Prefixes...),
		ttl:      int64(cfg.TTL),
		base:     time.Now(),
		seed:     maphash.MakeSeed(),
	}
	per := max(1, (cfg.Size+nearShards-1)/nearShards)
	for i := range c.shards {
		c.shards[i].index = make(map[string]int32, per)
		c.shards[i].max = per
	}
	return c
}

func (c *NearCache) now() int64 { return int64(time.Since(c.base)) }

func (c *NearCache) near(key string) bool {
	for _, p := range c.prefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

func (c *NearCache) shard(key string) *nearShard {
	return &c.shards[maphash.String(c.seed, key)%nearShards]
}

// Get returns the values of the keys that are present. Near entries are
// served from the process; the other keys are read from the wrapped cache
// in one call. If that call fails, the near hits are returned together
// with its error.
func (c *NearCache) Get(ctx context.Context, keys []string) (map[string][]byte, error) {
	now := c.now()
	out := make(map[string][]byte, len(keys))
	var missing []string
	for i, k := range keys {
		if c.near(k) {
			if v, ok := c.shard(k).get(k, now); ok {
				out[k] = v
				continue
			}
		}
		if missing == nil {
			missing = make([]string, 0, len(keys)-i)
		}
		missing = append(missing, k)
	}
	if len(missing) == 0 {
		return out, nil
	}
	epoch := c.epoch.Load()
	got, err := c.next.Get(ctx, missing)
	if err != nil {
		return out, fmt.Errorf("near cache: %w", err)
	}
	expires := c.now() + c.ttl
	for k, v := range got {
		out[k] = v
		if c.near(k) {
			c.shard(k).put(k, v, expires, &c.epoch, epoch)
		}
	}
	return out, nil
}

// Set stores entries in the wrapped cache and refreshes their near copies.
// A near copy lives no longer than the entry's own TTL.
func (c *NearCache) Set(ctx context.Context, entries []core.CacheEntry) error {
	c.epoch.Add(1)
	for _, e := range entries {
		if c.near(e.Key) {
			c.shard(e.Key).remove(e.Key)
		}
	}
	if err := c.next.Set(ctx, entries); err != nil {
		return fmt.Errorf("near cache: %w", err)
	}
	epoch := c.epoch.Add(1)
	now := c.now()
	for _, e := range entries {
		if c.near(e.Key) && e.TTL > 0 {
			expires := now + min(c.ttl, int64(e.TTL))
			c.shard(e.Key).put(e.Key, e.Value, expires, &c.epoch, epoch)
		}
	}
	return nil
}

// Delete drops the near copies of keys and deletes them from the wrapped
// cache. The near copies are gone even when the wrapped cache fails.
func (c *NearCache) Delete(ctx context.Context, keys []string) error {
	c.epoch.Add(1)
	for _, k := range keys {
		if c.near(k) {
			c.shard(k).remove(k)
		}
	}
	err := c.next.Delete(ctx, keys)
	// A Get that read through before the wrapped cache dropped the keys
	// may have kept a copy meanwhile: drop again, and move the epoch so
	// that one still in flight keeps nothing.
	c.epoch.Add(1)
	for _, k := range keys {
		if c.near(k) {
			c.shard(k).remove(k)
		}
	}
	if err != nil {
		return fmt.Errorf("near cache: %w", err)
	}
	return nil
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

// put keeps key unless epoch moved past seen, checked under the shard's
// lock: then a write may have made the value stale.
func (s *nearShard) put(key string, value []byte, expires int64, epoch *atomic.Uint64, seen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if epoch.Load() != seen {
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
