package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/google/go-cmp/cmp"
)

// mapCache is a wrapped cache for tests: a map without TTLs that counts
// the keys each Get asks for, with optional hooks.
type mapCache struct {
	mu      sync.Mutex
	data    map[string][]byte
	asked   []string
	deleted []string
	// afterRead, when set, runs in Get after the values were read.
	afterRead func()
	err       error
}

func newMapCache(kv ...string) *mapCache {
	c := &mapCache{data: map[string][]byte{}}
	for i := 0; i < len(kv); i += 2 {
		c.data[kv[i]] = []byte(kv[i+1])
	}
	return c
}

func (c *mapCache) Get(_ context.Context, keys []string) (map[string][]byte, error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return nil, c.err
	}
	c.asked = append(c.asked, keys...)
	out := map[string][]byte{}
	for _, k := range keys {
		if v, ok := c.data[k]; ok {
			out[k] = v
		}
	}
	c.mu.Unlock()
	if c.afterRead != nil {
		c.afterRead()
	}
	return out, nil
}

func (c *mapCache) Set(_ context.Context, entries []core.CacheEntry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	for _, e := range entries {
		c.data[e.Key] = e.Value
	}
	return nil
}

func (c *mapCache) Delete(_ context.Context, keys []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deleted = append(c.deleted, keys...)
	if c.err != nil {
		return c.err
	}
	for _, k := range keys {
		delete(c.data, k)
	}
	return nil
}

func (c *mapCache) set(k, v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.data[k] = []byte(v)
}

// takeAsked returns and clears the keys Get asked for, sorted.
func (c *mapCache) takeAsked() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.asked
	c.asked = nil
	sort.Strings(out)
	return out
}

func getString(t *testing.T, c core.Cache, keys ...string) map[string]string {
	t.Helper()
	got, err := c.Get(t.Context(), keys)
	if err != nil {
		t.Fatalf("Get(%q): %v", keys, err)
	}
	out := map[string]string{}
	for k, v := range got {
		out[k] = string(v)
	}
	return out
}

const (
	redirA = "cache:url:redirect:aaaaaa"
	redirB = "cache:url:redirect:bbbbbb"
	farKey = "cache:analytics:url:1" // not under the default prefix
)

func TestNearCacheReadThrough(t *testing.T) {
	remote := newMapCache(redirA, "A", redirB, "B", farKey, "U")
	c := NewNearCache(remote, NearCacheConfig{})

	want := map[string]string{redirA: "A", farKey: "U"}
	if diff := cmp.Diff(want, getString(t, c, redirA, farKey, "cache:url:redirect:none")); diff != "" {
		t.Errorf("first Get (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{farKey, redirA, "cache:url:redirect:none"}, remote.takeAsked()); diff != "" {
		t.Errorf("first Get asked the wrapped cache (-want +got):\n%s", diff)
	}
	// The redirect key is now near; the other key and the miss are not.
	if diff := cmp.Diff(want, getString(t, c, redirA, farKey, "cache:url:redirect:none")); diff != "" {
		t.Errorf("second Get (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{farKey, "cache:url:redirect:none"}, remote.takeAsked()); diff != "" {
		t.Errorf("second Get asked the wrapped cache (-want +got):\n%s", diff)
	}
	if got := c.len(); got != 1 {
		t.Errorf("len() = %d, want 1", got)
	}
}

func TestNearCacheTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		remote := newMapCache(redirA, "A")
		c := NewNearCache(remote, NearCacheConfig{TTL: 2 * time.Second})
		getString(t, c, redirA)
		remote.takeAsked()
		remote.set(redirA, "A2") // changed by another process

		time.Sleep(2*time.Second - time.Nanosecond)
		if got := getString(t, c, redirA)[redirA]; got != "A" {
			t.Errorf("Get before the TTL = %q, want the near copy %q", got, "A")
		}
		if got := remote.takeAsked(); len(got) != 0 {
			t.Errorf("Get before the TTL asked the wrapped cache for %q", got)
		}
		time.Sleep(time.Nanosecond)
		if got := getString(t, c, redirA)[redirA]; got != "A2" {
			t.Errorf("Get at the TTL = %q, want %q", got, "A2")
		}
	})
}

func TestNearCacheDelete(t *testing.T) {
	remote := newMapCache(redirA, "A", farKey, "U")
	c := NewNearCache(remote, NearCacheConfig{})
	getString(t, c, redirA)
	if err := c.Delete(t.Context(), []string{redirA, farKey}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if diff := cmp.Diff([]string{redirA, farKey}, remote.deleted); diff != "" {
		t.Errorf("Delete reached the wrapped cache with (-want +got):\n%s", diff)
	}
	if got := getString(t, c, redirA); len(got) != 0 {
		t.Errorf("Get after Delete = %v, want a miss", got)
	}

	// A failing wrapped cache still loses the near copy.
	remote.set(redirA, "A")
	getString(t, c, redirA)
	remote.err = errors.New("down")
	if err := c.Delete(t.Context(), []string{redirA}); err == nil {
		t.Errorf("Delete with the wrapped cache down = nil, want its error")
	}
	if got := c.len(); got != 0 {
		t.Errorf("len() after a failed Delete = %d, want 0", got)
	}
}

// TestNearCacheDeleteDuringGet checks that a value read through before a
// Delete is not kept after it.
func TestNearCacheDeleteDuringGet(t *testing.T) {
	remote := newMapCache(redirA, "old")
	c := NewNearCache(remote, NearCacheConfig{})
	reading, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	remote.afterRead = func() {
		once.Do(func() {
			close(reading)
			<-release
		})
	}
	done := make(chan map[string][]byte)
	go func() {
		got, _ := c.Get(context.Background(), []string{redirA})
		done <- got
	}()
	<-reading
	// The Get has read the old value; now the URL changes and is
	// invalidated before the Get returns.
	if err := c.Delete(t.Context(), []string{redirA}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	remote.set(redirA, "new")
	close(release)
	<-done
	if got := getString(t, c, redirA)[redirA]; got != "new" {
		t.Errorf("Get after Delete = %q, want %q", got, "new")
	}
}

func TestNearCacheSet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		remote := newMapCache()
		c := NewNearCache(remote, NearCacheConfig{TTL: 2 * time.Second})
		err := c.Set(t.Context(), []core.CacheEntry{
			{Key: redirA, Value: []byte("A"), TTL: 300 * time.Second},
			{Key: redirB, Value: []byte("B"), TTL: time.Second},
			{Key: farKey, Value: []byte("U"), TTL: 300 * time.Second},
		})
		if err != nil {
			t.Fatalf("Set: %v", err)
		}
		want := map[string]string{redirA: "A", redirB: "B", farKey: "U"}
		if diff := cmp.Diff(want, getString(t, c, redirA, redirB, farKey)); diff != "" {
			t.Errorf("Get after Set (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{farKey}, remote.takeAsked()); diff != "" {
			t.Errorf("Get after Set asked the wrapped cache (-want +got):\n%s", diff)
		}
		// The near copy of redirB lives only as long as its own TTL.
		time.Sleep(time.Second)
		getString(t, c, redirA, redirB)
		if diff := cmp.Diff([]string{redirB}, remote.takeAsked()); diff != "" {
			t.Errorf("Get after 1s asked the wrapped cache (-want +got):\n%s", diff)
		}
	})
}

func TestNearCacheWrappedError(t *testing.T) {
	remote := newMapCache(redirA, "A")
	c := NewNearCache(remote, NearCacheConfig{})
	getString(t, c, redirA)
	remote.err = fmt.Errorf("get: %w", core.ErrUnavailable)
	got, err := c.Get(t.Context(), []string{redirA, farKey})
	if !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Get with the wrapped cache down: error %v, want ErrUnavailable", err)
	}
	if string(got[redirA]) != "A" {
		t.Errorf("Get with the wrapped cache down = %q, want the near hit", got)
	}
}

func TestNearCacheBounded(t *testing.T) {
	remote := newMapCache()
	for i := range 1000 {
		remote.set(fmt.Sprintf("%s%d", core.RedirectKeyPrefix, i), "v")
	}
	c := NewNearCache(remote, NearCacheConfig{Size: 64})
	for i := range 1000 {
		getString(t, c, fmt.Sprintf("%s%d", core.RedirectKeyPrefix, i))
	}
	if got := c.len(); got > 64 {
		t.Errorf("len() = %d, want at most 64", got)
	}
}

func TestNearShardClock(t *testing.T) {
	var epoch atomic.Uint64
	s := &nearShard{index: map[string]int32{}, max: 3}
	for _, k := range []string{"a", "b", "c"} {
		s.put(k, []byte(k), 1<<62, &epoch, 0)
	}
	// All three have their reference bit set; a sweep clears them and
	// evicts "a". Touch "b" so that it survives the next eviction.
	s.put("d", nil, 1<<62, &epoch, 0)
	s.get("b", 0)
	s.put("e", nil, 1<<62, &epoch, 0)
	var keys []string
	for k := range s.index {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if diff := cmp.Diff([]string{"b", "d", "e"}, keys); diff != "" {
		t.Errorf("kept keys (-want +got):\n%s", diff)
	}
	// A put with a stale epoch keeps nothing.
	epoch.Add(1)
	s.put("f", nil, 1<<62, &epoch, 0)
	if _, ok := s.index["f"]; ok {
		t.Errorf("put with a stale epoch kept its key")
	}
}

func TestNearCacheConcurrent(t *testing.T) {
	remote := newMapCache()
	for i := range 100 {
		remote.set(fmt.Sprintf("%s%d", core.RedirectKeyPrefix, i), "v")
	}
	c := NewNearCache(remote, NearCacheConfig{Size: 32})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				k := fmt.Sprintf("%s%d", core.RedirectKeyPrefix, (i*7+w)%100)
				switch i % 10 {
				case 0:
					_ = c.Delete(context.Background(), []string{k})
				case 1:
					_ = c.Set(context.Background(), []core.CacheEntry{{Key: k, Value: []byte("v"), TTL: time.Minute}})
				default:
					_, _ = c.Get(context.Background(), []string{k})
				}
			}
		})
	}
	wg.Wait()
	if got := c.len(); got > 32 {
		t.Errorf("len() = %d, want at most 32", got)
	}
}

func BenchmarkNearCacheGet(b *testing.B) {
	remote := newMapCache()
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s%06d", core.RedirectKeyPrefix, i)
		remote.set(keys[i], `{"original_url": "https://example.com/x", "url_id": 1}`)
	}
	c := NewNearCache(remote, NearCacheConfig{TTL: time.Hour})
	ctx := context.Background()
	for _, k := range keys {
		_, _ = c.Get(ctx, []string{k})
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		one := make([]string, 1)
		for pb.Next() {
			one[0] = keys[i%len(keys)]
			i++
			if _, err := c.Get(ctx, one); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// watchedCache is a mapCache that is a core.CacheWatcher fed by the test:
// each watch reads events from the current events channel until it is
// closed (the watch breaks).
type watchedCache struct {
	*mapCache
	events chan core.Invalidation
}

func (w *watchedCache) WatchInvalidations(ctx context.Context, fn func(core.Invalidation) error) error {
	return applyEvents(ctx, w.events, fn)
}

// applyEvents hands fn each event until ctx ends or events is closed (the
// watch breaks).
func applyEvents(ctx context.Context, events <-chan core.Invalidation, fn func(core.Invalidation) error) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case inv, ok := <-events:
			if !ok {
				return errors.New("watch broke")
			}
			if err := fn(inv); err != nil {
				return err
			}
		}
	}
}

func TestNearCacheWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		remote := &watchedCache{mapCache: newMapCache(redirA, "A", farKey, "F"), events: make(chan core.Invalidation)}
		c := NewNearCache(remote, NearCacheConfig{TTL: 2 * time.Second, WatchedTTL: time.Hour})
		defer c.Close()

		getString(t, c, redirA)
		remote.events <- core.Invalidation{Reset: true}
		synctest.Wait()
		// The reset dropped the copy kept before the watch: read again.
		getString(t, c, redirA)
		if diff := cmp.Diff([]string{redirA, redirA}, remote.takeAsked()); diff != "" {
			t.Errorf("reads through (-want +got):\n%s", diff)
		}
		// With the watch in place entries outlive TTL.
		time.Sleep(time.Minute)
		getString(t, c, redirA)
		if asked := remote.takeAsked(); len(asked) != 0 {
			t.Errorf("Get a minute later asked the wrapped cache for %q, want a near hit", asked)
		}
		// Another host's write arrives as an invalidation: the next Get
		// reads the new value.
		remote.set(redirA, "A2")
		remote.events <- core.Invalidation{Keys: []string{redirA, farKey}}
		synctest.Wait()
		if got := getString(t, c, redirA)[redirA]; got != "A2" {
			t.Errorf("Get after the invalidation = %q, want A2", got)
		}
		// The watch breaks: everything near is dropped, and entries live
		// TTL again until the next reset.
		getString(t, c, redirA)
		remote.takeAsked()
		close(remote.events)
		synctest.Wait()
		remote.set(redirA, "A3")
		if got := getString(t, c, redirA)[redirA]; got != "A3" {
			t.Errorf("Get after the watch broke = %q, want A3", got)
		}
		remote.set(redirA, "A4")
		time.Sleep(3 * time.Second)
		if got := getString(t, c, redirA)[redirA]; got != "A4" {
			t.Errorf("Get %v later without a watch = %q, want A4", 3*time.Second, got)
		}
	})
}

// scriptedWatcher is a mapCache whose watches end at once with errs, one
// per watch; once they are used up a watch lasts until it is stopped.
type scriptedWatcher struct {
	*mapCache
	mu   sync.Mutex
	errs []error
}

func (w *scriptedWatcher) WatchInvalidations(ctx context.Context, _ func(core.Invalidation) error) error {
	w.mu.Lock()
	if len(w.errs) > 0 {
		err := w.errs[0]
		w.errs = w.errs[1:]
		w.mu.Unlock()
		return err
	}
	w.mu.Unlock()
	<-ctx.Done()
	return ctx.Err()
}

// TestNearCacheWatchLogsOnlyRealWatches: a cache whose plugin offers no
// watch logs nothing about watches, even while its plugin restarts; one
// whose watch cannot be started says so once.
func TestNearCacheWatchLogsOnlyRealWatches(t *testing.T) {
	restarting := fmt.Errorf("cache plugin %q is restarting: %w", "cache", core.ErrUnavailable)
	unsupported := fmt.Errorf("cache plugin %q reports no invalidations: %w", "cache", errors.ErrUnsupported)
	for _, tt := range []struct {
		name  string
		errs  []error
		warns int
	}{
		{"no watch offered", []error{unsupported, restarting, restarting, unsupported}, 0},
		{"watch offered", []error{restarting, restarting}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var out bytes.Buffer
				remote := &scriptedWatcher{mapCache: newMapCache(), errs: tt.errs}
				c := NewNearCache(remote, NearCacheConfig{Logger: slog.New(slog.NewTextHandler(&out, nil))})
				time.Sleep(time.Duration(len(tt.errs)+1) * rewatchWait)
				c.Close()
				if n := strings.Count(out.String(), "watch ended"); n != tt.warns {
					t.Errorf("logged %d warnings of an ended watch, want %d:\n%s", n, tt.warns, out.String())
				}
			})
		})
	}
}

// restartingWatcher is a mapCache whose each watch takes the next
// channel from watches and applies its events until it is closed.
type restartingWatcher struct {
	*mapCache
	watches chan chan core.Invalidation
}

func (w *restartingWatcher) WatchInvalidations(ctx context.Context, fn func(core.Invalidation) error) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case events := <-w.watches:
		return applyEvents(ctx, events, fn)
	}
}

// TestNearCacheWatchBackLogged: the end of a watch is logged once, and so
// is the next watch in place; the first watch of a start is no news.
func TestNearCacheWatchBackLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		remote := &restartingWatcher{mapCache: newMapCache(), watches: make(chan chan core.Invalidation)}
		c := NewNearCache(remote, NearCacheConfig{Logger: slog.New(slog.NewTextHandler(&out, nil))})
		defer c.Close()
		count := func(msg string) int { synctest.Wait(); return strings.Count(out.String(), msg) }

		first := make(chan core.Invalidation)
		remote.watches <- first
		first <- core.Invalidation{Reset: true}
		if n := count("in place again"); n != 0 {
			t.Errorf("first watch logged %d lines of a watch back, want 0:\n%s", n, out.String())
		}
		close(first)
		if n := count("watch ended"); n != 1 {
			t.Errorf("broken watch logged %d warnings, want 1:\n%s", n, out.String())
		}
		second := make(chan core.Invalidation)
		remote.watches <- second
		second <- core.Invalidation{Reset: true}
		if n := count("in place again"); n != 1 {
			t.Errorf("watch back logged %d lines, want 1:\n%s", n, out.String())
		}
	})
}

// TestNearCacheGetOne checks the single-key read against Get: the same
// near copies, read-through, misses, errors, and no near copy kept from a
// read that a Delete overtook.
func TestNearCacheGetOne(t *testing.T) {
	remote := newMapCache(redirA, "A", farKey, "U")
	c := NewNearCache(remote, NearCacheConfig{})
	one := func(key string) (string, bool) {
		t.Helper()
		v, ok, err := c.GetOne(t.Context(), key)
		if err != nil {
			t.Fatalf("GetOne(%q): %v", key, err)
		}
		return string(v), ok
	}
	for range 2 {
		if v, ok := one(redirA); !ok || v != "A" {
			t.Errorf("GetOne(redirA) = %q, %v; want A", v, ok)
		}
		if v, ok := one(farKey); !ok || v != "U" {
			t.Errorf("GetOne(farKey) = %q, %v; want U", v, ok)
		}
		if v, ok := one("cache:url:redirect:none"); ok {
			t.Errorf("GetOne(missing) = %q, want a miss", v)
		}
	}
	// The near key was asked once; the far key and the miss every time.
	want := []string{farKey, farKey, redirA, "cache:url:redirect:none", "cache:url:redirect:none"}
	if diff := cmp.Diff(want, remote.takeAsked()); diff != "" {
		t.Errorf("GetOne asked the wrapped cache (-want +got):\n%s", diff)
	}
	// Get sees what GetOne kept, and the other way round.
	if got := getString(t, c, redirA)[redirA]; got != "A" || len(remote.takeAsked()) != 0 {
		t.Errorf("Get after GetOne = %q, want the near copy", got)
	}

	remote.err = fmt.Errorf("get: %w", core.ErrUnavailable)
	if _, _, err := c.GetOne(t.Context(), farKey); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("GetOne with the wrapped cache down: error %v, want ErrUnavailable", err)
	}
	if v, ok, err := c.GetOne(t.Context(), redirA); err != nil || !ok || string(v) != "A" {
		t.Errorf("GetOne of a near key with the wrapped cache down = %q, %v, %v; want the near hit", v, ok, err)
	}
	remote.err = nil

	// A Delete during the read: the value read before it is not kept.
	if err := c.Delete(t.Context(), []string{redirA}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	remote.set(redirA, "A")
	var once sync.Once
	remote.afterRead = func() {
		once.Do(func() {
			if err := c.Delete(context.Background(), []string{redirA}); err != nil {
				t.Errorf("Delete: %v", err)
			}
			remote.set(redirA, "new")
		})
	}
	if v, _ := one(redirA); v != "A" {
		t.Errorf("GetOne racing a Delete = %q, want the value it read (A)", v)
	}
	remote.afterRead = nil
	if v, _ := one(redirA); v != "new" {
		t.Errorf("GetOne after the Delete = %q, want new", v)
	}
}

// slowDeletes is a wrapped cache whose Deletes take a while and are
// recorded call by call.
type slowDeletes struct {
	*mapCache
	mu    sync.Mutex
	calls [][]string
}

func (c *slowDeletes) Delete(ctx context.Context, keys []string) error {
	time.Sleep(time.Millisecond)
	c.mu.Lock()
	c.calls = append(c.calls, append([]string(nil), keys...))
	c.mu.Unlock()
	return c.mapCache.Delete(ctx, keys)
}

// TestNearCacheDeletesMerged: concurrent Deletes share calls to the
// wrapped cache, keys repeated between them are sent once per call, and
// each Delete returns only once a call holding its keys has returned.
func TestNearCacheDeletesMerged(t *testing.T) {
	remote := &slowDeletes{mapCache: newMapCache()}
	c := NewNearCache(remote, NearCacheConfig{})
	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			own := fmt.Sprintf("cache:url:%d", i)
			if err := c.Delete(t.Context(), []string{own, "cache:urls:list"}); err != nil {
				t.Errorf("Delete: %v", err)
			}
			remote.mu.Lock()
			defer remote.mu.Unlock()
			for _, call := range remote.calls {
				for _, k := range call {
					if k == own {
						return
					}
				}
			}
			t.Errorf("Delete of %s returned before a call dropped it", own)
		})
	}
	wg.Wait()
	sent := map[string]int{}
	for _, call := range remote.calls {
		seen := map[string]bool{}
		for _, k := range call {
			if seen[k] {
				t.Errorf("call %q repeats %s", call, k)
			}
			seen[k] = true
			sent[k]++
		}
	}
	for i := range n {
		if k := fmt.Sprintf("cache:url:%d", i); sent[k] != 1 {
			t.Errorf("%s sent %d times, want 1", k, sent[k])
		}
	}
	if len(remote.calls) >= n {
		t.Errorf("%d calls for %d concurrent Deletes: none merged", len(remote.calls), n)
	}
	if sent["cache:urls:list"] != len(remote.calls) {
		t.Errorf("the shared key was sent %d times in %d calls", sent["cache:urls:list"], len(remote.calls))
	}

	// An error reaches every Delete of its call.
	remote.err = errors.New("down")
	if err := c.Delete(t.Context(), []string{"cache:url:x"}); err == nil {
		t.Error("Delete with the wrapped cache down = nil, want its error")
	}
}
