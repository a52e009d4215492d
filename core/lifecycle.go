package core

import (
	"context"
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
	// MaxVisits is how many redirects it serves (at least 1). The count
	// is the link's redirect_count, so concurrent visits may pass the
	// limit by the clicks still in flight (a few milliseconds of
	// batching).
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
	for _, t := range []**time.Time{&l.ValidSince, &l.ValidUntil} {
		if *t != nil {
			// Whole seconds, the precision of the API's times, so that
			// what a client reads back is what the link obeys.
			v := (*t).UTC().Truncate(time.Second)
			*t = &v
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

// expired reports whether a link with bounds l no longer (or not yet)
// redirects at now. Only a link with MaxVisits pays for counting its
// visits.
func (s *Service) expired(ctx context.Context, l *Lifecycle, code string, urlID int64, now time.Time) bool {
	if (l.ValidSince != nil && now.Before(*l.ValidSince)) || (l.ValidUntil != nil && !now.Before(*l.ValidUntil)) {
		return true
	}
	if l.MaxVisits == nil {
		return false
	}
	sum, err := s.store.SummarizeEvents(ctx, urlID)
	if err != nil {
		// Unknown count: keep redirecting rather than refuse the link.
		s.log.WarnContext(ctx, "visits of a link with max_visits unknown", "code", code, "error", err)
		return false
	}
	return sum.Counts[EventRedirect]+s.pendingClicks(ctx, code) >= *l.MaxVisits
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
