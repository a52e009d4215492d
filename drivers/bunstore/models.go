package bunstore

import (
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/curtainhq/curtain/core"
)

// stampLayout is how times are written: UTC, microseconds, fixed width, so
// that SQLite's text comparison orders them like PostgreSQL's timestamps.
const stampLayout = "2006-01-02 15:04:05.000000"

// stampParseLayouts are the text forms a stored time is read back from.
var stampParseLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z07:00",
}

// stamp is a time as the store keeps it: timestamp without time zone, UTC,
// microsecond precision. The zero stamp is the zero time.
type stamp time.Time

// newStamp converts t to UTC and truncates it to microseconds.
func newStamp(t time.Time) stamp {
	return stamp(t.UTC().Truncate(time.Microsecond))
}

// Time returns the stored time in UTC.
func (s stamp) Time() time.Time { return time.Time(s).UTC() }

// Value writes the time as fixed-width UTC text, which both dialects accept
// for a timestamp column.
func (s stamp) Value() (driver.Value, error) {
	return time.Time(s).UTC().Format(stampLayout), nil
}

// Scan reads a time.Time (PostgreSQL, SQLite's parsed columns) or text
// (SQLite aggregates).
func (s *stamp) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*s = newStamp(v)
		return nil
	case string:
		return s.parse(v)
	case []byte:
		return s.parse(string(v))
	case nil:
		*s = stamp{}
		return nil
	}
	return fmt.Errorf("scan time: unsupported type %T", src)
}

func (s *stamp) parse(text string) error {
	for _, layout := range stampParseLayouts {
		if t, err := time.Parse(layout, text); err == nil {
			*s = newStamp(t)
			return nil
		}
	}
	return fmt.Errorf("scan time: unrecognised text %q", text)
}

// userRow is a row of users.
type userRow struct {
	bun.BaseModel `bun:"table:users,alias:u"`

	ID        int64  `bun:"id,pk,autoincrement"`
	Username  string `bun:"username,notnull"`
	Email     string `bun:"email,notnull"`
	CreatedAt stamp  `bun:"created_at,notnull"`
}

func userRowOf(u core.User) userRow {
	return userRow{ID: u.ID, Username: u.Username, Email: u.Email, CreatedAt: newStamp(u.CreatedAt)}
}

func (r userRow) user() core.User {
	return core.User{ID: r.ID, Username: r.Username, Email: r.Email, CreatedAt: r.CreatedAt.Time()}
}

// urlRow is a row of urls.
type urlRow struct {
	bun.BaseModel `bun:"table:urls,alias:url"`

	ID          int64   `bun:"id,pk,autoincrement"`
	UserID      *int64  `bun:"user_id"`
	ShortCode   string  `bun:"short_code,notnull"`
	OriginalURL string  `bun:"original_url,notnull"`
	Title       *string `bun:"title"`
	IsActive    bool    `bun:"is_active,notnull"`
	CreatedAt   stamp   `bun:"created_at,notnull"`
	UpdatedAt   stamp   `bun:"updated_at,notnull"`
	// ReuseKey is set (reuseKey) on an active link that find-if-exists may
	// reuse, NULL otherwise; it is unique.
	ReuseKey string `bun:"reuse_key,nullzero"`
	// CustomCode marks a code the client chose (issue 19).
	CustomCode bool `bun:"custom_code,notnull"`
	// RedirectStatus is the link's own status, NULL (0) for the
	// deployment's.
	RedirectStatus int `bun:"redirect_status,nullzero"`
	// The lifecycle bounds, NULL when unset.
	ValidSince *stamp  `bun:"valid_since"`
	ValidUntil *stamp  `bun:"valid_until"`
	MaxVisits  *int64  `bun:"max_visits"`
	ExpiredURL *string `bun:"expired_url"`
	// Tags are the link's tags between commas (",a,b,"), NULL for none.
	Tags string `bun:"tags,nullzero"`
	// PasswordHash is the hash of the link's password, NULL for none.
	PasswordHash string `bun:"password_hash,nullzero"`
	// Rules are the link's rule-based redirects as JSON
	// (core.EncodeRules), NULL for none.
	Rules string `bun:"rules,nullzero"`
}

// tagsColumn encodes tags for the tags column: "" (NULL) for none.
func tagsColumn(tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	return "," + strings.Join(tags, ",") + ","
}

// tagsOf decodes the tags column.
func tagsOf(col string) []string {
	col = strings.Trim(col, ",")
	if col == "" {
		return nil
	}
	return strings.Split(col, ",")
}

// likeEscaper escapes the wildcards of LIKE (with ESCAPE '\').
var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

// tagPattern is the LIKE pattern (with ESCAPE '\') matching a tags column
// that holds tag.
func tagPattern(tag string) string {
	return "%," + likeEscaper.Replace(tag) + ",%"
}

// stampPtr converts an optional time to an optional stamp.
func stampPtr(t *time.Time) *stamp {
	if t == nil {
		return nil
	}
	s := newStamp(*t)
	return &s
}

// timePtr converts an optional stamp to an optional time.
func timePtr(s *stamp) *time.Time {
	if s == nil {
		return nil
	}
	t := s.Time()
	return &t
}

// reuseKey is the reuse_key of a reusable link to original created with
// the API key keyID (0: none): the hex SHA-256 of the URL, prefixed for a
// key by its id, which fits an index whatever the URL's length. Keys
// scope reuse: no key's create ever collides with another's link.
func reuseKey(original string, keyID int64) string {
	var sum [sha256.Size]byte
	if keyID == 0 {
		sum = sha256.Sum256([]byte(original))
	} else {
		sum = sha256.Sum256([]byte("key " + strconv.FormatInt(keyID, 10) + "\x00" + original))
	}
	return hex.EncodeToString(sum[:])
}

func urlRowOf(u core.URL) urlRow {
	return urlRow{
		ID: u.ID, UserID: u.UserID, ShortCode: u.ShortCode, OriginalURL: u.OriginalURL,
		Title: u.Title, IsActive: u.IsActive,
		CreatedAt: newStamp(u.CreatedAt), UpdatedAt: newStamp(u.UpdatedAt),
		CustomCode: u.CustomCode, RedirectStatus: u.RedirectStatus,
		ValidSince: stampPtr(u.Lifecycle.ValidSince), ValidUntil: stampPtr(u.Lifecycle.ValidUntil),
		MaxVisits: u.Lifecycle.MaxVisits, ExpiredURL: u.Lifecycle.ExpiredURL,
		Tags: tagsColumn(u.Tags), PasswordHash: u.PasswordHash, Rules: core.EncodeRules(u.Rules),
	}
}

func (r urlRow) url() core.URL {
	return core.URL{
		ID: r.ID, UserID: r.UserID, ShortCode: r.ShortCode, OriginalURL: r.OriginalURL,
		Title: r.Title, IsActive: r.IsActive,
		CreatedAt: r.CreatedAt.Time(), UpdatedAt: r.UpdatedAt.Time(),
		CustomCode: r.CustomCode, RedirectStatus: r.RedirectStatus,
		Lifecycle: core.Lifecycle{
			ValidSince: timePtr(r.ValidSince), ValidUntil: timePtr(r.ValidUntil),
			MaxVisits: r.MaxVisits, ExpiredURL: r.ExpiredURL,
		},
		Tags: tagsOf(r.Tags), PasswordHash: r.PasswordHash, Rules: rulesOf(r.Rules),
	}
}

// eventRow is a row of events. An empty ClickID is stored as NULL.
type eventRow struct {
	bun.BaseModel `bun:"table:events,alias:e"`

	ID        int64  `bun:"id,pk,autoincrement"`
	URLID     *int64 `bun:"url_id"`
	UserID    *int64 `bun:"user_id"`
	EventType string `bun:"event_type,notnull"`
	Timestamp stamp  `bun:"timestamp,notnull"`
	Details   string `bun:"details,notnull"`
	ClickID   string `bun:"click_id,nullzero"`
	// The columns of a redirect stored from a click (migration 000110),
	// NULL for other events: the raw headers and their classification
	// (core/uaclass), which a trigger adds to curtain_click_breakdown.
	UserAgent    string  `bun:"user_agent,nullzero"`
	Referrer     string  `bun:"referrer,nullzero"`
	Device       string  `bun:"ua_device,nullzero"`
	Browser      string  `bun:"ua_browser,nullzero"`
	OS           string  `bun:"ua_os,nullzero"`
	Bot          *string `bun:"ua_bot"`
	ReferrerHost string  `bun:"referrer_host,nullzero"`
	Country      string  `bun:"country,nullzero"`
	// URLProtected is read, never stored: whether the event's link has a
	// password (withURLProtected).
	URLProtected bool `bun:"url_protected,scanonly"`
}

func eventRowOf(e core.Event) eventRow {
	return eventRow{
		ID: e.ID, URLID: e.URLID, UserID: e.UserID, EventType: e.EventType,
		Timestamp: newStamp(e.Timestamp), Details: e.Details, ClickID: e.ClickID,
	}
}

func (r eventRow) event() core.Event {
	return core.Event{
		ID: r.ID, URLID: r.URLID, UserID: r.UserID, EventType: r.EventType,
		Timestamp: r.Timestamp.Time(), Details: r.Details, ClickID: r.ClickID,
		URLProtected: r.URLProtected,
	}
}

// rulesOf decodes the rules column. Rules are written by EncodeRules from
// validated rules, so a column that does not decode (edited by hand) is
// read as no rules rather than failing every read of the link.
func rulesOf(text string) []core.Rule {
	rules, err := core.DecodeRules(text)
	if err != nil {
		return nil
	}
	return rules
}
