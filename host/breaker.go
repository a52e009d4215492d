package host

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
)

// Breaker settings of a cache instance (see breaker).
const (
	// breakerTrips is how many calls in a row must run out of time before
	// the instance's calls fail at once.
	breakerTrips = 3
	// breakerRest is how long they fail at once before one call probes
	// the plugin again.
	breakerRest = 5 * time.Second
)

// breaker makes the calls of a cache plugin that stopped answering fail at
// once instead of each waiting out its call timeout: a hung cache (its
// process alive, its health check answered, its calls not) would
// otherwise add two call timeouts (a get and a fill) to every redirect.
// After breakerTrips timed-out calls in a row it opens for rest; then one
// call goes through as a probe, and the breaker closes when a call
// answers in time. Caches only: the other kinds have their own fallbacks
// (the click batcher's failover, the alert queue's retries).
type breaker struct {
	rest time.Duration

	mu       sync.Mutex
	timeouts int       // calls in a row that ran out of time
	until    time.Time // open until then; zero while closed
	probing  bool      // a probe is in flight
}

// allow reports whether a call may go to the plugin now.
func (b *breaker) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.until.IsZero():
		return true
	case now.Before(b.until) || b.probing:
		return false
	default:
		b.probing = true
		return true
	}
}

// callOutcome is what an allowed call tells of the plugin.
type callOutcome int

const (
	answered     callOutcome = iota // in time, with a result or an error
	ranOutOfTime                    // its own deadline ran out
	unknown                         // the caller gave up first
)

// outcomeOf classifies a call's error; ctx is the caller's context.
func outcomeOf(ctx context.Context, err error) callOutcome {
	switch {
	case err == nil:
		return answered
	case ctx.Err() != nil:
		return unknown
	case codeOf(err) == codes.DeadlineExceeded.String():
		return ranOutOfTime
	default:
		return answered
	}
}

// done records the outcome of an allowed call and reports whether the
// breaker opened or closed with it.
func (b *breaker) done(now time.Time, outcome callOutcome) (opened, closed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	wasOpen := !b.until.IsZero()
	b.probing = false
	switch outcome {
	case unknown:
		return false, false
	case answered:
		b.timeouts, b.until = 0, time.Time{}
		return false, wasOpen
	}
	b.timeouts++
	if wasOpen || b.timeouts >= breakerTrips {
		b.until = now.Add(b.rest)
		return !wasOpen, false
	}
	return false, false
}

// reset closes the breaker, for a plugin process started afresh.
func (b *breaker) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.timeouts, b.until, b.probing = 0, time.Time{}, false
}
