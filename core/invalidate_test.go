package core

import (
	"context"
	"sync"
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
}

func (r *racyStore) GetURLByCode(ctx context.Context, code string) (URL, error) {
	u, err := r.fakeStore.GetURLByCode(ctx, code)
	r.hookMu.Lock()
	h := r.hook
	r.hook = nil
	r.hookMu.Unlock()
	if h != nil {
		h()
	}
	return u, err
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

// TestUpdateURLEndsRacingFill checks the second invalidation: a redirect
// that read a link before its update and wrote it to the cache after the
// update's invalidation serves the old target at most staleFillWindow,
// not for the cache entry's five minutes.
func TestUpdateURLEndsRacingFill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := &racyStore{fakeStore: newFakeStore()}
		cache := newFakeCache()
		svc := newTestService(st, ServiceConfig{Cache: cache})
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
		time.Sleep(staleFillWindow)
		synctest.Wait()
		target, _, err = svc.Redirect(ctx, u.ShortCode, ClickSource{}, false)
		if err != nil || target.OriginalURL != "https://new.example/" {
			t.Errorf("redirect after %v = %q, %v; want the new target", staleFillWindow, target.OriginalURL, err)
		}
	})
}
