package core

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/curtainhq/curtain/core/pycompat"
)

// Lifecycle bounds when and how often a link redirects (issue 19). Its
// zero value (every field nil) never expires. An expired or exhausted
// link redirects to its ExpiredURL, else to the deployment's
// (ServiceConfig.ExpiredURL), else answers 404 like an unknown code; its
// visits there are not counted as redirects of the link.
type Lifecycle struct {
	// ValidSince is when the link starts redirecting.
	ValidSince *time.Time
	// ValidUntil is when it stops (exclusive); after ValidSince.
	ValidUntil *time.Time
	// MaxVisits is how many visits it serves (at least 1), however many
	// arrive at once and on however many instances: each redirect of a
	// person (or of an HTTP tool) claims one of them in the store
	// (Store.ClaimVisit) before it is served. A crawler's or a
	// link-preview fetcher's redirect only checks that one is left
	// (Service.countsVisit).
	MaxVisits *int64
	// ExpiredURL is where the link sends visitors once expired or
	// exhausted; an http or https URL.
	ExpiredURL *string
}

// set reports whether any bound is set.
func (l Lifecycle) set() bool {
	return l.ValidSince != nil || l.ValidUntil != nil || l.MaxVisits != nil || l.ExpiredURL != nil
}

// Change is an optional change of a nullable field in an update: Set
// reports that the request changes the field, and a nil Value clears it.
type Change[T any] struct {
	Set   bool
	Value *T
}

// apply replaces *dst when the change is set.
func (c Change[T]) apply(dst **T) {
	if c.Set {
		*dst = c.Value
	}
}

// LifecycleChange is the part of an UpdateURLRequest that changes a
// link's lifecycle.
type LifecycleChange struct {
	ValidSince, ValidUntil Change[time.Time]
	MaxVisits              Change[int64]
	ExpiredURL             Change[string]
}

func (c LifecycleChange) set() bool {
	return c.ValidSince.Set || c.ValidUntil.Set || c.MaxVisits.Set || c.ExpiredURL.Set
}

// Client-facing messages of lifecycle bounds.
const (
	msgUntilBeforeSince = "Field 'valid_until' must be after 'valid_since'"
	msgMaxVisits        = "Field 'max_visits' must be a positive integer"
)

// checkLifecycle normalises and checks a link's bounds: times in UTC, whole
// seconds, valid_until after valid_since, a positive max_visits and
// a valid expired_url (trimmed).
func (s *Service) checkLifecycle(l Lifecycle) (Lifecycle, error) {
	for _, f := range []struct {
		name string
		t    **time.Time
	}{{"valid_since", &l.ValidSince}, {"valid_until", &l.ValidUntil}} {
		if *f.t != nil {
			// Whole seconds, the precision of the API's times, so that
			// what a client reads back is what the link obeys.
			v := (*f.t).UTC().Truncate(time.Second)
			if !InTimeRange(v) {
				return l, invalid(f.name, "Field '%s' must be %s", f.name, timeRange)
			}
			*f.t = &v
		}
	}
	if l.ValidSince != nil && l.ValidUntil != nil && !l.ValidUntil.After(*l.ValidSince) {
		return l, invalid("valid_until", msgUntilBeforeSince)
	}
	if l.MaxVisits != nil && *l.MaxVisits < 1 {
		return l, invalid("max_visits", msgMaxVisits)
	}
	if l.ExpiredURL != nil {
		u, err := s.checkURL("expired_url", *l.ExpiredURL)
		if err != nil {
			return l, err
		}
		l.ExpiredURL = &u
	}
	return l, nil
}

// outside reports whether a link with bounds l does not redirect at now:
// before its ValidSince or from its ValidUntil on.
func (l *Lifecycle) outside(now time.Time) bool {
	return (l.ValidSince != nil && now.Before(*l.ValidSince)) || (l.ValidUntil != nil && !now.Before(*l.ValidUntil))
}

// VisitClaim asks Store.ClaimVisit for one visit of a link with a visit
// limit.
type VisitClaim struct {
	// URLID is the link.
	URLID int64
	// Max is its limit: a visit is claimed only while fewer are counted.
	Max int64
	// Peek asks only whether a claim would succeed, counting nothing (a
	// HEAD request).
	Peek bool
	// Seed returns the visits the link had before the store counted them
	// (its redirect_count then), called once, by the link's first claim.
	Seed func(context.Context) (int64, error)
}

// errExhausted is claimVisit's answer for a link whose visits are used up.
var errExhausted = errors.New("no visit left")

// claimVisit claims one of the visits of a link with a visit limit, or
// with peek only checks that one is left; it fails with errExhausted once
// the link is exhausted. The count is the store's, exact across
// instances. A store that cannot count fails the redirect
// (ErrUnavailable) rather than serve a limited link beyond its limit.
func (s *Service) claimVisit(ctx context.Context, urlID, max int64, code string, peek bool) error {
	ok, err := s.store.ClaimVisit(ctx, VisitClaim{URLID: urlID, Max: max, Peek: peek,
		Seed: func(ctx context.Context) (int64, error) {
			return s.visitsSoFar(ctx, urlID, code)
		}})
	switch {
	case errors.Is(err, ErrNotFound) || errors.Is(err, ErrReference):
		return ErrURLNotFound // deleted since its target was cached
	case err != nil:
		return fmt.Errorf("claim a visit of %q: %w: %w", code, err, ErrUnavailable)
	case !ok:
		return errExhausted
	}
	return nil
}

// visitsSoFar returns the visits a link had before its visits were
// counted, where a limit set on a link already visited starts: its
// redirects, stored and still in the click shards, bots' included (the
// stored clicks do not tell a crawler from a tool someone ran, and the
// clicks in the shards are not classified yet).
func (s *Service) visitsSoFar(ctx context.Context, urlID int64, code string) (int64, error) {
	sum, err := s.store.SummarizeEvents(ctx, urlID)
	if err != nil {
		return 0, err
	}
	pending, _ := s.pendingClicks(ctx, code)
	return sum.Counts[EventRedirect] + pending, nil
}

// releaseVisit gives back a visit claimVisit claimed for a redirect that
// then failed, so that the failure does not use up the link.
func (s *Service) releaseVisit(ctx context.Context, urlID int64, code string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), clickStoreTimeout)
	defer cancel()
	if err := s.store.ReleaseVisit(ctx, urlID); err != nil {
		s.log.WarnContext(ctx, "a visit claimed for a failed redirect stays counted", "code", code, "error", err)
	}
}

// appendLifecyclePython appends the bounds that are set as members of a
// cached object in Python's layout (each preceded by ", "), after the
// reference's members.
func appendLifecyclePython(b []byte, l Lifecycle) []byte {
	if l.ValidSince != nil {
		b = append(b, `, "valid_since": "`...)
		b = append(AppendTime(b, *l.ValidSince), '"')
	}
	if l.ValidUntil != nil {
		b = append(b, `, "valid_until": "`...)
		b = append(AppendTime(b, *l.ValidUntil), '"')
	}
	if l.MaxVisits != nil {
		b = append(b, `, "max_visits": `...)
		b = strconv.AppendInt(b, *l.MaxVisits, 10)
	}
	if l.ExpiredURL != nil {
		b = append(b, `, "expired_url": `...)
		b = pycompat.AppendJSONString(b, *l.ExpiredURL)
	}
	return b
}

// readLifecycle reads the bounds of a cached object; ok is false when a
// member has the wrong type (the entry is then a miss).
func readLifecycle(v pycompat.JSONValue) (l Lifecycle, ok bool) {
	for _, f := range []struct {
		key string
		dst **time.Time
	}{{"valid_since", &l.ValidSince}, {"valid_until", &l.ValidUntil}} {
		if _, has := v.Get(f.key); has {
			t, ok := timeField(v, f.key)
			if !ok {
				return l, false
			}
			*f.dst = &t
		}
	}
	if _, has := v.Get("max_visits"); has {
		n, ok := intField(v, "max_visits")
		if !ok {
			return l, false
		}
		l.MaxVisits = &n
	}
	if _, has := v.Get("expired_url"); has {
		u, ok := stringField(v, "expired_url")
		if !ok {
			return l, false
		}
		l.ExpiredURL = &u
	}
	return l, true
}
