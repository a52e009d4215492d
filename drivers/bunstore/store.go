// Package bunstore implements [core.Store] on bun, once for both SQL
// dialects Curtain supports (SQLite and PostgreSQL).
//
// It holds the bun models (which never leave this package), every query,
// the translation of driver errors into core sentinels, and the embedded,
// versioned, forward-only migrations. The dialect packages
// (drivers/sqlite, drivers/postgres) open a *bun.DB and hand it to [New];
// only what really differs between the dialects lives there.
//
// The schema is the reference's (spec §3), so a reference PostgreSQL
// database is migrated in place: the migrations create what is missing and
// add Curtain's columns, indexes and the curtain_counters table.
package bunstore

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/curtainhq/curtain/core"
)

// chunkSize is how many rows one multi-row insert statement of Import and
// InsertClicks carries.
const chunkSize = 500

// userChunkSize is the chunk size of InsertUsers, as the reference's bulk
// import uses (spec §4.6).
const userChunkSize = 100

// lookupChunkSize bounds the values of one IN (...) list.
const lookupChunkSize = 1000

// codeCounter names the short-code counter in curtain_counters.
const codeCounter = "url:counter"

// Store is the durable store on a bun database. It is safe for concurrent
// use.
type Store struct {
	db *bun.DB // reads, and everything on PostgreSQL
	w  *bun.DB // writes: db itself, or SQLite's one writer
	pg bool
	// creates group-commits concurrent CreateOrFindURL calls.
	creates createGroup
}

var _ core.Store = (*Store)(nil)

// New returns a Store on db, whose dialect must be PostgreSQL or SQLite
// (anything else is a programming error and panics). New does not touch the
// database; call [Store.Migrate] before use.
func New(db *bun.DB) *Store {
	return NewWithWriter(db, db)
}

// NewWithWriter is New with writes (every transaction, insert, update and
// delete) sent to writer and reads to db. SQLite allows one writer at a
// time: a writer pool of one connection makes concurrent writes queue in
// the process, without a deadline, instead of failing with SQLITE_BUSY
// after the busy timeout while another connection writes. Both must be of
// the same dialect and database; Close closes both.
func NewWithWriter(db, writer *bun.DB) *Store {
	s := &Store{db: db, w: writer}
	switch name := db.Dialect().Name(); name {
	case dialect.PG:
		s.pg = true
		s.creates.slots = pgGroups
	case dialect.SQLite:
	default:
		panic(fmt.Sprintf("bunstore: unsupported dialect %s", name))
	}
	return s
}

// DB returns the underlying bun database, for tools and tests that need to
// look below the store (the schema, pragmas). Writing through it bypasses
// the store's guarantees.
func (s *Store) DB() *bun.DB { return s.db }

// Ping reports whether the database can be reached.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	for _, db := range s.pools() {
		if err := db.PingContext(ctx); err != nil {
			return wrapf(err, "ping store")
		}
	}
	return nil
}

// Close releases the database's connections.
func (s *Store) Close() error {
	var errs []error
	for _, db := range s.pools() {
		if err := db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
	}
	return errors.Join(errs...)
}

// pools returns the store's connection pools: one, or reader and writer.
func (s *Store) pools() []*bun.DB {
	if s.w == s.db {
		return []*bun.DB{s.db}
	}
	return []*bun.DB{s.db, s.w}
}

// greatest is the dialect's scalar maximum function.
func (s *Store) greatest() string {
	if s.pg {
		return "GREATEST"
	}
	return "MAX"
}

// anyConflict is the insertRows target that skips rows conflicting with
// any unique index: events' indexes hold "timestamp" too where the table
// is partitioned by month (migration 000070).
const anyConflict = "*"

// insertRows inserts rows in chunks of size and returns how many were
// inserted. With a conflict target, rows whose target already exists are
// skipped; with anyConflict, rows that conflict with any unique index;
// with none ("") every row must be new. Each chunk restarts the wait of
// a paced call (step).
func insertRows[T any](ctx context.Context, db bun.IDB, rows []T, size int, target string) (int, error) {
	total := 0
	for part := range slices.Chunk(rows, size) {
		q := db.NewInsert().Model(&part).Returning("NULL")
		switch target {
		case "":
		case anyConflict:
			q = q.On("CONFLICT DO NOTHING")
		default:
			q = q.On("CONFLICT (" + target + ") DO NOTHING")
		}
		res, err := q.Exec(ctx)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += int(n)
		step(ctx)
	}
	return total, nil
}

// inTx runs fn in a transaction of the writer.
func (s *Store) inTx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	return s.w.RunInTx(ctx, nil, fn)
}

// withPgx runs fn on a connection of db as pgx's own, for the statements
// that take their values as binary parameters to a statement each
// connection prepares once, instead of as the text of quoted literals
// that bun writes (which PostgreSQL parses and plans at every call).
func withPgx(ctx context.Context, db *bun.DB, fn func(*pgx.Conn) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			return fmt.Errorf("driver connection %T is not pgx", dc)
		}
		return fn(pc.Conn())
	})
}
