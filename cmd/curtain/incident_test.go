package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/curtainhq/curtain/plugins/discord/discordtest"
)

// promServer is a real Prometheus (Debian's package) on a free loopback
// port with a temporary data directory.
type promServer struct {
	base string
	cmd  *exec.Cmd
	logs *strings.Builder
}

// startPrometheus runs prometheus with config (prometheus.yml) and the
// files in extra beside it, and waits until it is ready. It is stopped
// when the test ends.
func startPrometheus(t *testing.T, config string, extra map[string]string) *promServer {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (apt-get install prometheus; .ci/run installs it)")
	}
	dir := t.TempDir()
	files := map[string]string{"prometheus.yml": config}
	for k, v := range extra {
		files[k] = v
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)
	p := &promServer{base: "http://" + addr, logs: &strings.Builder{}}
	p.cmd = exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr, "--log.level=warn")
	var mu sync.Mutex
	p.cmd.Stdout, p.cmd.Stderr = lockedWriter{&mu, p.logs}, lockedWriter{&mu, p.logs}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, _, err := request("GET", p.base+"/-/ready", ""); err == nil && resp.StatusCode == 200 {
			return p
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Fatalf("prometheus did not become ready:\n%s", p.logs)
	return nil
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// queryRange runs a range query over the last window and returns its
// series and how many of their values are numbers (not NaN or ±Inf).
func (p *promServer) queryRange(expr string, window time.Duration) (series, finite int, err error) {
	end := time.Now()
	q := url.Values{"query": {expr}, "start": {fmt.Sprint(end.Add(-window).Unix())}, "end": {fmt.Sprint(end.Unix())}, "step": {"1"}}
	resp, body, err := request("GET", p.base+"/api/v1/query_range?"+q.Encode(), "")
	if err != nil {
		return 0, 0, err
	}
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Values [][2]any `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		return 0, 0, fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
	}
	if out.Status != "success" {
		return 0, 0, fmt.Errorf("query failed: %s", out.Error)
	}
	for _, r := range out.Data.Result {
		for _, v := range r.Values {
			s, _ := v[1].(string)
			var f float64
			if _, err := fmt.Sscan(s, &f); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
				finite++
			}
		}
	}
	return len(out.Data.Result), finite, nil
}

// dashboardQueries returns "panel title → expressions" of the dashboard.
func dashboardQueries(t *testing.T) (titles []string, exprs map[string][]string) {
	t.Helper()
	b, err := os.ReadFile("../../deploy/grafana/dashboards/curtain.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr       string `json:"expr"`
				Datasource struct {
					UID string `json:"uid"`
				} `json:"datasource"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	exprs = map[string][]string{}
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		titles = append(titles, p.Title)
		for _, tg := range p.Targets {
			if tg.Datasource.UID != "prometheus" {
				t.Errorf("panel %q queries datasource %q, want uid prometheus", p.Title, tg.Datasource.UID)
			}
			exprs[p.Title] = append(exprs[p.Title], tg.Expr)
		}
	}
	return titles, exprs
}

// sendLoad sends GET requests to paths from workers until stop is closed; it
// counts the answers by status class.
func sendLoad(base string, paths []string, workers int, pause time.Duration, stop <-chan struct{}, counts *[6]atomic.Int64) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if resp, _, err := request("GET", base+paths[i%len(paths)], ""); err == nil {
					counts[resp.StatusCode/100].Add(1)
				}
				time.Sleep(pause)
			}
		})
	}
	return &wg
}

// TestIncidentResponse is the incident drill, end to end: Debian's
// Prometheus with the project's rules scrapes a running Curtain and
// `curtain notify`; traffic flows and every dashboard query returns data;
// then Curtain is pushed into 5xx through /debug/fail, notify delivers the
// CurtainHighErrorRate alert to a fake Discord (which answers 429 once),
// notify is restarted mid-incident, and the incident is resolved. Exactly
// one firing and one resolved message must arrive.
func TestIncidentResponse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus and curtain processes")
	}
	t.Parallel() // its own server, database and ports
	if _, err := exec.LookPath("prometheus"); err != nil {
		t.Skip("prometheus is not installed (apt-get install prometheus; .ci/run installs it)")
	}
	s := startServer(t, t.TempDir(), "ENABLE_INCIDENT_DEBUG_ROUTES=true")
	fake := discordtest.New(t, discordtest.Options{RateLimit: 1, RetryAfter: 0.3})
	notifyDir, notifyAddr := t.TempDir(), freeAddr(t)

	// The project's rules; the test copy only shortens the error-rate
	// rule's "for" from 2m to 2s.
	rules, err := os.ReadFile("../../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(rules), "for: 2m") != 1 {
		t.Fatal(`alerts.yml: want exactly one "for: 2m" (CurtainHighErrorRate)`)
	}
	testRules := strings.Replace(string(rules), "for: 2m", "for: 2s", 1)
	config := fmt.Sprintf(`global:
  scrape_interval: 500ms
  evaluation_interval: 500ms
rule_files: [alerts.yml]
scrape_configs:
  - job_name: curtain-app
    static_configs: [{targets: [%q]}]
  - job_name: curtain-notify
    static_configs: [{targets: [%q]}]
`, strings.TrimPrefix(s.base, "http://"), notifyAddr)
	prom := startPrometheus(t, config, map[string]string{"alerts.yml": testRules})
	notifyEnv := []string{"DISCORD_WEBHOOK_URL=" + fake.URL + "/api/webhooks/1/token", "PROMETHEUS_URL=" + prom.base,
		"NOTIFIER_POLL_SECONDS=1", "CURTAIN_NOTIFY__ADDR=" + notifyAddr, "HOSTNAME=notify-test"}
	startNotify := func() *process {
		p := startProcess(t, notifyDir, []string{"notify"}, notifyEnv)
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if resp, _, err := request("GET", "http://"+notifyAddr+"/health", ""); err == nil && resp.StatusCode == 200 {
				return p
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("notify did not become healthy\n%s", p.logs)
		return nil
	}
	notify := startNotify()

	// Traffic for the dashboard: the API, redirects and health checks.
	_, body := s.do(t, "POST", "/urls", `{"original_url":"https://example.com/drill","title":"Drill"}`)
	var u struct {
		ID        int64  `json:"id"`
		ShortCode string `json:"short_code"`
	}
	if err := json.Unmarshal([]byte(body), &u); err != nil || u.ShortCode == "" {
		t.Fatalf("POST /urls: %s", body)
	}
	paths := []string{"/health", "/r/" + u.ShortCode, "/urls", fmt.Sprintf("/urls/%d", u.ID), "/urls/short/" + u.ShortCode}
	var counts [6]atomic.Int64
	stop := make(chan struct{})
	wg := sendLoad(s.base, paths, 2, 30*time.Millisecond, stop, &counts)

	titles, exprs := dashboardQueries(t)
	// Only notify runs an alert sink (serve never calls one): serve's
	// plugins are scraped, and none of them is an alert sink.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, _, err := prom.queryRange(`curtain_plugin_up{job="curtain-app",kind="counter"}`, 5*time.Second)
		if err == nil && n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve's plugins not scraped after 10s (err %v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n, _, err := prom.queryRange(`curtain_plugin_up{job="curtain-app",kind="alertsink"}`, 5*time.Second); err != nil || n != 0 {
		t.Errorf("serve runs an alert-sink plugin (%d series, err %v), want none", n, err)
	}
	extra := map[string]string{
		"notify's discord sink is up":          `curtain_plugin_up{job="curtain-notify",kind="alertsink"} == 1`,
		"the reference's 0.075 bucket":         `http_request_duration_seconds_bucket{le="0.075"}`,
		"the reference's 7.5 bucket":           `http_request_duration_seconds_bucket{le="7.5"}`,
		"one-shard failover series (to store)": `redis_shard_failovers_total{from_shard="shard0",to_shard="store"}`,
	}
	var missing map[string]string
	deadline = time.Now().Add(40 * time.Second)
	for {
		missing = map[string]string{}
		for _, title := range titles {
			for _, e := range exprs[title] {
				n, finite, err := prom.queryRange(e, 10*time.Second)
				if err != nil || n == 0 || finite == 0 {
					missing[title+": "+e] = fmt.Sprintf("series=%d values=%d err=%v", n, finite, err)
				}
			}
		}
		for what, e := range extra {
			if n, _, err := prom.queryRange(e, 10*time.Second); err != nil || n == 0 {
				missing[what+": "+e] = fmt.Sprintf("series=%d err=%v", n, err)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	close(stop)
	wg.Wait()
	for q, why := range missing {
		t.Errorf("dashboard query without data: %s (%s)", q, why)
	}
	n := 0
	for _, title := range titles {
		n += len(exprs[title])
	}
	t.Logf("dashboard: %d panels, %d queries, %d without data; traffic 2xx=%d 3xx=%d 4xx=%d 5xx=%d",
		len(titles), n, len(missing), counts[2].Load(), counts[3].Load(), counts[4].Load(), counts[5].Load())
	for _, title := range titles {
		t.Logf("  panel %q: %d queries with data", title, len(exprs[title]))
	}

	// The drill: 100 failing requests over about 3 seconds (across several
	// scrapes, so that rate() sees them).
	for range 100 {
		if resp, _ := s.do(t, "GET", "/debug/fail", ""); resp.StatusCode != 500 {
			t.Fatalf("GET /debug/fail = %d, want 500", resp.StatusCode)
		}
		time.Sleep(30 * time.Millisecond)
	}
	waitLines := func(what string, want int) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for len(fake.Lines()) < want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no message after 60s; lines %q\nnotify logs:\n%s", what, fake.Lines(), notify.logs)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitLines("firing", 1)

	// Restart notify mid-incident: the alert still fires, and the
	// restarted notify must not send it again.
	notify.stop(t)
	firstLogs := notify.logs.String()
	notify = startNotify()
	time.Sleep(4 * time.Second) // several polls of the restarted notify
	if got := fake.Lines(); len(got) != 1 {
		t.Fatalf("after the restart the messages are %q, want only the first firing one", got)
	}

	// Resolve: enough successful requests to bring 5xx under 5 percent of
	// the 2-minute window.
	stop = make(chan struct{})
	wg = sendLoad(s.base, []string{"/health"}, 8, 0, stop, &counts)
	for counts[2].Load() < 6000 {
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	waitLines("resolved", 2)
	time.Sleep(3 * time.Second) // and nothing more arrives

	lines := fake.Lines()
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "[FIRING] CurtainHighErrorRate severity=warning | Curtain high error rate | ") ||
		!strings.HasPrefix(lines[1], "[RESOLVED] CurtainHighErrorRate severity=warning | Curtain high error rate | ") {
		t.Errorf("alert lines = %q, want one [FIRING] and one [RESOLVED] CurtainHighErrorRate", lines)
	}
	if got, want := fake.Requests(), len(fake.Messages())+1; got != want {
		t.Errorf("Discord got %d requests, want %d (the messages and one answered 429)", got, want)
	}
	if len(fake.Rejected()) > 0 {
		t.Errorf("Discord refused requests: %q", fake.Rejected())
	}
	t.Logf("drill message log (%d requests to Discord, one answered 429):", fake.Requests())
	for _, m := range fake.Messages() {
		t.Logf("  %s", strings.ReplaceAll(m, "\n", "\n  "))
	}
	if !strings.Contains(firstLogs, `"message":"alerts.delivered"`) {
		t.Errorf("first notify never logged alerts.delivered:\n%s", firstLogs)
	}
}
