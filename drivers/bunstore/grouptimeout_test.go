package bunstore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/drivers/bunstore"
)

// TestCreateGroupDeadlineIsUnavailable: a create whose group commit gets
// no answer from PostgreSQL within the group's own deadline fails with
// core.ErrUnavailable (503), not an unclassified error (500). A
// transaction holding the urls table stands in for a server that stopped
// answering.
func TestCreateGroupDeadlineIsUnavailable(t *testing.T) {
	s := openPostgres(t, "grouptimeout")
	bunstore.SetGroupTimeout(t, 300*time.Millisecond)
	lockTables(t, s, "urls")
	u := core.URL{ShortCode: "grp1", OriginalURL: "https://example.com/group-deadline", IsActive: true}
	if _, err := s.CreateOrFindURL(t.Context(), &u, nil); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("CreateOrFindURL with the table locked past the group deadline = %v, want core.ErrUnavailable", err)
	}
}
