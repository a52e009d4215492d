package core

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// SummarizeEvents counts the fake's events of one URL.
func (f *fakeStore) SummarizeEvents(ctx context.Context, urlID int64) (EventSummary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sum := EventSummary{Counts: map[string]int64{}}
	for _, e := range f.events {
		if e.URLID != nil && *e.URLID == urlID {
			sum.Total++
			sum.Counts[e.EventType]++
		}
	}
	return sum, nil
}

// streamShard counts the clicks recorded per code as pending.
type streamShard struct {
	ClickShard
	mu      sync.Mutex
	pending map[string]int64
}

func (s *streamShard) Record(ctx context.Context, clicks []Click) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range clicks {
		s.pending[c.Code]++
	}
	return nil
}

func (s *streamShard) Stats(ctx context.Context, req StatsRequest) (ShardStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.pending[req.Code]
	return ShardStats{Total: n, Pending: n}, nil
}

// queueRecorder queues clicks until deliver hands them to the shard, as a
// batcher does between two flushes.
type queueRecorder struct {
	shard  *streamShard
	mu     sync.Mutex
	queued []Click
}

func (r *queueRecorder) Record(ctx context.Context, c Click) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queued = append(r.queued, c)
	return nil
}

func (r *queueRecorder) deliver(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.shard.Record(ctx, r.queued)
	r.queued = nil
	return err
}

// settlingRecorder is a queueRecorder that can settle: it delivers what
// is queued, unless stuck (its shard unreachable).
type settlingRecorder struct {
	queueRecorder
	stuck bool
}

func (r *settlingRecorder) Settle(ctx context.Context) error {
	if r.stuck {
		<-ctx.Done()
		return ctx.Err()
	}
	return r.deliver(ctx)
}

// clicked returns a service over rec and shard that made four redirects
// of a fresh URL (id 1).
func clicked(t *testing.T, rec ClickRecorder, shard *streamShard) *Service {
	t.Helper()
	st := newFakeStore()
	st.urls = []URL{{ID: 1, ShortCode: "abc123", OriginalURL: "https://example.com/", IsActive: true}}
	svc := newTestService(st, ServiceConfig{
		Cache:  newFakeCache(),
		Clicks: rec,
		Shards: shardList{{Name: "shard0", Shard: shard}},
	})
	for range 4 {
		if _, _, err := svc.Redirect(t.Context(), "abc123", ClickSource{Visitor: "10.0.0.1"}, true); err != nil {
			t.Fatal(err)
		}
	}
	return svc
}

// clickedThenLooked makes four redirects of a fresh URL, then reads its
// analytics twice, and returns the two responses' redirect counts and
// cache statuses.
func clickedThenLooked(t *testing.T, rec ClickRecorder, shard *streamShard) (counts [2]int64, statuses [2]CacheStatus) {
	t.Helper()
	ctx := t.Context()
	svc := clicked(t, rec, shard)
	for i := range 2 {
		a, status, err := svc.Analytics(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		counts[i], statuses[i] = a.RedirectCount, status
		if q, ok := rec.(*queueRecorder); ok && i == 0 {
			// The batcher flushes after the first look.
			if err := q.deliver(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	return counts, statuses
}

// TestAnalyticsSeeClicksJustMade: four redirects, then analytics shows
// the four clicks, and a response that missed them is never cached.
func TestAnalyticsSeeClicksJustMade(t *testing.T) {
	t.Run("recorder settles", func(t *testing.T) {
		shard := &streamShard{pending: map[string]int64{}}
		counts, statuses := clickedThenLooked(t, &settlingRecorder{queueRecorder: queueRecorder{shard: shard}}, shard)
		if counts != [2]int64{4, 4} || statuses != [2]CacheStatus{CacheMiss, CacheHit} {
			t.Errorf("analytics = %v redirects, %v, want 4 and 4, MISS then HIT", counts, statuses)
		}
	})
	t.Run("recorder cannot settle", func(t *testing.T) {
		shard := &streamShard{pending: map[string]int64{}}
		counts, statuses := clickedThenLooked(t, &queueRecorder{shard: shard}, shard)
		// The first look came before the flush; it must not be cached.
		if counts != [2]int64{0, 4} || statuses != [2]CacheStatus{CacheMiss, CacheMiss} {
			t.Errorf("analytics = %v redirects, %v, want 0 then 4, both MISS", counts, statuses)
		}
	})
	t.Run("settling times out", func(t *testing.T) {
		shard := &streamShard{pending: map[string]int64{}}
		rec := &settlingRecorder{queueRecorder: queueRecorder{shard: shard}, stuck: true}
		counts, statuses := clickedThenLooked(t, rec, shard)
		if counts != [2]int64{0, 0} || statuses != [2]CacheStatus{CacheMiss, CacheMiss} {
			t.Errorf("analytics = %v redirects, %v, want 0 and 0, both MISS (never cached)", counts, statuses)
		}
	})
	t.Run("no recorder", func(t *testing.T) {
		// Clicks are stored before the redirect answers: cache as usual.
		st := newFakeStore()
		st.urls = []URL{{ID: 1, ShortCode: "abc123", IsActive: true}}
		svc := newTestService(st, ServiceConfig{Cache: newFakeCache()})
		for _, want := range []CacheStatus{CacheMiss, CacheHit} {
			if _, status, err := svc.Analytics(t.Context(), 1); err != nil || status != want {
				t.Errorf("Analytics = %v, %v, want %v", status, err, want)
			}
		}
	})
}

// TestAnalyticsCachedBeforeAClick: a user who looks (the response is
// cached), clicks and looks again sees the click at once, not after the
// cache's 120 s; the response computed then is cached as usual.
func TestAnalyticsCachedBeforeAClick(t *testing.T) {
	shard := &streamShard{pending: map[string]int64{}}
	rec := &settlingRecorder{queueRecorder: queueRecorder{shard: shard}}
	st := newFakeStore()
	st.urls = []URL{{ID: 1, ShortCode: "abc123", OriginalURL: "https://example.com/", IsActive: true}}
	svc := newTestService(st, ServiceConfig{Cache: newFakeCache(), Clicks: rec, Shards: shardList{{Name: "shard0", Shard: shard}}})
	look := func() (int64, CacheStatus) {
		t.Helper()
		a, status, err := svc.Analytics(t.Context(), 1)
		if err != nil {
			t.Fatal(err)
		}
		return a.RedirectCount, status
	}
	if n, status := look(); n != 0 || status != CacheMiss {
		t.Fatalf("first look = %d, %v; want 0, MISS", n, status)
	}
	if n, status := look(); n != 0 || status != CacheHit {
		t.Fatalf("second look = %d, %v; want 0, HIT", n, status)
	}
	if _, _, err := svc.Redirect(t.Context(), "abc123", ClickSource{Visitor: "10.0.0.1"}, true); err != nil {
		t.Fatal(err)
	}
	if n, status := look(); n != 1 || status != CacheMiss {
		t.Errorf("look after a click = %d, %v; want 1, MISS (the cached 0 is behind)", n, status)
	}
	if n, status := look(); n != 1 || status != CacheHit {
		t.Errorf("look after that = %d, %v; want 1, HIT", n, status)
	}
}

// oneLinkStore holds link 1, code abc123.
func oneLinkStore() *fakeStore {
	st := newFakeStore()
	st.urls = []URL{{ID: 1, ShortCode: "abc123", OriginalURL: "https://example.com/", IsActive: true}}
	return st
}

// cachingService is an instance over st and cache whose clicks, settled
// on demand, reach shard.
func cachingService(st *fakeStore, cache *fakeCache, shard *streamShard) *Service {
	return newTestService(st, ServiceConfig{Cache: cache, Clicks: &settlingRecorder{queueRecorder: queueRecorder{shard: shard}},
		Shards: shardList{{Name: "shard0", Shard: shard}}})
}

// TestAnalyticsCachedBeforeAnotherInstancesClick: two instances share the
// cache and the shard; one caches analytics, the other serves a click. The
// first sees the click within clickGather: the clicking instance deletes
// the cached response once its click reached the shard.
func TestAnalyticsCachedBeforeAnotherInstancesClick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		shard := &streamShard{pending: map[string]int64{}}
		st := oneLinkStore()
		cache := newFakeCache()
		a, b := cachingService(st, cache, shard), cachingService(st, cache, shard)
		look := func() (int64, CacheStatus) {
			t.Helper()
			an, status, err := a.Analytics(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			return an.RedirectCount, status
		}
		if n, status := look(); n != 0 || status != CacheMiss {
			t.Fatalf("first look = %d, %v; want 0, MISS", n, status)
		}
		for range 3 {
			if _, _, err := b.Redirect(ctx, "abc123", ClickSource{Visitor: "10.0.0.1"}, true); err != nil {
				t.Fatal(err)
			}
		}
		if n, status := look(); n != 0 || status != CacheHit {
			t.Fatalf("look right after the other's clicks = %d, %v; want the cached 0, HIT", n, status)
		}
		time.Sleep(clickGather)
		synctest.Wait()
		if n, status := look(); n != 3 || status != CacheMiss {
			t.Errorf("look %v after the other's clicks = %d, %v; want 3, MISS", clickGather, n, status)
		}
		if n, status := look(); n != 3 || status != CacheHit {
			t.Errorf("look after that = %d, %v; want 3, HIT", n, status)
		}
		cache.mu.Lock()
		deletes := len(cache.deletes)
		cache.mu.Unlock()
		if deletes != 1 {
			t.Errorf("%d cache deletes for 3 clicks within %v, want 1", deletes, clickGather)
		}
		time.Sleep(staleFillWindow + lateGather)
	})
}

// TestDrainDeletesAtOnce: a stopping instance's Drain deletes at once the
// cached analytics of the links it served clicks of and the keys it
// would delete a second time later, so that they are deleted while the
// cache is still there; the timers of those deletes then delete nothing.
func TestDrainDeletesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		cache := newFakeCache()
		svc := cachingService(oneLinkStore(), cache, &streamShard{pending: map[string]int64{}})
		if _, _, err := svc.Redirect(ctx, "abc123", ClickSource{Visitor: "10.0.0.1"}, true); err != nil {
			t.Fatal(err)
		}
		deleted := func() []string {
			cache.mu.Lock()
			defer cache.mu.Unlock()
			var keys []string
			for _, d := range cache.deletes {
				keys = append(keys, d...)
			}
			cache.deletes = nil
			return keys
		}
		if got := deleted(); len(got) != 0 {
			t.Fatalf("deletes right after the click = %v, want none yet", got)
		}
		svc.Drain()
		// The analytics key, and its second delete.
		want := []string{analyticsKey(1), analyticsKey(1)}
		if diff := cmp.Diff(want, deleted()); diff != "" {
			t.Errorf("deletes of Drain (-want +got):\n%s", diff)
		}
		time.Sleep(clickGather + staleFillWindow + lateGather)
		synctest.Wait()
		if got := deleted(); len(got) != 0 {
			t.Errorf("deletes after Drain's timers = %v, want none", got)
		}
	})
}

// TestRealtimeSeesClicksJustMade: four redirects, then the real-time
// figures count them at the first look: Realtime settles the clicks
// queued before it, as Analytics does.
func TestRealtimeSeesClicksJustMade(t *testing.T) {
	shard := &streamShard{pending: map[string]int64{}}
	svc := clicked(t, &settlingRecorder{queueRecorder: queueRecorder{shard: shard}}, shard)
	rt, err := svc.Realtime(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if rt.TotalClicks != 4 {
		t.Errorf("realtime total_clicks = %d right after four redirects, want 4", rt.TotalClicks)
	}
}
