// Package postgres opens Curtain's PostgreSQL store: database/sql through
// pgx's stdlib driver and bun's PostgreSQL dialect. Queries, models and
// migrations live in drivers/bunstore; a reference database (spec §3) is
// migrated in place.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/drivers/bunstore"
)

// Pool settings, after the reference's (spec §11.3).
const (
	// MaxOpenConns caps the connections of one process.
	MaxOpenConns = 20
	// MaxIdleTime is how long an unused connection is kept.
	MaxIdleTime = 5 * time.Minute
)

// Open connects to the database named by dsn (a postgres:// URL or a
// key=value string; runtime parameters such as search_path are passed to
// the server) and applies the migrations. A server that cannot be reached
// is core.ErrUnavailable. The errors say what failed (ping store, parse
// connection string, a migration) but not which store: the caller names
// it, as only the caller knows how to show its URL without the password.
func Open(ctx context.Context, dsn string) (*bunstore.Store, error) {
	s, err := Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Connect is Open without the migrations, for callers that migrate
// themselves (Store.Migrate) or only read. It checks that the server
// answers.
func Connect(ctx context.Context, dsn string) (*bunstore.Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// The error text may quote the DSN and its password; keep it out.
		return nil, fmt.Errorf("parse connection string: %w", core.ErrInvalid)
	}
	// bun interpolates arguments itself, so each statement is plain text:
	// the simple protocol runs it in one round trip without preparing.
	// The click batch insert alone asks for a prepared statement.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	sqldb := sql.OpenDB(connector{stdlib.GetConnector(*cfg)})
	sqldb.SetMaxOpenConns(MaxOpenConns)
	sqldb.SetMaxIdleConns(MaxOpenConns)
	sqldb.SetConnMaxIdleTime(MaxIdleTime)
	s := bunstore.New(bun.NewDB(sqldb, pgdialect.New()))
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// connector is pgx's connector with the connect errors of connectError.
type connector struct{ driver.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	// pgx returns pgconn's error as it is; anything else is left alone.
	if ce, ok := err.(*pgconn.ConnectError); ok {
		return nil, connectError{ce}
	}
	return conn, err
}

// connectError is a pgx connect error whose text lists each distinct
// attempt once. With sslmode unset (prefer) pgx tries every address with
// TLS and then without, and a server it cannot reach, or that refuses the
// user, fails both the same way, so pgx's text shows the same line twice.
// Attempts that failed differently are all kept, and Unwrap returns pgx's
// error, so that errors.Is and errors.As see the causes as before.
type connectError struct{ err *pgconn.ConnectError }

func (e connectError) Error() string {
	joined, ok := e.err.Unwrap().(interface{ Unwrap() []error })
	if !ok {
		return e.err.Error()
	}
	attempts := joined.Unwrap()
	var lines []string
	for _, a := range attempts {
		if s := a.Error(); !slices.Contains(lines, s) {
			lines = append(lines, s)
		}
	}
	if len(lines) == len(attempts) {
		return e.err.Error()
	}
	// pgx's own layout, less the repeated lines.
	prefix := fmt.Sprintf("failed to connect to `user=%s database=%s`:", e.err.Config.User, e.err.Config.Database)
	details := strings.Join(lines, "\n")
	if !strings.Contains(details, "\n") {
		return prefix + " " + details
	}
	return prefix + "\n\t" + strings.ReplaceAll(details, "\n", "\n\t")
}

func (e connectError) Unwrap() error { return e.err }
