package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the admin connection that creates schemas and databases
)

// PostgresURL is the shared PostgreSQL server the tests use:
// CURTAIN_TEST_POSTGRES_URL, or the local server's test database.
func PostgresURL() string {
	if u := os.Getenv("CURTAIN_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// uniqueName returns prefix followed by random lowercase letters and
// digits, a valid unquoted SQL identifier for a prefix of letters and _.
func uniqueName(prefix string) string {
	return prefix + strings.ToLower(rand.Text()[:12])
}

// admin opens a connection to the shared server; -short skips the test.
func admin(tb testing.TB) *sql.DB {
	tb.Helper()
	if testing.Short() {
		tb.Skip("integration test: needs PostgreSQL")
	}
	db, err := sql.Open("pgx", PostgresURL())
	if err != nil {
		tb.Fatalf("open admin connection: %v", err)
	}
	return db
}

// PostgresSchema creates a schema named prefix+random on the shared
// server, drops it (with all it holds) when the test ends, and returns the
// schema's name and the server's URL with search_path set to it.
func PostgresSchema(tb testing.TB, prefix string) (schema, dsn string) {
	tb.Helper()
	db := admin(tb)
	tb.Cleanup(func() { db.Close() })
	schema = uniqueName(prefix)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema %s (set CURTAIN_TEST_POSTGRES_URL to reach a server): %v", schema, err)
	}
	tb.Cleanup(func() {
		if _, err := db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(PostgresURL())
	if err != nil {
		tb.Fatalf("parse CURTAIN_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return schema, u.String()
}

// PostgresDatabase creates a database named prefix+random on the shared
// server, drops it (closing its connections) when the test ends, and
// returns its URL.
func PostgresDatabase(tb testing.TB, prefix string) string {
	tb.Helper()
	db := admin(tb)
	defer db.Close()
	name := uniqueName(prefix)
	if _, err := db.ExecContext(tb.Context(), "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database (is PostgreSQL running on 127.0.0.1:5432?): %v", err)
	}
	tb.Cleanup(func() {
		a, err := sql.Open("pgx", PostgresURL())
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(PostgresURL())
	if err != nil {
		tb.Fatalf("parse CURTAIN_TEST_POSTGRES_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
