package core

import (
	"context"
	"errors"
	"fmt"
)

// Sentinel errors shared by every contract. Implementations wrap them with
// context (fmt.Errorf("get url %d: %w", id, core.ErrNotFound)); callers test
// them with errors.Is. The plugin SDK carries them across the wire intact.
var (
	// ErrNotFound reports that the requested item does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict reports that a write collided with existing data, such as
	// a short code that is already taken.
	ErrConflict = errors.New("conflict")
	// ErrReference reports that a write referenced a row that does not
	// exist, such as a URL owned by an unknown user.
	ErrReference = errors.New("referenced item does not exist")
	// ErrUnavailable reports that a backend cannot be reached right now; the
	// caller may degrade or retry later.
	ErrUnavailable = errors.New("unavailable")
	// ErrInvalid reports an argument the callee rejects.
	ErrInvalid = errors.New("invalid argument")
)

// ErrClickNotStored reports a redirect refused in the durable click mode
// because its click could not be stored in time (ClickAcknowledger). It
// matches ErrUnavailable too, so the redirect answers 503; the HTTP layer
// counts such answers apart from those of a store that cannot be reached.
var ErrClickNotStored error = clickNotStoredError{}

type clickNotStoredError struct{}

func (clickNotStoredError) Error() string { return "click not stored" }

// Is makes ErrClickNotStored match ErrUnavailable.
func (clickNotStoredError) Is(target error) bool { return target == ErrUnavailable }

// ClientGone reports whether err ended a request's work because ctx, the
// request's context, was cancelled: its client went away, nobody reads
// the answer, and nothing was refused.
func ClientGone(ctx context.Context, err error) bool {
	return errors.Is(err, context.Canceled) && ctx.Err() != nil
}

// ValidationError reports bad client input on one field. Message is the
// client-facing text fixed by the specification, for example
// "Field 'original_url' is required". It is the only validation error
// type: the HTTP layer decides per route how it is rendered (400 with an
// "error" message, or 422 with an "errors" object keyed by Field).
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Message }

// Is makes every validation error match ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// invalid returns a ValidationError for field with a formatted message.
func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFoundError is ErrNotFound with the client-facing message for the kind
// of item that is missing ("URL not found").
type NotFoundError struct {
	Message string
}

func (e *NotFoundError) Error() string { return e.Message }

// Is makes every NotFoundError match ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Client-facing not-found errors, with the messages the specification fixes.
var (
	ErrUserNotFound  error = &NotFoundError{Message: "User not found"}
	ErrURLNotFound   error = &NotFoundError{Message: "URL not found"}
	ErrEventNotFound error = &NotFoundError{Message: "Event not found"}
)
