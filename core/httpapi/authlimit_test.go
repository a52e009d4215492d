package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bunrouter"

	"github.com/curtainhq/curtain/core"
)

// countingKeys is a KeyStore that counts its lookups.
type countingKeys struct {
	core.KeyStore
	keys    map[string]core.APIKey // by hash
	lookups atomic.Int64
}

func (s *countingKeys) APIKeyByHash(_ context.Context, hash string) (core.APIKey, error) {
	s.lookups.Add(1)
	if k, ok := s.keys[hash]; ok {
		return k, nil
	}
	return core.APIKey{}, core.ErrNotFound
}

// TestFailedKeysRateLimited: failed API-key attempts count per client
// address; past rate_limits.auth the address gets 429 with a JSON error
// and Retry-After, without a store lookup, while other addresses, and a
// key seen to succeed from the same address, go on. Valid keys never use
// up the budget. Every wrong key used to cost a lookup, without limit.
func TestFailedKeysRateLimited(t *testing.T) {
	now := time.Now()
	revoked := now.Add(-time.Minute)
	keys := &countingKeys{keys: map[string]core.APIKey{
		core.HashAPIKey("good"):    {ID: 1, Scopes: []string{core.ScopeWrite}},
		core.HashAPIKey("other"):   {ID: 2, Scopes: []string{core.ScopeWrite}},
		core.HashAPIKey("revoked"): {ID: 3, Scopes: []string{core.ScopeWrite}, RevokedAt: &revoked},
	}}
	opts := Options{
		Auth:       Auth{RequireAPIKey: true, Keys: keys},
		RateLimits: RateLimits{Auth: RateLimit{Requests: 3, Per: time.Hour, Burst: 3}},
	}
	a := &api{opts: opts, log: slog.New(slog.DiscardHandler), metrics: newMetrics(nil),
		keyGuard: newKeyGuard(opts.RateLimits.Auth, nil)}
	created := func(w http.ResponseWriter, _ bunrouter.Request) error {
		w.WriteHeader(http.StatusCreated)
		return nil
	}
	h := a.wrap("/urls", "urls.create", a.authenticated(route{method: "POST", template: "/urls", name: "urls.create"}, created))
	post := func(addr, key string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest("POST", "/urls", strings.NewReader("{}"))
		r.RemoteAddr = addr + ":40000"
		r.Header.Set("X-API-Key", key)
		rec := httptest.NewRecorder()
		_ = h(rec, bunrouter.NewRequest(r))
		return rec
	}
	want := func(what string, rec *httptest.ResponseRecorder, status int, body string) {
		t.Helper()
		if rec.Code != status || (body != "" && strings.TrimSpace(rec.Body.String()) != body) {
			t.Errorf("%s = %d %s, want %d %s", what, rec.Code, rec.Body, status, body)
		}
	}
	const invalid, tooMany = `{"error":"Invalid API key"}`, `{"error":"Too many invalid API keys"}`

	// Valid keys use up nothing.
	for range 10 {
		want("a valid key", post("192.0.2.1", "good"), http.StatusCreated, "")
	}
	want("a wrong key", post("192.0.2.1", "wrong1"), http.StatusUnauthorized, invalid)
	want("a revoked key", post("192.0.2.1", "revoked"), http.StatusUnauthorized, invalid)
	want("a wrong key", post("192.0.2.1", "wrong2"), http.StatusUnauthorized, invalid)
	before := keys.lookups.Load()
	rec := post("192.0.2.1", "wrong3")
	want("the fourth failure", rec, http.StatusTooManyRequests, tooMany)
	if s, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("429 Retry-After = %q, want whole seconds >= 1", rec.Header().Get("Retry-After"))
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("429 Content-Type = %q, want JSON", ct)
	}
	for range 20 {
		want("a guess past the limit", post("192.0.2.1", "wrong4"), http.StatusTooManyRequests, tooMany)
	}
	if got := keys.lookups.Load() - before; got != 1 {
		t.Errorf("store lookups for 21 attempts past the limit = %d, want 1 (the one that crossed it)", got)
	}
	want("a key that succeeded, from the refused address", post("192.0.2.1", "good"), http.StatusCreated, "")
	want("a valid key not seen yet, from the refused address", post("192.0.2.1", "other"), http.StatusTooManyRequests, tooMany)
	want("a wrong key from another address", post("192.0.2.2", "wrong1"), http.StatusUnauthorized, invalid)
	want("a valid key from another address", post("192.0.2.2", "other"), http.StatusCreated, "")
	want("a wrong key from the same IPv6 /64", post("[2001:db8::1]", "wrong1"), http.StatusUnauthorized, invalid)
	for range 2 {
		post("[2001:db8::2]", "wrong1")
	}
	want("the fourth failure from the /64", post("[2001:db8::3]", "wrong1"), http.StatusTooManyRequests, tooMany)
}

// TestFailedKeysKeepNoAddressInPrivacyMode: failed keys counted in a
// shared limiter (Redis) name the client by its keyed hash in privacy
// mode, as the other limits do.
func TestFailedKeysKeepNoAddressInPrivacyMode(t *testing.T) {
	shared := &keyRecorder{}
	opts := Options{
		Auth:       Auth{RequireAPIKey: true, Keys: &countingKeys{keys: map[string]core.APIKey{}}},
		RateLimits: RateLimits{Shared: shared},
	}
	a := &api{opts: opts, log: slog.New(slog.DiscardHandler), metrics: newMetrics(nil),
		visitors: newVisitorHasher([]byte("0123456789abcdef")), keyGuard: newKeyGuard(opts.RateLimits.Auth, shared)}
	h := a.authenticated(route{method: "POST", template: "/urls", name: "urls.create"}, func(http.ResponseWriter, bunrouter.Request) error { return nil })
	r := httptest.NewRequest("POST", "/urls", strings.NewReader("{}"))
	r.RemoteAddr = "192.0.2.1:40000"
	r.Header.Set("X-API-Key", "wrong")
	if err := h(httptest.NewRecorder(), bunrouter.NewRequest(r)); !errors.Is(err, errKeyInvalid) {
		t.Fatalf("a wrong key = %v, want the invalid-key answer", err)
	}
	if want := []string{"auth:ip:" + a.visitors.of("192.0.2.1")}; !slices.Equal(shared.keys, want) {
		t.Errorf("shared limiter keys = %q, want %q", shared.keys, want)
	}
}
