package testenv

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// RedisOptions tunes StartRedis. The zero value is a server without
// persistence.
type RedisOptions struct {
	// AppendOnly keeps an fsync'd append-only file in the server's
	// directory, so that a server stopped and started again comes back
	// with its data.
	AppendOnly bool
	// ClusterBus picks a port whose cluster bus port (+10000) is free.
	ClusterBus bool
	// Args are more redis-server arguments.
	Args []string
}

// Redis is a redis-server process owned by one test.
type Redis struct {
	tb   testing.TB
	port int
	dir  string
	args []string

	mu  sync.Mutex
	cmd *exec.Cmd
	log *bytes.Buffer
}

// StartRedis runs a redis-server on a free loopback port with a directory
// of its own, waits until it answers PING, and kills it when the test
// ends. -short skips the test; a missing redis-server fails it.
func StartRedis(tb testing.TB, opts RedisOptions) *Redis {
	tb.Helper()
	if testing.Short() {
		tb.Skip("integration test: needs redis-server")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		tb.Fatalf("redis-server is not installed: %v", err)
	}
	r := &Redis{tb: tb, port: FreePort(tb, opts.ClusterBus), dir: tb.TempDir()}
	r.args = []string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--dir", r.dir}
	if opts.AppendOnly {
		r.args = append(r.args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		r.args = append(r.args, "--appendonly", "no")
	}
	r.args = append(r.args, opts.Args...)
	r.Start()
	tb.Cleanup(r.Kill)
	return r
}

// Port is the server's port.
func (r *Redis) Port() int { return r.port }

// Addr is the server's address, "127.0.0.1:PORT".
func (r *Redis) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// URL is the server's redis:// URL for database 0.
func (r *Redis) URL() string { return "redis://" + r.Addr() + "/0" }

// Dir is the server's working directory (its append-only file, its
// cluster configuration).
func (r *Redis) Dir() string { return r.dir }

// Start runs the server (again, on the same port and directory) and waits
// until it answers PING.
func (r *Redis) Start() {
	r.tb.Helper()
	log := new(bytes.Buffer)
	cmd := exec.Command("redis-server", r.args...)
	cmd.Dir = r.dir
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		r.tb.Fatalf("start redis-server: %v", err)
	}
	r.mu.Lock()
	r.cmd, r.log = cmd, log
	r.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := ping(r.Addr())
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			r.Kill()
			r.tb.Fatalf("redis-server on %s did not answer PING: %v\n%s", r.Addr(), err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop shuts the server down gracefully (SIGINT: an append-only file is
// complete) and waits for it.
func (r *Redis) Stop() { r.end(os.Interrupt) }

// Kill kills the server, as a crash would, and waits for it. Killing a
// stopped server does nothing.
func (r *Redis) Kill() { r.end(os.Kill) }

func (r *Redis) end(sig os.Signal) {
	r.mu.Lock()
	cmd := r.cmd
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	_ = cmd.Wait()
}

// ping sends a RESP PING to addr and checks for +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return &net.OpError{Op: "ping", Net: "tcp", Err: errString(strings.TrimSpace(line))}
	}
	return nil
}

type errString string

func (e errString) Error() string { return string(e) }
