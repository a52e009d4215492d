package core

import (
	"testing"
)

// TestGetURLMemoFollowsTheCache: a cached URL object that changes is
// answered as it is now, never as it was decoded before.
func TestGetURLMemoFollowsTheCache(t *testing.T) {
	ctx := t.Context()
	cache := newFakeCache()
	svc := newTestService(newFakeStore(), ServiceConfig{Cache: cache})
	title := "first"
	u := URL{ID: 7, ShortCode: "abc123", OriginalURL: "https://x.test/", Title: &title, IsActive: true, CreatedAt: fixedNow, UpdatedAt: fixedNow}
	cache.vals[urlKey(7)] = appendURLPython(nil, u)
	for range 2 { // decoded, then from the memo
		got, status, err := svc.GetURL(ctx, 7)
		if err != nil || status != CacheHit || got.Title == nil || *got.Title != "first" {
			t.Fatalf("GetURL = %+v, %v, %v; want the cached URL titled first", got, status, err)
		}
	}
	second := "second"
	u.Title, u.IsActive = &second, false
	cache.vals[urlKey(7)] = appendURLPython(nil, u)
	got, status, err := svc.GetURL(ctx, 7)
	if err != nil || status != CacheHit || got.Title == nil || *got.Title != "second" || got.IsActive {
		t.Fatalf("GetURL after the cached object changed = %+v, %v, %v; want it titled second, inactive", got, status, err)
	}
}

// BenchmarkGetURLCached is GET /urls/{id} answered from the cache.
func BenchmarkGetURLCached(b *testing.B) {
	cache := newFakeCache()
	svc := newTestService(newFakeStore(), ServiceConfig{Cache: cache})
	title := "a title"
	u := URL{ID: 7, ShortCode: "abc123", OriginalURL: "https://example.com/some/path?q=1", Title: &title, IsActive: true, CreatedAt: fixedNow, UpdatedAt: fixedNow}
	cache.vals[urlKey(7)] = appendURLPython(nil, u)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, status, err := svc.GetURL(ctx, 7); err != nil || status != CacheHit {
			b.Fatalf("GetURL = %v, %v", status, err)
		}
	}
}
