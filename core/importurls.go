package core

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ImportedURL is one link read from another shortener's export (see
// core/importer), as ImportURL stores it.
type ImportedURL struct {
	// ShortCode is the link's code at its source, kept so that printed
	// links keep working once their domain points at Curtain; empty: a
	// code is generated as for POST /urls.
	ShortCode string
	// OriginalURL is the target; it must pass the rules of POST /urls.
	OriginalURL string
	// Title is optional.
	Title *string
	// CreatedAt is when the source created the link; zero: now.
	CreatedAt time.Time
	// Inactive imports the link disabled (archived at its source).
	Inactive bool
	// Tags label the link; they must follow the rules of POST /urls
	// (NormaliseTags), else the link is refused.
	Tags []string
	// Lifecycle bounds the link as for POST /urls (the same checks). A
	// link with bounds needs a ShortCode: without one an import could not
	// tell the link is already there, as find-if-exists never answers a
	// link with bounds.
	Lifecycle Lifecycle
}

// ImportOutcome says what ImportURL did with a link.
type ImportOutcome uint8

// Import outcomes.
const (
	// ImportCreated: a new link was stored.
	ImportCreated ImportOutcome = iota + 1
	// ImportExisted: the link was already there (same code and target, or,
	// without a code, a link to the same target in the same state: an
	// active link a create would reuse, or an inactive link without
	// options or owner), so nothing was stored; importing the same file
	// twice is harmless.
	ImportExisted
)

// Client-facing reasons an imported link is refused.
const (
	msgImportCodeInvalid = "short code must be 1 to 16 letters, digits, '-', '_' or '.'"
	msgImportCodeTaken   = "short code is already used by a link to another URL"
	msgImportBoundsCode  = "a link with valid_since, valid_until, max_visits or expired_url needs a short code, so that importing it again finds it"
)

// ImportURL stores one imported link with the validation of POST /urls
// (target, blocked hosts, title, tags, lifecycle bounds, and no reserved
// word as its code). A link with a short code keeps it; a code already
// taken by a link to another target is refused. A refused link is a
// *ValidationError whose message says why; other errors are the store's.
// Each stored link gets its created event and cache invalidation, as a
// created link does.
func (s *Service) ImportURL(ctx context.Context, in ImportedURL) (URL, ImportOutcome, error) {
	if in.ShortCode == "" && in.Lifecycle.set() {
		return URL{}, 0, invalid("short_code", msgImportBoundsCode)
	}
	if in.ShortCode == "" && !in.Inactive && in.CreatedAt.IsZero() {
		// Tags are no options: a link to reuse is answered whatever its
		// tags, as for POST /urls.
		u, created, err := s.createURL(ctx, CreateURLRequest{OriginalURL: in.OriginalURL, Title: in.Title, Tags: in.Tags})
		if err != nil {
			return URL{}, 0, err
		}
		if created {
			return u, ImportCreated, nil
		}
		return u, ImportExisted, nil
	}
	original, err := s.checkOriginalURL(in.OriginalURL)
	if err != nil {
		return URL{}, 0, err
	}
	if !in.CreatedAt.IsZero() && !InTimeRange(in.CreatedAt) {
		// The stores could not read such a link back.
		return URL{}, 0, invalid("created_at", "Field 'created_at' must be %s", timeRange)
	}
	title, err := normaliseTitle(in.Title)
	if err != nil {
		return URL{}, 0, err
	}
	lifecycle, err := s.checkLifecycle(in.Lifecycle)
	if err != nil {
		return URL{}, 0, err
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return URL{}, 0, err
	}
	if in.ShortCode == "" {
		// Without a code the link is known by its target: an active one
		// is already there if a create would reuse a link (as above), an
		// inactive one if a link such as this import stores is (inactive,
		// without options or owner). Either way a second import of the
		// file stores nothing. Tags do not matter, as for POST /urls;
		// bounds cannot be here (refused above without a code).
		var existing URL
		if in.Inactive {
			existing, err = s.store.FindInactiveURL(ctx, original)
		} else {
			existing, err = s.store.FindActiveURL(ctx, original, 0)
		}
		switch {
		case err == nil:
			return existing, ImportExisted, nil
		case !errors.Is(err, ErrNotFound):
			return URL{}, 0, fmt.Errorf("find imported url: %w", err)
		}
	}
	now := s.clock()
	created := now
	if !in.CreatedAt.IsZero() {
		created = in.CreatedAt.UTC().Truncate(time.Microsecond)
	}
	code := in.ShortCode
	if code == "" {
		// A dated or inactive link without a code: draw one, as
		// createURL does, but keep the source's date and state.
		if code, err = s.nextCode(ctx); err != nil {
			return URL{}, 0, err
		}
	} else if !validImportCode(code) {
		return URL{}, 0, invalid("short_code", msgImportCodeInvalid)
	} else if err := checkReservedCode(code); err != nil {
		// As for POST /urls: a reserved word, in any case, is refused
		// before the store is asked, even if a link already holds it.
		return URL{}, 0, err
	}
	for range maxCodeAttempts {
		if existing, err := s.store.GetURLByCode(ctx, code); err == nil {
			if in.ShortCode == "" {
				if code, err = s.nextCode(ctx); err != nil {
					return URL{}, 0, err
				}
				continue
			}
			if existing.OriginalURL == original {
				return existing, ImportExisted, nil
			}
			return URL{}, 0, invalid("short_code", msgImportCodeTaken)
		} else if !errors.Is(err, ErrNotFound) {
			return URL{}, 0, fmt.Errorf("check code taken: %w", err)
		}
		u := URL{
			ShortCode:   code,
			OriginalURL: original,
			Title:       title,
			IsActive:    !in.Inactive,
			CreatedAt:   created,
			UpdatedAt:   now,
			Lifecycle:   lifecycle,
			Tags:        tags,
		}
		ev := Event{EventType: EventCreated, Timestamp: created, Details: createdDetails(code, original)}
		err := s.store.CreateURL(ctx, &u, &ev)
		switch {
		case err == nil:
			s.invalidateCreated(ctx, u)
			return u, ImportCreated, nil
		case errors.Is(err, ErrConflict):
			continue // a concurrent write took the code: look again
		default:
			return URL{}, 0, fmt.Errorf("import url %q: %w", code, err)
		}
	}
	return URL{}, 0, invalid("short_code", msgCreateFailed)
}

// validImportCode reports whether an imported code can be served at
// /r/{code} as it is: 1 to MaxShortCodeLen ASCII letters, digits, '-',
// '_' or '.', never "." or "..".
func validImportCode(code string) bool {
	if code == "" || len(code) > MaxShortCodeLen || code == "." || code == ".." {
		return false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}
