package core

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/curtainhq/curtain/core/pycompat"
)

// Default page size of GET /users when only page is given (spec §4.7).
const defaultPerPage = 20

// ListUsersParams holds the raw query parameters of GET /users; nil means
// absent.
type ListUsersParams struct {
	Page    *string
	PerPage *string
}

// ListUsers lists users (spec §4.7): all of them, or one page when page or
// per_page is a valid integer.
func (s *Service) ListUsers(ctx context.Context, p ListUsersParams) ([]User, error) {
	page, hasPage := optionalInt(p.Page)
	perPage, hasPerPage := optionalInt(p.PerPage)
	var pg Page
	if hasPage || hasPerPage {
		if page == 0 {
			page = 1
		}
		if perPage == 0 {
			perPage = defaultPerPage
		}
		if page < 1 || perPage < 1 {
			return nil, invalid("page", "Pagination parameters must be positive integers")
		}
		// Beyond these bounds no page can hold a row (ids are int4).
		const maxRows = int64(MaxID) - int64(MinID) + 1
		pp := min(perPage, maxRows)
		if page-1 > maxRows/pp {
			return []User{}, nil
		}
		pg = Page{Limit: int(pp), Offset: int((page - 1) * pp)}
	}
	users, err := s.store.ListUsers(ctx, pg)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	if users == nil {
		users = []User{}
	}
	return users, nil
}

// optionalInt parses an optional query integer; a value that is not an
// integer counts as absent (spec §4.7, Q9).
func optionalInt(raw *string) (int64, bool) {
	if raw == nil {
		return 0, false
	}
	n, ok, _ := pycompat.ParseInt(*raw)
	return n, ok
}

// GetUser returns one user (spec §4.8).
func (s *Service) GetUser(ctx context.Context, id int64) (User, error) {
	return getRow(ctx, s.store.GetUser, id, ErrUserNotFound, "user")
}

// userFields are the validated, trimmed fields of a user body.
type userFields struct {
	username, email *string
}

// parseUserBody checks a POST or PUT /users body (spec §4.9 steps 1-4,
// §4.10 step 3); create requires both fields. Errors are
// UnprocessableErrors.
func parseUserBody(body *pycompat.JSONValue, create bool) (userFields, error) {
	var f userFields
	if body == nil || body.Kind != pycompat.JSONObject {
		return f, unprocessable("request", msgBodyNotObject)
	}
	if create {
		for _, field := range []string{"username", "email"} {
			if _, ok := body.Get(field); !ok {
				return f, unprocessable(field, "Field '"+field+"' is required")
			}
		}
	}
	for _, field := range []struct {
		name string
		max  int
		dst  **string
	}{{"username", MaxUsernameLen, &f.username}, {"email", MaxEmailLen, &f.email}} {
		v, ok := body.Get(field.name)
		if !ok {
			continue
		}
		prefix := "Field '" + field.name + "' "
		if v.Kind != pycompat.JSONString {
			return f, unprocessable(field.name, prefix+"must be a string")
		}
		t := pycompat.Strip(v.Text)
		switch {
		case t == "":
			return f, unprocessable(field.name, prefix+"must not be empty")
		case tooLong(t, field.max):
			return f, unprocessable(field.name, fmt.Sprintf("%smust not exceed %d characters", prefix, field.max))
		case strings.IndexByte(t, 0) >= 0:
			return f, unprocessable(field.name, prefix+"must not contain NUL characters")
		}
		*field.dst = &t
	}
	if f.email != nil && !validEmail(*f.email) {
		return f, unprocessable("email", "Field 'email' must be a valid email address")
	}
	return f, nil
}

// CreateUser creates a user from a POST /users body (spec §4.9).
func (s *Service) CreateUser(ctx context.Context, body *pycompat.JSONValue) (User, error) {
	f, err := parseUserBody(body, true)
	if err != nil {
		return User{}, err
	}
	taken, err := s.store.EmailTaken(ctx, *f.email)
	if err != nil {
		return User{}, fmt.Errorf("check email: %w", err)
	}
	if taken {
		return User{}, unprocessable("email", "Field 'email' must be unique")
	}
	u := User{Username: *f.username, Email: *f.email, CreatedAt: s.clock()}
	err = s.store.CreateUser(ctx, &u)
	if errors.Is(err, ErrConflict) {
		// An id taken by an explicit import; the store has moved its
		// sequence, so one retry gets a free id (spec §4.9).
		u.ID = 0
		err = s.store.CreateUser(ctx, &u)
	}
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// UpdateUser changes a user's username and email (spec §4.10). Email
// uniqueness is not checked, as in the reference (Q8).
func (s *Service) UpdateUser(ctx context.Context, id int64, body *pycompat.JSONValue) (User, error) {
	u, err := s.GetUser(ctx, id)
	if err != nil {
		return User{}, err
	}
	f, err := parseUserBody(body, false)
	if err != nil {
		return User{}, err
	}
	if f.username == nil && f.email == nil {
		return u, nil
	}
	if f.username != nil {
		u.Username = *f.username
	}
	if f.email != nil {
		u.Email = *f.email
	}
	if err := rowErr(s.store.UpdateUser(ctx, u), ErrUserNotFound, "update user", id); err != nil {
		return User{}, err
	}
	return u, nil
}

// DeleteUser deletes a user after clearing it from its URLs and events
// (spec §4.11). Unlike the reference (Q7) it then invalidates the cached
// details and lists of those URLs, which showed the old owner.
func (s *Service) DeleteUser(ctx context.Context, id int64) error {
	if _, err := s.GetUser(ctx, id); err != nil {
		return err
	}
	owned, err := s.store.ListURLs(ctx, URLFilter{UserID: &id})
	if err != nil {
		return fmt.Errorf("list urls of user %d: %w", id, err)
	}
	if err := rowErr(s.store.DeleteUser(ctx, id), ErrUserNotFound, "delete user", id); err != nil {
		return err
	}
	keys := make([]string, 0, len(owned)+12)
	for _, u := range owned {
		keys = append(keys, urlKey(u.ID))
	}
	keys = appendListKeys(keys, nil)
	keys = appendListKeys(keys, &id)
	s.cacheDelete(ctx, keys)
	return nil
}

// MaxExplicitID is the highest id an import may set explicitly. The ids
// above it stay for the id sequences, which continue after the highest
// id: an explicit id near MaxID would leave them no room (issue 15: one
// row with id 2147483647 broke every later POST /users).
const MaxExplicitID = 1<<30 - 1

// ExplicitIDOK reports whether id may be set explicitly by an import:
// non-zero, at least MinID, at most MaxExplicitID.
func ExplicitIDOK(id int64) bool { return id != 0 && id >= MinID && id <= MaxExplicitID }

// CSV time layouts accepted for created_at: the seed's form, the API's
// form, each with optional fractional seconds and one-digit fields.
var csvTimeLayouts = []string{"2006-1-2 15:4:5.999999999", "2006-1-2T15:4:5.999999999"}

// ImportUsers imports users from a CSV file (spec §4.6) and returns how
// many were inserted. The whole file is checked before anything is
// written. Unlike the reference (Q31), a bad created_at or id, or a file
// that is not UTF-8, is a validation error naming the line, not a 500.
func (s *Service) ImportUsers(ctx context.Context, data []byte) (int, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return 0, invalid("file", "CSV file must be UTF-8 encoded")
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return 0, nil
	}
	if err != nil {
		return 0, invalid("file", "CSV file could not be parsed: %s", csvErrorText(err))
	}
	col := map[string]int{}
	for i, name := range header {
		col[name] = i // a repeated column name keeps the last, as DictReader does
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	now := s.clock()
	var users []User
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, invalid("file", "CSV file could not be parsed: %s", csvErrorText(err))
		}
		line, _ := r.FieldPos(0)
		u, err := csvUser(line, field(rec, "username"), field(rec, "email"),
			field(rec, "created_at"), field(rec, "id"), now)
		if err != nil {
			return 0, err
		}
		users = append(users, u)
	}
	if len(users) == 0 {
		return 0, nil
	}
	n, err := s.store.InsertUsers(ctx, users)
	if err != nil {
		return 0, fmt.Errorf("insert %d users: %w", len(users), err)
	}
	return n, nil
}

// csvUser validates one CSV row.
func csvUser(line int, username, email, createdAt, id string, now time.Time) (User, error) {
	rowErr := func(format string, args ...any) error {
		return invalid("file", "CSV line %d: %s", line, fmt.Sprintf(format, args...))
	}
	u := User{Username: pycompat.Strip(username), Email: pycompat.Strip(email), CreatedAt: now}
	if u.Username == "" || u.Email == "" {
		return User{}, invalid("file", "CSV rows must include username and email")
	}
	switch {
	case tooLong(u.Username, MaxUsernameLen):
		return User{}, rowErr("username must not exceed %d characters", MaxUsernameLen)
	case tooLong(u.Email, MaxEmailLen):
		return User{}, rowErr("email must not exceed %d characters", MaxEmailLen)
	case strings.IndexByte(u.Username, 0) >= 0 || strings.IndexByte(u.Email, 0) >= 0:
		return User{}, rowErr("values must not contain NUL characters")
	}
	if createdAt = pycompat.Strip(createdAt); createdAt != "" {
		t, ok := parseCSVTime(createdAt)
		if !ok {
			return User{}, rowErr("created_at must be a time like 2006-01-02 15:04:05")
		}
		u.CreatedAt = t
	}
	if id != "" {
		n, ok, overflow := pycompat.ParseInt(id)
		if !ok || overflow || !ExplicitIDOK(n) {
			return User{}, rowErr("id must be a non-zero integer between %d and %d", MinID, MaxExplicitID)
		}
		u.ID = n
	}
	return u, nil
}

func parseCSVTime(s string) (time.Time, bool) {
	for _, layout := range csvTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(time.Microsecond), true
		}
	}
	return time.Time{}, false
}

// csvErrorText describes a CSV syntax error without the reader's prefix.
func csvErrorText(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d: %v", pe.Line, pe.Err)
	}
	return err.Error()
}
