package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// curtainBin is the curtain binary, built by TestMain.
var curtainBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "client-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	curtainBin = filepath.Join(dir, "curtain")
	if out, err := exec.Command("go", "build", "-o", curtainBin, "../../cmd/curtain").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build curtain: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startCurtain runs `curtain serve` (the embedded default) on a free
// loopback port until the test ends, and returns its base URL.
func startCurtain(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(curtainBin, "serve", "--addr", addr)
	cmd.Dir = t.TempDir()
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("curtain did not stop\n%s", logs.String())
		}
	})
	base := "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		if resp, err := http.Get(base + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case err := <-done:
			t.Fatalf("curtain exited: %v\n%s", err, logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("curtain did not start\n%s", logs.String())
	return ""
}

func TestClientAgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts curtain serve; skipped with -short")
	}
	var visits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		visits.Add(1)
		w.WriteHeader(http.StatusTeapot)
	}))
	defer target.Close()
	base := startCurtain(t)

	var out bytes.Buffer
	if err := run(t.Context(), []string{"-server", base, "-url", target.URL + "/welcome", "-title", "Example"}, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	want := regexp.MustCompile(`^created ` + regexp.QuoteMeta(base) + `/r/(\w{6}) -> ` + regexp.QuoteMeta(target.URL) + `/welcome \(id 1\)
followed: 302 to ` + regexp.QuoteMeta(target.URL) + `/welcome, which answered 418
realtime: 1 clicks, 1 unique visitors
analytics: \d+ events stored \(map\[created:1.*\]\)
$`)
	if !want.MatchString(out.String()) {
		t.Errorf("output:\n%s\nwant to match:\n%s", out.String(), want)
	}
	if visits.Load() != 1 {
		t.Errorf("the target was visited %d times, want 1", visits.Load())
	}

	// Errors carry the API's message.
	c := &Client{Base: base, HTTP: http.DefaultClient}
	_, err := c.Create(context.Background(), "ftp://example.com/", "")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest || !strings.Contains(apiErr.Message, "valid http or https URL") {
		t.Errorf("Create(ftp://...) = %v, want a 400 APIError", err)
	}
	if _, _, err := c.Follow(context.Background(), "nope"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Errorf("Follow(nope) = %v, want a 404 APIError", err)
	}
}
