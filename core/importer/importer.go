// Package importer reads the link exports of other URL shorteners (Bitly,
// YOURLS, Shlink, Kutt) and a plain CSV file into records that
// core.Service.ImportURL stores, with the reason for every entry it cannot
// use. It parses only: `curtain import` drives it.
//
// Each format is read as its source documents it:
//
//   - bitly: the JSON of GET /v4/groups/{group_guid}/bitlinks ("links"
//     array: id, long_url, title, created_at, archived, tags), or a CSV
//     with the columns Bitlink, Long URL, Title, Created, Tags (separated
//     by ','), Archived (case and spacing ignored).
//   - yourls: the JSON of yourls-api.php?action=stats&format=json
//     ("links" object of shorturl, url, title, timestamp, clicks), or a
//     CSV of the yourls_url table (keyword, url, title, timestamp).
//   - shlink: the JSON of GET /rest/v3/short-urls ("shortUrls.data":
//     shortCode, longUrl, dateCreated, title, tags, meta.validSince,
//     meta.validUntil, meta.maxVisits, domain), or the web client's CSV
//     (createdAt, shortUrl, longUrl, title, tags separated by '|').
//   - kutt: the JSON of GET /api/v2/links ("data": address, target,
//     description, created_at, banned, password, expire_in).
//   - csv: a header row naming original_url (or url, long_url), and
//     optionally short_code (or code, slug, keyword), title, created_at,
//     is_active, tags (separated by '|', ',' or spaces), valid_since,
//     valid_until, max_visits, expired_url.
//
// Tags and lifecycle bounds are kept in the record's Link. A tag Curtain
// refuses (core.NormaliseTags), or one beyond the 10 a link may have, is
// left out and named in Record.Dropped; the link keeps its other tags. A
// bound that cannot be read skips the entry; one that ImportURL refuses
// (valid_until not after valid_since, max_visits below 1) skips it there:
// left out, the link would redirect where its source does not.
//
// A file whose first non-blank character is '{' or '[' is read as JSON,
// any other as CSV.
package importer

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/pycompat"
)

// Formats lists the formats Parse reads, for help texts.
var Formats = []string{"bitly", "yourls", "shlink", "kutt", "csv"}

// Record is one link of an export.
type Record struct {
	// Where locates the entry in the file for the report: "line 7" in a
	// CSV, "entry 3" in JSON (1-based).
	Where string
	// Link is what ImportURL stores.
	Link core.ImportedURL
	// Dropped names the source's settings the link had that Curtain does
	// not import (a Shlink domain, tags Curtain refuses), for the report.
	Dropped []string
}

// Skip is an entry Parse could not turn into a record.
type Skip struct {
	Where  string
	Reason string
}

// Result is what Parse read.
type Result struct {
	Records []Record
	Skipped []Skip
}

func (r *Result) skip(where, format string, args ...any) {
	r.Skipped = append(r.Skipped, Skip{Where: where, Reason: fmt.Sprintf(format, args...)})
}

// Parse reads an export in format (one of Formats). An error means the
// file as a whole could not be read (not JSON or CSV, or not the shape of
// the format); entries that cannot be used are in Result.Skipped.
func Parse(format string, r io.Reader) (Result, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Result{}, fmt.Errorf("read export: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 BOM
	isJSON := false
	if t := bytes.TrimSpace(data); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		isJSON = true
	}
	switch format {
	case "bitly":
		if isJSON {
			return parseBitlyJSON(data)
		}
		return parseCSV(data, bitlyColumns)
	case "yourls":
		if isJSON {
			return parseYOURLSJSON(data)
		}
		return parseCSV(data, yourlsColumns)
	case "shlink":
		if isJSON {
			return parseShlinkJSON(data)
		}
		return parseCSV(data, shlinkColumns)
	case "kutt":
		if !isJSON {
			return Result{}, fmt.Errorf("a kutt export is the JSON of GET /api/v2/links")
		}
		return parseKuttJSON(data)
	case "csv":
		if isJSON {
			return Result{}, fmt.Errorf("a csv export must be CSV, not JSON")
		}
		return parseCSV(data, genericColumns)
	}
	return Result{}, fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// timeLayouts are the time layouts exports use, tried in order; a time
// without a zone is UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05-0700", // Bitly: +0000
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05-07:00",
	"2006-01-02",
}

// parseTime reads a time in any of timeLayouts, or Unix seconds.
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, true
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	if n, ok, overflow := pycompat.ParseInt(s); ok && !overflow && n > 0 {
		return time.Unix(n, 0).UTC(), true
	}
	return time.Time{}, false
}

// codeOf returns the last path segment of a short link ("bit.ly/3xYz",
// "https://sho.rt/abc"), or s itself when it has no slash.
func codeOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimRight(s, "/")
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// optTitle returns a title pointer, nil for a blank one.
func optTitle(s string) *string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return &s
}

// keepTags returns the tags Curtain can store of a source's tags,
// normalised (lower case, de-duplicated, sorted), and the dropped notes
// for the others: tags that break core.NormaliseTags' rules, and those
// beyond the first core.MaxTags in sorted order. Blank tags are ignored.
func keepTags(raw []string) (tags, dropped []string) {
	var bad []string
	for _, t := range raw {
		if strings.TrimSpace(t) == "" {
			continue
		}
		if n, ok := core.NormaliseTags([]string{t}); ok {
			tags = append(tags, n...)
		} else {
			bad = append(bad, strconv.Quote(strings.TrimSpace(t)))
		}
	}
	slices.Sort(tags)
	tags = slices.Compact(tags)
	if len(bad) > 0 {
		dropped = append(dropped, fmt.Sprintf("tags %s (not 1 to %d letters, digits, '-' or '_')", strings.Join(bad, ", "), core.MaxTagLen))
	}
	if len(tags) > core.MaxTags {
		dropped = append(dropped, fmt.Sprintf("tags %s (beyond the %d a link may have)", strings.Join(tags[core.MaxTags:], ", "), core.MaxTags))
		tags = tags[:core.MaxTags:core.MaxTags]
	}
	return tags, dropped
}

// optTime reads an optional bound's time: nil for a blank one, ok false
// for one parseTime cannot read.
func optTime(s string) (t *time.Time, ok bool) {
	if strings.TrimSpace(s) == "" {
		return nil, true
	}
	v, ok := parseTime(s)
	if !ok {
		return nil, false
	}
	return &v, true
}

// optCount reads an optional visit limit: nil for a blank one, ok false
// for one that is not an integer. Its value is ImportURL's to check.
func optCount(s string) (n *int64, ok bool) {
	if strings.TrimSpace(s) == "" {
		return nil, true
	}
	v, ok, overflow := pycompat.ParseInt(strings.TrimSpace(s))
	if !ok || overflow {
		return nil, false
	}
	return &v, true
}

// optString returns a trimmed optional string, nil for a blank one.
func optString(s string) *string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	return &s
}

// relativeExpiry matches Kutt's expire_in durations: "2h", "30 minutes",
// "1 day", "2 weeks".
var relativeExpiry = regexp.MustCompile(`^(\d+)\s*(m|min|mins|minutes?|h|hours?|d|days?|w|weeks?)$`)

// expiryOf reads Kutt's expire_in: a time, or a duration after created
// (the link's creation, as Kutt counts it). ok is false for anything else,
// and for a duration when created is unknown.
func expiryOf(s string, created time.Time) (t *time.Time, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, true
	}
	if t, ok := optTime(s); ok {
		return t, true
	}
	m := relativeExpiry.FindStringSubmatch(strings.ToLower(s))
	if m == nil || created.IsZero() {
		return nil, false
	}
	n, err := strconv.ParseInt(m[1], 10, 32)
	if err != nil {
		return nil, false
	}
	unit := time.Minute
	switch m[2][0] {
	case 'h':
		unit = time.Hour
	case 'd':
		unit = 24 * time.Hour
	case 'w':
		unit = 7 * 24 * time.Hour
	}
	// In seconds: n units can exceed time.Duration's 292 years, and
	// created.Add would wrap around into the past. n < 2^31 and a unit
	// of at most a week keep the product far inside int64; a year past
	// 9999 is then refused by the checks of POST /urls.
	v := time.Unix(created.Unix()+n*int64(unit/time.Second), int64(created.Nanosecond())).UTC()
	return &v, true
}
