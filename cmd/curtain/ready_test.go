package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadinessPostgresDown stops the PostgreSQL server under a running
// curtain serve: GET /health keeps answering 200 with the spec's body,
// GET /health/ready turns 503 naming the store while the plugins stay up,
// and both recover when the database is back.
func TestReadinessPostgresDown(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	t.Parallel() // its own server, database and ports
	pg := startPostgresCluster(t)
	s := startServer(t, t.TempDir(), "DATABASE_URL="+pg.url())

	type check struct {
		Name, Kind, Status, Error string
		Required                  bool
	}
	var ready struct {
		Status string
		Checks []check
	}
	// waitReady polls /health/ready until it answers status with state.
	waitReady := func(status int, state string) {
		t.Helper()
		var last string
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			resp, body := s.do(t, "GET", "/health/ready", "")
			last = body
			ready.Checks = nil
			if err := json.Unmarshal([]byte(body), &ready); err != nil {
				t.Fatalf("GET /health/ready = %d %q: %v", resp.StatusCode, body, err)
			}
			if resp.StatusCode == status && ready.Status == state {
				return
			}
		}
		t.Fatalf("GET /health/ready never answered %d %s; last %s", status, state, last)
	}

	waitReady(http.StatusOK, "ready")
	kinds := map[string]bool{}
	for _, c := range ready.Checks {
		kinds[c.Kind] = true
	}
	// serve starts no alert sink: only notify delivers alerts.
	if len(ready.Checks) != 4 || !kinds["store"] || !kinds["counter"] || !kinds["cache"] || !kinds["clickshard"] {
		t.Errorf("checks = %+v, want the store and the three plugins serve starts", ready.Checks)
	}

	if out, err := pg.ctl("stop", "-m", "fast", "-w"); err != nil {
		t.Fatalf("stop postgres: %v\n%s", err, out)
	}
	waitReady(http.StatusServiceUnavailable, "not_ready")
	for _, c := range ready.Checks {
		down := c.Status == "down"
		if down != (c.Kind == "store") || (down && c.Error == "") || c.Required != (c.Kind == "store") {
			t.Errorf("with PostgreSQL down: check %+v", c)
		}
	}
	for range 3 {
		if resp, body := s.do(t, "GET", "/health", ""); resp.StatusCode != http.StatusOK || body != `{"instance":"probe-host","status":"ok"}`+"\n" {
			t.Errorf("GET /health with PostgreSQL down = %d %q", resp.StatusCode, body)
		}
	}

	if out, err := pg.ctl("start", "-w"); err != nil {
		t.Fatalf("start postgres: %v\n%s", err, out)
	}
	waitReady(http.StatusOK, "ready")
}

// TestShutdownDelay: with http.shutdown_delay a stopping serve keeps
// serving for the delay, readiness 503 "shutting_down" and every response
// Connection: close, then stops; without it, it stops taking connections
// at once.
func TestShutdownDelay(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	t.Parallel()
	s := startServer(t, t.TempDir(), "CURTAIN_HTTP__SHUTDOWN_DELAY=3s")
	if resp, body := s.do(t, "GET", "/health/ready", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /health/ready before the stop = %d %s", resp.StatusCode, body)
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !s.logs.waitFor(`"message":"serve.stopping"`, 5*time.Second) {
		t.Fatalf("no serve.stopping line:\n%s", s.logs)
	}
	resp, body := s.do(t, "GET", "/health/ready", "")
	var ready struct{ Status string }
	if err := json.Unmarshal([]byte(body), &ready); err != nil || resp.StatusCode != http.StatusServiceUnavailable || ready.Status != "shutting_down" {
		t.Errorf("GET /health/ready while stopping = %d %s, want 503 shutting_down", resp.StatusCode, body)
	}
	resp, body = s.do(t, "GET", "/health", "")
	if resp.StatusCode != http.StatusOK || !resp.Close {
		t.Errorf("GET /health while stopping = %d (Connection: close %v) %s, want 200 and close", resp.StatusCode, resp.Close, body)
	}
	select {
	case err := <-s.done:
		s.stopped = true
		if err != nil {
			t.Errorf("serve exited with %v\n%s", err, s.logs)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not stop after its delay\n%s", s.logs)
	}
	if _, _, err := request("GET", s.base+"/health", ""); err == nil {
		t.Error("GET /health after the stop succeeded")
	}

	// Without the delay the listener closes at once.
	s = startServer(t, t.TempDir())
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
		s.stopped = true
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not stop\n%s", s.logs)
	}
	if strings.Contains(s.logs.String(), "serve.stopping") {
		t.Errorf("serve without a delay logged serve.stopping:\n%s", s.logs)
	}
}

// TestSecondSignalStopsAtOnce: a second SIGTERM during a graceful stop
// ends serve at once instead of after its shutdown delay.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	t.Parallel()
	s := startServer(t, t.TempDir(), "CURTAIN_HTTP__SHUTDOWN_DELAY=60s")
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !s.logs.waitFor(`"message":"serve.stopping"`, 5*time.Second) {
		t.Fatalf("no serve.stopping line:\n%s", s.logs)
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		s.stopped = true
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Errorf("serve after a second SIGTERM exited with %v, want killed by the signal", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("serve still runs 10s after a second SIGTERM (delay 60s)\n%s", s.logs)
	}
}
