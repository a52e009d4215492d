package bunstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/drivers/bunstore"
	"github.com/curtainhq/curtain/drivers/postgres"
	"github.com/curtainhq/curtain/internal/testenv"
)

// TestCreateGroupDeadlineIsUnavailable: a create whose group commit gets
// no answer from PostgreSQL within the group's own deadline fails with
// core.ErrUnavailable (503), not an unclassified error (500). A
// transaction holding the urls table stands in for a server that stopped
// answering.
func TestCreateGroupDeadlineIsUnavailable(t *testing.T) {
	if testing.Short() {
		t.Skip("PostgreSQL; skipped with -short")
	}
	bunstore.SetGroupTimeout(t, 300*time.Millisecond)
	_, dsn := testenv.PostgresSchema(t, "grouptimeout")
	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	tx, err := s.DB().BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(t.Context(), "LOCK TABLE urls IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatalf("lock urls: %v", err)
	}
	u := core.URL{ShortCode: "grp1", OriginalURL: "https://example.com/group-deadline", IsActive: true}
	if _, err := s.CreateOrFindURL(t.Context(), &u, nil); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("CreateOrFindURL with the table locked past the group deadline = %v, want core.ErrUnavailable", err)
	}
}
