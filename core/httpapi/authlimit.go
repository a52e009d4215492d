package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// defaultAuthLimit bounds the failed API-key attempts of one client
// address when rate_limits.auth is not set: 20 a minute.
var defaultAuthLimit = RateLimit{Requests: 20, Per: time.Minute, Burst: 20}

// errTooManyBadKeys is the 429 of a client past its failed API-key
// attempts.
const errTooManyBadKeys = "Too many invalid API keys"

// keyGuard limits failed API-key attempts per client address, so that a
// client guessing keys cannot make every guess cost a store lookup. Only
// failures count (an unknown or revoked key); past the limit the address
// is refused with 429 and Retry-After without a lookup until its budget
// refills. A key this process has seen succeed recently still gets its
// lookup from a refused address (another client behind the same NAT),
// so clients with valid keys are not shut out by a guesser beside them.
type keyGuard struct {
	limit   RateLimit
	limiter Limiter

	mu      sync.Mutex
	blocked map[string]time.Time // client address → refused until
	good    map[string]time.Time // key hash → its last success
	swept   time.Time
}

// goodKeyTTL is how long a key that succeeded passes a refused address.
const goodKeyTTL = time.Hour

func newKeyGuard(limit RateLimit, shared Limiter) *keyGuard {
	if !limit.enabled() {
		limit = defaultAuthLimit
	}
	if shared == nil {
		shared = NewMemoryLimiter()
	}
	return &keyGuard{limit: limit, limiter: shared, blocked: map[string]time.Time{}, good: map[string]time.Time{}, swept: time.Now()}
}

// refused returns the 429 for a request from addr with the key hash
// while addr is refused and the key is not one seen to succeed; nil
// otherwise.
func (g *keyGuard) refused(addr, hash string, now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sweep(now)
	until, ok := g.blocked[addr]
	if !ok || !now.Before(until) {
		return nil
	}
	if seen, ok := g.good[hash]; ok && now.Sub(seen) < goodKeyTTL {
		return nil
	}
	return &rateLimitedError{retryAfter: until.Sub(now), message: errTooManyBadKeys}
}

// failed counts a failed attempt of addr with the key hash; past the
// limit it refuses addr for wait, which it returns (0 within the limit).
func (g *keyGuard) failed(ctx context.Context, addr, hash string) (wait time.Duration, err error) {
	g.mu.Lock()
	delete(g.good, hash) // revoked since it succeeded
	g.mu.Unlock()
	wait, err = g.limiter.Allow(ctx, "auth:ip:"+addr, g.limit)
	if err != nil || wait <= 0 {
		return 0, err
	}
	g.mu.Lock()
	g.blocked[addr] = time.Now().Add(wait)
	g.mu.Unlock()
	return wait, nil
}

// succeeded records that the key hash authenticated.
func (g *keyGuard) succeeded(hash string, now time.Time) {
	g.mu.Lock()
	g.good[hash] = now
	g.mu.Unlock()
}

// sweep drops expired entries now and then, so that memory follows the
// active clients and keys. The caller holds g.mu.
func (g *keyGuard) sweep(now time.Time) {
	if now.Sub(g.swept) < time.Minute {
		return
	}
	for addr, until := range g.blocked {
		if !now.Before(until) {
			delete(g.blocked, addr)
		}
	}
	for hash, seen := range g.good {
		if now.Sub(seen) >= goodKeyTTL {
			delete(g.good, hash)
		}
	}
	g.swept = now
}

// keyFailed counts a failed API-key attempt of r's client and returns
// what to answer: the 429 past the limit, else errKeyInvalid.
func (a *api) keyFailed(r *http.Request, addr, hash string) error {
	wait, err := a.keyGuard.failed(r.Context(), addr, hash)
	if err != nil {
		// A limiter that cannot count lets the client go on, as for the
		// other limits.
		a.logRequest(r, slog.LevelWarn, "ratelimit.unavailable", "error", err.Error())
	}
	if wait > 0 {
		return &rateLimitedError{retryAfter: wait, message: errTooManyBadKeys}
	}
	return errKeyInvalid
}
