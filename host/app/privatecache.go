package app

import (
	"context"
	"time"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core"
)

// privateCache is the cache plugin of an instance whose cache only it
// sees (the built-in memory plugin, a process of its own) while the store
// is shared with other instances (PostgreSQL). Another instance's write
// deletes its keys from its own cache only, so this one must not keep a
// value longer than it accepts to be stale: Set caps every TTL at bound.
// It hides the plugin's invalidation watch, which only reports this
// instance's writes, so that the near cache in front keeps its entries for
// clicks.near_cache_ttl rather than treating them as exact for minutes.
type privateCache struct {
	next  core.Cache
	bound time.Duration
}

var _ core.Cache = privateCache{}

// defaultPrivateBound bounds the private cache's entries when the near
// cache is disabled (clicks.near_cache_ttl 0): its default lifetime.
const defaultPrivateBound = 2 * time.Second

// isPrivateCache reports whether cfg pairs a cache that lives in one
// instance with a store that several instances share.
func isPrivateCache(cfg config.Config) bool {
	return cfg.Plugins.Cache.Builtin == "memory" && cfg.Store.Driver != "sqlite"
}

// newPrivateCache wraps next so that its entries live at most bound
// (defaultPrivateBound when bound is 0).
func newPrivateCache(next core.Cache, bound time.Duration) privateCache {
	if bound <= 0 {
		bound = defaultPrivateBound
	}
	return privateCache{next: next, bound: bound}
}

func (c privateCache) Get(ctx context.Context, keys []string) (map[string][]byte, error) {
	return c.next.Get(ctx, keys)
}

// Set stores entries with their TTLs capped at the bound; a TTL of 0
// (no expiry) is capped too.
func (c privateCache) Set(ctx context.Context, entries []core.CacheEntry) error {
	capped := make([]core.CacheEntry, len(entries))
	for i, e := range entries {
		if e.TTL <= 0 || e.TTL > c.bound {
			e.TTL = c.bound
		}
		capped[i] = e
	}
	return c.next.Set(ctx, capped)
}

func (c privateCache) Delete(ctx context.Context, keys []string) error {
	return c.next.Delete(ctx, keys)
}
