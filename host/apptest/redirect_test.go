package apptest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
)

func testRedirect(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	u := e.url("abc123", "https://example.com/redirect", nil, true)
	e.url("inact1", "https://example.com/inactive", nil, false)
	e.url("iri001", "https://exämple.com/päth?q=ü&x=a b", nil, true)
	e.url("esc001", `https://x.io/?a=1&b=<"'>`, nil, true)

	// spec §16 tests 49 and 92
	first := e.get("/r/abc123")
	second := e.get("/r/abc123")
	for i, r := range []result{first, second} {
		if r.Status != http.StatusFound || r.Header.Get("Location") != "https://example.com/redirect" {
			t.Errorf("redirect %d = %d %q", i, r.Status, r.Header.Get("Location"))
		}
		if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("redirect Content-Type = %q", ct)
		}
	}
	first.wantCache(t, "first redirect", "MISS")
	second.wantCache(t, "second redirect", "HIT")
	if want := `<a href="https://example.com/redirect">https://example.com/redirect</a>`; !strings.Contains(first.Body, want) {
		t.Errorf("redirect body %q lacks %q", first.Body, want)
	}
	for _, p := range []string{"/urls/short/abc123", "/urls/abc123/redirect"} {
		r := e.get(p)
		if r.Status != http.StatusFound || r.Header.Get("Location") != "https://example.com/redirect" {
			t.Errorf("GET %s = %d %q", p, r.Status, r.Header.Get("Location"))
		}
		r.wantCache(t, p, "HIT")
	}
	for _, p := range []string{"/r/inact1", "/r/nope", "/urls/short/inact1", "/urls/inact1/redirect", "/r/ABC123",
		"/r/%00", "/r/%FF", "/r/" + strings.Repeat("a", 17), "/r/" + strings.Repeat("x", 600)} {
		e.get(p).wantError(t, "GET "+p, http.StatusNotFound, "URL not found")
	}
	// IRI to URI, and the body escapes the stored URL.
	r := e.get("/r/iri001")
	if got := r.Header.Get("Location"); got != "https://xn--exmple-cua.com/p%C3%A4th?q=%C3%BC&x=a%20b" {
		t.Errorf("IRI Location = %q", got)
	}
	r = e.get("/r/esc001")
	if got := r.Header.Get("Location"); got != "https://x.io/?a=1&b=%3C%22'%3E" {
		t.Errorf("escaped Location = %q", got)
	}
	if !strings.Contains(r.Body, `href="https://x.io/?a=1&amp;b=&lt;&#34;&#39;&gt;"`) {
		t.Errorf("redirect body not escaped: %q", r.Body)
	}

	// Without a click recorder every GET redirect is stored once (fix of
	// Q1), and HEAD records nothing (fix of Q17).
	head := e.do("HEAD", "/r/abc123", "")
	if head.Status != http.StatusFound || head.Header.Get("Location") != "https://example.com/redirect" {
		t.Errorf("HEAD = %d %q", head.Status, head.Header.Get("Location"))
	}
	evs := e.events(u.ID)
	ids := map[string]bool{}
	for _, ev := range evs {
		if ev.EventType != "redirect" || ev.UserID != nil {
			t.Errorf("event %+v, want redirect events only", ev)
		}
		ids[ev.ClickID] = true
	}
	if len(evs) != 4 || len(ids) != 4 {
		t.Errorf("%d redirect events with %d click ids after 4 GETs and 1 HEAD, want 4 and 4", len(evs), len(ids))
	}
	// A cached target that is not valid is a miss, not a 500.
	e.cache.Set(t.Context(), []core.CacheEntry{{Key: "cache:url:redirect:abc123", Value: []byte("garbage"), TTL: time.Minute}})
	r = e.get("/r/abc123")
	if r.Status != http.StatusFound || r.Header.Get("X-Cache") != "MISS" {
		t.Errorf("redirect over a corrupt entry = %d %q", r.Status, r.Header.Get("X-Cache"))
	}
	// A target cached by the reference (Python layout) is served.
	e.cache.Set(t.Context(), []core.CacheEntry{{Key: "cache:url:redirect:refcd1", Value: []byte(`{"original_url": "https://ref.io/\u00e4", "url_id": 1}`), TTL: time.Minute}})
	r = e.get("/r/refcd1")
	if r.Status != http.StatusFound || r.Header.Get("Location") != "https://ref.io/%C3%A4" || r.Header.Get("X-Cache") != "HIT" {
		t.Errorf("reference entry = %d %q %q", r.Status, r.Header.Get("Location"), r.Header.Get("X-Cache"))
	}
}

// recorder is a click recorder that keeps what it gets.
type recorder struct {
	mu     sync.Mutex
	clicks []core.Click
}

func (r *recorder) Record(ctx context.Context, c core.Click) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clicks = append(r.clicks, c)
	return nil
}

func testClicks(t *testing.T, newStore storeFactory) {
	t.Run("recorder", func(t *testing.T) {
		// spec §16 tests 89-91: the recorder gets each click once, and the
		// request path writes no event (the consumer will).
		rec := &recorder{}
		e := newEnv(t, newStore, envConfig{clicks: rec, trusted: []string{"127.0.0.1", "10.0.0.0/8"}})
		u := e.url("click1", "https://click.io/", nil, true)
		e.get("/r/click1", "X-Forwarded-For", " 9.9.9.9 , 10.0.0.1")
		e.get("/urls/short/click1")
		e.do("HEAD", "/r/click1", "")
		if len(rec.clicks) != 2 {
			t.Fatalf("recorder got %d clicks, want 2", len(rec.clicks))
		}
		c0, c1 := rec.clicks[0], rec.clicks[1]
		if c0.Code != "click1" || c0.Visitor != "9.9.9.9" || c1.Visitor != "127.0.0.1" || len(c0.ID) != 32 || c0.ID == c1.ID ||
			time.Since(c0.At) > time.Minute || c0.At.Location() != time.UTC {
			t.Errorf("clicks = %+v", rec.clicks)
		}
		if n := len(e.events(u.ID)); n != 0 {
			t.Errorf("%d events written in the request path, want 0", n)
		}
	})

	t.Run("shards", func(t *testing.T) {
		e := newEnv(t, newStore, envConfig{shards: 2, trusted: []string{"127.0.0.0/8", "10.0.0.0/8"}})
		u := e.url("abc123", "https://example.com/rt", nil, true)
		e.event(u.ID, nil, "created", t0, `{}`)
		visitors := []string{"9.9.9.9, 10.0.0.1", "9.9.9.9, 10.0.0.2", "8.8.8.8", "7.7.7.7", "8.8.8.8"}
		for _, v := range visitors {
			if r := e.get("/r/abc123", "X-Forwarded-For", v); r.Status != http.StatusFound {
				t.Fatalf("redirect = %d", r.Status)
			}
		}
		e.waitClicks("abc123", 5)
		path := fmt.Sprintf("/urls/%d", u.ID)
		// Analytics add the clicks still pending in the streams (Q2).
		var an map[string]any
		e.get(path+"/analytics").decode(t, &an)
		if an["redirect_count"] != float64(5) || an["total_events"] != float64(6) {
			t.Errorf("analytics before the consumer ran = %v, want 5 redirects of 6 events", an)
		}
		var rt struct {
			Hourly         map[string]int64 `json:"hourly"`
			TotalClicks    int64            `json:"total_clicks"`
			UniqueVisitors int64            `json:"unique_visitors"`
		}
		r := e.get(path + "/realtime")
		r.decode(t, &rt)
		hour := time.Now().UTC().Format("2006-01-02:15")
		// Three distinct clients behind the trusted proxies; unique visitors are merged over
		// the shards (fix of Q19).
		if r.Status != http.StatusOK || rt.TotalClicks != 5 || rt.UniqueVisitors != 3 || len(rt.Hourly) != 72 || rt.Hourly[hour] != 5 {
			t.Errorf("realtime = %d %s", r.Status, r.Body)
		}
		if !strings.HasPrefix(r.Body, `{"hourly":{"`) || r.Header.Get("X-Cache") != "" {
			t.Errorf("realtime body %.40q... X-Cache %q", r.Body, r.Header.Get("X-Cache"))
		}
		// Once the consumer stored them, each click is one event: nothing
		// is counted twice (fix of Q1).
		e.drainStreams()
		if err := e.cache.Delete(t.Context(), []string{fmt.Sprintf("cache:analytics:url:%d", u.ID)}); err != nil {
			t.Fatal(err)
		}
		e.get(path+"/analytics").decode(t, &an)
		if an["redirect_count"] != float64(5) || an["total_events"] != float64(6) {
			t.Errorf("analytics after the consumer ran = %v, want 5 redirects of 6 events", an)
		}
		redirects := 0
		for _, ev := range e.events(u.ID) {
			if ev.EventType == "redirect" {
				redirects++
			}
		}
		if redirects != 5 {
			t.Errorf("%d redirect events stored, want 5", redirects)
		}
		e.get("/urls/999/realtime").wantError(t, "unknown realtime", http.StatusNotFound, "URL not found")
	})

	t.Run("no shards", func(t *testing.T) {
		e := newEnv(t, newStore, envConfig{})
		u := e.url("noshrd", "https://example.com/ns", nil, true)
		e.get(fmt.Sprintf("/urls/%d/realtime", u.ID)).want(t, "realtime without shards", http.StatusOK,
			`{"hourly":{},"total_clicks":0,"unique_visitors":0}`+"\n")
	})
}
