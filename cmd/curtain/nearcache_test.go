package main

import (
	"strings"
	"testing"
	"time"
)

// TestNearCacheAcrossInstances runs two instances on one cache Redis and
// one database (the URL's original_url cannot change, so the redirect
// target is checked through a deactivation). Each keeps URL objects and redirect targets in process
// for minutes (the invalidation watch is in place), yet a write on one is
// seen by the other at once: the other's near copy is invalidated through
// the cache plugin's pub/sub channel, not by a TTL.
func TestNearCacheAcrossInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs PostgreSQL and redis-server")
	}
	t.Parallel() // its own server, database and ports
	tp := newTopology(t, newDatabase(t), 1)
	env := append(tp.env(), "CURTAIN_CLICKS__NEAR_CACHE_TTL=10m")
	a := startServer(t, t.TempDir(), env...)
	b := startServer(t, t.TempDir(), env...)

	resp, body := a.do(t, "POST", "/urls", `{"original_url":"https://example.com/near/1","title":"first"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("POST /urls = %d %s", resp.StatusCode, body)
	}
	id := jsonField(t, body, "id")
	code := jsonField(t, body, "short_code")
	path := "/urls/" + id

	// Fill both instances' near caches.
	for _, s := range []*server{a, b} {
		for range 3 {
			if resp, body := s.do(t, "GET", path, ""); resp.StatusCode != 200 || !strings.Contains(body, `"first"`) {
				t.Fatalf("GET %s = %d %s", path, resp.StatusCode, body)
			}
			if resp, _ := s.do(t, "GET", "/r/"+code, ""); resp.StatusCode != 302 {
				t.Fatalf("GET /r/%s = %d", code, resp.StatusCode)
			}
		}
	}
	if resp, body := b.do(t, "GET", path, ""); resp.Header.Get("X-Cache") != "HIT" {
		t.Fatalf("GET %s on b = X-Cache %q, want HIT (%s)", path, resp.Header.Get("X-Cache"), body)
	}

	// A write on a: b must answer the new value, never the kept one, as
	// soon as the invalidation arrived (milliseconds).
	if resp, body := a.do(t, "PUT", path, `{"title":"second"}`); resp.StatusCode != 200 {
		t.Fatalf("PUT %s = %d %s", path, resp.StatusCode, body)
	}
	waitFor(t, "b serves the updated URL", func() bool {
		_, body := b.do(t, "GET", path, "")
		return strings.Contains(body, `"second"`)
	})

	// A deactivation on b: a stops redirecting at once, though it kept
	// the redirect target near.
	if resp, body := b.do(t, "PUT", path, `{"is_active":false}`); resp.StatusCode != 200 {
		t.Fatalf("PUT %s = %d %s", path, resp.StatusCode, body)
	}
	waitFor(t, "a stops redirecting the deactivated code", func() bool {
		resp, _ := a.do(t, "GET", "/r/"+code, "")
		return resp.StatusCode == 404
	})
}

// waitFor polls cond until it holds, failing the test after 5 s: far
// longer than an invalidation takes, and far shorter than the 10 minutes
// the near entries would otherwise live.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, 5*time.Second, what, cond)
}

// waitWithin polls cond until it holds, failing the test after d.
func waitWithin(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// jsonField returns the raw text of a top-level string or number member.
func jsonField(t *testing.T, body, name string) string {
	t.Helper()
	i := strings.Index(body, `"`+name+`": `)
	if i < 0 {
		i = strings.Index(body, `"`+name+`":`)
		if i < 0 {
			t.Fatalf("no %q in %s", name, body)
		}
	}
	rest := strings.TrimLeft(body[i+len(name)+3:], " ")
	end := strings.IndexAny(rest, ",}")
	return strings.Trim(rest[:end], `"`)
}

// TestAnalyticsAcrossInstances: two instances share the cache Redis, the
// shards and the database. Analytics cached by one are not served for the
// cache's 120 s after the other served clicks: the clicking instance
// deletes the cached response once its clicks reached the shards.
func TestAnalyticsAcrossInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs PostgreSQL and redis-server")
	}
	t.Parallel()
	tp := newTopology(t, newDatabase(t), 1)
	a := startServer(t, t.TempDir(), tp.env()...)
	b := startServer(t, t.TempDir(), tp.env()...)

	resp, body := a.do(t, "POST", "/urls", `{"original_url":"https://example.com/analytics/across"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("POST /urls = %d %s", resp.StatusCode, body)
	}
	path := "/urls/" + jsonField(t, body, "id") + "/analytics"
	code := jsonField(t, body, "short_code")
	// The create deletes the link's cache keys a second time 3 s later
	// (core's staleFillWindow); look after that, so only a delete made
	// for the clicks can end the cached response.
	time.Sleep(3500 * time.Millisecond)
	for _, want := range []string{"MISS", "HIT"} {
		resp, body := a.do(t, "GET", path, "")
		if resp.StatusCode != 200 || resp.Header.Get("X-Cache") != want || !strings.Contains(body, `"redirect_count":0`) {
			t.Fatalf("GET %s on a = %d X-Cache %q %s, want 0 redirects, %s", path, resp.StatusCode, resp.Header.Get("X-Cache"), body, want)
		}
	}
	for range 4 {
		if resp, _ := b.do(t, "GET", "/r/"+code, ""); resp.StatusCode != 302 {
			t.Fatalf("GET /r/%s on b = %d", code, resp.StatusCode)
		}
	}
	// Within 2 s, not the cache's 120 s.
	waitWithin(t, 2*time.Second, "a's analytics count b's clicks", func() bool {
		_, body := a.do(t, "GET", path, "")
		return strings.Contains(body, `"redirect_count":4`)
	})
}

// TestPrivateCacheAcrossInstances runs two instances on one database and
// one set of shards but without CACHE_REDIS_URL, which the deployment
// guide calls optional: each instance then caches in its own memory
// plugin, which no other instance can invalidate. A retarget or a delete
// on one instance must still reach the other within clicks.near_cache_ttl,
// not after the cached redirect target's five minutes.
func TestPrivateCacheAcrossInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs PostgreSQL and redis-server")
	}
	t.Parallel()
	tp := newTopology(t, newDatabase(t), 1)
	var env []string
	for _, kv := range tp.env() {
		if !strings.HasPrefix(kv, "CACHE_REDIS_URL=") {
			env = append(env, kv)
		}
	}
	env = append(env, "CURTAIN_CLICKS__NEAR_CACHE_TTL=1s")
	a := startServer(t, t.TempDir(), env...)
	b := startServer(t, t.TempDir(), env...)

	resp, body := a.do(t, "POST", "/urls", `{"original_url":"https://example.com/private/1"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("POST /urls = %d %s", resp.StatusCode, body)
	}
	path := "/urls/" + jsonField(t, body, "id")
	code := jsonField(t, body, "short_code")
	// Fill b's caches: its memory cache plugin and its near cache.
	for range 3 {
		if resp, _ := b.do(t, "GET", "/r/"+code, ""); resp.StatusCode != 302 {
			t.Fatalf("GET /r/%s on b = %d", code, resp.StatusCode)
		}
		if resp, body := b.do(t, "GET", path, ""); resp.StatusCode != 200 {
			t.Fatalf("GET %s on b = %d %s", path, resp.StatusCode, body)
		}
	}

	if resp, body := a.do(t, "PUT", path, `{"original_url":"https://example.com/private/2"}`); resp.StatusCode != 200 {
		t.Fatalf("PUT %s = %d %s", path, resp.StatusCode, body)
	}
	waitWithin(t, 3*time.Second, "b redirects to the new target", func() bool {
		resp, _ := b.do(t, "GET", "/r/"+code, "")
		return resp.Header.Get("Location") == "https://example.com/private/2"
	})
	waitWithin(t, 3*time.Second, "b serves the retargeted URL", func() bool {
		_, body := b.do(t, "GET", path, "")
		return strings.Contains(body, "private/2")
	})

	if resp, body := a.do(t, "DELETE", path, ""); resp.StatusCode != 204 {
		t.Fatalf("DELETE %s = %d %s", path, resp.StatusCode, body)
	}
	waitWithin(t, 3*time.Second, "b stops redirecting the deleted code", func() bool {
		resp, _ := b.do(t, "GET", "/r/"+code, "")
		return resp.StatusCode == 404
	})
}
