package bunstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// migrationFiles holds one folder of SQL migrations per dialect. A file is
// named <version>_<name>.tx.up.sql and runs in one transaction; files are
// never edited once released, and there are no down migrations.
//
//go:embed migrations
var migrationFiles embed.FS

// Names of bun's bookkeeping tables.
const (
	migrationsTable     = "curtain_migrations"
	migrationLocksTable = "curtain_migration_locks"
)

// tables lists every table the store owns, children first.
var tables = []string{"api_key_urls", "api_keys", "curtain_alert_notifications", "curtain_webhook_deliveries", "curtain_event_counts", "curtain_click_breakdown", "events", "urls", "users", "curtain_counters", migrationsTable, migrationLocksTable}

// Migrate applies the migrations the database has not seen yet. It is safe
// to run on every start and from several processes at once: on PostgreSQL
// an advisory lock per schema serialises concurrent runs. Every migration
// only adds what is missing, so a reference database is adopted in place.
func (s *Store) Migrate(ctx context.Context) error {
	err := s.withMigrationLock(ctx, s.migrate)
	if err != nil {
		return wrapf(err, "migrate store")
	}
	return nil
}

// Reset drops every table of the store (including the migration
// bookkeeping and curtain_counters) and migrates again from scratch.
func (s *Store) Reset(ctx context.Context) error {
	drop := "DROP TABLE IF EXISTS ?"
	if s.pg {
		drop += " CASCADE" // and whatever else depends on them
	}
	err := s.withMigrationLock(ctx, func(ctx context.Context) error {
		for _, t := range tables {
			if _, err := s.w.ExecContext(ctx, drop, bun.Ident(t)); err != nil {
				return err
			}
		}
		return s.migrate(ctx)
	})
	if err != nil {
		return wrapf(err, "reset store")
	}
	return nil
}

// migrate runs the migrations; the caller holds the migration lock.
func (s *Store) migrate(ctx context.Context) error {
	dir := "migrations/sqlite"
	if s.pg {
		dir = "migrations/postgres"
	}
	sub, err := fs.Sub(migrationFiles, dir)
	if err != nil {
		return err
	}
	ms := migrate.NewMigrations()
	if err := ms.Discover(sub); err != nil {
		return fmt.Errorf("discover migrations: %w", err)
	}
	opts := []migrate.MigratorOption{
		migrate.WithTableName(migrationsTable),
		migrate.WithLocksTableName(migrationLocksTable),
		migrate.WithMarkAppliedOnSuccess(true),
	}
	report, _ := ctx.Value(progressKey{}).(MigrationProgress)
	total, done := 0, 0
	if report != nil {
		opts = append(opts, migrate.AfterMigration(func(_ context.Context, _ bun.IConn, mg *migrate.Migration) error {
			done++
			report(done, total, mg.Name)
			return nil
		}))
	}
	m := migrate.NewMigrator(s.w, ms, opts...)
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("create migration tables: %w", err)
	}
	if report != nil {
		all, err := m.MigrationsWithStatus(ctx)
		if err != nil {
			return fmt.Errorf("read applied migrations: %w", err)
		}
		total = len(all.Unapplied())
	}
	if _, err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// MigrationProgress is told after each migration a run applies: how many
// it applied so far, how many it will apply, and the one just applied.
type MigrationProgress func(done, total int, name string)

type progressKey struct{}

// WithMigrationProgress returns a context under which opening or resetting
// a store reports each migration it applies to report (commands show it
// as a progress bar).
func WithMigrationProgress(ctx context.Context, report MigrationProgress) context.Context {
	return context.WithValue(ctx, progressKey{}, report)
}

// withMigrationLock runs fn while holding the PostgreSQL advisory lock of
// the current schema, so that concurrent starts do not race on DDL. SQLite
// serialises writers itself.
func (s *Store) withMigrationLock(ctx context.Context, fn func(context.Context) error) (err error) {
	if !s.pg {
		return fn(ctx)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	const key = "hashtext('curtain:migrate:' || current_schema())"
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock("+key+")"); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer func() {
		_, uerr := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock("+key+")")
		if uerr != nil {
			err = errors.Join(err, fmt.Errorf("release migration lock: %w", uerr))
		}
	}()
	return fn(ctx)
}

// syncSequences moves the id sequence of each table past its highest id,
// never backwards, so that the next generated id is max(id)+1 after rows
// with explicit ids were inserted (and 1 on a table that never had a row).
// SQLite's AUTOINCREMENT does this by itself.
func (s *Store) syncSequences(ctx context.Context, db bun.IDB, names ...string) error {
	if !s.pg {
		return nil
	}
	for _, t := range names {
		_, err := db.NewRaw(`SELECT setval(q.seq, GREATEST(q.top, 1), q.top > 0)
FROM (
	SELECT s.seq, GREATEST((SELECT COALESCE(MAX(id), 0) FROM ?), COALESCE(pg_sequence_last_value(s.seq), 0)) AS top
	FROM (SELECT pg_get_serial_sequence(?, 'id')::regclass AS seq) AS s
) AS q`, bun.Ident(t), t).Exec(ctx)
		if err != nil {
			return fmt.Errorf("sync %s id sequence: %w", t, err)
		}
	}
	return nil
}

// sequencesBehind reports whether the id sequence of any of the tables is
// behind its highest id, which is what makes an insert with a generated id
// collide with an existing primary key.
func (s *Store) sequencesBehind(ctx context.Context, names ...string) (bool, error) {
	if !s.pg {
		return false, nil
	}
	for _, t := range names {
		var behind bool
		err := s.db.NewRaw(`SELECT COALESCE(pg_sequence_last_value(pg_get_serial_sequence(?, 'id')::regclass), 0) < (SELECT COALESCE(MAX(id), 0) FROM ?)`,
			t, bun.Ident(t)).Scan(ctx, &behind)
		if err != nil {
			return false, fmt.Errorf("check %s id sequence: %w", t, err)
		}
		if behind {
			return true, nil
		}
	}
	return false, nil
}

// insertGenerated runs insert, which inserts rows with generated ids into
// tables. If it fails on a unique violation because an id sequence lags
// behind explicit ids (spec §4.9), the sequences are moved past the highest
// ids and insert is retried once.
func (s *Store) insertGenerated(ctx context.Context, insert func(context.Context) error, names ...string) error {
	err := insert(ctx)
	if err == nil || !isUniqueViolation(err) {
		return err
	}
	behind, cerr := s.sequencesBehind(ctx, names...)
	if cerr != nil || !behind {
		return err
	}
	if serr := s.syncSequences(ctx, s.db, names...); serr != nil {
		return errors.Join(err, serr)
	}
	return insert(ctx)
}
