package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/curtainhq/curtain/internal/testenv"
)

// testURL is the PostgreSQL the integration tests use
// (CURTAIN_TEST_POSTGRES_URL overrides it).
func testURL() string { return testenv.PostgresURL() }

// integration skips t under -short; otherwise the test needs PostgreSQL
// and fails without it.
func integration(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs PostgreSQL")
	}
}

// randomName returns prefix with random hex appended.
func randomName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// freshSchema returns the name of a schema nobody uses, dropped with
// everything in it when the test ends. The plugin under test creates it.
func freshSchema(t *testing.T) string {
	t.Helper()
	integration(t)
	name := randomName("curtain_test_")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, testURL())
		if err != nil {
			t.Errorf("connect to drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// testSettings returns settings for a fresh schema of the test database.
func testSettings(t *testing.T) Settings {
	t.Helper()
	return Settings{URL: testURL(), Schema: freshSchema(t)}
}

func settingsJSONFor(t *testing.T, s Settings) []byte {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("marshal settings: %v", err)
	}
	return b
}

// newTestCounter configures a counter plugin with s, closed when the test
// ends.
func newTestCounter(t *testing.T, s Settings) *Counter {
	t.Helper()
	c := NewCounterPlugin()
	if err := c.Configure(t.Context(), settingsJSONFor(t, s)); err != nil {
		t.Fatalf("Configure counter: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// newTestShard configures a click shard plugin with s, closed when the
// test ends.
func newTestShard(t *testing.T, s Settings) *ClickShard {
	t.Helper()
	c := NewClickShardPlugin()
	if err := c.Configure(t.Context(), settingsJSONFor(t, s)); err != nil {
		t.Fatalf("Configure click shard: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rawConn returns a connection of the test's own, for looking at tables
// directly, closed when the test ends.
func rawConn(t *testing.T) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), testURL())
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// table returns the quoted name of table in schema.
func table(schema, name string) string { return pgx.Identifier{schema, name}.Sanitize() }

// queryInt runs a query returning one integer.
func queryInt(t *testing.T, conn *pgx.Conn, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := conn.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// closedPortURL returns the test URL pointed at a loopback port nobody
// listens on.
func closedPortURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return withHost(t, testURL(), addr)
}

// withHost returns the URL raw with its host:port replaced by addr.
func withHost(t *testing.T, raw, addr string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse test URL: %v", err)
	}
	u.Host = addr
	return u.String()
}

// proxy forwards TCP connections from a loopback port to PostgreSQL, and
// can be stopped (dropping every connection, as a server crash would) and
// started again on the same port.
type proxy struct {
	*testenv.Proxy
	t *testing.T
}

// startProxy starts a proxy to the test database's server.
func startProxy(t *testing.T) *proxy {
	t.Helper()
	u, err := url.Parse(testURL())
	if err != nil {
		t.Fatalf("parse test URL: %v", err)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	return &proxy{Proxy: testenv.StartProxy(t, target), t: t}
}

// url returns the test URL through the proxy.
func (p *proxy) url() string { return withHost(p.t, testURL(), p.Addr()) }

func (p *proxy) start() { p.Start() }

func (p *proxy) stop() { p.Stop() }
