package core

import (
	"context"
	"time"
)

// Store is the durable store of users, URLs and events. Implementations live
// in drivers/ (SQLite, PostgreSQL). Every method is safe for concurrent use.
// Missing rows are reported as ErrNotFound, a write that collides with a
// unique short code as ErrConflict, and a write that names a missing user or
// URL as ErrReference. A store that cannot be reached reports ErrUnavailable,
// and so does a call whose context carries a store timeout
// (WithStoreTimeout) when the store does not answer within it.
type Store interface {
	// CreateUser inserts u with a new id and sets u.ID.
	CreateUser(ctx context.Context, u *User) error
	// GetUser returns the user with id.
	GetUser(ctx context.Context, id int64) (User, error)
	// ListUsers returns users ordered by id.
	ListUsers(ctx context.Context, p Page) ([]User, error)
	// UpdateUser stores u's username and email.
	UpdateUser(ctx context.Context, u User) error
	// DeleteUser clears the user from its URLs and events and deletes it,
	// in one transaction.
	DeleteUser(ctx context.Context, id int64) error
	// EmailTaken reports whether some user has exactly this email.
	EmailTaken(ctx context.Context, email string) (bool, error)
	// InsertUsers inserts users in one transaction, keeping explicit ids
	// (ID != 0) and skipping rows whose id already exists, then moves the id
	// sequence past the highest id. An explicit id above MaxExplicitID is
	// ErrInvalid. It returns how many rows were inserted.
	InsertUsers(ctx context.Context, users []User) (int, error)

	// CreateURL inserts u with a new id and sets u.ID; when created is not
	// nil it is inserted in the same transaction with its URLID set.
	CreateURL(ctx context.Context, u *URL, created *Event) error
	// CreateOrFindURL is CreateURL for a link that find-if-exists may
	// reuse, race-free: when the link FindActiveURL(u.OriginalURL,
	// u.KeyID) would return exists, or an active reusable link to
	// u.OriginalURL of the same API key (u.KeyID; 0: links no key
	// created) does (a concurrent create won), nothing is inserted, u is
	// set to that link and found is true. At most one active reusable
	// link per original URL and key exists however many creates run at
	// once. A link created with a key has its owner row
	// (KeyStore.URLOwner) written in the same transaction.
	CreateOrFindURL(ctx context.Context, u *URL, created *Event) (found bool, err error)
	// GetURL returns the URL with id.
	GetURL(ctx context.Context, id int64) (URL, error)
	// GetURLByCode returns the URL with this exact short code, active or not.
	GetURLByCode(ctx context.Context, code string) (URL, error)
	// FindActiveURL returns the active URL with the lowest id, without
	// options of its own (URL.HasOptions), whose original URL is exactly
	// original and that the API key keyID created (keyID 0: that no key
	// created).
	FindActiveURL(ctx context.Context, original string, keyID int64) (URL, error)
	// FindInactiveURL returns the inactive URL with the lowest id, without
	// options of its own (URL.HasOptions), whose original URL is exactly
	// original and that neither a user nor an API key owns: a link as
	// ImportURL stores an inactive one, so that importing it again finds
	// it. Create never reuses such a link.
	FindInactiveURL(ctx context.Context, original string) (URL, error)
	// ListURLs returns URLs matching f ordered by id, at most f.Limit of
	// them (0: no limit).
	ListURLs(ctx context.Context, f URLFilter) ([]URL, error)
	// UpdateURL stores u's original URL, title, active flag and
	// updated_at; when updated is not nil it is inserted in the same
	// transaction. A link whose original URL changes is no longer reused
	// by CreateOrFindURL.
	UpdateURL(ctx context.Context, u URL, updated *Event) error
	// ClaimVisit counts one visit of a link with a visit limit,
	// atomically across every instance sharing the store, if fewer than
	// c.Max are counted, and reports whether it did; with c.Peek it only
	// reports whether it would. The link's first claim starts its count
	// at c.Seed's answer. A link that does not exist is ErrNotFound.
	// UpdateURL of a link without MaxVisits forgets its count, so that
	// its next claim starts again from c.Seed.
	ClaimVisit(ctx context.Context, c VisitClaim) (bool, error)
	// ReleaseVisit uncounts a visit ClaimVisit counted but that was not
	// served.
	ReleaseVisit(ctx context.Context, urlID int64) error
	// DeleteURL deletes the URL's events and the URL in one transaction.
	DeleteURL(ctx context.Context, id int64) error
	// URLIDsByCode maps each of codes that exists to its URL id.
	URLIDsByCode(ctx context.Context, codes []string) (map[string]int64, error)

	// CreateEvent inserts e with a new id and sets e.ID.
	CreateEvent(ctx context.Context, e *Event) error
	// GetEvent returns the event with id.
	GetEvent(ctx context.Context, id int64) (Event, error)
	// ListEvents returns events matching f ordered by id (descending with
	// f.Newest), at most f.Limit of them (0: all).
	ListEvents(ctx context.Context, f EventFilter) ([]Event, error)
	// SummarizeEvents aggregates the events of one URL.
	SummarizeEvents(ctx context.Context, urlID int64) (EventSummary, error)
	// InsertClicks stores each click as a redirect event, in one
	// transaction. It is idempotent: a click whose id is already stored is
	// skipped. It returns how many events were inserted.
	InsertClicks(ctx context.Context, clicks []ClickEvent) (int, error)

	// ReserveCodes advances the store's own short-code counter, used when
	// the counter backend is unavailable. The counter is first raised to at
	// least the highest URL id, then by n; the reserved values are
	// first..first+n-1.
	ReserveCodes(ctx context.Context, n int64) (first int64, err error)
	// CodeFloor returns the value a counter backend must be raised to before
	// handing out codes: the larger of the highest URL id and the store
	// counter, so that no counter re-issues a code the store issued.
	CodeFloor(ctx context.Context) (int64, error)
	// RaiseCodeFloor records that counter values up to last were handed
	// out, so that CodeFloor is never below them: a counter that restarts
	// empty (a crash, a Redis flush) resumes above every code issued.
	RaiseCodeFloor(ctx context.Context, last int64) error

	// Import inserts seed rows with their explicit ids in one transaction,
	// skipping ids that exist, then moves every id sequence past the
	// highest id. An id above MaxExplicitID is ErrInvalid. It returns the
	// rows inserted per table.
	Import(ctx context.Context, batch Import) (ImportCounts, error)
	// Reset drops and recreates every table.
	Reset(ctx context.Context) error
	// Ping reports whether the store can be reached.
	Ping(ctx context.Context) error
	// Close releases the store's connections.
	Close() error
}

// ImportCounts reports how many rows Import inserted per table.
type ImportCounts struct {
	Users, URLs, Events int
}

// storeTimeoutCtx is the context key of WithStoreTimeout.
type storeTimeoutCtx struct{}

// WithStoreTimeout returns ctx asking each Store call made with it, or
// with a context derived from it, to give up after d without an answer
// from the store (0: no bound), with an error wrapping ErrUnavailable.
// The API server gives its requests' contexts the configured
// store.query_timeout; background work, which has deadlines and retries
// of its own, does not carry one.
func WithStoreTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, storeTimeoutCtx{}, d)
}

// StoreTimeout returns the bound of WithStoreTimeout, 0 when none.
func StoreTimeout(ctx context.Context) time.Duration {
	d, _ := ctx.Value(storeTimeoutCtx{}).(time.Duration)
	return d
}
