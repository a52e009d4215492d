package core

//lint:file-ignore ST1005 the password errors' texts are the messages visitors see

import (
	"context"
	"errors"
	"unicode/utf8"
)

// PasswordHasher hashes and checks the passwords of protected links
// (issue 19). Core holds only this contract: the KDF (bcrypt from
// golang.org/x/crypto) lives host-side, in host/passwords, and reaches the
// service through ServiceConfig.Passwords.
type PasswordHasher interface {
	// Hash returns the stored form of password (salted, self-describing).
	Hash(password string) (string, error)
	// Verify reports whether password matches hash.
	Verify(hash, password string) bool
}

// Password errors of a protected link: the visitor presented no password
// (ErrPasswordRequired) or a wrong one (ErrPasswordWrong). The HTTP layer
// answers both with 401 (a form for browsers, a Basic challenge for
// tools). ErrVisitRequired asks the caller of Redirect to call
// RedirectWith with a Visit: the link has a password or rules. The
// service returns these sentinels unwrapped.
var (
	ErrVisitRequired    = errors.New("visit required")
	ErrPasswordRequired = errors.New("Password required")
	ErrPasswordWrong    = errors.New("Wrong password")
)

// Password length bounds, in bytes (bcrypt reads at most 72 bytes, so the
// maximum keeps every byte significant).
const (
	MinPasswordLen = 1
	MaxPasswordLen = 72
)

// Client-facing password messages.
const (
	msgPasswordLen         = "Field 'password' must be 1 to 72 bytes long"
	msgPasswordUnsupported = "Field 'password' is not supported: no password hasher is configured"
)

// hashPassword checks and hashes a link's new password.
func (s *Service) hashPassword(password string) (string, error) {
	if len(password) < MinPasswordLen || len(password) > MaxPasswordLen || !utf8.ValidString(password) {
		return "", invalid("password", msgPasswordLen)
	}
	if s.passwords == nil {
		return "", invalid("password", msgPasswordUnsupported)
	}
	return s.passwords.Hash(password)
}

// checkPassword asks v for the password of a link protected by hash.
func (s *Service) checkPassword(ctx context.Context, hash string, v Visit) error {
	if s.passwords == nil {
		return ErrPasswordRequired
	}
	pw, ok, err := v.Password(ctx)
	switch {
	case err != nil:
		return err
	case !ok:
		return ErrPasswordRequired
	case len(pw) > MaxPasswordLen || !s.passwords.Verify(hash, pw):
		// bcrypt reads 72 bytes: a longer password would match the link's
		// own whenever it starts with it, and no link has one that long.
		return ErrPasswordWrong
	}
	return nil
}
