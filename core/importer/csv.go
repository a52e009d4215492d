package importer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/curtainhq/curtain/core"
)

// columns names a CSV format's columns; each field lists the accepted
// header names, normalised (lower case, no spaces, '-' or '_').
type columns struct {
	format string
	// url is the target; required.
	url []string
	// code is a bare short code; link a short link whose last path
	// segment is the code. Either may be absent from a file.
	code, link []string
	title      []string
	created    []string
	// active is "true"/"false"; archived the opposite.
	active, archived []string
	tags             []string
	// splitTags splits a tags cell into tags; nil when tags has no names.
	splitTags func(string) []string
	// since, until, maxVisits and expiredURL are the lifecycle bounds.
	since, until, maxVisits, expiredURL []string
}

// file names the format's files in errors: "CSV", or "bitly CSV".
func (c columns) file() string {
	if c.format == "csv" {
		return "CSV"
	}
	return c.format + " CSV"
}

// splitOn returns a splitTags that splits a cell at sep.
func splitOn(sep string) func(string) []string {
	return func(s string) []string { return strings.Split(s, sep) }
}

// splitAny splits a cell at '|', ',' and white space, none of which a
// Curtain tag can hold.
func splitAny(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '|' || r == ',' || unicode.IsSpace(r) })
}

var (
	genericColumns = columns{
		format: "csv",
		url:    []string{"originalurl", "url", "longurl", "target"},
		code:   []string{"shortcode", "code", "slug", "keyword", "alias"},
		link:   []string{"shorturl", "shortlink"},
		title:  []string{"title"}, created: []string{"createdat", "created", "timestamp"},
		active: []string{"isactive", "active"}, tags: []string{"tags"}, splitTags: splitAny,
		since: []string{"validsince"}, until: []string{"validuntil", "expiresat"},
		maxVisits: []string{"maxvisits"}, expiredURL: []string{"expiredurl"},
	}
	bitlyColumns = columns{
		format: "bitly",
		url:    []string{"longurl"},
		link:   []string{"bitlink", "link", "id", "shortlink"},
		title:  []string{"title"}, created: []string{"created", "createdat", "datecreated"},
		archived: []string{"archived"}, tags: []string{"tags"}, splitTags: splitOn(","),
	}
	yourlsColumns = columns{
		format: "yourls",
		url:    []string{"url"},
		code:   []string{"keyword"},
		link:   []string{"shorturl"},
		title:  []string{"title"}, created: []string{"timestamp"},
	}
	shlinkColumns = columns{
		format: "shlink",
		url:    []string{"longurl"},
		code:   []string{"shortcode"},
		link:   []string{"shorturl"},
		title:  []string{"title"}, created: []string{"createdat", "datecreated"},
		tags: []string{"tags"}, splitTags: splitOn("|"),
	}
)

// normHeader lowers a header name and drops spaces, '-' and '_'.
func normHeader(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	return strings.NewReplacer(" ", "", "-", "", "_", "").Replace(h)
}

// parseCSV reads a CSV export whose header row names its columns.
func parseCSV(data []byte, cols columns) (Result, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	header, err := r.Read()
	if err == io.EOF {
		return Result{}, nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("read %s header: %w", cols.file(), err)
	}
	index := map[string]int{}
	for i, h := range header {
		if _, dup := index[normHeader(h)]; !dup {
			index[normHeader(h)] = i
		}
	}
	find := func(names []string) int {
		for _, n := range names {
			if i, ok := index[n]; ok {
				return i
			}
		}
		return -1
	}
	iURL := find(cols.url)
	if iURL < 0 {
		return Result{}, fmt.Errorf("%s: no target column (one of %s) in the header %q", cols.file(), strings.Join(cols.url, ", "), strings.Join(header, ","))
	}
	iCode, iLink, iTitle, iCreated := find(cols.code), find(cols.link), find(cols.title), find(cols.created)
	iActive, iArchived, iTags := find(cols.active), find(cols.archived), find(cols.tags)
	iSince, iUntil, iMax, iExpired := find(cols.since), find(cols.until), find(cols.maxVisits), find(cols.expiredURL)

	var res Result
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return res, nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			res.skip(fmt.Sprintf("line %d", pe.StartLine), "not valid CSV: %v", pe.Err)
			continue
		}
		if err != nil {
			return res, fmt.Errorf("read %s: %w", cols.file(), err)
		}
		line, _ := r.FieldPos(0)
		where := fmt.Sprintf("line %d", line)
		cell := func(i int) string {
			if i < 0 || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		if len(rec) == 1 && cell(0) == "" {
			continue // a blank line
		}
		target := cell(iURL)
		if target == "" {
			res.skip(where, "no target URL")
			continue
		}
		code := cell(iCode)
		if code == "" && iLink >= 0 {
			code = codeOf(cell(iLink))
		}
		created, ok := parseTime(cell(iCreated))
		if !ok {
			res.skip(where, "unreadable creation time %q", cell(iCreated))
			continue
		}
		inactive := false
		if v := strings.ToLower(cell(iActive)); v == "false" || v == "0" || v == "no" {
			inactive = true
		}
		if v := strings.ToLower(cell(iArchived)); v == "true" || v == "1" || v == "yes" {
			inactive = true
		}
		var bounds core.Lifecycle
		if bounds.ValidSince, ok = optTime(cell(iSince)); !ok {
			res.skip(where, "unreadable valid_since %q", cell(iSince))
			continue
		}
		if bounds.ValidUntil, ok = optTime(cell(iUntil)); !ok {
			res.skip(where, "unreadable valid_until %q", cell(iUntil))
			continue
		}
		if bounds.MaxVisits, ok = optCount(cell(iMax)); !ok {
			res.skip(where, "unreadable max_visits %q", cell(iMax))
			continue
		}
		bounds.ExpiredURL = optString(cell(iExpired))
		var tags, dropped []string
		if t := cell(iTags); t != "" && cols.splitTags != nil {
			tags, dropped = keepTags(cols.splitTags(t))
		}
		res.Records = append(res.Records, Record{
			Where: where,
			Link: core.ImportedURL{
				ShortCode:   code,
				OriginalURL: target,
				Title:       optTitle(cell(iTitle)),
				CreatedAt:   created,
				Inactive:    inactive,
				Tags:        tags,
				Lifecycle:   bounds,
			},
			Dropped: dropped,
		})
	}
}
