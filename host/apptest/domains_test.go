package apptest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core/httpapi"
)

// Short links at the root and on several domains (issue 19), through the
// HTTP API on both stores.

func TestRootCodesSQLite(t *testing.T) { testRootCodes(t, openSQLite) }

func TestRootCodesPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("PostgreSQL integration test")
	}
	testRootCodes(t, openPostgres)
}

func TestDomainsSQLite(t *testing.T) { testDomains(t, openSQLite) }

func TestDomainsPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("PostgreSQL integration test")
	}
	testDomains(t, openPostgres)
}

func testRootCodes(t *testing.T, newStore storeFactory) {
	off := newEnv(t, newStore, envConfig{})
	off.postJSON("/urls", `{"original_url": "https://example.com/a", "short_code": "rootA1"}`)
	off.get("/rootA1").wantError(t, "GET /{code} with root codes off", http.StatusNotFound, "Not found")

	e := newEnv(t, newStore, envConfig{rootCodes: true})
	created := e.postJSON("/urls", `{"original_url": "https://example.com/a", "short_code": "rootA1"}`)
	if created.Status != http.StatusCreated {
		t.Fatalf("create = %d %s", created.Status, created.Body)
	}
	r := e.get("/rootA1")
	if r.Status != http.StatusFound || r.Header.Get("Location") != "https://example.com/a" {
		t.Errorf("GET /rootA1 = %d, Location %q; want 302 to https://example.com/a", r.Status, r.Header.Get("Location"))
	}
	if h := e.do("HEAD", "/rootA1", ""); h.Status != http.StatusFound || h.Header.Get("Location") != "https://example.com/a" {
		t.Errorf("HEAD /rootA1 = %d, Location %q", h.Status, h.Header.Get("Location"))
	}
	// The root and /r/ count alike: one GET each so far through / (HEAD
	// is not counted), one more through /r/.
	e.get("/r/rootA1")
	var link struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(created.Body), &link); err != nil || link.ID == 0 {
		t.Fatalf("create answer %s: %v", created.Body, err)
	}
	id := link.ID
	if got := e.get(fmt.Sprintf("/urls/%d/analytics", id)); !strings.Contains(strings.ReplaceAll(got.Body, " ", ""), `"redirect_count":2`) {
		t.Errorf("after GET /rootA1 and GET /r/rootA1: %s, want redirect_count 2", got.Body)
	}
	e.get("/nosuch1").wantError(t, "GET /{unknown code}", http.StatusNotFound, "URL not found")
	// Routes keep their meaning: static segments win over the code.
	if r := e.get("/health"); r.Status != http.StatusOK || !strings.Contains(r.Body, `"status"`) {
		t.Errorf("GET /health with root codes = %d %s", r.Status, r.Body)
	}
	// Reserved words are refused as slugs, in any case.
	for _, w := range []string{"urls", "Health", "METRICS", "shorten-ui", "openapi.json", "docs", "static", "events", "users"} {
		r := e.postJSON("/urls", fmt.Sprintf(`{"original_url": "https://example.com/x", "short_code": %q}`, w))
		if w == "openapi.json" {
			// Not a valid slug at all ('.' is outside the charset).
			if r.Status != http.StatusBadRequest {
				t.Errorf("slug %q = %d %s, want 400", w, r.Status, r.Body)
			}
			continue
		}
		r.wantError(t, "slug "+w, http.StatusBadRequest, "Field 'short_code' is a reserved word")
	}
	// The links the API hands out are at the root.
	r = e.get(fmt.Sprintf("/urls/%d/qr", id))
	if want := e.srv.URL + "/rootA1"; r.Header.Get("X-Short-Link") != want {
		t.Errorf("QR X-Short-Link = %q, want %q", r.Header.Get("X-Short-Link"), want)
	}
	ui := e.do("POST", "/shorten-ui", "original_url=https%3A%2F%2Fexample.com%2Fui", "Content-Type", "application/x-www-form-urlencoded")
	if ui.Status != http.StatusCreated || strings.Contains(ui.Body, "/r/") || !strings.Contains(ui.Body, e.srv.URL+"/") {
		t.Errorf("POST /shorten-ui = %d %s, want a link at the root", ui.Status, ui.Body)
	}
	if page := e.get("/"); !strings.Contains(page.Body, `<meta name="curtain-short-link-path" content="/">`) {
		t.Errorf("dashboard does not name / as its short-link path")
	}

	// A protected link opened at the root: the browser's form must post
	// somewhere that takes the password (POST /{code} is the reference's
	// 405), and the visitor lands on the target.
	e.postJSON("/urls", `{"original_url": "https://example.com/locked", "short_code": "rootPw1", "password": "letmein"}`)
	form := e.get("/rootPw1", "Accept", "text/html")
	if form.Status != http.StatusUnauthorized || !strings.Contains(form.Body, "<form method=post") {
		t.Fatalf("browser GET /rootPw1 = %d %s, want the password form", form.Status, form.Body)
	}
	action := "/rootPw1" // a form without an action posts to its page
	if _, rest, ok := strings.Cut(form.Body, ` action="`); ok {
		action, _, _ = strings.Cut(rest, `"`)
	}
	r = e.do("POST", action, "password=letmein", "Content-Type", "application/x-www-form-urlencoded", "Origin", e.srv.URL)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "https://example.com/locked" {
		t.Errorf("the root form posted to %s = %d %s, want 303 to https://example.com/locked", action, r.Status, r.Body)
	}
}

func testDomains(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{
		rootCodes: true,
		trusted:   []string{"127.0.0.1/32", "::1/128"},
		domains: []httpapi.Domain{
			{Host: "Go.Example", NotFoundURL: "https://example.com/not-found"},
			{Host: "plain.example"},
		},
	})
	e.postJSON("/urls", `{"original_url": "https://example.com/d", "short_code": "domD1"}`)
	// Codes are global: the same code resolves on every host.
	for _, host := range []string{"go.example", "plain.example", "other.example"} {
		r := e.get("/domD1", "Host", host)
		if r.Status != http.StatusFound || r.Header.Get("Location") != "https://example.com/d" {
			t.Errorf("GET /domD1 on %s = %d %q", host, r.Status, r.Header.Get("Location"))
		}
	}
	// A miss on a domain with a not-found target goes there, at the root
	// and under /r/; its port and case do not matter.
	for _, path := range []string{"/missing1", "/r/missing1", "/urls/short/missing1"} {
		r := e.get(path, "Host", "GO.example:8080")
		if r.Status != http.StatusFound || r.Header.Get("Location") != "https://example.com/not-found" {
			t.Errorf("GET %s on go.example = %d %q, want 302 to its not-found target", path, r.Status, r.Header.Get("Location"))
		}
	}
	// Elsewhere a miss keeps the JSON 404.
	e.get("/missing1", "Host", "plain.example").wantError(t, "miss on a domain without target", http.StatusNotFound, "URL not found")
	e.get("/r/missing1", "Host", "other.example").wantError(t, "miss on the default host", http.StatusNotFound, "URL not found")
	// A disabled link is a miss too.
	e.url("domOff", "https://example.com/off", nil, false)
	if r := e.get("/r/domOff", "Host", "go.example"); r.Header.Get("Location") != "https://example.com/not-found" {
		t.Errorf("disabled link on go.example = %d %q", r.Status, r.Header.Get("Location"))
	}
	// X-Forwarded-Host counts from a trusted proxy (the test client is
	// on loopback, trusted here).
	if r := e.get("/missing1", "Host", "internal", "X-Forwarded-Host", "go.example"); r.Header.Get("Location") != "https://example.com/not-found" {
		t.Errorf("X-Forwarded-Host from a trusted proxy = %d %q", r.Status, r.Header.Get("Location"))
	}
	// ... and not from anyone else.
	u := newEnv(t, newStore, envConfig{domains: []httpapi.Domain{{Host: "go.example", NotFoundURL: "https://example.com/not-found"}}})
	u.get("/r/missing1", "Host", "internal", "X-Forwarded-Host", "go.example").
		wantError(t, "X-Forwarded-Host from an untrusted peer", http.StatusNotFound, "URL not found")
}

// TestRootCodesRateLimited: GET /{code} shares the redirect budget of
// /r/{code}, so root codes open no way around rate_limits.redirect.
func TestRootCodesRateLimited(t *testing.T) {
	e := newEnv(t, openSQLite, envConfig{
		rootCodes:  true,
		rateLimits: httpapi.RateLimits{Redirect: httpapi.RateLimit{Requests: 1, Per: time.Hour, Burst: 2}},
	})
	e.postJSON("/urls", `{"original_url": "https://example.com/rl", "short_code": "rlim01"}`)
	for i, path := range []string{"/rlim01", "/r/rlim01"} {
		if r := e.get(path); r.Status != http.StatusFound {
			t.Fatalf("request %d (%s) = %d %s, want 302 within the burst", i+1, path, r.Status, r.Body)
		}
	}
	if r := e.get("/rlim01"); r.Status != http.StatusTooManyRequests {
		t.Errorf("GET /rlim01 beyond the budget = %d %s, want 429", r.Status, r.Body)
	}
}
