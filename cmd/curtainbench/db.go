package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// Benchmark URLs: codes bnch0001… (8 characters, so that they never meet
// the 6-character codes a counter hands out) leading to bench.example.
const (
	codePrefix = "bnch"
	urlPrefix  = "https://bench.example/u/"
)

// referenceSchema is the reference implementation's users, urls and
// events tables (spec §3), for a yardstick database without them. It is
// not applied to a database that has a urls table: on Curtain's, its
// b-tree on original_url, which Curtain replaces by a hash index (spec
// Q32), would come back and cost every create a second index.
var referenceSchema = []string{
	`CREATE TABLE IF NOT EXISTS users (id SERIAL PRIMARY KEY, username varchar(120) NOT NULL,
		email varchar(255) NOT NULL, created_at timestamp NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS urls (id SERIAL PRIMARY KEY, user_id integer REFERENCES users (id),
		short_code varchar(16) NOT NULL, original_url varchar(2048) NOT NULL, title varchar(255),
		is_active boolean NOT NULL, created_at timestamp NOT NULL, updated_at timestamp NOT NULL)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS url_short_code ON urls (short_code)`,
	`CREATE INDEX IF NOT EXISTS url_original_url ON urls (original_url)`,
	`CREATE TABLE IF NOT EXISTS events (id SERIAL PRIMARY KEY, url_id integer REFERENCES urls (id),
		user_id integer REFERENCES users (id), event_type varchar(64) NOT NULL,
		timestamp timestamp NOT NULL, details text NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS event_url_id ON events (url_id)`,
}

// openDB opens a postgres:// URL with pgx, anything else as an SQLite file.
// The harness's PostgreSQL sessions do without sequential scans: with the
// newest ids beyond the table's statistics, the planner scans the whole
// events table (about 0.7 s at 7 M rows) to count a run's new events,
// which the primary key finds in a few milliseconds, and that time would
// be reported as the drain.
func openDB(dsn string) (*sql.DB, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, err
		}
		cfg.RuntimeParams["enable_seqscan"] = "off"
		return stdlib.OpenDB(*cfg), nil
	}
	return sql.Open("sqlite", dsn)
}

func runPrepare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("prepare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := fs.String("db", "", "database: postgres:// URL or SQLite file path (required)")
	n := fs.Int("n", 1000, "benchmark URLs to hold")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dsn == "" || *n < 1 || *n > 9999 {
		return fmt.Errorf("prepare: -db is required and -n must be 1..9999")
	}
	db, err := openDB(*dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	var urls sql.NullString
	if strings.HasPrefix(*dsn, "postgres") {
		if err := db.QueryRowContext(ctx, `SELECT to_regclass('urls')::text`).Scan(&urls); err != nil {
			return fmt.Errorf("prepare schema: %w", err)
		}
	}
	if strings.HasPrefix(*dsn, "postgres") && !urls.Valid {
		for _, stmt := range referenceSchema {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("prepare schema: %w", err)
			}
		}
	}
	// Literal values only (digits and fixed text), so one statement text
	// suits both dialects.
	var b strings.Builder
	b.WriteString("INSERT INTO urls (short_code, original_url, title, is_active, created_at, updated_at) VALUES ")
	for i := 1; i <= *n; i++ {
		if i > 1 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "('%s%04d', '%s%d', NULL, TRUE, '2026-01-01 00:00:00', '2026-01-01 00:00:00')", codePrefix, i, urlPrefix, i)
	}
	b.WriteString(" ON CONFLICT (short_code) DO NOTHING")
	res, err := db.ExecContext(ctx, b.String())
	if err != nil {
		return fmt.Errorf("prepare urls: %w", err)
	}
	added, _ := res.RowsAffected()
	fmt.Fprintf(stdout, "prepared %d benchmark URLs (%d new)\n", *n, added)
	return nil
}

// benchURL is one prepared URL of a target.
type benchURL struct {
	ID   int64
	Code string
}

// benchURLs lists the target's prepared, active URLs.
func benchURLs(ctx context.Context, db *sql.DB) ([]benchURL, error) {
	rows, err := db.QueryContext(ctx, "SELECT id, short_code FROM urls WHERE is_active AND short_code LIKE '"+codePrefix+"%' ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list benchmark urls: %w", err)
	}
	defer rows.Close()
	var out []benchURL
	for rows.Next() {
		var u benchURL
		if err := rows.Scan(&u.ID, &u.Code); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// lastEventID returns the highest event id stored, 0 when there is none.
func lastEventID(ctx context.Context, db *sql.DB) (int64, error) {
	var id sql.NullInt64
	err := db.QueryRowContext(ctx, "SELECT max(id) FROM events").Scan(&id)
	return id.Int64, err
}

// redirectEventsAfter counts the redirect events stored with an id above
// after. Counting only the new rows through the primary key keeps the
// query quick on a table of millions of events, where a count of every
// redirect takes about a second and would be timed as the drain.
func redirectEventsAfter(ctx context.Context, db *sql.DB, after int64) (int64, error) {
	var n int64
	err := db.QueryRowContext(ctx, "SELECT count(*) FROM events WHERE id > $1 AND event_type = 'redirect'", after).Scan(&n)
	return n, err
}
