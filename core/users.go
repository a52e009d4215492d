package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/curtainhq/curtain/core/pycompat"
)

// Default page size of GET /users when only page is given (spec §4.7).
const defaultPerPage = 20

// ListUsersRequest selects the page GET /users lists (spec §4.7): all
// users when both fields are nil, else one page, the absent field taking
// its default (page 1, 20 per page).
type ListUsersRequest struct {
	Page    *int64
	PerPage *int64
}

// ListUsers lists users (spec §4.7): all of them, or one page.
func (s *Service) ListUsers(ctx context.Context, p ListUsersRequest) ([]User, error) {
	var page, perPage int64
	if p.Page != nil {
		page = *p.Page
	}
	if p.PerPage != nil {
		perPage = *p.PerPage
	}
	var pg Page
	if p.Page != nil || p.PerPage != nil {
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

// GetUser returns one user (spec §4.8).
func (s *Service) GetUser(ctx context.Context, id int64) (User, error) {
	return getRow(ctx, s.store.GetUser, id, ErrUserNotFound, "user")
}

// CreateUserRequest asks for a new user (spec §4.9). Both fields are
// stored trimmed and must not be blank or too long; the email must look
// like one and be unused.
type CreateUserRequest struct {
	Username string
	Email    string
}

// UpdateUserRequest changes a user (spec §4.10); nil fields keep their
// value, others follow the rules of CreateUserRequest but for uniqueness.
type UpdateUserRequest struct {
	Username *string
	Email    *string
}

// userField trims one user field and checks that it is not blank.
func userField(name, value string) (string, error) {
	t := pycompat.Strip(value)
	if t == "" {
		return "", invalid(name, "Field '%s' must not be empty", name)
	}
	return t, nil
}

// userFields trims the fields present and checks them in the reference's
// order (spec §4.9 steps 3-4): each not blank, username first, then the
// email's form.
func userFields(username, email *string) (u, e *string, err error) {
	if username != nil {
		t, err := userField("username", *username)
		if err != nil {
			return nil, nil, err
		}
		u = &t
	}
	if email != nil {
		t, err := userField("email", *email)
		if err != nil {
			return nil, nil, err
		}
		if !validEmail(t) {
			return nil, nil, invalid("email", "Field 'email' must be a valid email address")
		}
		e = &t
	}
	return u, e, nil
}

// storableUser applies storableField to the fields present, username
// first. It runs after the reference's own checks, as its database did,
// so a request they refuse gets their answer.
func storableUser(username, email *string) error {
	if username != nil {
		if err := storableField("username", *username, MaxUsernameLen); err != nil {
			return err
		}
	}
	if email != nil {
		return storableField("email", *email, MaxEmailLen)
	}
	return nil
}

// CreateUser creates a user (spec §4.9).
func (s *Service) CreateUser(ctx context.Context, req CreateUserRequest) (User, error) {
	username, email, err := userFields(&req.Username, &req.Email)
	if err != nil {
		return User{}, err
	}
	if strings.IndexByte(*email, 0) >= 0 {
		// The uniqueness query cannot carry a NUL (the reference's failed).
		return User{}, storableField("email", *email, MaxEmailLen)
	}
	taken, err := s.store.EmailTaken(ctx, *email)
	if err != nil {
		return User{}, fmt.Errorf("check email: %w", err)
	}
	if taken {
		return User{}, invalid("email", "Field 'email' must be unique")
	}
	if err := storableUser(username, email); err != nil {
		return User{}, err
	}
	u := User{Username: *username, Email: *email, CreatedAt: s.clock()}
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
func (s *Service) UpdateUser(ctx context.Context, id int64, req UpdateUserRequest) (User, error) {
	u, err := s.GetUser(ctx, id)
	if err != nil {
		return User{}, err
	}
	username, email, err := userFields(req.Username, req.Email)
	if err == nil {
		err = storableUser(username, email)
	}
	if err != nil {
		return User{}, err
	}
	if username == nil && email == nil {
		return u, nil
	}
	if username != nil {
		u.Username = *username
	}
	if email != nil {
		u.Email = *email
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
	s.invalidateChanged(ctx, keys)
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

// UserImportRow is one row of a users CSV upload (spec §4.6), decoded by
// the HTTP layer. Line numbers the row in the file for error messages.
type UserImportRow struct {
	Line     int
	Username string
	Email    string
	// CreatedAt is nil when the row leaves it blank (then it is now).
	CreatedAt *time.Time
	// BadCreatedAt reports a created_at that is not a time.
	BadCreatedAt bool
	// ID is nil when the row leaves it blank (then the store picks it);
	// otherwise it must satisfy ExplicitIDOK.
	ID *int64
}

// ImportUsers imports users (spec §4.6) and returns how many were
// inserted. Every row is checked before anything is written. Unlike the
// reference (Q31), a bad id or created_at is a validation error naming
// the line, not a 500.
func (s *Service) ImportUsers(ctx context.Context, rows []UserImportRow) (int, error) {
	// The reference looked at every row's username and email before it
	// failed on anything else (spec §4.6 step 3, its database last).
	for _, row := range rows {
		if pycompat.Strip(row.Username) == "" || pycompat.Strip(row.Email) == "" {
			return 0, invalid("file", "CSV rows must include username and email")
		}
	}
	now := s.clock()
	users := make([]User, 0, len(rows))
	for _, row := range rows {
		u, err := importedUser(row, now)
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

// importedUser validates one imported row.
func importedUser(row UserImportRow, now time.Time) (User, error) {
	rowErr := func(format string, args ...any) error {
		return invalid("file", "CSV line %d: %s", row.Line, fmt.Sprintf(format, args...))
	}
	u := User{Username: pycompat.Strip(row.Username), Email: pycompat.Strip(row.Email), CreatedAt: now}
	switch {
	case row.BadCreatedAt:
		return User{}, rowErr("created_at must be a time like 2006-01-02 15:04:05")
	case tooLong(u.Username, MaxUsernameLen):
		return User{}, rowErr("username must not exceed %d characters", MaxUsernameLen)
	case tooLong(u.Email, MaxEmailLen):
		return User{}, rowErr("email must not exceed %d characters", MaxEmailLen)
	case strings.IndexByte(u.Username, 0) >= 0 || strings.IndexByte(u.Email, 0) >= 0:
		return User{}, rowErr("values must not contain NUL characters")
	}
	if row.CreatedAt != nil {
		u.CreatedAt = row.CreatedAt.UTC().Truncate(time.Microsecond)
		if !InTimeRange(u.CreatedAt) {
			return User{}, rowErr("created_at must be %s", timeRange)
		}
	}
	if row.ID != nil {
		if !ExplicitIDOK(*row.ID) {
			return User{}, rowErr("id must be a non-zero integer between %d and %d", MinID, MaxExplicitID)
		}
		u.ID = *row.ID
	}
	return u, nil
}
