package bunstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/drivers/bunstore"
	"github.com/curtainhq/curtain/drivers/postgres"
	"github.com/curtainhq/curtain/internal/testenv"
)

// openPostgres opens a migrated store in a fresh schema of the test
// server.
func openPostgres(t *testing.T, prefix string) *bunstore.Store {
	t.Helper()
	if testing.Short() {
		t.Skip("PostgreSQL; skipped with -short")
	}
	_, dsn := testenv.PostgresSchema(t, prefix)
	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// within runs call and fails the test unless it returns within 5 s.
func within(t *testing.T, what string, call func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: no answer within 5s", what)
		return nil
	}
}

// lockTables holds tables (a comma-separated list) in a transaction of
// its own, standing in for a server that stopped answering, until the
// returned transaction is rolled back or the test ends.
func lockTables(t *testing.T, s *bunstore.Store, tables string) bun.Tx {
	t.Helper()
	tx, err := s.DB().BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	t.Cleanup(func() { tx.Rollback() })
	if _, err := tx.ExecContext(t.Context(), "LOCK TABLE "+tables+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatalf("lock %s: %v", tables, err)
	}
	return tx
}

// TestStoreTimeoutIsUnavailable: calls made with a request's store
// timeout (core.WithStoreTimeout) give up when the database does not
// answer within it, with core.ErrUnavailable (503), the group-committed
// create included; the pool serves the next call once the database
// answers. A transaction holding the tables stands in for a server that
// stopped answering.
func TestStoreTimeoutIsUnavailable(t *testing.T) {
	s := openPostgres(t, "storetimeout")
	ctx := core.WithStoreTimeout(t.Context(), 300*time.Millisecond)
	tx := lockTables(t, s, "urls, users")
	calls := map[string]func() error{
		"GetURL": func() error { _, err := s.GetURL(ctx, 1); return err },
		"ListUsersAfter": func() error {
			_, err := s.ListUsersAfter(ctx, 0, core.ListChunk)
			return err
		},
		"CreateOrFindURL": func() error {
			u := core.URL{ShortCode: "st1", OriginalURL: "https://example.com/store-timeout", IsActive: true}
			_, err := s.CreateOrFindURL(ctx, &u, nil)
			return err
		},
		"InsertUsers": func() error {
			_, err := s.InsertUsers(ctx, []core.User{{Username: "u", Email: "u@example.com"}})
			return err
		},
	}
	for name, call := range calls {
		if err := within(t, name, call); !errors.Is(err, core.ErrUnavailable) {
			t.Errorf("%s with the tables locked past the store timeout = %v, want core.ErrUnavailable", name, err)
		}
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.GetURL(ctx, 1); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("GetURL once the tables are free = %v, want core.ErrNotFound", err)
		}
	}
}

// TestStoreTimeoutPerChunk: a bulk insert made for a request is bounded
// per chunk, not as a whole: one that takes several times the store
// timeout on a healthy database completes.
func TestStoreTimeoutPerChunk(t *testing.T) {
	s := openPostgres(t, "storetimeoutchunk")
	users := make([]core.User, 40_000)
	for i := range users {
		users[i] = core.User{Username: fmt.Sprintf("user%d", i), Email: fmt.Sprintf("user%d@example.com", i)}
	}
	const timeout = 300 * time.Millisecond
	start := time.Now()
	n, err := s.InsertUsers(core.WithStoreTimeout(context.Background(), timeout), users)
	took := time.Since(start)
	if err != nil || n != len(users) {
		t.Fatalf("InsertUsers of %d users = %d, %v after %v", len(users), n, err, took)
	}
	t.Logf("%d users in %v, store timeout %v", n, took, timeout)
}

// TestDeleteURLNotBound: a link's delete removes all of its events in one
// transaction, which for a large link outlasts the store timeout on a
// healthy database; cut off, it would be rolled back every time. It is
// not bound: a delete that waits past the timeout (here behind a lock
// held for three times as long) completes.
func TestDeleteURLNotBound(t *testing.T) {
	s := openPostgres(t, "deletenotbound")
	u := core.URL{ShortCode: "dnb1", OriginalURL: "https://example.com/delete-not-bound", IsActive: true}
	if err := s.CreateURL(t.Context(), &u, nil); err != nil {
		t.Fatal(err)
	}
	const timeout = 300 * time.Millisecond
	tx := lockTables(t, s, "events")
	time.AfterFunc(3*timeout, func() { tx.Rollback() })
	err := within(t, "DeleteURL", func() error { return s.DeleteURL(core.WithStoreTimeout(t.Context(), timeout), u.ID) })
	if err != nil {
		t.Fatalf("DeleteURL waiting past the store timeout = %v, want it to complete", err)
	}
	if _, err := s.GetURL(t.Context(), u.ID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("GetURL after the delete = %v, want core.ErrNotFound", err)
	}
}

// TestUnlimitedListNotBound: GET /urls without a limit reads every
// matching link, as the reference does, which on a large table outlasts
// the store timeout on a healthy database; it is not bound, while a
// limited list is.
func TestUnlimitedListNotBound(t *testing.T) {
	s := openPostgres(t, "listnotbound")
	const timeout = 300 * time.Millisecond
	ctx := core.WithStoreTimeout(t.Context(), timeout)
	tx := lockTables(t, s, "urls")
	if err := within(t, "ListURLs with a limit", func() error {
		_, err := s.ListURLs(ctx, core.URLFilter{Limit: 10})
		return err
	}); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("ListURLs with a limit, the table locked past the store timeout = %v, want core.ErrUnavailable", err)
	}
	time.AfterFunc(3*timeout, func() { tx.Rollback() })
	if err := within(t, "ListURLs without a limit", func() error {
		_, err := s.ListURLs(ctx, core.URLFilter{})
		return err
	}); err != nil {
		t.Errorf("ListURLs without a limit, waiting past the store timeout = %v, want it to complete", err)
	}
}
