package bunstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/curtainhq/curtain/core"
)

// sqlStater is implemented by PostgreSQL driver errors (pgconn.PgError).
type sqlStater interface {
	error
	SQLState() string
}

// sqliteCoder is implemented by SQLite driver errors (modernc.org/sqlite),
// which carry the extended result code.
type sqliteCoder interface {
	error
	Code() int
}

// SQLite extended result codes the store tells apart.
const (
	sqliteBusy                 = 5
	sqliteLocked               = 6
	sqliteCantOpen             = 14
	sqliteConstraintForeignKey = 787
	sqliteConstraintNotNull    = 1299
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
)

// kind classifies a driver error as one of the core sentinels, or nil.
func kind(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	// A deadline ran out (a request's store timeout, bound): the store did
	// not answer in time.
	if errors.Is(err, context.DeadlineExceeded) {
		return core.ErrUnavailable
	}
	if errors.Is(err, sql.ErrNoRows) {
		return core.ErrNotFound
	}
	// A connection the server refused (its database does not accept
	// connections, or is starting or shutting down, no slot is left ...)
	// leaves the store unavailable, whatever SQLSTATE came with the refusal.
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return core.ErrUnavailable
	}
	if e, ok := errors.AsType[sqlStater](err); ok {
		return pgKind(e.SQLState())
	}
	if e, ok := errors.AsType[sqliteCoder](err); ok {
		return sqliteKind(e.Code())
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) {
		return core.ErrUnavailable
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return core.ErrUnavailable
	}
	return nil
}

// pgKind classifies a PostgreSQL SQLSTATE.
func pgKind(state string) error {
	switch {
	case state == "23505": // unique_violation
		return core.ErrConflict
	case state == "23503": // foreign_key_violation
		return core.ErrReference
	case state == "23502", state == "22001": // not_null_violation, string_data_right_truncation
		return core.ErrInvalid
	case len(state) == 5 && state[:2] == "08": // connection exception
		return core.ErrUnavailable
	case state == "57P01", state == "57P02", state == "57P03", state == "53300":
		// admin/crash shutdown, cannot connect now, too many connections
		return core.ErrUnavailable
	}
	return nil
}

// sqliteKind classifies a SQLite extended result code.
func sqliteKind(code int) error {
	switch code {
	case sqliteConstraintUnique, sqliteConstraintPrimaryKey:
		return core.ErrConflict
	case sqliteConstraintForeignKey:
		return core.ErrReference
	case sqliteConstraintNotNull:
		return core.ErrInvalid
	}
	switch code & 0xff {
	case sqliteBusy, sqliteLocked, sqliteCantOpen:
		return core.ErrUnavailable
	}
	return nil
}

// wrapf annotates err with what the store was doing and, where the driver
// error means one, a core sentinel that callers test with errors.Is.
func wrapf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf(format, args...)
	if k := kind(err); k != nil && !errors.Is(err, k) {
		return fmt.Errorf("%s: %w: %w", msg, k, err)
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// isUniqueViolation reports whether err is a unique or primary-key
// violation.
func isUniqueViolation(err error) bool {
	return kind(err) == core.ErrConflict
}
