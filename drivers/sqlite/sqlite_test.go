package sqlite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/drivers/storetest"
)

// openTemp opens a store on a new file in the test's temporary directory.
func openTemp(t *testing.T) core.Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "curtain.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, openTemp)
}

func TestConformanceInMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("the file-backed run covers the same code")
	}
	storetest.Run(t, func(t *testing.T) core.Store {
		s, err := Open(t.Context(), ":memory:")
		if err != nil {
			t.Fatalf("Open(:memory:): %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestOpenReopensAndKeepsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "new", "dir", "curtain.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	u := core.User{Username: "alice", Email: "alice@example.com"}
	if err := s.CreateUser(ctx, &u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer s.Close()
	got, err := s.GetUser(ctx, u.ID)
	if err != nil || got.Username != "alice" {
		t.Fatalf("GetUser after reopening = %+v, %v, want alice", got, err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	var mode string
	if err := s.DB().NewRaw("PRAGMA journal_mode").Scan(ctx, &mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v, want wal", mode, err)
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name string
		path string
		want error
	}{
		{"empty path", "", core.ErrInvalid},
		{"query in path", "x.db?mode=ro", core.ErrInvalid},
		{"path is a directory", t.TempDir(), core.ErrUnavailable},
		{"directory under a file", filepath.Join(fileIn(t), "x.db"), core.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.Context(), tt.path)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) = nil error, want %v", tt.path, tt.want)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Open(%q) error = %v, want %v", tt.path, err, tt.want)
			}
		})
	}
}

// fileIn returns the path of a new empty file.
func fileIn(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDSN(t *testing.T) {
	dsn, err := DSN("/tmp/a b.db")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/tmp/a b.db?", "foreign_keys%281%29", "journal_mode%28WAL%29", "busy_timeout%285000%29", "_txlock=immediate"} {
		if !strings.Contains(dsn, want) {
			t.Errorf("DSN = %q, want it to contain %q", dsn, want)
		}
	}
}

func TestEventCountTriggers(t *testing.T) {
	s, err := Open(t.Context(), fileIn(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	storetest.EventCountTriggers(t, s, s.DB())
}

// TestEventCountsBackfilled upgrades a database made before the event
// counts existed: the migration counts the events it already holds.
func TestEventCountsBackfilled(t *testing.T) {
	ctx := t.Context()
	path := fileIn(t)
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	u := core.URL{ShortCode: "old001", OriginalURL: "https://example.com/old", IsActive: true}
	if err := s.CreateURL(ctx, &u, &core.Event{EventType: core.EventCreated, Details: "{}"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InsertClicks(ctx, []core.ClickEvent{{Click: core.Click{ID: "k1", Code: "old001", At: core.Now(), URLID: u.ID}}}); err != nil {
		t.Fatal(err)
	}
	// Back to the schema of version 1, events kept.
	for _, q := range []string{
		"DROP TRIGGER curtain_events_insert_counts", "DROP TRIGGER curtain_events_delete_counts",
		"DROP TRIGGER curtain_events_refuse_move", "DROP TABLE curtain_event_counts",
		"DELETE FROM curtain_migrations WHERE name = '000002'",
	} {
		if _, err := s.DB().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sum, err := s.SummarizeEvents(ctx, u.ID)
	if err != nil || sum.Total != 2 || sum.Counts[core.EventCreated] != 1 || sum.Counts[core.EventRedirect] != 1 {
		t.Errorf("SummarizeEvents after the upgrade = %+v, %v, want 1 created and 1 redirect", sum, err)
	}
}

// BenchmarkInsertClicks is the consumer's insert of a click batch, of the
// batcher's default size (256) and of a large backlog's (4096).
func BenchmarkInsertClicks(b *testing.B) {
	for _, n := range []int{256, 4096} {
		b.Run(fmt.Sprint("batch=", n), func(b *testing.B) {
			s, err := Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			storetest.BenchInsertClicks(b, s, n)
		})
	}
}

// TestWritesQueueInsteadOfBusy: while one long write runs (the consumer
// storing a big batch), other writes wait for it rather than fail with
// SQLITE_BUSY when the busy timeout passes (issue 15). The timeout is
// shortened so that the long write outlasts it.
func TestWritesQueueInsteadOfBusy(t *testing.T) {
	busyTimeout = 50
	t.Cleanup(func() { busyTimeout = BusyTimeoutMillis })
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "busy.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u := core.URL{ShortCode: "busy01", OriginalURL: "https://busy.test/", IsActive: true}
	if err := s.CreateURL(ctx, &u, nil); err != nil {
		t.Fatal(err)
	}
	clicks := make([]core.ClickEvent, 5000)
	for i := range clicks {
		clicks[i] = core.ClickEvent{Click: core.Click{ID: fmt.Sprint("k", i), Code: "busy01", At: core.Now(), URLID: u.ID}}
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.InsertClicks(ctx, clicks)
		done <- err
	}()
	// Write for as long as the big batch is being stored.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	var stop atomic.Bool
	for w := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				nu := core.User{Username: fmt.Sprintf("w%d_%d", w, i), Email: "w@example.com"}
				if err := s.CreateUser(ctx, &nu); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	if err := <-done; err != nil {
		t.Fatalf("InsertClicks: %v", err)
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("CreateUser beside a long write: %v", err)
	}
}
