package core

import (
	"fmt"
	"time"
)

// TimeLayout renders every time in API responses: UTC, whole seconds, no
// zone suffix (spec §2.2).
const TimeLayout = "2006-01-02T15:04:05"

// The times a client may give (link bounds, rule windows, imported
// created_at) lie between minTime and maxTime, UTC: the years TimeLayout
// writes with four digits, and that every store can hold (PostgreSQL has
// no year 0, SQLite would keep it).
var (
	minTime = time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, time.December, 31, 23, 59, 59, 999999999, time.UTC)
)

// timeRange is the range of minTime and maxTime as clients read it.
const timeRange = "between 0001-01-01T00:00:00 and 9999-12-31T23:59:59 (UTC)"

// InTimeRange reports whether t lies between minTime and maxTime: the
// range of the times Curtain takes from clients and files.
func InTimeRange(t time.Time) bool { return !t.Before(minTime) && !t.After(maxTime) }

// Now returns the current time as the store keeps it: UTC with microsecond
// precision.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// User is an account that may own URLs.
type User struct {
	ID        int64
	Username  string
	Email     string
	CreatedAt time.Time
}

// URL is a short-code mapping to an original URL.
type URL struct {
	ID          int64
	UserID      *int64
	ShortCode   string
	OriginalURL string
	Title       *string
	IsActive    bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// KeyID is the API key a create runs under (0: none). CreateOrFindURL
	// records it as the link's owner in the link's transaction and reuses
	// only links of the same key; reads leave it 0.
	KeyID int64
	// CustomCode reports a short code chosen by the client (a slug)
	// rather than generated.
	CustomCode bool
	// RedirectStatus is the link's own redirect status (301, 302, 307 or
	// 308); 0 uses the deployment's (ServiceConfig.RedirectStatus).
	RedirectStatus int
	// Lifecycle bounds when and how often the link redirects.
	Lifecycle Lifecycle
	// Tags label the link (NormaliseTags); nil for none. They are not
	// options: find-if-exists may answer a tagged link, and ignores the
	// tags of the request it answers (as it ignores its title).
	Tags []string
	// PasswordHash is the hash of the link's password (PasswordHasher),
	// "" for none. It is never shown: the API shows password_protected.
	PasswordHash string
	// Rules are the link's rule-based redirects, tried in order; nil for
	// none.
	Rules []Rule
}

// HasOptions reports whether the link has settings of its own (a custom
// code, a redirect status, lifecycle bounds). Such a link is never reused by find-if-exists: a create of
// the same URL without options gets a new plain link, and a create with
// options always gets a new link.
func (u URL) HasOptions() bool {
	return u.CustomCode || u.RedirectStatus != 0 || u.Lifecycle.set() || u.PasswordHash != "" || len(u.Rules) > 0
}

// Event is one entry of a URL's durable history.
type Event struct {
	ID        int64
	URLID     *int64
	UserID    *int64
	EventType string
	Timestamp time.Time
	// Details is the stored JSON text. It is rendered parsed when valid JSON
	// and as a plain string otherwise.
	Details string
	// ClickID identifies the click a redirect event records; empty for any
	// other event. The store inserts at most one event per click id.
	ClickID string
	// URLProtected reports that the event's link has a password, as the
	// store's GetEvent and ListEvents read it at the time; never stored.
	URLProtected bool
}

// Event types written by Curtain itself.
const (
	EventCreated  = "created"
	EventUpdated  = "updated"
	EventRedirect = "redirect"
	EventClick    = "click"
)

// Click is one redirect as the click pipeline carries it.
type Click struct {
	// ID is unique per click; it makes durable inserts idempotent.
	ID string
	// Code is the short code as requested.
	Code string
	// Visitor identifies the client for unique-visitor counting.
	Visitor string
	// At is when the redirect was served, UTC.
	At time.Time
	// UserAgent is the client's User-Agent header, "" when absent or not
	// stored (privacy.store_user_agent).
	UserAgent string
	// Referrer is the client's Referer header, "" when absent or not
	// stored (privacy.store_referrer).
	Referrer string
	// Agent is the class of the User-Agent header, set by the host in
	// place of UserAgent when that is not stored
	// (privacy.store_user_agent off); the zero AgentClass otherwise, and
	// the store classifies UserAgent.
	Agent AgentClass
	// Country is the ISO code of the client's country when a GeoIP
	// database is configured (analytics.geoip_path) and knows the
	// address, "" otherwise.
	Country string
	// Stored says the host has already stored the click durably (the
	// durable click mode over a shard that is not durable itself): a
	// shard updates its real-time figures but adds no stream entry, so
	// the consumer does not store it again and it is not counted as
	// pending.
	Stored bool
	// Rule names the rule of the link that chose the target (its name,
	// else its 1-based position), "" when none matched; Target is the
	// URL it chose, "" then (issue 19).
	Rule   string
	Target string
	// URLID is the id of the URL the redirect served, 0 when unknown: the
	// host stores the click under it without looking the code up. It
	// does not cross the plugin boundary; a click read back from a shard
	// has none.
	URLID int64
}

// AgentClass is the class of a User-Agent header (core/uaclass): what
// the analytics breakdowns count of it. Unlike the header it is not
// personal data; a click carries it in place of the header when
// privacy.store_user_agent is off, so that bots are still told from
// people.
type AgentClass struct {
	// Device is "desktop", "mobile", "tablet" or "unknown"; Browser and
	// OS are the parser's names or "unknown".
	Device, Browser, OS string
	// Bot names the crawler, link-preview fetcher or HTTP tool, "" for a
	// person's browser.
	Bot string
	// Tool reports that Bot is a command-line HTTP client or an HTTP
	// library (curl, python-requests): counted as a bot by the
	// breakdowns, but someone ran it, so its visit of a link with
	// max_visits uses one up. Not stored, not sent to plugins.
	Tool bool
}

// Known reports whether a is a classification (one always has a Device),
// not the zero AgentClass of a click that was not classified.
func (a AgentClass) Known() bool { return a.Device != "" }

// CheckClicks reports the first click of a batch that a shard refuses: one
// without a code or without a time. The error wraps ErrInvalid.
func CheckClicks(clicks []Click) error {
	for i, c := range clicks {
		if c.Code == "" {
			return fmt.Errorf("record click %d (%q): empty code: %w", i, c.ID, ErrInvalid)
		}
		if c.At.IsZero() {
			return fmt.Errorf("record click %d (%q): no time: %w", i, c.ID, ErrInvalid)
		}
	}
	return nil
}

// Page selects a slice of a list ordered by id. Limit 0 means no limit.
type Page struct {
	Limit  int
	Offset int
}

// URLFilter selects URLs for listing. Nil fields do not filter.
type URLFilter struct {
	UserID   *int64
	IsActive *bool
	Limit    int
	// Tags selects links with any of these tags, or all of them when
	// AllTags is true; ExcludeTags drops links with any of these. Tags
	// are normalised (NormaliseTags).
	Tags        []string
	AllTags     bool
	ExcludeTags []string
	// Newest orders by id descending, the newest links first, instead of
	// ascending.
	Newest bool
	// AfterID, when set, starts the list after this id in its order:
	// only ids above it, or below it with Newest (keyset paging).
	AfterID *int64
	// Search, when not empty, selects the links whose short code, title
	// or original URL contains it, ignoring the case of ASCII letters
	// (PostgreSQL ignores the case of other letters too). The original
	// URL of a password-protected link is searched only when Reader may
	// see it: a search never reveals a hidden target.
	Search string
	Reader TargetAccess
}

// TargetAccess says whose password-protected links' targets a reader may
// see: every link's (All: an admin key), or those of the links the key
// Owner owns (KeyStore.URLOwner; 0: none). The zero value sees none.
type TargetAccess struct {
	All   bool
	Owner int64
}

// EventFilter selects events for listing. Nil fields do not filter.
type EventFilter struct {
	URLID     *int64
	UserID    *int64
	EventType *string
	// Limit bounds the list (0: no bound); Newest orders it by id
	// descending, the newest events first.
	Limit  int
	Newest bool
}

// EventSummary aggregates a URL's durable events for analytics.
type EventSummary struct {
	Total  int64
	Counts map[string]int64
	// Latest is the timestamp of the last event ordered by (timestamp, id),
	// or nil when there are none.
	Latest *time.Time
}

// ClickEvent is a click resolved to its URL, ready to be stored durably.
type ClickEvent struct {
	// Click.URLID names the URL the event is stored under.
	Click
	// Shard names the shard the click was read from, or "" when it was
	// stored without passing through a shard.
	Shard string
}

// Import is a batch of rows with explicit ids, as seed files carry them.
type Import struct {
	Users  []User
	URLs   []URL
	Events []Event
	// Progress, when set, is called as the store works through the batch
	// with how many more rows it has written or skipped. The batch is one
	// transaction: the rows are stored only once the import returns nil.
	Progress func(rows int)
}

// AppendTime appends t in the API's time form (spec §2.2): UTC, whole
// seconds (truncated), "2006-01-02T15:04:05".
func AppendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 1000 || year > 9999 {
		return t.AppendFormat(dst, TimeLayout)
	}
	hour, minute, sec := t.Clock()
	return append(dst,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10))
}
