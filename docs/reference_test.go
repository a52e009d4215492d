package docs

import (
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"slices"
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

// referenceSchema is the reference's PostgreSQL schema (spec §3), with a
// few rows in its shapes (spec §3.5): two links, their created events,
// and each of two redirects stored twice, once by the app and once by
// its stream consumer.
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
INSERT INTO users (username, email, created_at) VALUES ('harbordelta89', 'harbordelta89@acme.dev', '2025-10-04 01:10:15');
INSERT INTO urls (user_id, short_code, original_url, title, is_active, created_at, updated_at) VALUES
	(1, 'd5DnL5', 'https://hackstack.io/jade/uplink/1', 'Ops review river', true, '2025-10-14 15:07:51', '2026-01-22 14:39:15'),
	(1, 'KZ6mAC', 'https://relay.cloud/clear/lagoon/2', 'Roadmap update trail', true, '2025-05-17 10:37:38', '2025-12-12 13:13:18');
INSERT INTO events (url_id, user_id, event_type, "timestamp", details) VALUES
	(1, 1, 'created', '2025-10-14 15:07:51', '{"short_code": "d5DnL5", "original_url": "https://hackstack.io/jade/uplink/1"}'),
	(2, 1, 'created', '2025-05-17 10:37:38', '{"short_code": "KZ6mAC", "original_url": "https://relay.cloud/clear/lagoon/2"}'),
	(1, NULL, 'redirect', '2026-04-01 10:00:00', '{"short_code": "d5DnL5"}'),
	(1, NULL, 'redirect', '2026-04-01 10:00:00', '{"ip": "10.0.0.1", "shard": "shard0", "source": "stream"}'),
	(2, NULL, 'redirect', '2026-04-01 11:00:00', '{"short_code": "KZ6mAC"}'),
	(2, NULL, 'redirect', '2026-04-01 11:00:00', '{"ip": "10.0.0.2", "shard": "shard1", "source": "stream"}');
`

// referenceStreams are the click stream entries the reference's app
// wrote (spec §7.2) and its consumer did not store, by shard index.
var referenceStreams = map[int][]string{0: {"d5DnL5", "d5DnL5"}, 1: {"KZ6mAC", "KZ6mAC"}}

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
	psql := exec.Command("psql", db, "-q", "-v", "ON_ERROR_STOP=1")
	psql.Stdin = strings.NewReader(referenceSchema)
	if out, err := psql.CombinedOutput(); err != nil {
		t.Fatalf("reference schema: %v\n%s", err, out)
	}
	counter, err := url.Parse(envValue(env, "REDIS_URL"))
	if err != nil {
		t.Fatal(err)
	}
	redisCLI(t, counter.Host, "set", "url:counter", "2")
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
	redisCLI(t, shards[1], "xgroup", "create", "stream:clicks:KZ6mAC", "pg_writers", "0")
	redisCLI(t, shards[1], "xreadgroup", "group", "pg_writers", "worker-shard1-42", "count", "1", "streams", "stream:clicks:KZ6mAC", ">")
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
	if got := query("select count(*) from events where id <= 6 and click_id is null"); !slices.Equal(got, []string{"6"}) {
		t.Errorf("the reference's events: %v rows left as they were, want the 6 it wrote", got)
	}
}
