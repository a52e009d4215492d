// Package sqlite opens Curtain's embedded default store: a SQLite file
// through the pure-Go modernc.org/sqlite driver (no cgo) and bun's SQLite
// dialect. Queries, models and migrations live in drivers/bunstore.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/drivers/bunstore"
)

// BusyTimeoutMillis is how long a statement waits for another connection's
// write lock before failing. Within one process writes queue for the one
// writer connection instead; the timeout covers other processes (curtain
// seed or migrate beside a running server).
const BusyTimeoutMillis = 5000

// busyTimeout is BusyTimeoutMillis; tests shorten it.
var busyTimeout = BusyTimeoutMillis

// Open opens (creating it and its directory if needed) the SQLite database
// file at path with foreign keys on, WAL journaling and a busy timeout, and
// applies the migrations. A file that cannot be opened is
// core.ErrUnavailable. The special path ":memory:" opens a private in-memory
// database on a single connection.
func Open(ctx context.Context, path string) (*bunstore.Store, error) {
	s, err := Connect(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	return s, nil
}

// Connect is Open without the migrations: it opens (creating) the file and
// checks that it can be used.
func Connect(ctx context.Context, path string) (*bunstore.Store, error) {
	dsn, err := DSN(path)
	if err != nil {
		return nil, err
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite store %s: %w: %w", path, core.ErrUnavailable, err)
		}
	}
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	var s *bunstore.Store
	if path == ":memory:" {
		// Every connection would get its own empty database.
		sqldb.SetMaxOpenConns(1)
		s = bunstore.New(bun.NewDB(sqldb, sqlitedialect.New()))
	} else {
		// Readers share a pool; writes go through one connection of their
		// own, so they queue here rather than meet SQLITE_BUSY.
		sqldb.SetMaxIdleConns(4)
		writer, err := sql.Open("sqlite", dsn)
		if err != nil {
			sqldb.Close()
			return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
		}
		writer.SetMaxOpenConns(1)
		writer.SetMaxIdleConns(1)
		writer.SetConnMaxIdleTime(0)
		s = bunstore.NewWithWriter(bun.NewDB(sqldb, sqlitedialect.New()), bun.NewDB(writer, sqlitedialect.New()))
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	return s, nil
}

// DSN returns the modernc.org/sqlite data source name that opens path with
// the store's settings: foreign keys, WAL, a busy timeout, and write
// transactions that take the write lock at BEGIN (so that two writers
// never deadlock upgrading their locks).
func DSN(path string) (string, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return "", fmt.Errorf("open sqlite store %q: path must be non-empty without '?' or '#': %w", path, core.ErrInvalid)
	}
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout))
	if path != ":memory:" {
		q.Add("_pragma", "journal_mode(WAL)")
	}
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode(), nil
}
