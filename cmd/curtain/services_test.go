package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/curtainhq/curtain/internal/testenv"
)

// redisServer is a redis-server process owned by a test.
type redisServer struct {
	addr string
	dir  string
	args []string
	cmd  *exec.Cmd
}

// startRedis runs a redis-server on a free loopback port with an
// append-only file, so a stopped server comes back with its data.
func startRedis(t testing.TB) *redisServer {
	t.Helper()
	r := &redisServer{addr: freeAddr(t), dir: t.TempDir()}
	_, port, _ := net.SplitHostPort(r.addr)
	r.args = []string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
		"--appendfsync", "always", "--dir", r.dir}
	r.start(t)
	t.Cleanup(func() { r.kill() })
	return r
}

func (r *redisServer) start(t testing.TB) {
	t.Helper()
	r.cmd = exec.Command("redis-server", r.args...)
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	testenv.WaitTCP(t, r.addr)
}

// stop shuts the server down gracefully (the append-only file is kept).
func (r *redisServer) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(os.Interrupt)
	_ = r.cmd.Wait()
	r.cmd = nil
}

func (r *redisServer) kill() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// newDatabase creates a fresh database on the shared server and returns its
// URL; it is dropped when the test ends.
func newDatabase(t testing.TB) string {
	t.Helper()
	return testenv.PostgresDatabase(t, "curtain_e2e_")
}

// pgCluster is a private PostgreSQL server a test may restart.
type pgCluster struct {
	bin  string
	dir  string
	port int
}

// startPostgresCluster initialises and starts a private PostgreSQL server
// on a free port (as the postgres user, since the server refuses root).
func startPostgresCluster(t *testing.T) *pgCluster {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		t.Fatal("no PostgreSQL server binaries under /usr/lib/postgresql")
	}
	_, portText, _ := net.SplitHostPort(freeAddr(t))
	port, _ := strconv.Atoi(portText)
	dir, err := os.MkdirTemp("", "curtain-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c := &pgCluster{bin: filepath.Dir(bins[0]), dir: dir, port: port}
	t.Cleanup(func() {
		c.ctl("stop", "-m", "immediate")
		os.RemoveAll(dir)
	})
	if out, err := exec.Command("chown", "postgres:postgres", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	if out, err := c.as(filepath.Join(c.bin, "initdb"), "-D", dir+"/data", "-A", "trust", "-U", "postgres", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	if out, err := c.ctl("start", "-w"); err != nil {
		t.Fatalf("pg_ctl start: %v\n%s", err, out)
	}
	return c
}

func (c *pgCluster) as(name string, args ...string) *exec.Cmd {
	return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
}

func (c *pgCluster) ctl(args ...string) ([]byte, error) {
	args = append(args, "-D", c.dir+"/data", "-l", c.dir+"/log",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", c.port, c.dir))
	return c.as(filepath.Join(c.bin, "pg_ctl"), args...).CombinedOutput()
}

func (c *pgCluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}
