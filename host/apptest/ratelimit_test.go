package apptest_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core/httpapi"
)

// testRateLimits: redirects and creates are limited per client address;
// the answer is 429 with Retry-After and a JSON error; other clients and
// other routes are unaffected; without limits nothing is refused.
func testRateLimits(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{
		trusted: []string{"127.0.0.0/8"},
		rateLimits: httpapi.RateLimits{
			Redirect: httpapi.RateLimit{Requests: 1, Per: time.Hour, Burst: 3},
			Create:   httpapi.RateLimit{Requests: 1, Per: time.Hour, Burst: 2},
		},
	})
	e.url("rate01", "https://example.com/rate", nil, true)
	from := func(ip string) []string { return []string{"X-Forwarded-For", ip} }
	for i := range 3 {
		if r := e.get("/r/rate01", from("203.0.113.1")...); r.Status != http.StatusFound {
			t.Fatalf("redirect %d within the burst = %d", i, r.Status)
		}
	}
	for _, path := range []string{"/r/rate01", "/urls/short/rate01", "/urls/rate01/redirect"} {
		r := e.get(path, from("203.0.113.1")...)
		r.wantError(t, "GET "+path+" over the limit", http.StatusTooManyRequests, "Too many requests")
		if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 3600 {
			t.Errorf("Retry-After = %q, want whole seconds up to an hour", r.Header.Get("Retry-After"))
		}
	}
	if r := e.get("/r/rate01", from("203.0.113.2")...); r.Status != http.StatusFound {
		t.Errorf("another client's redirect = %d, want 302", r.Status)
	}
	if r := e.get("/urls/1", from("203.0.113.1")...); r.Status != http.StatusOK {
		t.Errorf("a read by the limited client = %d, want 200", r.Status)
	}

	create := func(ip string, i int) result {
		return e.do("POST", "/urls", fmt.Sprintf(`{"original_url":"https://example.com/c%d"}`, i),
			"Content-Type", "application/json", "X-Forwarded-For", ip)
	}
	for i := range 2 {
		if r := create("203.0.113.9", i); r.Status != http.StatusCreated {
			t.Fatalf("create %d within the burst = %d %s", i, r.Status, r.Body)
		}
	}
	create("203.0.113.9", 2).wantError(t, "POST /urls over the limit", http.StatusTooManyRequests, "Too many requests")
	e.postJSON("/users", `{"username":"x","email":"x@example.com"}`) // from 127.0.0.1: its own budget
	e.do("POST", "/users", `{"username":"y","email":"y@example.com"}`, "Content-Type", "application/json", "X-Forwarded-For", "203.0.113.9").
		wantError(t, "POST /users over the shared create limit", http.StatusTooManyRequests, "Too many requests")
	if r := create("203.0.113.10", 3); r.Status != http.StatusCreated {
		t.Errorf("another client's create = %d", r.Status)
	}
	metrics := e.get("/metrics").Body
	if want := `http_requests_total{method="GET",path="/r/:code",status_code="429"} 1`; !strings.Contains(metrics, want) {
		t.Errorf("the 429 is not counted: %s", grep(metrics, "429"))
	}

	off := newEnv(t, newStore, envConfig{})
	off.url("rate02", "https://example.com/off", nil, true)
	for i := range 50 {
		if r := off.get("/r/rate02"); r.Status != http.StatusFound {
			t.Fatalf("redirect %d without limits = %d", i, r.Status)
		}
	}
}
