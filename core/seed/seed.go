// Package seed reads the reference's seed CSV files (users.csv, urls.csv,
// events.csv; spec §13) into a [core.Import] that a store can insert with
// the rows' explicit ids.
//
// Each file starts with a header row; columns are found by name, so their
// order does not matter and unknown columns are ignored. Times are UTC in
// the layout YYYY-MM-DD HH:MM:SS (a T separator and fractional seconds are
// accepted too). A bad row is reported as a [*ParseError] naming the file,
// the line and the column.
package seed

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/curtainhq/curtain/core"
)

// File names LoadDir reads from its directory.
const (
	UsersFile  = "users.csv"
	URLsFile   = "urls.csv"
	EventsFile = "events.csv"
)

// ParseError reports a value the parser rejects.
type ParseError struct {
	// File is the file's name; empty when the parser was handed a reader.
	File string
	// Line is the 1-based line where the offending row (or field) starts.
	Line int
	// Column names the offending column; empty for a malformed row.
	Column string
	Err    error
}

// Error renders "file: line N, column C: reason", leaving out what is
// unknown.
func (e *ParseError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "line %d", e.Line)
	if e.Column != "" {
		fmt.Fprintf(&b, ", column %s", e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying reason.
func (e *ParseError) Unwrap() error { return e.Err }

// timeLayouts are the accepted time layouts, tried in order. The fractional
// part is optional in each.
var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
}

// ParseUsers reads a users file: columns id, username, email, created_at.
func ParseUsers(r io.Reader) ([]core.User, error) {
	var users []core.User
	err := parse(r, []string{"id", "username", "email", "created_at"}, func(row *row) error {
		u := core.User{
			ID:        row.id("id"),
			Username:  row.text("username"),
			Email:     row.text("email"),
			CreatedAt: row.time("created_at"),
		}
		if row.err == nil {
			users = append(users, u)
		}
		return row.err
	})
	return users, err
}

// ParseURLs reads a urls file: columns id, user_id, short_code,
// original_url, title, is_active, created_at, updated_at. An empty user_id
// means no owner; is_active is true exactly when its lower-cased text is
// "true".
func ParseURLs(r io.Reader) ([]core.URL, error) {
	var urls []core.URL
	cols := []string{"id", "user_id", "short_code", "original_url", "title", "is_active", "created_at", "updated_at"}
	err := parse(r, cols, func(row *row) error {
		title := row.text("title")
		u := core.URL{
			ID:          row.id("id"),
			UserID:      row.optionalID("user_id"),
			ShortCode:   row.text("short_code"),
			OriginalURL: row.text("original_url"),
			Title:       &title,
			IsActive:    strings.ToLower(row.text("is_active")) == "true",
			CreatedAt:   row.time("created_at"),
			UpdatedAt:   row.time("updated_at"),
		}
		if row.err == nil {
			urls = append(urls, u)
		}
		return row.err
	})
	return urls, err
}

// ParseEvents reads an events file: columns id, url_id, user_id,
// event_type, timestamp, details. Empty url_id or user_id mean none; details
// is kept as the raw (JSON) text.
func ParseEvents(r io.Reader) ([]core.Event, error) {
	var events []core.Event
	cols := []string{"id", "url_id", "user_id", "event_type", "timestamp", "details"}
	err := parse(r, cols, func(row *row) error {
		e := core.Event{
			ID:        row.id("id"),
			URLID:     row.optionalID("url_id"),
			UserID:    row.optionalID("user_id"),
			EventType: row.text("event_type"),
			Timestamp: row.time("timestamp"),
			Details:   row.text("details"),
		}
		if row.err == nil {
			events = append(events, e)
		}
		return row.err
	})
	return events, err
}

// LoadDir reads users.csv, urls.csv and events.csv from dir.
func LoadDir(dir string) (core.Import, error) {
	var batch core.Import
	var err error
	if batch.Users, err = parseFile(dir, UsersFile, ParseUsers); err != nil {
		return core.Import{}, err
	}
	if batch.URLs, err = parseFile(dir, URLsFile, ParseURLs); err != nil {
		return core.Import{}, err
	}
	if batch.Events, err = parseFile(dir, EventsFile, ParseEvents); err != nil {
		return core.Import{}, err
	}
	return batch, nil
}

// parseFile opens dir/name and parses it with fn, naming the file in a
// ParseError.
func parseFile[T any](dir, name string, fn func(io.Reader) ([]T, error)) ([]T, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("load seed: %w", err)
	}
	defer f.Close()
	rows, err := fn(f)
	if err != nil {
		if pe, ok := errors.AsType[*ParseError](err); ok {
			pe.File = name
			return nil, pe
		}
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	return rows, nil
}

// row is one data row being converted. The first conversion error is kept
// in err and later conversions are skipped.
type row struct {
	line   int
	fields []string
	index  map[string]int
	err    error
}

// text returns the raw value of column name.
func (r *row) text(name string) string {
	return r.fields[r.index[name]]
}

// fail records the first error of the row.
func (r *row) fail(name string, err error) {
	if r.err == nil {
		r.err = &ParseError{Line: r.line, Column: name, Err: err}
	}
}

// id parses a required positive integer id.
func (r *row) id(name string) int64 {
	s := r.text(name)
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 1 {
		r.fail(name, fmt.Errorf("id %q is not a positive integer", s))
		return 0
	}
	return n
}

// optionalID parses an id that may be empty (nil).
func (r *row) optionalID(name string) *int64 {
	if strings.TrimSpace(r.text(name)) == "" {
		return nil
	}
	n := r.id(name)
	return &n
}

// time parses a UTC time in the range the API and curtain import take
// (core.InTimeRange): PostgreSQL has no year 0, which the layouts read.
func (r *row) time(name string) time.Time {
	s := strings.TrimSpace(r.text(name))
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			if !core.InTimeRange(t) {
				r.fail(name, fmt.Errorf("time %q must be between 0001-01-01 00:00:00 and 9999-12-31 23:59:59 (UTC)", s))
				return time.Time{}
			}
			return t.UTC()
		}
	}
	r.fail(name, fmt.Errorf("time %q is not in the layout YYYY-MM-DD HH:MM:SS", s))
	return time.Time{}
}

// parse reads a CSV with a header naming at least cols and calls fn for
// every data row.
func parse(in io.Reader, cols []string, fn func(*row) error) error {
	cr := csv.NewReader(in)
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return &ParseError{Line: 1, Err: errors.New("missing header row")}
	}
	if err != nil {
		return csvError(err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	index := make(map[string]int, len(header))
	for i, h := range header {
		index[strings.TrimSpace(h)] = i
	}
	for _, c := range cols {
		if _, ok := index[c]; !ok {
			return &ParseError{Line: 1, Column: c, Err: errors.New("missing column in header")}
		}
	}
	for {
		fields, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return csvError(err)
		}
		line, _ := cr.FieldPos(0)
		if err := fn(&row{line: line, fields: fields, index: index}); err != nil {
			return err
		}
	}
}

// csvError turns a csv.ParseError into a ParseError.
func csvError(err error) error {
	if pe, ok := errors.AsType[*csv.ParseError](err); ok {
		return &ParseError{Line: pe.StartLine, Err: pe.Err}
	}
	return fmt.Errorf("read csv: %w", err)
}
