package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestPostgresHung stops every process of the PostgreSQL server under a
// running curtain serve with SIGSTOP, so that it accepts connections but
// answers nothing. With store.query_timeout at 300ms, requests that need
// the store answer 503 {"error":"Service unavailable"} instead of waiting
// for the server, and a cached redirect still answers 302. After SIGCONT
// everything answers as before and every click served is stored.
func TestPostgresHung(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	t.Parallel() // its own server, database and ports
	pg := startPostgresCluster(t)
	s := startServer(t, t.TempDir(), "DATABASE_URL="+pg.url(), "CURTAIN_STORE__QUERY_TIMEOUT=300ms")

	// ask sends one request, failing the test when no answer comes
	// within the client's timeout.
	ask := func(method, path, body string) (int, string) {
		t.Helper()
		resp, text := s.do(t, method, path, body)
		return resp.StatusCode, text
	}
	type link struct {
		ID        int64  `json:"id"`
		ShortCode string `json:"short_code"`
	}
	create := func(n int) link {
		t.Helper()
		status, body := ask("POST", "/urls", fmt.Sprintf(`{"original_url":"https://example.com/hung/%d"}`, n))
		var l link
		if err := json.Unmarshal([]byte(body), &l); status != http.StatusCreated || err != nil {
			t.Fatalf("POST /urls = %d %s", status, body)
		}
		return l
	}
	served := int64(0)
	redirect := func(code string) int {
		t.Helper()
		status, _ := ask("GET", "/r/"+code, "")
		if status == http.StatusFound {
			served++
		}
		return status
	}

	cached, uncached := create(1), create(2)
	if status := redirect(cached.ShortCode); status != http.StatusFound {
		t.Fatalf("GET /r/%s = %d, want 302", cached.ShortCode, status)
	}

	pg.signalAll(t, syscall.SIGSTOP)
	const unavailable = `{"error":"Service unavailable"}` + "\n"
	for _, r := range []struct{ method, path, body string }{
		{"GET", fmt.Sprintf("/urls/%d", uncached.ID), ""},
		{"GET", "/r/" + uncached.ShortCode, ""},
		{"POST", "/urls", `{"original_url":"https://example.com/hung/3"}`},
		{"GET", fmt.Sprintf("/urls/%d", uncached.ID), ""}, // again: no connection is left waiting
	} {
		if status, body := ask(r.method, r.path, r.body); status != http.StatusServiceUnavailable || body != unavailable {
			t.Errorf("%s %s with PostgreSQL stopped = %d %q, want 503 %q", r.method, r.path, status, body, unavailable)
		}
	}
	for range 3 {
		if status := redirect(cached.ShortCode); status != http.StatusFound {
			t.Errorf("cached GET /r/%s with PostgreSQL stopped = %d, want 302", cached.ShortCode, status)
		}
	}

	pg.signalAll(t, syscall.SIGCONT)
	if status, body := ask("GET", fmt.Sprintf("/urls/%d", uncached.ID), ""); status != http.StatusOK {
		t.Errorf("GET /urls/%d after SIGCONT = %d %s, want 200", uncached.ID, status, body)
	}
	create(4)
	for _, code := range []string{uncached.ShortCode, cached.ShortCode} {
		if status := redirect(code); status != http.StatusFound {
			t.Errorf("GET /r/%s after SIGCONT = %d, want 302", code, status)
		}
	}
	waitStored(t, pg.url(), served)
}

// signalAll sends sig to the server's postmaster and every process it
// started. Stopping (SIGSTOP) is undone by SIGCONT when the test ends,
// before the server is stopped, whatever happened.
func (c *pgCluster) signalAll(t *testing.T, sig syscall.Signal) {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(c.dir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	postmaster, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(text), "\n", 2)[0]))
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	pids := []int{postmaster} // first, so that it starts no process meanwhile
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // gone
		}
		// pid (comm) state ppid ...; comm may hold spaces.
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(postmaster) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			pids = append(pids, pid)
		}
	}
	if sig == syscall.SIGSTOP {
		t.Cleanup(func() {
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGCONT)
			}
		})
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil {
			t.Errorf("signal %v to PostgreSQL process %d: %v", sig, pid, err)
		}
	}
	t.Logf("sent %v to %d PostgreSQL processes", sig, len(pids))
}
