package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/drivers/bunstore"
	"github.com/curtainhq/curtain/drivers/storetest"
	"github.com/curtainhq/curtain/internal/testenv"
)

// baseDSN is the test server, overridable by CURTAIN_TEST_POSTGRES_URL.
func baseDSN() string { return testenv.PostgresURL() }

// freshSchema creates an empty schema curtain_t_<random>, drops it when the
// test ends, and returns a DSN whose search_path is that schema. The test
// fails when the server cannot be reached; -short skips it.
func freshSchema(t *testing.T) string { return freshSchemaTB(t) }

// freshSchemaTB is freshSchema for tests and benchmarks.
func freshSchemaTB(t testing.TB) string {
	t.Helper()
	_, dsn := testenv.PostgresSchema(t, "curtain_t_")
	return dsn
}

// openFresh opens a migrated store in a fresh schema.
func openFresh(t *testing.T) *bunstore.Store {
	t.Helper()
	s, err := Open(t.Context(), freshSchema(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store { return openFresh(t) })
}

// referenceSchema is the schema the reference's ORM creates (spec §3),
// with its b-tree index on original_url and no Curtain additions.
const referenceSchema = `
CREATE TABLE users (id SERIAL NOT NULL PRIMARY KEY, username VARCHAR(120) NOT NULL, email VARCHAR(255) NOT NULL, created_at TIMESTAMP NOT NULL);
CREATE TABLE urls (id SERIAL NOT NULL PRIMARY KEY, user_id INTEGER, short_code VARCHAR(16) NOT NULL, original_url VARCHAR(2048) NOT NULL, title VARCHAR(255), is_active BOOLEAN NOT NULL, created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL, FOREIGN KEY (user_id) REFERENCES users (id));
CREATE INDEX url_user_id ON urls (user_id);
CREATE UNIQUE INDEX url_short_code ON urls (short_code);
CREATE INDEX url_original_url ON urls (original_url);
CREATE TABLE events (id SERIAL NOT NULL PRIMARY KEY, url_id INTEGER, user_id INTEGER, event_type VARCHAR(64) NOT NULL, "timestamp" TIMESTAMP NOT NULL, details TEXT NOT NULL, FOREIGN KEY (url_id) REFERENCES urls (id), FOREIGN KEY (user_id) REFERENCES users (id));
CREATE INDEX event_url_id ON events (url_id);
CREATE INDEX event_user_id ON events (user_id);
INSERT INTO users (id, username, email, created_at) VALUES (1, 'alice', 'alice@example.com', '2025-01-02 03:04:05'), (2, 'bob', 'bob@example.com', '2025-01-02 03:04:06');
INSERT INTO urls (id, user_id, short_code, original_url, title, is_active, created_at, updated_at) VALUES (1, 1, 'd5DnL5', 'https://hackstack.io/jade/uplink/1', 'Ops review river', true, '2025-10-14 15:07:51', '2026-01-22 14:39:15');
INSERT INTO events (id, url_id, user_id, event_type, "timestamp", details) VALUES (1, 1, 1, 'created', '2025-10-14 15:07:51', '{"short_code": "d5DnL5"}');
`

// TestMigrateReferenceDatabase adopts a database the reference created,
// with explicit ids its sequences never saw (as its seed script can leave
// them), and checks that data survives and the store works on it.
func TestMigrateReferenceDatabase(t *testing.T) {
	ctx := t.Context()
	dsn, _ := referenceDatabase(t)

	s, err := Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}

	u, err := s.GetURLByCode(ctx, "d5DnL5")
	if err != nil || u.ID != 1 || *u.UserID != 1 || !u.IsActive {
		t.Fatalf("GetURLByCode on the reference data = %+v, %v", u, err)
	}
	if want := time.Date(2026, 1, 22, 14, 39, 15, 0, time.UTC); !u.UpdatedAt.Equal(want) || u.UpdatedAt.Location() != time.UTC {
		t.Errorf("UpdatedAt = %v, want %v", u.UpdatedAt, want)
	}

	// The sequences are behind the explicit ids: CreateUser resynchronises
	// and retries (spec §4.9), and so do CreateURL and CreateEvent.
	nu := core.User{Username: "carol", Email: "carol@example.com"}
	if err := s.CreateUser(ctx, &nu); err != nil || nu.ID != 3 {
		t.Fatalf("CreateUser with a lagging sequence = id %d, %v, want id 3", nu.ID, err)
	}
	nurl := core.URL{ShortCode: "0000wi", OriginalURL: "https://x.test/", IsActive: true}
	created := core.Event{EventType: core.EventCreated, Details: "{}"}
	if err := s.CreateURL(ctx, &nurl, &created); err != nil || nurl.ID != 2 || created.ID != 2 {
		t.Fatalf("CreateURL with lagging sequences = url %d event %d, %v, want 2 and 2", nurl.ID, created.ID, err)
	}
	// A genuine short-code conflict is still a conflict, not retried away.
	dup := core.URL{ShortCode: "d5DnL5", OriginalURL: "https://x.test/", IsActive: true}
	if err := s.CreateURL(ctx, &dup, nil); !errors.Is(err, core.ErrConflict) {
		t.Errorf("CreateURL with a taken code error = %v, want ErrConflict", err)
	}

	// The migration backfilled the event counts of the adopted events.
	sum, err := s.SummarizeEvents(ctx, 1)
	if want := time.Date(2025, 10, 14, 15, 7, 51, 0, time.UTC); err != nil || sum.Total != 1 || sum.Counts["created"] != 1 || sum.Latest == nil || !sum.Latest.Equal(want) {
		t.Errorf("SummarizeEvents of the adopted URL = %+v, %v, want one created event at %v", sum, err, want)
	}
	n, err := s.InsertClicks(ctx, []core.ClickEvent{{Click: core.Click{ID: "k1", Code: "d5DnL5", At: time.Now(), URLID: 1}}})
	if err != nil || n != 1 {
		t.Fatalf("InsertClicks on the migrated database = %d, %v, want 1", n, err)
	}
	if sum, err := s.SummarizeEvents(ctx, 1); err != nil || sum.Total != 2 || sum.Counts["redirect"] != 1 {
		t.Errorf("SummarizeEvents after a click = %+v, %v, want 2 events, 1 redirect", sum, err)
	}
	if _, err := s.ReserveCodes(ctx, 1); err != nil {
		t.Fatalf("ReserveCodes on the migrated database: %v", err)
	}

	// The b-tree index on original_url was replaced (spec Q32).
	var indexes []string
	if err := s.DB().NewRaw("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'urls' ORDER BY indexname").Scan(ctx, &indexes); err != nil {
		t.Fatal(err)
	}
	if want := "url_short_code,url_user_id,urls_original_url_hash,urls_pkey,urls_reuse_key"; strings.Join(indexes, ",") != want {
		t.Errorf("indexes of urls = %v, want %s", indexes, want)
	}
}

// TestSchemaTypes checks that a fresh schema has the reference's column
// types, so the two remain interchangeable.
func TestSchemaTypes(t *testing.T) {
	s := openFresh(t)
	ctx := t.Context()
	var cols []struct {
		Table    string `bun:"table_name"`
		Column   string `bun:"column_name"`
		Type     string `bun:"data_type"`
		Nullable string `bun:"is_nullable"`
		Length   *int   `bun:"character_maximum_length"`
	}
	err := s.DB().NewRaw(`SELECT table_name, column_name, data_type, is_nullable, character_maximum_length
FROM information_schema.columns WHERE table_schema = current_schema() AND table_name IN ('users', 'urls', 'events', 'curtain_counters')
ORDER BY table_name, ordinal_position`).Scan(ctx, &cols)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cols {
		typ := c.Type
		if c.Length != nil {
			typ = fmt.Sprintf("%s(%d)", typ, *c.Length)
		}
		got = append(got, fmt.Sprintf("%s.%s %s %s", c.Table, c.Column, typ, c.Nullable))
	}
	want := []string{
		"curtain_counters.name character varying(64) NO",
		"curtain_counters.value bigint NO",
		"events.id integer NO",
		"events.url_id integer YES",
		"events.user_id integer YES",
		"events.event_type character varying(64) NO",
		"events.timestamp timestamp without time zone NO",
		"events.details text NO",
		"events.click_id character varying(64) YES",
		"events.user_agent text YES",
		"events.referrer text YES",
		"events.ua_device character varying(16) YES",
		"events.ua_browser character varying(64) YES",
		"events.ua_os character varying(64) YES",
		"events.ua_bot character varying(128) YES",
		"events.referrer_host character varying(255) YES",
		"events.country character varying(2) YES",
		"urls.id integer NO",
		"urls.user_id integer YES",
		"urls.short_code character varying(16) NO",
		"urls.original_url character varying(2048) NO",
		"urls.title character varying(255) YES",
		"urls.is_active boolean NO",
		"urls.created_at timestamp without time zone NO",
		"urls.updated_at timestamp without time zone NO",
		"urls.reuse_key character varying(64) YES",
		"urls.custom_code boolean NO",
		"urls.redirect_status smallint YES",
		"urls.valid_since timestamp without time zone YES",
		"urls.valid_until timestamp without time zone YES",
		"urls.max_visits bigint YES",
		"urls.expired_url character varying(2048) YES",
		"urls.tags character varying(400) YES",
		"urls.password_hash character varying(255) YES",
		"urls.rules text YES",
		"users.id integer NO",
		"users.username character varying(120) NO",
		"users.email character varying(255) NO",
		"users.created_at timestamp without time zone NO",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("columns =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// Nothing listens on port 1 of the loopback address.
	_, err := Open(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2")
	if !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Open of an unreachable server error = %v, want ErrUnavailable", err)
	}

	// A store whose server goes away reports ErrUnavailable, and recovers
	// when it is back.
	dsn := freshSchema(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := testenv.StartProxy(t, u.Host)
	u.Host = p.Addr()
	s, err := Open(t.Context(), u.String())
	if err != nil {
		t.Fatalf("Open through the proxy: %v", err)
	}
	defer s.Close()
	p.Stop()
	_, err = s.GetUser(t.Context(), 1)
	if !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("GetUser with the server gone error = %v, want ErrUnavailable", err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Ping with the server gone error = %v, want ErrUnavailable", err)
	}
}

func TestConnectRejectsBadDSN(t *testing.T) {
	_, err := Connect(t.Context(), "postgres://u:secret@[::1:5432/x")
	if !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Connect with a malformed DSN error = %v, want ErrInvalid", err)
	}
	if err != nil && strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q reveals the password", err)
	}
}

// TestConcurrentMigrate starts several stores on one fresh schema at once;
// the advisory lock keeps their migrations from colliding.
func TestConcurrentMigrate(t *testing.T) {
	dsn := freshSchema(t)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			s, err := Open(t.Context(), dsn)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
	}
}

var _ = stdlib.GetDefaultDriver // the "pgx" database/sql driver used above

func TestEventCountTriggers(t *testing.T) {
	s := openFresh(t)
	storetest.EventCountTriggers(t, s, s.DB())
}

// benchStore opens a store on a fresh schema for a benchmark, closed when
// it ends.
func benchStore(b *testing.B) *bunstore.Store {
	s, err := Open(b.Context(), freshSchemaTB(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkInsertClicks is the insert of a click batch: of a durable
// group commit at c=32 (8), of the batcher's default size (256), of a
// consumer's (1024) and of a large backlog's (4096), beside 100 links and
// beside 100,000 more.
func BenchmarkInsertClicks(b *testing.B) {
	for _, links := range []int{0, 100_000} {
		for _, n := range []int{8, 256, 1024, 4096} {
			b.Run(fmt.Sprintf("links=%d/batch=%d", 100+links, n), func(b *testing.B) {
				s := benchStore(b)
				if links > 0 {
					storetest.FillURLs(b, s, links)
				}
				storetest.BenchInsertClicks(b, s, n)
			})
		}
	}
}

// BenchmarkCreateURLs is POST /urls at the store: 32 concurrent creates of
// distinct URLs with their created events, as the service makes them.
func BenchmarkCreateURLs(b *testing.B) {
	s := benchStore(b)
	storetest.BenchCreateURLs(b, s)
}

// BenchmarkGetURLByCode is a redirect that misses the caches, at the
// store: 32 concurrent reads of links by code beside 100,000 links.
func BenchmarkGetURLByCode(b *testing.B) {
	s := benchStore(b)
	storetest.BenchGetURLByCode(b, s)
}

// referenceDatabase returns a fresh schema holding the reference's tables
// (as the reference creates them) and a raw connection to it, closed when
// the test ends.
func referenceDatabase(t *testing.T) (dsn string, raw *sql.DB) {
	t.Helper()
	dsn = freshSchema(t)
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	if _, err := raw.ExecContext(t.Context(), referenceSchema); err != nil {
		t.Fatalf("create reference schema: %v", err)
	}
	return dsn, raw
}

// TestInsertClicksPathsStoreTheSameColumns: a small batch (sent as
// arrays) and a large one (copied) store the same columns for the same
// clicks, NULLs included: no user agent, a browser, a bot, a referrer and
// a country or none.
func TestInsertClicksPathsStoreTheSameColumns(t *testing.T) {
	s := openFresh(t)
	ctx := t.Context()
	u := core.URL{ShortCode: "cols01", OriginalURL: "https://example.com/cols", IsActive: true}
	if err := s.CreateURL(ctx, &u, nil); err != nil {
		t.Fatal(err)
	}
	kinds := []core.Click{
		{},
		{UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			Referrer: "https://news.example.com/a", Country: "NZ"},
		{UserAgent: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", Referrer: "not a url"},
	}
	columns := map[string][]string{}
	for _, n := range []int{10, 1100} {
		prefix := fmt.Sprintf("n%d-", n)
		batch := make([]core.ClickEvent, n)
		for i := range batch {
			c := kinds[i%len(kinds)]
			c.ID, c.Code, c.Visitor, c.At, c.URLID = fmt.Sprintf("%s%05d", prefix, i), u.ShortCode, "10.0.0.1", time.Now().UTC(), u.ID
			batch[i] = core.ClickEvent{Click: c, Shard: "shard0"}
		}
		if got, err := s.InsertClicks(ctx, batch); err != nil || got != n {
			t.Fatalf("InsertClicks(%d) = %d, %v", n, got, err)
		}
		rows, err := s.DB().QueryContext(ctx, `SELECT DISTINCT concat_ws('|', coalesce(user_agent, '<null>'), coalesce(referrer, '<null>'),
	coalesce(ua_device, '<null>'), coalesce(ua_browser, '<null>'), coalesce(ua_os, '<null>'), coalesce(ua_bot, '<null>'),
	coalesce(referrer_host, '<null>'), coalesce(country, '<null>')) AS c
FROM events WHERE click_id LIKE ? ORDER BY c`, prefix+"%")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				t.Fatal(err)
			}
			columns[prefix] = append(columns[prefix], c)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	small, large := columns["n10-"], columns["n1100-"]
	if len(small) != len(kinds) || strings.Join(small, "\n") != strings.Join(large, "\n") {
		t.Errorf("columns of a small batch:\n%s\nof a large one:\n%s\nwant the same %d kinds", strings.Join(small, "\n"), strings.Join(large, "\n"), len(kinds))
	}
}

// TestSmallClickBatchesFollowTheTable: a small click batch, whose insert
// each connection prepares, looks its links up by primary key however
// small the links table was when the connection first ran it. A plan
// made then and kept (PostgreSQL keeps one once it judges it no worse
// than planning each call) scanned the whole table for every batch once
// it had grown, until an ANALYZE, which a server without autovacuum never
// runs.
func TestSmallClickBatchesFollowTheTable(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	db := s.DB()
	var version int
	if err := db.QueryRowContext(ctx, "SHOW server_version_num").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version < 150000 {
		t.Skip("counts scans with pg_stat_force_next_flush, PostgreSQL 15 or later")
	}
	db.SetMaxOpenConns(1) // every call on the connection that keeps its plans
	u := core.URL{ShortCode: "tiny01", OriginalURL: "https://tiny.test/", IsActive: true}
	if err := s.CreateURL(ctx, &u, nil); err != nil {
		t.Fatal(err)
	}
	batch := func(n int) {
		t.Helper()
		clicks := []core.ClickEvent{{Click: core.Click{ID: fmt.Sprintf("follow%04d", n), Code: u.ShortCode, Visitor: "10.0.0.1", At: time.Now().UTC(), URLID: u.ID}}}
		if got, err := s.InsertClicks(ctx, clicks); err != nil || got != 1 {
			t.Fatalf("InsertClicks = %d, %v", got, err)
		}
	}
	for i := range 10 {
		batch(i)
	}
	storetest.FillURLs(t, s, 30_000)
	seqScans := func() int64 {
		t.Helper()
		var n int64
		if _, err := db.ExecContext(ctx, "SELECT pg_stat_force_next_flush()"); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, "SELECT seq_scan FROM pg_stat_user_tables WHERE relid = 'urls'::regclass").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := seqScans()
	batch(10)
	if n := seqScans() - before; n != 0 {
		t.Errorf("a click batch scanned the links table %d times, want 0 (an index lookup)", n)
	}
}

// TestUnreachableServerListedOnce: with sslmode unset (prefer) pgx tries
// the address with TLS and then without; the error lists the failure once,
// and still unwraps to its causes. It used to list the address twice.
func TestUnreachableServerListedOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err = Connect(ctx, "postgres://postgres@"+addr+"/test?connect_timeout=2")
	if err == nil {
		t.Fatalf("Connect to %s succeeded", addr)
	}
	if n := strings.Count(err.Error(), addr+" (127.0.0.1): dial error"); n != 1 {
		t.Errorf("Connect error lists %s %d times, want once:\n%v", addr, n, err)
	}
	if !strings.Contains(err.Error(), "failed to connect to `user=postgres database=test`: "+addr) {
		t.Errorf("Connect error = %v, want pgx's text less the repeated line", err)
	}
	for _, target := range []error{core.ErrUnavailable, syscall.ECONNREFUSED} {
		if !errors.Is(err, target) {
			t.Errorf("Connect error %v is not %v", err, target)
		}
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); !ok {
		t.Errorf("Connect error %v does not unwrap to *pgconn.ConnectError", err)
	}
}
