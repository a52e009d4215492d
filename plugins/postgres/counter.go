package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/curtainhq/curtain/core"
)

// CounterSequence is the sequence behind the short-code counter. Its
// current value is the last value handed out: last_value once the sequence
// has been called, and zero while it is fresh (it starts at 1, so that
// nextval on a fresh sequence agrees with Reserve).
const CounterSequence = "curtain_url_counter"

// counterDDL creates the counter's sequence.
func counterDDL(l *layout) string {
	return fmt.Sprintf("CREATE SEQUENCE IF NOT EXISTS %s AS bigint MINVALUE 1 START WITH 1;\n", l.counter)
}

// Counter is the PostgreSQL short-code counter: the sequence
// curtain_url_counter, raised and advanced by one Reserve at a time under
// a transaction-scoped advisory lock. It is safe for concurrent use by any
// number of processes sharing the database.
type Counter struct {
	b backend
}

var _ core.Counter = (*Counter)(nil)

// NewCounter returns a counter for valid settings. It does not connect: the
// first call connects and creates the schema and sequence if missing. Use
// Ping to check the server.
func NewCounter(s Settings) (*Counter, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	c := NewCounterPlugin()
	cn, err := c.b.open(s)
	if err != nil {
		return nil, err
	}
	c.b.set(cn)
	return c, nil
}

// NewCounterPlugin returns a counter without settings, for the plugin SDK
// to serve: every call fails with core.ErrUnavailable until Configure
// succeeds.
func NewCounterPlugin() *Counter { return &Counter{b: backend{ddl: counterDDL}} }

// Configure applies settings given as a JSON object (see [Settings]),
// connecting and creating the schema (when "schema" is set) and the
// sequence if they are missing, then replacing any earlier settings.
// Invalid settings are rejected with an error wrapping core.ErrInvalid, an
// unreachable server with one wrapping core.ErrUnavailable; either way the
// counter is left as it was.
func (c *Counter) Configure(ctx context.Context, settings []byte) error {
	return c.b.configure(ctx, settings)
}

// Ping checks that PostgreSQL answers.
func (c *Counter) Ping(ctx context.Context) error { return c.b.ping(ctx) }

// Close releases the connections. Calls after Close fail with
// core.ErrUnavailable until the next Configure.
func (c *Counter) Close() error { return c.b.close() }

// Reserve raises the sequence to at least req.Floor and then advances it
// by req.Size, in one round trip: under pg_advisory_xact_lock, one
// statement reads the sequence and calls setval. setval is not rolled
// back, so a Reserve that fails after it may skip values but never hands
// out one twice. A Size below 1 and a block that would overflow int64 are
// rejected with core.ErrInvalid; a Floor below zero is ignored, as the
// counter never goes below zero.
func (c *Counter) Reserve(ctx context.Context, req core.ReserveRequest) (core.Block, error) {
	if req.Size < 1 {
		return core.Block{}, fmt.Errorf("reserve %d values: size must be at least 1: %w", req.Size, core.ErrInvalid)
	}
	cn, l, err := c.b.conn(ctx)
	if err != nil {
		return core.Block{}, err
	}
	// The batch runs in one implicit transaction: the lock is held until
	// its end, so no other Reserve reads the sequence between this one's
	// read and setval.
	var b pgx.Batch
	b.Queue("SELECT pg_advisory_xact_lock($1)", l.counterLock)
	var last *int64
	b.Queue(`SELECT CASE WHEN v > 9223372036854775807 - $1::bigint THEN NULL
	            ELSE setval($3::text::regclass, v + $1::bigint) END
	         FROM (SELECT GREATEST(CASE WHEN is_called THEN last_value ELSE last_value - 1 END, $2::bigint) AS v
	               FROM `+l.counter+`) s`,
		req.Size, req.Floor, l.counter).QueryRow(func(row pgx.Row) error { return row.Scan(&last) })
	op := fmt.Sprintf("reserve %d values of %s", req.Size, CounterSequence)
	if err := cn.pool.SendBatch(ctx, &b).Close(); err != nil {
		return core.Block{}, wrap(op, err)
	}
	if last == nil {
		return core.Block{}, fmt.Errorf("%s above %d: counter would overflow: %w", op, req.Floor, core.ErrInvalid)
	}
	return core.Block{First: *last - req.Size + 1, Size: req.Size}, nil
}
