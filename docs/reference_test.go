package docs

import (
	"encoding/csv"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// referenceMarker in a document (with topologyMarker) makes its Curtain
// start on what the reference implementation leaves behind: its tables
// with rows, redirects counted twice, a short-code counter, and click
// streams its consumer had not stored, one entry of them read and not
// acknowledged. migrating.md's steps then run on an adopted database, as
// an operator's would.
const referenceMarker = "<!-- doctest: reference -->"

// referenceSchema is the reference's PostgreSQL schema (spec §3).
const referenceSchema = `
CREATE TABLE users (id SERIAL PRIMARY KEY, username varchar(120) NOT NULL, email varchar(255) NOT NULL,
	created_at timestamp NOT NULL);
CREATE TABLE urls (id SERIAL PRIMARY KEY, user_id integer REFERENCES users (id), short_code varchar(16) NOT NULL,
	original_url varchar(2048) NOT NULL, title varchar(255), is_active boolean NOT NULL,
	created_at timestamp NOT NULL, updated_at timestamp NOT NULL);
CREATE UNIQUE INDEX url_short_code ON urls (short_code);
CREATE INDEX url_original_url ON urls (original_url);
CREATE INDEX url_user_id ON urls (user_id);
CREATE TABLE events (id SERIAL PRIMARY KEY, url_id integer REFERENCES urls (id), user_id integer REFERENCES users (id),
	event_type varchar(64) NOT NULL, "timestamp" timestamp NOT NULL, details text NOT NULL);
CREATE INDEX event_url_id ON events (url_id);
CREATE INDEX event_user_id ON events (user_id);
`

// seedDataDir is the reference's seed data beside the checkout.
const seedDataDir = "../../shared/seed-data"

// referenceRows loads the reference's seed data into its tables, as its
// seed script would (ids kept, sequences past them), and then stores each
// of a redirect of links a and b twice, once by the app and once by its
// stream consumer (spec §3.5).
func referenceRows(dir string, a, b seedLink) string {
	var sql strings.Builder
	for _, table := range []string{"users", "urls", "events"} {
		fmt.Fprintf(&sql, "\\copy %s FROM '%s' WITH (FORMAT csv, HEADER true)\n", table, filepath.Join(dir, table+".csv"))
		fmt.Fprintf(&sql, "SELECT setval('%s_id_seq', (SELECT max(id) FROM %s));\n", table, table)
	}
	sql.WriteString(`INSERT INTO events (url_id, user_id, event_type, "timestamp", details) VALUES`)
	for i, l := range []seedLink{a, b} {
		if i > 0 {
			sql.WriteString(",")
		}
		fmt.Fprintf(&sql, `
	(%d, NULL, 'redirect', '2026-04-01 1%d:00:00', '{"short_code": "%s"}'),
	(%d, NULL, 'redirect', '2026-04-01 1%d:00:00', '{"ip": "10.0.0.%d", "shard": "shard%d", "source": "stream"}')`,
			l.id, i, l.code, l.id, i, i+1, i)
	}
	sql.WriteString(";\n")
	return sql.String()
}

// seedLink is a link of the seed data.
type seedLink struct {
	id   int
	code string
}

// activeSeedLinks returns the first two active links of the seed data.
func activeSeedLinks(t *testing.T, dir string) (a, b seedLink) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "urls.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var links []seedLink
	for _, r := range rows[1:] { // id,user_id,short_code,original_url,title,is_active,...
		if id, err := strconv.Atoi(r[0]); err == nil && r[5] == "True" {
			links = append(links, seedLink{id, r[2]})
		}
		if len(links) == 2 {
			return links[0], links[1]
		}
	}
	t.Fatalf("%s holds fewer than two active links", f.Name())
	return
}

// referenceStreams are the click stream entries the reference's app
// wrote (spec §7.2) and its consumer did not store, by shard index.
var referenceStreams map[int][]string

// referenceEvents is how many events the reference left: its own rows
// have the ids 1 to referenceEvents.
var referenceEvents int

// referenceEntries are the stream entries leaveReferenceData wrote, as
// the click ids Curtain gives them (stream:clicks:<code>/<entry id>).
var referenceEntries []string

func envValue(env []string, name string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

func redisCLI(t *testing.T, addr string, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command("redis-cli", append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// leaveReferenceData writes what the reference leaves behind into the
// database and the Redis servers of env.
func leaveReferenceData(t *testing.T, env []string) {
	t.Helper()
	db := envValue(env, "DATABASE_URL")
	if db == "" {
		t.Fatal(referenceMarker + " needs " + topologyMarker)
	}
	a, b := referenceDatabase(t, db)
	referenceStreams = map[int][]string{0: {a.code, a.code}, 1: {b.code, b.code}}
	counter, err := url.Parse(envValue(env, "REDIS_URL"))
	if err != nil {
		t.Fatal(err)
	}
	redisCLI(t, counter.Host, "set", "url:counter", strconv.Itoa(b.id))
	shards := strings.Split(envValue(env, "REDIS_SHARDS"), ",")
	referenceEntries = nil
	for i, codes := range referenceStreams {
		for j, code := range codes {
			id := redisCLI(t, shards[i], "xadd", "stream:clicks:"+code, "*", "sc", code, "ip", fmt.Sprintf("10.1.%d.%d", i, j), "ts", "1775037600.25")
			referenceEntries = append(referenceEntries, "stream:clicks:"+code+"/"+id)
		}
	}
	// The reference's consumer read one entry of shard1 and died before
	// acknowledging it (spec §8: it never claims pending entries).
	redisCLI(t, shards[1], "xgroup", "create", "stream:clicks:"+b.code, "pg_writers", "0")
	redisCLI(t, shards[1], "xreadgroup", "group", "pg_writers", "worker-shard1-42", "count", "1", "streams", "stream:clicks:"+b.code, ">")
}

// referenceDatabase writes the reference's tables and rows into the
// database db (skipping the test when the seed data is absent) and
// returns the two links whose redirects it stored twice.
func referenceDatabase(t *testing.T, db string) (a, b seedLink) {
	t.Helper()
	dir, err := filepath.Abs(seedDataDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "urls.csv")); err != nil {
		t.Skipf("the reference's seed data is not beside the checkout (%s): %v", seedDataDir, err)
	}
	a, b = activeSeedLinks(t, dir)
	psql := exec.Command("psql", db, "-q", "-v", "ON_ERROR_STOP=1")
	psql.Stdin = strings.NewReader(referenceSchema + referenceRows(dir, a, b))
	if out, err := psql.CombinedOutput(); err != nil {
		t.Fatalf("reference schema and rows: %v\n%s", err, out)
	}
	out, err := exec.Command("psql", db, "-Atc", "select count(*) from events where id = (select count(*) from events)").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Fatalf("the reference's events are not numbered 1 to n: %v %s", err, out)
	}
	out, err = exec.Command("psql", db, "-Atc", "select count(*) from events").CombinedOutput()
	if err != nil {
		t.Fatalf("count the reference's events: %v\n%s", err, out)
	}
	if referenceEvents, err = strconv.Atoi(strings.TrimSpace(string(out))); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// checkReferenceAdopted checks what migrating.md promises of an adopted
// database: each click the reference left in a stream is stored once,
// with the click id stream:clicks:<code>/<entry id>, and the reference's
// own rows are as they were.
func checkReferenceAdopted(t *testing.T, c *curtain) {
	t.Helper()
	db := envValue(c.env, "DATABASE_URL")
	query := func(q string) []string {
		out, err := exec.Command("psql", db, "-Atc", q).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", q, err, out)
		}
		return strings.Fields(string(out))
	}
	var stored []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		stored = query("select click_id from events where click_id like 'stream:clicks:%' order by click_id")
		if len(stored) >= len(referenceEntries) || time.Now().After(deadline) {
			break
		}
	}
	want := slices.Sorted(slices.Values(referenceEntries))
	if !slices.Equal(stored, want) {
		t.Errorf("the reference's stream entries were stored as %v, want each once as %v", stored, want)
	}
	n := strconv.Itoa(referenceEvents)
	if got := query("select count(*) from events where id <= " + n + " and click_id is null"); !slices.Equal(got, []string{n}) {
		t.Errorf("the reference's events: %v rows left as they were, want the %s it wrote", got, n)
	}
}
