package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bunrouter"
)

// TestRateLimitsCountIPv6PerSlash64: an IPv6 client cannot escape the
// rate limits, the password limit included, by moving to other addresses
// of its /64; another /64 and IPv4 clients keep their own budgets.
func TestRateLimitsCountIPv6PerSlash64(t *testing.T) {
	a := &api{
		opts:            Options{RateLimits: RateLimits{Redirect: RateLimit{Requests: 1, Per: 3600e9, Burst: 2}}},
		memLimiter:      NewMemoryLimiter(),
		passwordLimiter: NewMemoryLimiter(),
	}
	h := a.limited("redirect", a.opts.RateLimits.Redirect, func(w http.ResponseWriter, req bunrouter.Request) error { return nil })
	request := func(remote string) *http.Request {
		r := httptest.NewRequest("GET", "/r/abc", nil)
		r.RemoteAddr = remote
		return r
	}
	redirect := func(remote string) error {
		return h(httptest.NewRecorder(), bunrouter.NewRequest(request(remote)))
	}
	var limited *rateLimitedError
	for i, remote := range []string{"[2001:db8::1]:1000", "[2001:db8::2]:1000", "[2001:db8::ffff:1]:1000", "[2001:db8:0:0:8000::9]:1000"} {
		err := redirect(remote)
		if want := i >= 2; errors.As(err, &limited) != want {
			t.Errorf("redirect %d from %s = %v, want limited %v", i+1, remote, err, want)
		}
	}
	for _, remote := range []string{"[2001:db8:0:1::1]:1000", "192.0.2.1:1000", "192.0.2.2:1000"} {
		if err := redirect(remote); err != nil {
			t.Errorf("redirect from %s = %v, want allowed", remote, err)
		}
	}
	for i := range 12 {
		remote := fmt.Sprintf("[2001:db8:0:2::%x]:1000", i+1)
		err := a.passwordAttempt(request(remote), "abc")
		if want := i >= int(defaultPasswordLimit.Burst); errors.As(err, &limited) != want {
			t.Errorf("password attempt %d from %s = %v, want limited %v", i+1, remote, err, want)
		}
	}
}

func TestLimitAddr(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":               "192.0.2.1",
		"2001:db8::1":             "2001:db8::/64",
		"2001:db8:0:0:ffff::1":    "2001:db8::/64",
		"2001:db8:0:7:1:2:3:4":    "2001:db8:0:7::/64",
		"":                        "",
		"not-an-address:with:col": "not-an-address:with:col",
	} {
		if got := limitAddr(in); got != want {
			t.Errorf("limitAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// keyRecorder is a shared Limiter that allows everything and records the
// keys it was asked to count.
type keyRecorder struct{ keys []string }

func (k *keyRecorder) Allow(_ context.Context, key string, _ RateLimit) (time.Duration, error) {
	k.keys = append(k.keys, key)
	return 0, nil
}

// TestSharedLimitsKeepNoAddressInPrivacyMode: in privacy mode the keys a
// shared limiter (Redis, rate_limits.redis_url) stores name the client by
// its keyed hash, never by its address, for the redirect and the password
// limits alike (docs/privacy.md).
func TestSharedLimitsKeepNoAddressInPrivacyMode(t *testing.T) {
	shared := &keyRecorder{}
	a := &api{
		opts:     Options{RateLimits: RateLimits{Redirect: RateLimit{Requests: 10, Per: time.Second}, Shared: shared}},
		visitors: newVisitorHasher([]byte("0123456789abcdef")),
	}
	h := a.limited("redirect", a.opts.RateLimits.Redirect, func(w http.ResponseWriter, req bunrouter.Request) error { return nil })
	for _, remote := range []string{"192.0.2.1:1000", "[2001:db8::1]:1000"} {
		r := httptest.NewRequest("GET", "/r/abc", nil)
		r.RemoteAddr = remote
		if err := h(httptest.NewRecorder(), bunrouter.NewRequest(r)); err != nil {
			t.Fatalf("redirect from %s = %v", remote, err)
		}
		if err := a.passwordAttempt(r, "abc"); err != nil {
			t.Fatalf("password attempt from %s = %v", remote, err)
		}
	}
	want := []string{
		"redirect:ip:" + a.visitors.of("192.0.2.1"), "password:" + a.visitors.of("192.0.2.1") + ":abc",
		"redirect:ip:" + a.visitors.of("2001:db8::/64"), "password:" + a.visitors.of("2001:db8::/64") + ":abc",
	}
	if !slices.Equal(shared.keys, want) {
		t.Errorf("shared limiter keys = %q, want %q", shared.keys, want)
	}
}
