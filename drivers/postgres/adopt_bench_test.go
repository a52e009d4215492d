package postgres

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
)

// AdoptBenchEnv turns on BenchmarkAdoptedAnalytics, which builds a
// reference database of 2.1 million events (a minute of work) in a
// database of its own, curtain_adopt, and drops it afterwards. Like every
// test switch it is in the CURTAIN_TEST_* namespace, which Curtain's
// configuration leaves to the tests instead of warning of it.
const AdoptBenchEnv = "CURTAIN_TEST_BENCH_ADOPT"

// adoptEvents is how many events the adopted database holds; hotEvents of
// them belong to URL 1 (which also has the reference row's created
// event), the rest spread over URLs 2-2000.
const (
	adoptEvents = 2_100_000
	hotEvents   = 700_000
)

// BenchmarkAdoptedAnalytics measures the first analytics of a URL with
// 700 k events on an adopted reference database of 2.1 M events: the
// migration that adopts it (and backfills the event counts), then per
// operation the service's uncached analytics, against the reference's way
// (aggregating the URL's events) as the baseline of the same run.
//
//	CURTAIN_TEST_BENCH_ADOPT=1 go test -run x -bench AdoptedAnalytics -benchtime 2s ./drivers/postgres/
func BenchmarkAdoptedAnalytics(b *testing.B) {
	if os.Getenv(AdoptBenchEnv) == "" {
		b.Skipf("set %s=1 to build the 2.1 M-event database", AdoptBenchEnv)
	}
	ctx := context.Background()
	admin, err := sql.Open("pgx", baseDSN())
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS curtain_adopt"); err != nil {
		b.Fatal(err)
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE curtain_adopt"); err != nil {
		b.Fatal(err)
	}
	defer func() {
		if _, err := admin.ExecContext(ctx, "DROP DATABASE curtain_adopt WITH (FORCE)"); err != nil {
			b.Errorf("drop database curtain_adopt: %v", err)
		}
	}()
	dsn := strings.Replace(baseDSN(), "/test?", "/curtain_adopt?", 1)
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	start := time.Now()
	for _, q := range []string{referenceSchema,
		`INSERT INTO urls (id, short_code, original_url, is_active, created_at, updated_at)
		 SELECT g, 'b' || g, 'https://example.com/' || g, true, '2025-01-01', '2025-01-01' FROM generate_series(2, 2000) g`,
		`INSERT INTO events (id, url_id, event_type, "timestamp", details)
		 SELECT g + 1, CASE WHEN g <= 700000 THEN 1 ELSE 2 + g % 1999 END,
		        (ARRAY['redirect','redirect','redirect','click','updated'])[1 + g % 5],
		        timestamp '2025-01-01' + g * interval '1 second', '{"short_code": "d5DnL5"}'
		 FROM generate_series(1, 2099999) g`,
		"ANALYZE",
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			b.Fatalf("build the reference database: %v", err)
		}
	}
	b.Logf("built the reference database (%d events) in %v", adoptEvents, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	s, err := Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.Logf("adopted it (migrations and event-count backfill) in %v", time.Since(start).Round(time.Millisecond))
	svc := core.NewService(s, core.ServiceConfig{})

	want, err := s.SummarizeEvents(ctx, 1)
	if err != nil || want.Total != hotEvents+1 {
		b.Fatalf("SummarizeEvents(1) = %+v, %v, want %d events", want, err, hotEvents+1)
	}
	b.Run("curtain", func(b *testing.B) {
		for b.Loop() {
			a, _, err := svc.Analytics(ctx, 1)
			if err != nil || a.TotalEvents != hotEvents+1 {
				b.Fatalf("Analytics(1) = %+v, %v", a, err)
			}
		}
	})
	b.Run("aggregate-events", func(b *testing.B) {
		for b.Loop() {
			var n int64
			err := raw.QueryRowContext(ctx, `SELECT sum(n) FROM (SELECT event_type, count(*) AS n, max("timestamp")
				FROM events WHERE url_id = 1 GROUP BY event_type) g`).Scan(&n)
			if err != nil || n != hotEvents+1 {
				b.Fatalf("aggregate = %d, %v", n, err)
			}
		}
	})
}

// TestAdoptBenchEnvIsATestSwitch: the benchmark's switch is in the
// CURTAIN_TEST_* namespace, so that a Curtain process started from the
// same shell does not warn of an unknown CURTAIN_* variable. It was
// CURTAIN_BENCH_ADOPT.
func TestAdoptBenchEnvIsATestSwitch(t *testing.T) {
	if !strings.HasPrefix(AdoptBenchEnv, "CURTAIN_TEST_") {
		t.Errorf("AdoptBenchEnv = %q, want a CURTAIN_TEST_* name", AdoptBenchEnv)
	}
}
