package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/curtainhq/curtain/internal/testenv"
)

// curtainBin is the curtain binary built once for the tests that run it as
// a real process (it re-executes itself for its built-in plugins).
var curtainBin string

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, ".", "curtain", &curtainBin, noLeftovers))
}

// noLeftovers fails the suite when a curtain process, a server or one of
// the plugins it re-executed, outlives the tests (a plugin whose host was
// killed must notice and exit).
func noLeftovers(code int) int {
	if left := testenv.Leftovers(curtainBin, 10*time.Second); left != "" {
		fmt.Fprintln(os.Stderr, "FAIL:", left)
		return max(code, 1)
	}
	return code
}

// freeAddr returns a free loopback address.
func freeAddr(t testing.TB) string { return testenv.FreeAddr(t) }

// process is a curtain subprocess under test.
type process struct {
	cmd     *exec.Cmd
	logs    *logBuffer
	done    chan error
	stopped bool
}

// startProcess runs curtain with args in dir and env, and stops it when
// the test ends.
func startProcess(t testing.TB, dir string, args, env []string) *process {
	t.Helper()
	cmd := exec.Command(curtainBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	p := &process{cmd: cmd, logs: &logBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// logBuffer collects a process's output; it may be read while the
// process writes.
type logBuffer struct{ testenv.LogBuffer }

// waitFor waits up to within for the output to contain s.
func (l *logBuffer) waitFor(s string, within time.Duration) bool {
	for end := time.Now().Add(within); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if strings.Contains(l.String(), s) {
			return true
		}
	}
	return strings.Contains(l.String(), s)
}

// stop sends SIGINT and checks that the process exits cleanly.
func (p *process) stop(t testing.TB) {
	t.Helper()
	if p.stopped {
		return
	}
	p.stopped = true
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("curtain %s exited with %v\n%s", p.cmd.Args[1], err, p.logs)
		}
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("curtain %s did not stop within 20s\n%s", p.cmd.Args[1], p.logs)
	}
}

// kill stops the process with SIGKILL.
func (p *process) kill() {
	p.stopped = true
	_ = p.cmd.Process.Kill()
	<-p.done
}

// server is a `curtain serve` process under test.
type server struct {
	*process
	base string
}

// startServer runs `curtain serve` in dir with env and waits for /health.
func startServer(t testing.TB, dir string, env ...string) *server {
	t.Helper()
	return startServerArgs(t, dir, nil, env...)
}

// startServerArgs is startServer with extra command-line arguments.
func startServerArgs(t testing.TB, dir string, args []string, env ...string) *server {
	t.Helper()
	addr := freeAddr(t)
	s := &server{
		process: startProcess(t, dir, append([]string{"serve", "--addr", addr}, args...), append([]string{"HOSTNAME=probe-host"}, env...)),
		base:    "http://" + addr,
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, _, err := request("GET", s.base+"/health", ""); err == nil && resp.StatusCode == 200 {
			return s
		}
		select {
		case err := <-s.done:
			s.stopped = true
			t.Fatalf("curtain exited early: %v\n%s", err, s.logs)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("curtain did not become healthy\n%s", s.logs)
	return nil
}

// do sends a request to the server and returns the response (its body
// already read and closed) and the body.
func (s *server) do(t testing.TB, method, path, body string) (*http.Response, string) {
	t.Helper()
	resp, text, err := request(method, s.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, text
}

// request sends one request (JSON when body is not empty) without
// following redirects, and returns the response, its body already read and
// closed, and the body. It is safe to call from any goroutine.
func request(method, url, body string) (*http.Response, string, error) {
	return testenv.Request(method, url, body)
}

var noRedirects = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{MaxIdleConnsPerHost: 16},
}

func runCurtain(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), curtainBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("curtain %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestServeEmbeddedDefault runs the README's command: no configuration, a
// SQLite file in the working directory and the memory plugins as processes.
// Clicks reach the events table through the in-process consumer, and the
// ones still queued at shutdown are stored before the process exits.
func TestServeEmbeddedDefault(t *testing.T) {
	t.Parallel() // its own server, database and ports
	dir := t.TempDir()
	s := startServer(t, dir)

	resp, body := s.do(t, "GET", "/health", "")
	if body != `{"instance":"probe-host","status":"ok"}`+"\n" {
		t.Errorf("GET /health = %d %q", resp.StatusCode, body)
	}
	wantJSONServerError(t, strings.TrimPrefix(s.base, "http://"))
	resp, body = s.do(t, "POST", "/urls", `{"original_url":"https://example.com/e2e","title":"E2E"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("POST /urls = %d %s", resp.StatusCode, body)
	}
	var u struct {
		ID        int64  `json:"id"`
		ShortCode string `json:"short_code"`
	}
	if err := json.Unmarshal([]byte(body), &u); err != nil {
		t.Fatal(err)
	}
	if u.ShortCode != "000001" {
		t.Errorf("first short code = %q, want 000001 on an empty store", u.ShortCode)
	}
	const clicks = 25
	for i := 0; i < clicks; i++ {
		resp, _ := s.do(t, "GET", "/r/"+u.ShortCode, "")
		if resp.StatusCode != 302 || resp.Header.Get("Location") != "https://example.com/e2e" {
			t.Fatalf("GET /r/%s = %d %q", u.ShortCode, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// The consumer stores the clicks; analytics count each exactly once
	// (real-time pending clicks plus durable events, never both).
	deadline := time.Now().Add(10 * time.Second)
	var events []json.RawMessage
	for time.Now().Before(deadline) {
		_, body = s.do(t, "GET", fmt.Sprintf("/events?url_id=%d&event_type=redirect", u.ID), "")
		events = nil
		_ = json.Unmarshal([]byte(body), &events)
		if len(events) >= clicks {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(events) != clicks {
		t.Fatalf("stored %d redirect events, want %d", len(events), clicks)
	}
	_, body = s.do(t, "GET", fmt.Sprintf("/urls/%d/analytics", u.ID), "")
	if !strings.Contains(body, fmt.Sprintf(`"redirect_count":%d`, clicks)) {
		t.Errorf("analytics = %s, want redirect_count %d", body, clicks)
	}
	resp, body = s.do(t, "GET", "/metrics", "")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /metrics = %d", resp.StatusCode)
	}
	for _, name := range []string{"http_requests_total", "http_request_duration_seconds", "process_cpu_seconds_total", "process_resident_memory_bytes", "curtain_plugin_up", "curtain_build_info"} {
		if !strings.Contains(body, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}

	// Clicks served just before a graceful stop are not lost.
	for i := 0; i < clicks; i++ {
		s.do(t, "GET", "/r/"+u.ShortCode, "")
	}
	s.stop(t)
	if _, err := os.Stat(filepath.Join(dir, "curtain.db")); err != nil {
		t.Fatalf("no SQLite file in the working directory: %v", err)
	}
	s2 := startServer(t, dir)
	_, body = s2.do(t, "GET", fmt.Sprintf("/events?url_id=%d&event_type=redirect", u.ID), "")
	events = nil
	_ = json.Unmarshal([]byte(body), &events)
	if len(events) != 2*clicks {
		t.Errorf("after restart %d redirect events are stored, want %d", len(events), 2*clicks)
	}
}

func TestConfigCommandMasksSecrets(t *testing.T) {
	out := runCurtain(t, t.TempDir(), []string{"DATABASE_URL=postgres://app:hunter2@db:5432/x", "CACHE_REDIS_URL=redis://cache:6379/0"}, "config")
	if strings.Contains(out, "hunter2") {
		t.Errorf("config leaks the password:\n%s", out)
	}
	for _, want := range []string{"driver: postgres", "store     DATABASE_URL", "cache     CACHE_REDIS_URL", "counter   default (embedded)"} {
		if !strings.Contains(out, want) {
			t.Errorf("config output lacks %q:\n%s", want, out)
		}
	}
}

// TestDotEnv: the app's commands read ./.env as the reference's app does
// (spec §12): its variables apply where the environment does not set
// them, and the consumer reads only the real environment.
func TestDotEnv(t *testing.T) {
	dir := t.TempDir()
	dotEnv := "# the reference's .env.example, in part\nDATABASE_URL=postgres://app:pw@db:5432/fromdotenv\nLOG_LEVEL=ERROR\nFLASK_RUN_PORT=5000\n"
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(dotEnv), 0o600); err != nil {
		t.Fatal(err)
	}
	out := runCurtain(t, dir, nil, "config")
	for _, want := range []string{"driver: postgres", "fromdotenv", "level: error"} {
		if !strings.Contains(out, want) {
			t.Errorf("config with a .env lacks %q:\n%s", want, out)
		}
	}
	out = runCurtain(t, dir, []string{"LOG_LEVEL=debug"}, "config")
	if !strings.Contains(out, "level: debug") {
		t.Errorf("the environment's LOG_LEVEL does not win over .env:\n%s", out)
	}
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("DATABASE_URL=\"unterminated\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(curtainBin, "config")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), ".env") {
		t.Errorf("config with a broken .env = %v\n%s, want an error naming .env", err, out)
	}
}

func TestConfigRejectsBadValues(t *testing.T) {
	cmd := exec.Command(curtainBin, "config")
	cmd.Env = append(os.Environ(), "CURTAIN_STORE__DRIVER=mysql")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "store.driver") {
		t.Errorf("curtain config with a bad driver = %v\n%s, want an error naming store.driver", err, out)
	}
}

func TestPluginsCommand(t *testing.T) {
	// A free address: a server on the machine's :5000 must not answer.
	out := runCurtain(t, t.TempDir(), nil, "plugins", "--addr", freeAddr(t))
	sc := bufio.NewScanner(strings.NewReader(out))
	rows := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "builtin memory") {
			rows++
			if !strings.Contains(line, "healthy") || strings.Contains(line, "unhealthy") {
				t.Errorf("plugin not healthy: %s", line)
			}
		}
	}
	if rows != 4 {
		t.Errorf("curtain plugins listed %d memory plugins, want 4:\n%s", rows, out)
	}
}

func TestSeedMigrateReset(t *testing.T) {
	seedDir, err := filepath.Abs("../../../shared/seed-data")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(seedDir); err != nil {
		t.Skipf("no seed data at %s: %v", seedDir, err)
	}
	dir := t.TempDir()
	runCurtain(t, dir, nil, "migrate")
	out := runCurtain(t, dir, nil, "seed", seedDir)
	if !strings.Contains(out, "400 users, 2000 urls, 3422 events inserted") {
		t.Errorf("seed output = %q", out)
	}
	out = runCurtain(t, dir, nil, "seed", seedDir)
	if !strings.Contains(out, "0 users, 0 urls, 0 events inserted") {
		t.Errorf("second seed output = %q, want nothing inserted", out)
	}
	s := startServer(t, dir)
	_, body := s.do(t, "GET", "/urls/1", "")
	want := `{"created_at":"2025-10-14T15:07:51","id":1,"is_active":true,"original_url":"https://hackstack.io/jade/uplink/1","short_code":"d5DnL5","title":"Ops review river","updated_at":"2026-01-22T14:39:15","user_id":1}` + "\n"
	if body != want {
		t.Errorf("GET /urls/1 = %q, want %q", body, want)
	}
	resp, body := s.do(t, "POST", "/urls", `{"original_url":"https://example.com/after-seed"}`)
	if resp.StatusCode != 201 || !strings.Contains(body, `"short_code":"0000wh"`) {
		t.Errorf("first code after seed = %d %s, want 0000wh", resp.StatusCode, body)
	}
	s.stop(t)
	out = runCurtain(t, dir, nil, "reset")
	if !strings.Contains(out, "Reset tables") {
		t.Errorf("reset output = %q", out)
	}
}

func TestUnknownCommand(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"frobnicate"}, nil, io.Discard, &stderr)
	if !errors.Is(err, errUsage) || !strings.Contains(stderr.String(), "unknown command") {
		t.Errorf("run(frobnicate) = %v, stderr %q", err, stderr.String())
	}
}

func TestConsumeRefusesMemoryShards(t *testing.T) {
	cmd := exec.Command(curtainBin, "consume")
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "memory plugin") {
		t.Errorf("curtain consume on the embedded default = %v\n%s, want an error explaining memory shards", err, out)
	}
}

// TestPluginsListsTheConfiguredPlugins: `curtain plugins --config FILE`
// on the address of a server that runs other plugins lists the plugins
// FILE names (started here), not the server's; --server still asks the
// server.
func TestPluginsListsTheConfiguredPlugins(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	cfg := filepath.Join(dir, "two-shards.yaml")
	if err := os.WriteFile(cfg, []byte("plugins:\n  shards: [{builtin: memory}, {builtin: memory}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(s.base, "http://")
	out := runCurtain(t, dir, nil, "plugins", "--config", cfg, "--addr", addr)
	if !strings.Contains(grepLines(out, "shard1"), "builtin memory") {
		t.Errorf("curtain plugins --config %s did not list the configured shard1:\n%s", cfg, out)
	}
	if !strings.Contains(out, "runs other plugins than this configuration names (clickshard shard1 is not on the server)") {
		t.Errorf("curtain plugins did not say why it started the plugins itself:\n%s", out)
	}
	out = runCurtain(t, dir, nil, "plugins", "--config", cfg, "--server", s.base)
	if grepLines(out, "shard1") != "" || !strings.Contains(out, "as the server at "+s.base+" sees them") {
		t.Errorf("curtain plugins --server %s did not list the server's plugins:\n%s", s.base, out)
	}
	out = runCurtain(t, dir, nil, "plugins", "--addr", addr)
	if !strings.Contains(out, "as the server at "+s.base+" sees them") {
		t.Errorf("curtain plugins with the server's own configuration did not ask the server:\n%s", out)
	}
}

// TestSeedAllOrNothing: the seed is one transaction, as the reference's
// seed script is. URLs that break a constraint after the users went in
// (here two rows with one short code) fail the seed, and the users are
// not left behind; fixed files then seed everything.
func TestSeedAllOrNothing(t *testing.T) {
	t.Parallel() // its own directories and databases
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			dir := t.TempDir()
			var env []string
			if store == "postgres" {
				env = []string{"DATABASE_URL=" + newDatabase(t)}
			}
			seedDir := t.TempDir()
			write := func(name, text string) {
				if err := os.WriteFile(filepath.Join(seedDir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write("users.csv", "id,username,email,created_at\n1,ann,ann@example.com,2025-01-01 00:00:00\n2,bob,bob@example.com,2025-01-01 00:00:00\n")
			write("urls.csv", "id,user_id,short_code,original_url,title,is_active,created_at,updated_at\n"+
				"1,1,same01,https://example.com/1,One,True,2025-01-01 00:00:00,2025-01-01 00:00:00\n"+
				"2,2,same01,https://example.com/2,Two,True,2025-01-01 00:00:00,2025-01-01 00:00:00\n")
			write("events.csv", "id,url_id,user_id,event_type,timestamp,details\n")
			cmd := exec.CommandContext(t.Context(), curtainBin, "seed", seedDir)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), env...)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "nothing stored") {
				t.Fatalf("seed with a duplicate short code = %v\n%s, want a failure saying nothing was stored", err, out)
			}
			write("urls.csv", "id,user_id,short_code,original_url,title,is_active,created_at,updated_at\n"+
				"1,1,same01,https://example.com/1,One,True,2025-01-01 00:00:00,2025-01-01 00:00:00\n"+
				"2,2,other2,https://example.com/2,Two,True,2025-01-01 00:00:00,2025-01-01 00:00:00\n")
			if out := runCurtain(t, dir, env, "seed", seedDir); !strings.Contains(out, "2 users, 2 urls, 0 events inserted") {
				t.Errorf("seed after the fix = %q, want every row inserted (the failed seed left none behind)", out)
			}
		})
	}
}
