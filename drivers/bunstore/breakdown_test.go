package bunstore_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/drivers/bunstore"
	"github.com/curtainhq/curtain/drivers/postgres"
	"github.com/curtainhq/curtain/drivers/sqlite"
	"github.com/curtainhq/curtain/internal/testenv"
)

// perDimensionTable is curtain_click_breakdown as migration 000110 made
// it, one row per URL, hour, dimension and value.
const perDimensionTable = `CREATE TABLE curtain_click_breakdown (
    url_id integer NOT NULL,
    hour timestamp NOT NULL,
    dimension varchar(16) NOT NULL,
    value varchar(255) NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (url_id, hour, dimension, value)
)`

// TestBreakdownCarriedOver checks on both dialects that migration 000120
// carries the per-dimension rows of 000110 over so that ClickBreakdown
// answers as before, that clicks stored after it add to them, and that a
// deleted link leaves no row: the database is put back as it was before
// 000120, with rows written by the old trigger, and migrated again.
func TestBreakdownCarriedOver(t *testing.T) {
	for _, tt := range []struct {
		name string
		open func(t *testing.T) *bunstore.Store
	}{
		{"sqlite", func(t *testing.T) *bunstore.Store {
			s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "curtain.db"))
			if err != nil {
				t.Fatalf("open sqlite: %v", err)
			}
			return s
		}},
		{"postgres", func(t *testing.T) *bunstore.Store {
			if testing.Short() {
				t.Skip("PostgreSQL; skipped with -short")
			}
			_, dsn := testenv.PostgresSchema(t, "bdcarry")
			s, err := postgres.Open(t.Context(), dsn)
			if err != nil {
				t.Fatalf("open postgres: %v", err)
			}
			return s
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.open(t)
			t.Cleanup(func() { s.Close() })
			testCarriedOver(t, s, tt.name == "postgres")
		})
	}
}

func testCarriedOver(t *testing.T, s *bunstore.Store, pg bool) {
	ctx := t.Context()
	db := s.DB()
	u := core.URL{ShortCode: "carry1", OriginalURL: "https://example.com/carry", IsActive: true}
	if err := s.CreateURL(ctx, &u, nil); err != nil {
		t.Fatalf("CreateURL: %v", err)
	}
	dropTrigger := "DROP TRIGGER curtain_events_break_down"
	if pg {
		dropTrigger += " ON events"
	}
	// Two hours of one URL as the trigger of 000110 counted them: three
	// humans (two on a desktop from news.example.com, one from NZ) and a
	// bot at 09:00, one human at 10:00.
	var rows []string
	for _, r := range []struct {
		hour, dim, value string
		n                int
	}{
		{"09", "kind", "human", 3}, {"09", "kind", "bot", 1}, {"09", "bot", "Googlebot", 1},
		{"09", "device", "desktop", 2}, {"09", "device", "mobile", 1}, {"09", "browser", "Chrome", 3},
		{"09", "os", "Windows", 2}, {"09", "os", "iOS", 1}, {"09", "referrer", "news.example.com", 2},
		{"09", "referrer", "direct", 1}, {"09", "country", "NZ", 1},
		{"10", "kind", "human", 1}, {"10", "device", "mobile", 1}, {"10", "browser", "Safari", 1},
		{"10", "os", "iOS", 1}, {"10", "referrer", "direct", 1},
	} {
		rows = append(rows, fmt.Sprintf("(%d, '2025-03-10 %s:00:00', '%s', '%s', %d)", u.ID, r.hour, r.dim, r.value, r.n))
	}
	for _, q := range []string{
		dropTrigger,
		"DROP TABLE curtain_click_breakdown",
		perDimensionTable,
		"INSERT INTO curtain_click_breakdown (url_id, hour, dimension, value, n) VALUES " + strings.Join(rows, ", "),
		"DELETE FROM curtain_migrations WHERE name = '000120'",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("put the breakdown back as 000110 made it: %s: %v", q, err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}

	want := map[string]int64{
		"kind=human": 4, "kind=bot": 1, "bot=Googlebot": 1, "device=desktop": 2, "device=mobile": 2,
		"browser=Chrome": 3, "browser=Safari": 1, "os=Windows": 2, "os=iOS": 2,
		"referrer=news.example.com": 2, "referrer=direct": 2, "country=NZ": 1,
	}
	wantBreakdown(t, s, u.ID, want, "09:00 3/1, 10:00 1/0")

	// A click stored after the migration adds to the carried rows.
	c := core.ClickEvent{Click: core.Click{ID: "after", Code: "carry1", Visitor: "10.0.0.1",
		At: time.Date(2025, 3, 10, 10, 30, 0, 0, time.UTC), UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
		Country: "NZ", URLID: u.ID}}
	if n, err := s.InsertClicks(ctx, []core.ClickEvent{c}); err != nil || n != 1 {
		t.Fatalf("InsertClicks = %d, %v; want 1", n, err)
	}
	for _, k := range []string{"kind=human", "device=mobile", "browser=Safari", "os=iOS", "referrer=direct", "country=NZ"} {
		want[k]++
	}
	wantBreakdown(t, s, u.ID, want, "09:00 3/1, 10:00 2/0")

	if err := s.DeleteURL(ctx, u.ID); err != nil {
		t.Fatalf("DeleteURL: %v", err)
	}
	var left int
	if err := db.NewSelect().Table("curtain_click_breakdown").ColumnExpr("count(*)").Scan(ctx, &left); err != nil || left != 0 {
		t.Errorf("breakdown rows after the link was deleted = %d (%v), want 0", left, err)
	}
}

// wantBreakdown fails t unless the breakdown of url is want (as
// "dimension=value" → clicks) with the hourly series series (as
// "hh:mm humans/bots", comma separated).
func wantBreakdown(t *testing.T, s *bunstore.Store, url int64, want map[string]int64, series string) {
	t.Helper()
	counts, hours, err := s.ClickBreakdown(t.Context(), url, time.Time{})
	if err != nil {
		t.Fatalf("ClickBreakdown: %v", err)
	}
	got := map[string]int64{}
	for _, c := range counts {
		got[c.Dimension+"="+c.Value] += c.N
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("breakdown = %v\nwant %v", got, want)
	}
	var points []string
	for _, h := range hours {
		points = append(points, fmt.Sprintf("%s %d/%d", h.Hour.UTC().Format("15:04"), h.Humans, h.Bots))
	}
	if got := strings.Join(points, ", "); got != series {
		t.Errorf("series = %s, want %s", got, series)
	}
}
