package httpapi

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bunrouter"
	"golang.org/x/time/rate"
)

// RateLimit is one limit: Requests per Per sustained, Burst at once. A
// zero Requests disables it.
type RateLimit struct {
	Requests int
	Per      time.Duration
	Burst    int
}

func (l RateLimit) enabled() bool { return l.Requests > 0 && l.Per > 0 }

// RateLimits are the limits of the routes clients can abuse cheaply, each
// applied per client address and, when the request carries an API key,
// per key. Off by default (the reference had none).
type RateLimits struct {
	// Redirect limits GET /r/:code, its aliases and GET /:code.
	Redirect RateLimit
	// Create limits the routes that create rows: POST /urls,
	// /shorten-ui, /users, /users/bulk and /events.
	Create RateLimit
	// Password limits the password attempts on one protected link per
	// client address (issue 19); when unset, 10 a minute. It is always
	// on: it is what stops a brute force of a link's password.
	Password RateLimit
	// Auth limits the failed API-key attempts (an unknown or revoked key
	// on a write route, Auth.RequireAPIKey) per client address; when
	// unset, 20 a minute. Past it the address gets 429 without a store
	// lookup until its budget refills, except with a key this process
	// has seen succeed. Always on while keys are required.
	Auth RateLimit
	// Shared, when set, counts for every instance at once (Redis);
	// otherwise each process counts alone.
	Shared Limiter
}

// Limiter counts requests under key against limit. It returns 0 when the
// request may go on, else how long the client should wait.
type Limiter interface {
	Allow(ctx context.Context, key string, limit RateLimit) (retryAfter time.Duration, err error)
}

// MemoryLimiter is a token bucket per key in this process
// (golang.org/x/time/rate). Buckets that have refilled are dropped now
// and then, so memory follows the active clients.
type MemoryLimiter struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	swept   time.Time
}

// NewMemoryLimiter returns an empty in-process limiter.
func NewMemoryLimiter() *MemoryLimiter {
	return &MemoryLimiter{buckets: map[string]*rate.Limiter{}, swept: time.Now()}
}

// Allow implements Limiter.
func (m *MemoryLimiter) Allow(_ context.Context, key string, limit RateLimit) (time.Duration, error) {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.Sub(m.swept) > time.Minute {
		for k, b := range m.buckets {
			if b.TokensAt(now) >= float64(b.Burst()) {
				delete(m.buckets, k)
			}
		}
		m.swept = now
	}
	b := m.buckets[key]
	if b == nil {
		b = rate.NewLimiter(rate.Limit(float64(limit.Requests)/limit.Per.Seconds()), max(limit.Burst, 1))
		m.buckets[key] = b
	}
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, nil
	}
	return 0, nil
}

// rateLimitedError is the 429 answer; retryAfter fills Retry-After and
// message the error ("Too many requests" when empty). password marks the
// password rate limit, whose browser form gets the form page again.
type rateLimitedError struct {
	retryAfter time.Duration
	message    string
	password   bool
}

func (e *rateLimitedError) Error() string {
	if e.message == "" {
		return "Too many requests"
	}
	return e.message
}

// retryAfterSeconds is the Retry-After value: whole seconds, at least 1.
func (e *rateLimitedError) retryAfterSeconds() string {
	return strconv.Itoa(max(1, int(math.Ceil(e.retryAfter.Seconds()))))
}

// limited wraps h with limit, per client address and per API key. With
// the limit disabled h is returned as is: nothing on the hot path.
func (a *api) limited(kind string, limit RateLimit, h bunrouter.HandlerFunc) bunrouter.HandlerFunc {
	if !limit.enabled() {
		return h
	}
	limiter, shared := a.limiter(a.memLimiter)
	return func(w http.ResponseWriter, req bunrouter.Request) error {
		keys := []string{kind + ":ip:" + a.limitClient(req.Request, shared)}
		if id := apiKeyID(req.Context()); id != "" {
			keys = append(keys, kind+":key:"+id)
		}
		for _, key := range keys {
			wait, err := limiter.Allow(req.Context(), key, limit)
			if err != nil {
				// A limiter that cannot count lets the request through:
				// its outage must not become ours.
				a.logRequest(req.Request, slog.LevelWarn, "ratelimit.unavailable", "error", err.Error())
				break
			}
			if wait > 0 {
				return &rateLimitedError{retryAfter: wait}
			}
		}
		return h(w, req)
	}
}

// limiter is the limiter a limit counts in: the shared one (Redis) when
// set, else local, this process's; shared says which.
func (a *api) limiter(local Limiter) (l Limiter, shared bool) {
	if a.opts.RateLimits.Shared != nil {
		return a.opts.RateLimits.Shared, true
	}
	return local, false
}

// limitClient is what the client of r is counted under: its address
// (limitAddr), or, when the limiter is shared (Redis, which keeps its
// keys), its visitor identity, so that privacy mode stores no address
// (docs/privacy.md).
func (a *api) limitClient(r *http.Request, shared bool) string {
	addr := limitAddr(a.clientIP.of(r))
	if shared {
		return a.visitorID(addr)
	}
	return addr
}

// visitorID is what a client address is kept as: the address itself, or
// in privacy mode its keyed hash.
func (a *api) visitorID(addr string) string {
	if a.visitors != nil {
		return a.visitors.of(addr)
	}
	return addr
}

// limitAddr is what a client address is counted under: an IPv4 address
// itself, an IPv6 address its /64 prefix. A single IPv6 host is usually
// given a whole /64 and can use any address in it, so counting each
// address would give it 2^64 budgets (and 2^64 password guesses).
func limitAddr(ip string) string {
	if strings.IndexByte(ip, ':') < 0 {
		return ip
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// rateLimited returns the handler of route r with its rate limit, if any.
func (a *api) rateLimited(r route) bunrouter.HandlerFunc {
	switch r.name {
	case "redirect.short", "redirect.alias_short", "redirect.alias_redirect", "redirect.root",
		"redirect.short_password", "redirect.alias_short_password", "redirect.alias_redirect_password":
		return a.limited("redirect", a.opts.RateLimits.Redirect, r.handler)
	case "urls.create", "ui.shorten", "users.create", "users.bulk_create", "events.create":
		return a.limited("create", a.opts.RateLimits.Create, r.handler)
	}
	return r.handler
}
