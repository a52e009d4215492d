package plugintest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// Cache runs the core.Cache conformance suite. newCache returns an empty
// cache; keys in the suite are random, so a cache shared with other data
// works too.
func Cache(t *testing.T, newCache func(t *testing.T) core.Cache) {
	t.Helper()
	for _, tc := range CacheCases() {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			tc.Run(t, newCache(t))
		})
	}
}

// CacheCases returns the cases of the Cache suite, for runners other than go
// test (see Check).
func CacheCases() []Case[core.Cache] {
	return []Case[core.Cache]{
		{"MissesAreAbsent", cacheMisses},
		{"MultiSetAndGet", cacheMulti},
		{"SetOverwrites", cacheOverwrite},
		{"EmptyAndBinaryValues", cacheValues},
		{"DeleteIgnoresMissingKeys", cacheDelete},
		{"TTLExpires", cacheTTL},
		{"ConcurrentUse", cacheConcurrent},
		{"NonPositiveTTLKeepsTheValue", cacheNonPositiveTTL},
		{"DuplicateKeysInOneGet", cacheDuplicateGet},
		{"LastDuplicateInOneSetWins", cacheDuplicateSet},
		{"WatchReportsChanges", cacheWatch},
	}
}

func get(t T, c core.Cache, keys ...string) map[string][]byte {
	t.Helper()
	m, err := c.Get(callCtx(t), keys)
	if err != nil {
		t.Fatalf("Get(%q) error: %v", keys, err)
	}
	return m
}

func set(t T, c core.Cache, entries ...core.CacheEntry) {
	t.Helper()
	if err := c.Set(callCtx(t), entries); err != nil {
		t.Fatalf("Set(%d entries) error: %v", len(entries), err)
	}
}

// diffValues compares cache answers, telling nil from empty values apart
// only by presence in the map.
func diffValues(want, got map[string][]byte) string {
	return cmp.Diff(want, got, cmp.Comparer(func(a, b []byte) bool { return string(a) == string(b) }))
}

func cacheMisses(t T, c core.Cache) {
	if m := get(t, c, unique("k"), unique("k")); len(m) != 0 {
		t.Errorf("Get of missing keys = %v, want empty", m)
	}
	if m := get(t, c); len(m) != 0 {
		t.Errorf("Get of no keys = %v, want empty", m)
	}
}

func cacheMulti(t T, c core.Cache) {
	a, b, missing := unique("a"), unique("b"), unique("m")
	set(t, c,
		core.CacheEntry{Key: a, Value: []byte(`{"id":1}`), TTL: time.Minute},
		core.CacheEntry{Key: b, Value: []byte("two"), TTL: time.Minute},
	)
	want := map[string][]byte{a: []byte(`{"id":1}`), b: []byte("two")}
	if diff := diffValues(want, get(t, c, a, missing, b)); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
}

func cacheOverwrite(t T, c core.Cache) {
	k := unique("k")
	set(t, c, core.CacheEntry{Key: k, Value: []byte("old"), TTL: time.Minute})
	set(t, c, core.CacheEntry{Key: k, Value: []byte("new"), TTL: time.Minute})
	if diff := diffValues(map[string][]byte{k: []byte("new")}, get(t, c, k)); diff != "" {
		t.Errorf("Get after overwrite (-want +got):\n%s", diff)
	}
}

func cacheValues(t T, c core.Cache) {
	empty, bin := unique("e"), unique("b")
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	set(t, c,
		core.CacheEntry{Key: empty, Value: []byte{}, TTL: time.Minute},
		core.CacheEntry{Key: bin, Value: all, TTL: time.Minute},
	)
	got := get(t, c, empty, bin)
	if v, ok := got[empty]; !ok || len(v) != 0 {
		t.Errorf("Get of an empty value = %q, present %v; want a hit with an empty value", v, ok)
	}
	if string(got[bin]) != string(all) {
		t.Errorf("Get of a binary value = %v, want bytes 0..255", got[bin])
	}
}

func cacheDelete(t T, c core.Cache) {
	a, b, keep := unique("a"), unique("b"), unique("k")
	set(t, c,
		core.CacheEntry{Key: a, Value: []byte("1"), TTL: time.Minute},
		core.CacheEntry{Key: b, Value: []byte("2"), TTL: time.Minute},
		core.CacheEntry{Key: keep, Value: []byte("3"), TTL: time.Minute},
	)
	if err := c.Delete(callCtx(t), []string{a, unique("missing"), b}); err != nil {
		t.Fatalf("Delete error: %v", err)
	}
	if diff := diffValues(map[string][]byte{keep: []byte("3")}, get(t, c, a, b, keep)); diff != "" {
		t.Errorf("Get after Delete (-want +got):\n%s", diff)
	}
	if err := c.Delete(callCtx(t), nil); err != nil {
		t.Errorf("Delete(nil) error: %v", err)
	}
}

func cacheTTL(t T, c core.Cache) {
	short, long := unique("s"), unique("l")
	set(t, c,
		core.CacheEntry{Key: short, Value: []byte("soon gone"), TTL: time.Second},
		core.CacheEntry{Key: long, Value: []byte("stays"), TTL: time.Hour},
	)
	if m := get(t, c, short); len(m) != 1 {
		t.Fatalf("Get right after Set = %v, want a hit", m)
	}
	start := time.Now()
	eventually(t, "entry with a 1s TTL expires", func() bool { return len(get(t, c, short)) == 0 })
	if waited := time.Since(start); waited < 500*time.Millisecond {
		t.Errorf("entry with a 1s TTL gone after %v, too early", waited)
	}
	if diff := diffValues(map[string][]byte{long: []byte("stays")}, get(t, c, long)); diff != "" {
		t.Errorf("entry with a 1h TTL (-want +got):\n%s", diff)
	}
}

func cacheConcurrent(t T, c core.Cache) {
	prefix := unique("p")
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 20 {
				k := fmt.Sprintf("%s:%d:%d", prefix, w, i)
				v := []byte(k)
				if err := c.Set(callCtx(t), []core.CacheEntry{{Key: k, Value: v, TTL: time.Minute}}); err != nil {
					t.Errorf("Set(%q) error: %v", k, err)
					return
				}
				m, err := c.Get(callCtx(t), []string{k})
				if err != nil || string(m[k]) != k {
					t.Errorf("Get(%q) = %q, %v; want %q", k, m[k], err, k)
					return
				}
			}
		})
	}
	wg.Wait()
}

// cacheNonPositiveTTL: a zero or negative TTL means the plugin's own
// default, never "already expired" and never an error.
func cacheNonPositiveTTL(t T, c core.Cache) {
	zero, negative := unique("z"), unique("n")
	set(t, c,
		core.CacheEntry{Key: zero, Value: []byte("0"), TTL: 0},
		core.CacheEntry{Key: negative, Value: []byte("-1"), TTL: -time.Second},
	)
	want := map[string][]byte{zero: []byte("0"), negative: []byte("-1")}
	if diff := diffValues(want, get(t, c, zero, negative)); diff != "" {
		t.Errorf("Get right after Set with TTL 0 and -1s (-want +got):\n%s", diff)
	}
}

// cacheDuplicateGet: a key asked twice in one Get is answered once.
func cacheDuplicateGet(t T, c core.Cache) {
	k, missing := unique("k"), unique("m")
	set(t, c, core.CacheEntry{Key: k, Value: []byte("v"), TTL: time.Minute})
	if diff := diffValues(map[string][]byte{k: []byte("v")}, get(t, c, k, missing, k, missing, k)); diff != "" {
		t.Errorf("Get with duplicate keys (-want +got):\n%s", diff)
	}
}

// cacheDuplicateSet: entries of one Set apply in order, so the last one
// of a key wins.
func cacheDuplicateSet(t T, c core.Cache) {
	k := unique("k")
	set(t, c,
		core.CacheEntry{Key: k, Value: []byte("first"), TTL: time.Minute},
		core.CacheEntry{Key: k, Value: []byte("second"), TTL: time.Minute},
		core.CacheEntry{Key: k, Value: []byte("last"), TTL: time.Minute},
	)
	if diff := diffValues(map[string][]byte{k: []byte("last")}, get(t, c, k)); diff != "" {
		t.Errorf("Get after a Set with the key three times (-want +got):\n%s", diff)
	}
}

// cacheWatch: a cache that watches its invalidations (core.CacheWatcher;
// over the wire, Watch of a plugin reporting the capability
// "invalidations") first reports a reset, then the keys of every Set and
// Delete. A cache that answers UNIMPLEMENTED without the capability passes;
// one that reports the capability must serve the stream, since the host
// keeps near entries for minutes on its word.
func cacheWatch(t T, c core.Cache) {
	w, ok := c.(core.CacheWatcher)
	if !ok {
		t.Log("not a core.CacheWatcher: no invalidations to check")
		return
	}
	claimed := false
	if p, ok := c.(interface {
		Info(context.Context) (sdk.Info, error)
	}); ok {
		info, err := p.Info(callCtx(t))
		if err != nil {
			t.Fatalf("Info: %v", err)
		}
		claimed = info.Has(sdk.CapInvalidations)
	}
	ctx, cancel := context.WithCancel(t.Context())
	events := make(chan core.Invalidation, 1024)
	ended := make(chan error, 1)
	go func() {
		ended <- w.WatchInvalidations(ctx, func(inv core.Invalidation) error {
			select {
			case events <- inv:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	t.Cleanup(func() { cancel(); <-ended })
	// next waits for an event that satisfies ok, failing when the watch
	// ends or nothing comes within waitLimit.
	next := func(what string, ok func(core.Invalidation) bool) {
		t.Helper()
		wait := callCtx(t)
		for {
			select {
			case inv := <-events:
				if ok(inv) {
					return
				}
			case err := <-ended:
				ended <- err // for the cleanup
				t.Fatalf("Watch ended while waiting for %s: %v", what, err)
			case <-wait.Done():
				t.Fatalf("Watch reported no %s within %v", what, waitLimit)
			}
		}
	}
	select {
	case inv := <-events:
		if !inv.Reset {
			t.Fatalf("first Watch event = %+v, want reset", inv)
		}
	case err := <-ended:
		ended <- err // for the cleanup
		if errors.Is(err, errors.ErrUnsupported) {
			if claimed {
				t.Fatalf("the plugin reports the capability \"invalidations\" but Watch is UNIMPLEMENTED (%v)", err)
			}
			t.Log("Watch is UNIMPLEMENTED and the capability \"invalidations\" is not reported: nothing to check")
			return
		}
		t.Fatalf("Watch ended before its first event (reset): %v", err)
	case <-callCtx(t).Done():
		t.Fatalf("Watch reported no reset within %v", waitLimit)
	}
	k := unique("watch")
	has := func(inv core.Invalidation) bool { return slices.Contains(inv.Keys, k) }
	set(t, c, core.CacheEntry{Key: k, Value: []byte("v"), TTL: time.Minute})
	next(fmt.Sprintf("event for Set(%q)", k), has)
	if err := c.Delete(callCtx(t), []string{k}); err != nil {
		t.Fatalf("Delete(%q) error: %v", k, err)
	}
	next(fmt.Sprintf("event for Delete(%q)", k), has)
}
