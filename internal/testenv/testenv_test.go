package testenv

import (
	"bufio"
	"database/sql"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// redisDo sends one inline command to addr and returns the reply line.
func redisDo(t *testing.T, addr, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return strings.TrimSpace(line)
}

// TestRedisKeepsDataAcrossRestart: with AppendOnly a stopped server comes
// back on its port with its data; a killed one stops answering.
func TestRedisKeepsDataAcrossRestart(t *testing.T) {
	r := StartRedis(t, RedisOptions{AppendOnly: true})
	if got := redisDo(t, r.Addr(), "SET k v"); got != "+OK" {
		t.Fatalf("SET = %q", got)
	}
	r.Stop()
	if err := ping(r.Addr()); err == nil {
		t.Fatal("a stopped server still answers PING")
	}
	r.Start()
	if got := redisDo(t, r.Addr(), "GET k"); got != "$1" {
		t.Errorf("GET after restart = %q, want the value's header $1", got)
	}
	r.Kill()
	if err := ping(r.Addr()); err == nil {
		t.Error("a killed server still answers PING")
	}
}

// TestProxyDropsAndComesBack: Stop cuts a live connection and refuses
// new ones; Start serves again on the same address.
func TestProxyDropsAndComesBack(t *testing.T) {
	r := StartRedis(t, RedisOptions{})
	p := StartProxy(t, r.Addr())
	addr := p.Addr()
	if got := redisDo(t, addr, "PING"); got != "+PONG" {
		t.Fatalf("PING through the proxy = %q", got)
	}
	live, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	p.Stop()
	live.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := live.Read(make([]byte, 1)); err == nil {
		t.Error("a connection through a stopped proxy still reads")
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("a stopped proxy accepts connections")
	}
	p.Start()
	if p.Addr() != addr {
		t.Errorf("restarted proxy on %s, want %s", p.Addr(), addr)
	}
	if got := redisDo(t, addr, "PING"); got != "+PONG" {
		t.Errorf("PING through the restarted proxy = %q", got)
	}
}

// TestPostgresSchema: the schema exists for the test, the URL selects it,
// and it is gone after the test.
func TestPostgresSchema(t *testing.T) {
	var schema string
	t.Run("fixture", func(t *testing.T) {
		var dsn string
		schema, dsn = PostgresSchema(t, "house_testenv_")
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var current string
		if err := db.QueryRowContext(t.Context(), "SELECT current_schema()").Scan(&current); err != nil {
			t.Fatal(err)
		}
		if current != schema {
			t.Errorf("current_schema() = %q, want %q", current, schema)
		}
	})
	if testing.Short() {
		return
	}
	db := admin(t)
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("schema %s outlived its test", schema)
	}
}

// TestLeftovers finds and kills a process of a binary that outlived its
// owner.
func TestLeftovers(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep command")
	}
	// A copy of its own, so that no other process on the machine matches.
	exe := filepath.Join(t.TempDir(), "testenv-sleep")
	if out, err := exec.Command("cp", sleep, exe).CombinedOutput(); err != nil {
		t.Fatalf("copy sleep: %v %s", err, out)
	}
	cmd := exec.Command(exe, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	report := Leftovers(exe, 100*time.Millisecond)
	if !strings.Contains(report, "testenv-sleep 60") {
		t.Errorf("Leftovers = %q, want the process named", report)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("Leftovers did not kill the process")
	}
	if got := Leftovers(exe, 100*time.Millisecond); got != "" {
		t.Errorf("Leftovers after the kill = %q", got)
	}
}
