package app

import (
	"context"
	"testing"
	"time"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core"
)

// setRecorder is a cache that keeps the entries of its last Set.
type setRecorder struct {
	core.Cache
	got []core.CacheEntry
}

func (r *setRecorder) Set(_ context.Context, entries []core.CacheEntry) error {
	r.got = entries
	return nil
}

func TestPrivateCacheCapsTTLs(t *testing.T) {
	rec := &setRecorder{}
	c := newPrivateCache(rec, time.Second)
	if _, ok := any(c).(core.CacheWatcher); ok {
		t.Error("privateCache offers an invalidation watch; the near cache would keep its entries for minutes")
	}
	in := []core.CacheEntry{
		{Key: "a", TTL: 5 * time.Minute},
		{Key: "b", TTL: 500 * time.Millisecond},
		{Key: "c"},
	}
	if err := c.Set(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{time.Second, 500 * time.Millisecond, time.Second}
	for i, e := range rec.got {
		if e.TTL != want[i] {
			t.Errorf("Set(%q, TTL %v) stored TTL %v, want %v", in[i].Key, in[i].TTL, e.TTL, want[i])
		}
	}
	if in[0].TTL != 5*time.Minute {
		t.Errorf("Set changed the caller's entries: TTL %v", in[0].TTL)
	}
	if got := newPrivateCache(rec, 0).bound; got != defaultPrivateBound {
		t.Errorf("bound with the near cache off = %v, want %v", got, defaultPrivateBound)
	}
}

func TestIsPrivateCache(t *testing.T) {
	for _, tt := range []struct {
		driver, cache string
		want          bool
	}{
		{"postgres", "memory", true},
		{"postgres", "redis", false},
		{"sqlite", "memory", false},
	} {
		var cfg config.Config
		cfg.Store.Driver, cfg.Plugins.Cache.Builtin = tt.driver, tt.cache
		if got := isPrivateCache(cfg); got != tt.want {
			t.Errorf("isPrivateCache(store %s, cache %s) = %v, want %v", tt.driver, tt.cache, got, tt.want)
		}
	}
}
