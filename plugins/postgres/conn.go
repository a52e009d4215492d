package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/curtainhq/curtain/core"
)

// errNotConfigured is returned by every call on a plugin value that has no
// settings yet. It wraps core.ErrUnavailable so that the host degrades as it
// does for an unreachable server.
var errNotConfigured = fmt.Errorf("postgres plugin is not configured: %w", core.ErrUnavailable)

// setupLockKey is the advisory lock that serialises the creation of schemas,
// sequences and tables, because concurrent CREATE ... IF NOT EXISTS of the
// same object can fail with a unique violation in the system catalogs.
const setupLockKey int64 = 0x6375727461696e00 // "curtain\x00"

// layout is where one plugin's objects live, resolved when it first
// connects, with the statements that name them.
type layout struct {
	schema string // unquoted
	// Quoted, schema-qualified names.
	counter, totals, hourly, visitors, stream, groups, pending string
	// counterLock and streamLock are the advisory lock keys of this
	// schema's counter and stream appends.
	counterLock, streamLock int64
	// channel is the NOTIFY channel of this schema's stream.
	channel string
}

func newLayout(schema string) *layout {
	q := func(name string) string { return pgx.Identifier{schema, name}.Sanitize() }
	return &layout{
		schema:      schema,
		counter:     q(CounterSequence),
		totals:      q(TotalsTable),
		hourly:      q(HourlyTable),
		visitors:    q(VisitorsTable),
		stream:      q(StreamTable),
		groups:      q(GroupsTable),
		pending:     q(PendingTable),
		counterLock: lockKey("counter", schema),
		streamLock:  lockKey("stream", schema),
		channel:     fmt.Sprintf("curtain_clicks_%016x", uint64(lockKey("channel", schema))),
	}
}

// lockKey derives a 64-bit advisory lock key for one purpose in one
// schema. A collision between schemas would only serialise them.
func lockKey(purpose, schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("curtain " + purpose + " "))
	h.Write([]byte(schema))
	return int64(h.Sum64())
}

// conn is one pool and the layout of its objects, created on first use.
type conn struct {
	pool   *pgxpool.Pool
	schema string // as configured; "" for the current schema
	// ddl returns the statements that create the plugin's objects.
	ddl func(l *layout) string

	mu sync.Mutex // serialises setup
	l  atomic.Pointer[layout]

	// waker wakes blocking stream reads; nil for a counter.
	waker *waker
}

// newConn opens a pool for valid settings. It does not connect.
func newConn(s Settings, ddl func(*layout) string) (*conn, error) {
	cfg, err := s.poolConfig()
	if err != nil {
		return nil, fmt.Errorf("postgres settings: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres pool: %w", err)
	}
	return &conn{pool: pool, schema: s.Schema, ddl: ddl}, nil
}

// layout returns where the plugin's objects live, creating them (and the
// schema) the first time. A failed setup is tried again on the next call.
func (c *conn) layout(ctx context.Context) (*layout, error) {
	if l := c.l.Load(); l != nil {
		return l, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.l.Load(); l != nil {
		return l, nil
	}
	schema := c.schema
	if schema == "" {
		var cur *string
		if err := c.pool.QueryRow(ctx, "SELECT current_schema()").Scan(&cur); err != nil {
			return nil, wrap("find the current schema", err)
		}
		if cur == nil {
			return nil, fmt.Errorf("find the current schema: the search_path names no existing schema; set \"schema\"")
		}
		schema = *cur
	}
	l := newLayout(schema)
	var sql strings.Builder
	fmt.Fprintf(&sql, "SELECT pg_advisory_xact_lock(%d);\n", setupLockKey)
	if c.schema != "" {
		fmt.Fprintf(&sql, "CREATE SCHEMA IF NOT EXISTS %s;\n", pgx.Identifier{schema}.Sanitize())
	}
	sql.WriteString(c.ddl(l))
	// One simple-protocol query: the statements run in one implicit
	// transaction, under the setup lock.
	if _, err := c.pool.Exec(ctx, sql.String(), pgx.QueryExecModeSimpleProtocol); err != nil {
		return nil, wrap(fmt.Sprintf("create tables in schema %q", schema), err)
	}
	c.l.Store(l)
	return l, nil
}

// close stops the waker, if any, and closes the pool.
func (c *conn) close() {
	if c.waker != nil {
		c.waker.stop()
	}
	c.pool.Close()
}

// backend holds the current connection of one plugin value. Configure may
// replace it while calls run; a call keeps the connection it started with
// (and fails as unavailable if that one is closed under it).
type backend struct {
	ddl func(*layout) string
	// listen makes connections that serve blocking stream reads.
	listen bool

	mu  sync.Mutex // serialises configure and close
	cur atomic.Pointer[conn]
}

// open creates a connection for valid settings without connecting.
func (b *backend) open(s Settings) (*conn, error) {
	c, err := newConn(s, b.ddl)
	if err != nil {
		return nil, err
	}
	if b.listen {
		c.waker = newWaker(c)
	}
	return c, nil
}

// set installs c and closes the previous connection.
func (b *backend) set(c *conn) {
	b.mu.Lock()
	old := b.cur.Swap(c)
	b.mu.Unlock()
	if old != nil {
		old.close()
	}
}

// configure parses settings, connects and creates the plugin's objects,
// and only then replaces the current connection. On any error the plugin
// is left as it was.
func (b *backend) configure(ctx context.Context, settings []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s, err := ParseSettings(settings)
	if err != nil {
		return err
	}
	c, err := b.open(s)
	if err != nil {
		return err
	}
	if _, err := c.layout(ctx); err != nil {
		c.close()
		return err
	}
	b.set(c)
	return nil
}

// conn returns the current connection and its layout, creating the
// plugin's objects if no call has yet.
func (b *backend) conn(ctx context.Context) (*conn, *layout, error) {
	c := b.cur.Load()
	if c == nil {
		return nil, nil, errNotConfigured
	}
	l, err := c.layout(ctx)
	if err != nil {
		return nil, nil, err
	}
	return c, l, nil
}

// ping checks that PostgreSQL answers and the plugin's objects exist.
func (b *backend) ping(ctx context.Context) error {
	c, _, err := b.conn(ctx)
	if err != nil {
		return err
	}
	return wrap("ping postgres", c.pool.Ping(ctx))
}

// close closes the current connection; later calls report
// errNotConfigured until the next configure.
func (b *backend) close() error {
	b.mu.Lock()
	old := b.cur.Swap(nil)
	b.mu.Unlock()
	if old != nil {
		old.close()
	}
	return nil
}

// wrap adds op to err and marks errors that mean PostgreSQL cannot serve
// right now with core.ErrUnavailable. It returns nil for nil.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if unavailable(err) {
		return fmt.Errorf("%s: %w: %w", op, core.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// unavailable reports whether err means the server could not serve the
// statement: any failure outside an error the server reported (refused or
// dropped connection, timeout, closed pool) and the server's errors of
// classes 08 (connection exception), 53 (insufficient resources, such as
// too many connections or a full disk), 57P (shutting down, starting up)
// and 58 (system error), and a read-only server (25006, a standby). A
// caller's cancellation is not unavailability.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	pe, ok := errors.AsType[*pgconn.PgError](err)
	if !ok {
		return true
	}
	switch {
	case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"),
		strings.HasPrefix(pe.Code, "57P"), strings.HasPrefix(pe.Code, "58"),
		pe.Code == "25006":
		return true
	}
	return false
}

// retryable reports whether a transaction failed only because it collided
// with another (deadlock or serialization failure) and may simply be run
// again.
func retryable(err error) bool {
	pe, ok := errors.AsType[*pgconn.PgError](err)
	return ok && (pe.Code == "40P01" || pe.Code == "40001")
}

// maxAttempts bounds how often a transaction that lost a deadlock is run.
const maxAttempts = 3

// withRetry runs fn, again if it failed with a retryable error.
func withRetry(ctx context.Context, fn func() error) error {
	var err error
	for range maxAttempts {
		if err = fn(); err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}
