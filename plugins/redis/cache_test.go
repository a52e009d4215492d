package redis

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/curtainhq/curtain/core"
)

func newTestCache(t *testing.T, s Settings) *Cache {
	t.Helper()
	return configured(t, NewCachePlugin(), s)
}

func TestCacheLayout(t *testing.T) {
	srv := startServer(t)
	raw := srv.client()
	ctx := t.Context()
	cache := newTestCache(t, testSettings(srv, ""))
	redirect := `{"original_url": "https://hackstack.io/jade/uplink/1", "url_id": 1}`
	err := cache.Set(ctx, []core.CacheEntry{
		{Key: "cache:url:redirect:d5DnL5", Value: []byte(redirect), TTL: 300 * time.Second},
		{Key: "cache:url:list", Value: []byte("[]"), TTL: 120 * time.Second},
		{Key: "short", Value: []byte("x"), TTL: 300 * time.Millisecond},
		{Key: "fraction", Value: []byte("y"), TTL: 2500 * time.Millisecond},
	})
	if err != nil {
		t.Fatalf("Set: %v", err)
	}
	for _, k := range []struct {
		key, value string
		ttl        time.Duration
	}{
		{"cache:url:redirect:d5DnL5", redirect, 300 * time.Second},
		{"cache:url:list", "[]", 120 * time.Second},
		{"short", "x", time.Second},
		{"fraction", "y", 2 * time.Second},
	} {
		if v := raw.Get(ctx, k.key).Val(); v != k.value {
			t.Errorf("GET %s = %q, want %q", k.key, v, k.value)
		}
		// SETEX stores whole seconds.
		if ttl := raw.TTL(ctx, k.key).Val(); ttl != k.ttl {
			t.Errorf("TTL %s = %v, want %v", k.key, ttl, k.ttl)
		}
	}
	got, err := cache.Get(ctx, []string{"cache:url:list", "missing", "cache:url:redirect:d5DnL5"})
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	want := map[string][]byte{"cache:url:list": []byte("[]"), "cache:url:redirect:d5DnL5": []byte(redirect)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get mismatch (-want +got):\n%s", diff)
	}
	// A key of another type is a miss, not an error.
	raw.LPush(ctx, "a-list", "x")
	got, err = cache.Get(ctx, []string{"a-list", "short"})
	if err != nil || len(got) != 1 {
		t.Errorf("Get over a list key = %v, %v; want only short", got, err)
	}
	if err := cache.Delete(ctx, []string{"cache:url:list", "missing", "short"}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if diff := cmp.Diff([]string{"a-list", "cache:url:redirect:d5DnL5", "fraction"}, keysOf(t, raw)); diff != "" {
		t.Errorf("keys after Delete (-want +got):\n%s", diff)
	}
}

func TestCachePrefix(t *testing.T) {
	srv := startServer(t)
	raw := srv.client()
	ctx := t.Context()
	a := newTestCache(t, testSettings(srv, "a:"))
	b := newTestCache(t, testSettings(srv, "b:"))
	if err := a.Set(ctx, []core.CacheEntry{{Key: "k", Value: []byte("from a"), TTL: time.Minute}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Get(ctx, []string{"k"}); len(got) != 0 {
		t.Errorf("cache with prefix b: sees %v of prefix a", got)
	}
	if v := raw.Get(ctx, "a:k").Val(); v != "from a" {
		t.Errorf("GET a:k = %q, want the value behind the prefix", v)
	}
	if err := b.Delete(ctx, []string{"k"}); err != nil {
		t.Fatal(err)
	}
	if n := raw.Exists(ctx, "a:k").Val(); n != 1 {
		t.Errorf("Delete through prefix b: removed a:k")
	}
}

// TestCacheWatchInvalidations: a watcher on one cache value hears the
// keys another value (another host) sets and deletes, after a reset; a
// watcher under another key prefix hears nothing of them.
func TestCacheWatchInvalidations(t *testing.T) {
	srv := startServer(t)
	writer := newTestCache(t, testSettings(srv, "w:"))
	watcher := newTestCache(t, testSettings(srv, "w:"))
	other := newTestCache(t, testSettings(srv, "other:"))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	watch := func(c *Cache) (<-chan core.Invalidation, <-chan error) {
		events, done := make(chan core.Invalidation, 16), make(chan error, 1)
		go func() {
			done <- c.WatchInvalidations(ctx, func(inv core.Invalidation) error {
				events <- inv
				return nil
			})
		}()
		return events, done
	}
	events, done := watch(watcher)
	otherEvents, _ := watch(other)
	for _, ch := range []<-chan core.Invalidation{events, otherEvents} {
		if inv := <-ch; !inv.Reset {
			t.Fatalf("first event = %+v, want a reset", inv)
		}
	}
	if err := writer.Set(ctx, []core.CacheEntry{{Key: "cache:url:1", Value: []byte("x"), TTL: time.Minute}, {Key: "cache:url:redirect:abc", Value: []byte("y"), TTL: time.Minute}}); err != nil {
		t.Fatal(err)
	}
	if err := writer.Delete(ctx, []string{"cache:url:2"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]string{{"cache:url:1", "cache:url:redirect:abc"}, {"cache:url:2"}} {
		select {
		case inv := <-events:
			if diff := cmp.Diff(want, inv.Keys); diff != "" || inv.Reset {
				t.Errorf("event %+v, want keys %q (-want +got):\n%s", inv, want, diff)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no event for %q", want)
		}
	}
	select {
	case inv := <-otherEvents:
		t.Errorf("watcher under another prefix got %+v", inv)
	default:
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("WatchInvalidations after cancel = %v, want context.Canceled", err)
	}
}
