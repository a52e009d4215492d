package core

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// racyStore is a fakeStore with UpdateURL whose GetURLByCode can run a
// hook after it read the row and before it returns it.
type racyStore struct {
	*fakeStore
	hookMu sync.Mutex
	hook   func()
	// down makes GetURLByCode fail as a store that is down.
	down atomic.Bool
}

func (r *racyStore) GetURLByCode(ctx context.Context, code string) (URL, error) {
	if r.down.Load() {
		return URL{}, fmt.Errorf("get url %q: store down: %w", code, ErrUnavailable)
	}
	u, err := r.fakeStore.GetURLByCode(ctx, code)
	r.runHook()
	return u, err
}

// ListURLs runs the hook after it read the list, like GetURLByCode.
func (r *racyStore) ListURLs(ctx context.Context, f URLFilter) ([]URL, error) {
	urls, err := r.fakeStore.ListURLs(ctx, f)
	r.runHook()
	return urls, err
}

// runHook runs the hook once, if one is set.
func (r *racyStore) runHook() {
	r.hookMu.Lock()
	h := r.hook
	r.hook = nil
	r.hookMu.Unlock()
	if h != nil {
		h()
	}
}

func (r *racyStore) UpdateURL(ctx context.Context, u URL, updated *Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.urls {
		if r.urls[i].ID == u.ID {
			r.urls[i] = u
			return nil
		}
	}
	return ErrNotFound
}

// newRacyService returns a service over a racyStore and a fake cache.
func newRacyService() (*racyStore, *fakeCache, *Service) {
	st := &racyStore{fakeStore: newFakeStore()}
	cache := newFakeCache()
	return st, cache, newTestService(st, ServiceConfig{Cache: cache})
}

// afterLateDeletes waits, in a synctest bubble, until the second deletes
// of every invalidation so far are done.
func afterLateDeletes() {
	time.Sleep(staleFillWindow + lateGather)
	synctest.Wait()
}

// TestUpdateURLEndsRacingFill checks the second invalidation: a redirect
// that read a link before its update and wrote it to the cache after the
// update's invalidation serves the old target at most staleFillWindow
// (plus the gathering of late deletes), not for the cache entry's five minutes.
func TestUpdateURLEndsRacingFill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st, _, svc := newRacyService()
		u, _, err := svc.CreateURL(ctx, CreateURLRequest{OriginalURL: "https://old.example/"})
		if err != nil {
			t.Fatal(err)
		}
		// The redirect misses the cache and reads the link; the update
		// commits and invalidates before the redirect fills the cache.
		st.hook = func() {
			if _, err := svc.UpdateURL(ctx, u.ID, UpdateURLRequest{OriginalURL: ptrTo("https://new.example/")}); err != nil {
				t.Errorf("UpdateURL: %v", err)
			}
		}
		target, _, err := svc.Redirect(ctx, u.ShortCode, ClickSource{}, false)
		if err != nil || target.OriginalURL != "https://old.example/" {
			t.Fatalf("racing redirect = %q, %v; want the old target, read before the update", target.OriginalURL, err)
		}
		if target, status, _ := svc.Redirect(ctx, u.ShortCode, ClickSource{}, false); target.OriginalURL != "https://old.example/" || status != CacheHit {
			t.Fatalf("redirect right after = %q (%v); the race did not happen as the test means it", target.OriginalURL, status)
		}
		afterLateDeletes()
		target, _, err = svc.Redirect(ctx, u.ShortCode, ClickSource{}, false)
		if err != nil || target.OriginalURL != "https://new.example/" {
			t.Errorf("redirect after %v = %q, %v; want the new target", staleFillWindow+lateGather, target.OriginalURL, err)
		}
	})
}

// TestCreateURLKeepsItsTarget: the second invalidation of a create
// deletes only its lists, so the redirect target its first clicks cached
// stays cached, and is served while the store is down.
func TestCreateURLKeepsItsTarget(t *testing.T) {
	for _, custom := range []string{"", "mine"} {
		t.Run("code="+custom, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				st, cache, svc := newRacyService()
				req := CreateURLRequest{OriginalURL: "https://kept.example/"}
				if custom != "" {
					req.ShortCode = &custom
				}
				u, _, err := svc.CreateURL(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := svc.Redirect(ctx, u.ShortCode, ClickSource{}, false); err != nil {
					t.Fatalf("first redirect: %v", err)
				}
				afterLateDeletes()
				cache.mu.Lock()
				_, cached := cache.vals[redirectKey(u.ShortCode)]
				cache.mu.Unlock()
				if !cached {
					t.Errorf("redirect target of %q not cached %v after the create", u.ShortCode, staleFillWindow+lateGather)
				}
				st.down.Store(true)
				target, status, err := svc.Redirect(ctx, u.ShortCode, ClickSource{}, false)
				if err != nil || target.OriginalURL != "https://kept.example/" || status != CacheHit {
					t.Errorf("redirect with the store down = %q, %v, %v; want the cached target", target.OriginalURL, status, err)
				}
			})
		})
	}
}

// TestCreateURLEndsRacingListFill checks the second invalidation of a
// create: a list read before the create and written to the cache after
// the create's invalidation is gone staleFillWindow (plus the gathering
// of late deletes) later, not after the list's two-minute TTL. Creates in
// a burst share one late delete.
func TestCreateURLEndsRacingListFill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st, cache, svc := newRacyService()
		if _, _, err := svc.CreateURL(ctx, CreateURLRequest{OriginalURL: "https://first.example/"}); err != nil {
			t.Fatal(err)
		}
		// The list misses the cache and reads one link; the create
		// commits and invalidates before the list fills the cache.
		st.hook = func() {
			if _, _, err := svc.CreateURL(ctx, CreateURLRequest{OriginalURL: "https://second.example/"}); err != nil {
				t.Errorf("CreateURL: %v", err)
			}
		}
		if urls, _, err := svc.ListURLs(ctx, ListURLsRequest{}); err != nil || len(urls) != 1 {
			t.Fatalf("racing list = %d links, %v; want the one read before the create", len(urls), err)
		}
		if urls, status, _ := svc.ListURLs(ctx, ListURLsRequest{}); len(urls) != 1 || status != CacheHit {
			t.Fatalf("list right after = %d links (%v); the race did not happen as the test means it", len(urls), status)
		}
		afterLateDeletes()
		if urls, _, err := svc.ListURLs(ctx, ListURLsRequest{}); err != nil || len(urls) != 2 {
			t.Errorf("list after %v = %d links, %v; want both", staleFillWindow+lateGather, len(urls), err)
		}

		// A burst of creates within lateGather shares one late delete.
		deleteCalls := func() int {
			cache.mu.Lock()
			defer cache.mu.Unlock()
			return len(cache.deletes)
		}
		for i := range 5 {
			if _, _, err := svc.CreateURL(ctx, CreateURLRequest{OriginalURL: "https://more.example/" + strconv.Itoa(i)}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(lateGather / 10)
		}
		before := deleteCalls()
		afterLateDeletes()
		if got := deleteCalls() - before; got != 1 {
			t.Errorf("%d late delete calls for 5 creates within %v, want 1", got, lateGather)
		}
	})
}
