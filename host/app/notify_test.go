package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/drivers/sqlite"
	"github.com/curtainhq/curtain/host"
	"github.com/curtainhq/curtain/internal/testenv"
	"github.com/curtainhq/curtain/plugins/memory"
)

// fakePrometheus serves /api/v1/alerts from a list the test sets; down
// makes it answer 503. It serves /api/v1/rules only when rules is set:
// the alerting rules by name, true for those evaluated since the start.
type fakePrometheus struct {
	mu     sync.Mutex
	alerts []promAlert
	down   bool
	rules  map[string]bool
}

func (p *fakePrometheus) setRules(rules map[string]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = rules
}

func (p *fakePrometheus) set(down bool, alerts ...promAlert) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down, p.alerts = down, alerts
}

func (p *fakePrometheus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.down && p.rules != nil && r.URL.Path == "/api/v1/rules" {
		// The shape of Prometheus' answer: a rule not evaluated yet has
		// the zero time as its last evaluation.
		var rules []map[string]any
		for _, name := range slices.Sorted(maps.Keys(p.rules)) {
			last := "0001-01-01T00:00:00Z"
			if p.rules[name] {
				last = "2026-04-04T18:00:00.5Z"
			}
			rules = append(rules, map[string]any{"name": name, "type": "alerting", "state": "inactive", "lastEvaluation": last})
		}
		json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{
			"groups": []any{map[string]any{"name": "curtain", "rules": rules}}}})
		return
	}
	if p.down || r.URL.Path != "/api/v1/alerts" {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"alerts": p.alerts}})
}

func promFiring(name, shard string) promAlert {
	return promAlert{State: "firing", Value: "1e+00", ActiveAt: time.Date(2026, 4, 4, 18, 0, 0, 0, time.UTC),
		Labels:      map[string]string{"alertname": name, "severity": "warning", "shard_id": shard},
		Annotations: map[string]string{"summary": "Redis shard " + shard + " is failing"}}
}

// notifyRig is a notifier over a fake Prometheus, a SQLite store and a
// memory sink, as runNotify wires them.
type notifyRig struct {
	n     *notifier
	q     *host.AlertQueue
	store core.Store
	reg   *prometheus.Registry
}

func newNotifyRig(t *testing.T, dbPath, promURL string, sink core.AlertSink, cfg host.AlertQueueConfig) *notifyRig {
	t.Helper()
	store, err := sqlite.Open(t.Context(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	n := newNotifier(sentState{store.DB()}, promURL, log, reg)
	if err := n.loadState(t.Context()); err != nil {
		t.Fatal(err)
	}
	q := n.startQueue(sink, cfg, host.Options{Logger: log, Registry: reg})
	t.Cleanup(func() { q.Close(context.Background()) })
	return &notifyRig{n: n, q: q, store: store, reg: reg}
}

// pollAndDrain polls once and waits until the queue has delivered.
func (r *notifyRig) pollAndDrain(t *testing.T) {
	t.Helper()
	r.n.poll(t.Context())
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.n.mu.Lock()
		pending := len(r.n.queued)
		r.n.mu.Unlock()
		if pending == 0 && r.q.Len() == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("alerts still queued after 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func delivered(sink *memory.AlertSink) []string {
	var out []string
	for _, a := range sink.Alerts() {
		out = append(out, a.Status+" "+a.Labels["alertname"]+"/"+a.Labels["shard_id"])
	}
	return out
}

func TestNotifierSendsOnceAndResolves(t *testing.T) {
	prom := &fakePrometheus{}
	srv := httptest.NewServer(prom)
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "curtain.db")
	sink := memory.NewAlertSink()
	rig := newNotifyRig(t, db, srv.URL, sink, host.AlertQueueConfig{})

	pending := promFiring("CurtainHighErrorRate", "")
	pending.State = "pending"
	// Two alerts differing only in shard_id are two alerts (Q23).
	prom.set(false, promFiring("CurtainRedisShardFailures", "shard0"), promFiring("CurtainRedisShardFailures", "shard1"), pending)
	rig.pollAndDrain(t)
	rig.pollAndDrain(t)
	want := []string{"firing CurtainRedisShardFailures/shard0", "firing CurtainRedisShardFailures/shard1"}
	if got := delivered(sink); !slices.Equal(got, want) {
		t.Fatalf("after two polls delivered %q, want %q", got, want)
	}

	// Prometheus down: logged, nothing resolved.
	prom.set(true)
	rig.pollAndDrain(t)
	if got := delivered(sink); len(got) != 2 {
		t.Fatalf("Prometheus down changed deliveries: %q", got)
	}

	// A restarted notify (a new notifier on the same store) repeats
	// nothing, and delivers the resolution of shard0 once.
	rig.q.Close(t.Context())
	sink2 := memory.NewAlertSink()
	rig2 := newNotifyRig(t, db, srv.URL, sink2, host.AlertQueueConfig{})
	prom.set(false, promFiring("CurtainRedisShardFailures", "shard1"))
	rig2.pollAndDrain(t)
	rig2.pollAndDrain(t)
	want = []string{"resolved CurtainRedisShardFailures/shard0"}
	if got := delivered(sink2); !slices.Equal(got, want) {
		t.Fatalf("after restart delivered %q, want %q", got, want)
	}
	resolved := sink2.Alerts()[0]
	if resolved.Annotations["summary"] != "Redis shard shard0 is failing" || resolved.Fingerprint != fingerprint(promFiring("CurtainRedisShardFailures", "shard0").Labels) {
		t.Errorf("resolved alert = %+v, want the delivered alert's labels, annotations and fingerprint", resolved)
	}

	// It fires again: a new firing notification.
	prom.set(false, promFiring("CurtainRedisShardFailures", "shard0"), promFiring("CurtainRedisShardFailures", "shard1"))
	rig2.pollAndDrain(t)
	want = append(want, "firing CurtainRedisShardFailures/shard0")
	if got := delivered(sink2); !slices.Equal(got, want) {
		t.Fatalf("after re-firing delivered %q, want %q", got, want)
	}
}

// TestNotifierPendingIsNotResolved: a restarted Prometheus reports every
// alert that fired before as pending again for its "for" duration. A
// delivered alert reported as pending still holds: notify used to send
// its resolution and then, once it fired again, a second firing message
// for the same incident.
func TestNotifierPendingIsNotResolved(t *testing.T) {
	prom := &fakePrometheus{}
	srv := httptest.NewServer(prom)
	defer srv.Close()
	sink := memory.NewAlertSink()
	rig := newNotifyRig(t, filepath.Join(t.TempDir(), "c.db"), srv.URL, sink, host.AlertQueueConfig{})

	firing := promFiring("CurtainInstanceDown", "")
	prom.set(false, firing)
	rig.pollAndDrain(t)
	pending := firing
	pending.State = "pending"
	pending.ActiveAt = firing.ActiveAt.Add(time.Hour)
	prom.set(false, pending)
	rig.pollAndDrain(t)
	prom.set(false, firing)
	rig.pollAndDrain(t)
	want := []string{"firing CurtainInstanceDown/"}
	if got := delivered(sink); !slices.Equal(got, want) {
		t.Fatalf("after firing, pending, firing delivered %q, want %q", got, want)
	}

	prom.set(false)
	rig.pollAndDrain(t)
	want = append(want, "resolved CurtainInstanceDown/")
	if got := delivered(sink); !slices.Equal(got, want) {
		t.Fatalf("after the alert went away delivered %q, want %q", got, want)
	}
}

// TestNotifierWaitsForRulesAfterAPrometheusRestart: a restarted
// Prometheus reports no alert at all until it has evaluated their rules,
// up to an evaluation interval later. Notify used to deliver a resolution
// of every firing alert then, and the alert again at the next firing.
// An alert whose rule has been evaluated and no longer reports it is
// resolved; so is one whose rule is gone.
func TestNotifierWaitsForRulesAfterAPrometheusRestart(t *testing.T) {
	prom := &fakePrometheus{}
	srv := httptest.NewServer(prom)
	defer srv.Close()
	sink := memory.NewAlertSink()
	rig := newNotifyRig(t, filepath.Join(t.TempDir(), "c.db"), srv.URL, sink, host.AlertQueueConfig{})

	down, shard := promFiring("CurtainInstanceDown", ""), promFiring("CurtainRedisShardFailures", "shard0")
	prom.setRules(map[string]bool{"CurtainInstanceDown": true, "CurtainRedisShardFailures": true, "CurtainStoreUnavailable": true})
	prom.set(false, down, shard)
	rig.pollAndDrain(t)
	want := []string{"firing CurtainInstanceDown/", "firing CurtainRedisShardFailures/shard0"}
	if got := delivered(sink); !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}

	// Restarted: no alerts, no rule evaluated yet.
	prom.setRules(map[string]bool{"CurtainInstanceDown": false, "CurtainRedisShardFailures": false, "CurtainStoreUnavailable": false})
	prom.set(false)
	rig.pollAndDrain(t)
	if got := delivered(sink); !slices.Equal(got, want) {
		t.Fatalf("before the restarted Prometheus evaluated its rules delivered %q, want %q", got, want)
	}
	// One group evaluated: its alert fires again, the other's rule is not
	// evaluated yet.
	prom.setRules(map[string]bool{"CurtainInstanceDown": true, "CurtainRedisShardFailures": false, "CurtainStoreUnavailable": true})
	prom.set(false, down)
	rig.pollAndDrain(t)
	if got := delivered(sink); !slices.Equal(got, want) {
		t.Fatalf("after a partial evaluation delivered %q, want %q", got, want)
	}
	// Every rule evaluated: the shard alert is really gone.
	prom.setRules(map[string]bool{"CurtainInstanceDown": true, "CurtainRedisShardFailures": true, "CurtainStoreUnavailable": true})
	rig.pollAndDrain(t)
	want = append(want, "resolved CurtainRedisShardFailures/shard0")
	if got := delivered(sink); !slices.Equal(got, want) {
		t.Fatalf("after every rule was evaluated delivered %q, want %q", got, want)
	}
	// A rule removed from Prometheus' configuration resolves its alert.
	prom.setRules(map[string]bool{"CurtainStoreUnavailable": false})
	prom.set(false)
	rig.pollAndDrain(t)
	want = append(want, "resolved CurtainInstanceDown/")
	if got := delivered(sink); !slices.Equal(got, want) {
		t.Fatalf("after its rule was removed delivered %q, want %q", got, want)
	}
}

// TestNotifierRecordsAfterTheStoreIsBack: a resolution delivered while
// the store refused the write is recorded at a later poll, once the store
// is back. It used to stay unrecorded, so the firing alert stayed in the
// store and a restarted notify delivered its resolution a second time.
func TestNotifierRecordsAfterTheStoreIsBack(t *testing.T) {
	prom := &fakePrometheus{}
	srv := httptest.NewServer(prom)
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "c.db")
	sink := memory.NewAlertSink()
	rig := newNotifyRig(t, db, srv.URL, sink, host.AlertQueueConfig{})
	exec := func(q string) {
		t.Helper()
		if _, err := rig.n.state.db.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}

	prom.set(false, promFiring("CurtainRedisShardFailures", "shard0"))
	rig.pollAndDrain(t)
	exec("ALTER TABLE curtain_alert_notifications RENAME TO notifications_away") // the store fails
	prom.set(false)
	rig.pollAndDrain(t)
	exec("ALTER TABLE notifications_away RENAME TO curtain_alert_notifications") // and is back
	rig.pollAndDrain(t)
	want := []string{"firing CurtainRedisShardFailures/shard0", "resolved CurtainRedisShardFailures/shard0"}
	if got := delivered(sink); !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}

	rig.q.Close(t.Context())
	sink2 := memory.NewAlertSink()
	rig2 := newNotifyRig(t, db, srv.URL, sink2, host.AlertQueueConfig{})
	rig2.pollAndDrain(t)
	if got := delivered(sink2); len(got) > 0 {
		t.Errorf("a restarted notify delivered %q again", got)
	}
}

func TestNotifierRetriesFailingSinkWithoutDuplicates(t *testing.T) {
	prom := &fakePrometheus{}
	srv := httptest.NewServer(prom)
	defer srv.Close()
	sink := memory.NewAlertSink()
	rig := newNotifyRig(t, filepath.Join(t.TempDir(), "c.db"), srv.URL, failFirst(2, fmt.Errorf("discord down: %w", core.ErrUnavailable), sink),
		host.AlertQueueConfig{RetryMin: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond})
	n, q := rig.n, rig.q
	prom.set(false, promFiring("CurtainServiceDown", ""))
	for range 5 { // polls while the sink fails queue nothing twice
		n.poll(t.Context())
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(sink.Alerts()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	n.poll(t.Context())
	q.Close(t.Context())
	if got := delivered(sink); !slices.Equal(got, []string{"firing CurtainServiceDown/"}) {
		t.Errorf("delivered %q, want the firing alert once", got)
	}
}

// TestNotifierQueuesADroppedAlertAgain: a batch the sink refuses (a 4xx)
// is dropped by the queue; the alert still fires, so the next poll queues
// it again and it is delivered once the sink accepts it. It used to stay
// marked as queued, and was never sent until notify restarted.
func TestNotifierQueuesADroppedAlertAgain(t *testing.T) {
	prom := &fakePrometheus{}
	srv := httptest.NewServer(prom)
	defer srv.Close()
	sink := memory.NewAlertSink()
	rig := newNotifyRig(t, filepath.Join(t.TempDir(), "c.db"), srv.URL, failFirst(1, fmt.Errorf("discord answered 400: %w", core.ErrInvalid), sink),
		host.AlertQueueConfig{})
	n, q := rig.n, rig.q
	prom.set(false, promFiring("CurtainServiceDown", ""))
	n.poll(t.Context())
	queued := func() int {
		n.mu.Lock()
		defer n.mu.Unlock()
		return len(n.queued)
	}
	deadline := time.Now().Add(5 * time.Second)
	for queued() > 0 && time.Now().Before(deadline) { // until the refused batch is dropped
		time.Sleep(10 * time.Millisecond)
	}
	n.poll(t.Context()) // the alert still fires
	for len(sink.Alerts()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	n.poll(t.Context())
	q.Close(t.Context())
	if got := delivered(sink); !slices.Equal(got, []string{"firing CurtainServiceDown/"}) {
		t.Errorf("delivered %q, want the firing alert once, after the refused batch", got)
	}
}

// failFirst is a sink that fails its first n sends with err, then hands
// alerts to next.
func failFirst(n int, err error, next core.AlertSink) sinkFunc {
	var mu sync.Mutex
	return func(ctx context.Context, as []core.Alert) error {
		mu.Lock()
		defer mu.Unlock()
		if n > 0 {
			n--
			return err
		}
		return next.Send(ctx, as)
	}
}

type sinkFunc func(ctx context.Context, alerts []core.Alert) error

func (f sinkFunc) Send(ctx context.Context, alerts []core.Alert) error { return f(ctx, alerts) }

func TestNotifyHTTP(t *testing.T) {
	sink := memory.NewAlertSink()
	rig := newNotifyRig(t, filepath.Join(t.TempDir(), "c.db"), "http://127.0.0.1:1", sink, host.AlertQueueConfig{})
	srv := httptest.NewServer(rig.n.handler(prometheus.NewRegistry()))
	defer srv.Close()
	tests := []struct {
		name, method, path, body string
		status                   int
		wantBody                 string
	}{
		{"health", "GET", "/health", "", 200, `{"status":"ok"}`},
		{"relay alert", "POST", "/alert", `{"alerts":[{"status":"firing","labels":{"alertname":"CurtainServiceDown","severity":"critical"},"annotations":{"summary":"Curtain service is down"},"state":"firing","activeAt":"2026-04-04T18:04:50Z","value":"0e+00"}]}`, 200, "ok"},
		{"relay empty batch", "POST", "/alert", `{}`, 200, "ok"},
		{"alertmanager v4", "POST", "/alertmanager", `{"version":"4","status":"resolved","receiver":"curtain","groupKey":"{}:{}","alerts":[{"status":"resolved","labels":{"alertname":"CurtainHighErrorRate","severity":"warning"},"annotations":{},"startsAt":"2026-04-04T18:00:00Z","endsAt":"2026-04-04T18:10:00Z","fingerprint":"abc"}]}`, 200, "ok"},
		{"invalid json", "POST", "/alert", `{"alerts": [`, 400, "invalid json"},
		{"array body", "POST", "/alert", `[{"alerts":[]}]`, 400, "JSON object"},
		{"string body", "POST", "/alert", `"hello"`, 400, "JSON object"},
		{"garbage", "POST", "/alert", "\x00\xff garbage", 400, "invalid json"},
		{"empty body", "POST", "/alert", "", 400, "invalid json"},
		{"alerts not a list", "POST", "/alert", `{"alerts": {"a": 1}}`, 400, `field \"alerts\"`},
		{"label not a string", "POST", "/alert", `{"alerts": [{"labels": {"alertname": 5}}]}`, 400, "labels"},
		{"huge body", "POST", "/alert", `{"alerts": [], "pad": "` + strings.Repeat("x", maxAlertBody) + `"}`, 413, "request body over"},
		{"alertmanager wrong version", "POST", "/alertmanager", `{"version":"3","alerts":[]}`, 400, "version"},
		{"alertmanager bad status", "POST", "/alertmanager", `{"version":"4","alerts":[{"status":"exploded"}]}`, 400, "status"},
		{"unknown path", "POST", "/alerts", `{}`, 404, "Not found"},
		{"wrong method", "GET", "/alert", "", 405, "Method not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, err := testenv.Request(tt.method, srv.URL+tt.path, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.wantBody) {
				t.Errorf("%s %s = %d %q, want %d containing %q", tt.method, tt.path, resp.StatusCode, body, tt.status, tt.wantBody)
			}
			if resp.StatusCode >= 400 && !json.Valid([]byte(body)) {
				t.Errorf("error body %q is not JSON", body)
			}
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(sink.Alerts()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	want := []string{"firing CurtainServiceDown/", "resolved CurtainHighErrorRate/"}
	if got := delivered(sink); !slices.Equal(got, want) {
		t.Errorf("delivered %q, want %q", got, want)
	}
}

// TestNotifyQueuedMetricIsBounded: curtain_notify_alerts_queued_total
// exists from the start for every source and status, and a relayed
// alert's status, which its sender writes, cannot add series: it used to
// become the label value as sent.
func TestNotifyQueuedMetricIsBounded(t *testing.T) {
	rig := newNotifyRig(t, filepath.Join(t.TempDir(), "c.db"), "http://127.0.0.1:1", memory.NewAlertSink(), host.AlertQueueConfig{})
	srv := httptest.NewServer(rig.n.handler(rig.reg))
	defer srv.Close()
	series := func() map[string]float64 {
		t.Helper()
		families, err := rig.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, f := range families {
			if f.GetName() != "curtain_notify_alerts_queued_total" {
				continue
			}
			for _, m := range f.GetMetric() {
				var key []string
				for _, l := range m.GetLabel() {
					key = append(key, l.GetValue())
				}
				out[strings.Join(key, "/")] = m.GetCounter().GetValue()
			}
		}
		return out
	}
	if got := series(); len(got) != 9 {
		t.Errorf("at start %d series %v, want 9 (3 sources × firing, resolved, unknown)", len(got), got)
	}
	for _, status := range []string{"firing", "", "exploded", "exploded-again"} {
		body := `{"alerts":[{"status":"` + status + `","labels":{"alertname":"X` + status + `"}}]}`
		if resp, b, err := testenv.Request("POST", srv.URL+"/alert", body); err != nil || resp.StatusCode != 200 {
			t.Fatalf("POST /alert status %q = %v %q %v", status, resp, b, err)
		}
	}
	got := series()
	if len(got) != 9 || got["relay/firing"] != 1 || got["relay/unknown"] != 3 {
		t.Errorf("after relayed alerts series = %v, want 9 with relay/firing 1 and relay/unknown 3", got)
	}
}

// deliveredCounts returns the alerts counts of the alerts.delivered lines
// of logs.
func deliveredCounts(logs *testenv.LogBuffer) []int {
	var out []int
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m struct {
			Msg    string `json:"msg"`
			Alerts int    `json:"alerts"`
		}
		if json.Unmarshal([]byte(line), &m) == nil && m.Msg == "alerts.delivered" {
			out = append(out, m.Alerts)
		}
	}
	return out
}

// TestRelayAlertsCountedAsDelivered: alerts.delivered counts every alert
// of a relayed batch, one without a status included, and a relayed alert
// does not touch the sent state of a polled alert with the same labels.
func TestRelayAlertsCountedAsDelivered(t *testing.T) {
	prom := &fakePrometheus{}
	psrv := httptest.NewServer(prom)
	defer psrv.Close()
	sink := memory.NewAlertSink()
	rig := newNotifyRig(t, filepath.Join(t.TempDir(), "c.db"), psrv.URL, sink, host.AlertQueueConfig{})
	var logs testenv.LogBuffer
	rig.n.log = slog.New(slog.NewJSONHandler(&logs, nil))
	srv := httptest.NewServer(rig.n.handler(prometheus.NewRegistry()))
	defer srv.Close()

	down := promFiring("CurtainServiceDown", "")
	prom.set(false, down)
	rig.pollAndDrain(t)
	waitDelivered := func(want []int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !slices.Equal(deliveredCounts(&logs), want) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := deliveredCounts(&logs); !slices.Equal(got, want) {
			t.Fatalf("alerts.delivered counts %v, want %v", got, want)
		}
	}
	want := []int{1}
	waitDelivered(want)

	for _, tt := range []struct {
		body  string
		count int
	}{
		{`{"alerts":[{"labels":{}},{"status":"resolved","labels":{"alertname":"A"}}]}`, 2},
		{`{"alerts":[{"status":"firing","labels":{"alertname":"B"}}]}`, 1},
		{`{"alerts":[{"labels":` + mustJSON(t, down.Labels) + `}]}`, 1},
	} {
		if resp, body, err := testenv.Request("POST", srv.URL+"/alert", tt.body); err != nil || resp.StatusCode != 200 {
			t.Fatalf("POST /alert %s = %v %q", tt.body, err, body)
		}
		want = append(want, tt.count)
		waitDelivered(want)
	}
	if got := len(sink.Alerts()); got != 5 {
		t.Errorf("sink received %d alerts, want 5", got)
	}
	rig.n.mu.Lock()
	_, sent := rig.n.sent[fingerprint(down.Labels)]
	rig.n.mu.Unlock()
	if !sent {
		t.Error("a relayed alert without a status removed the polled alert with its labels from the sent state")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestNotifierWithoutSinkCountsDropped: with no alert sink configured, a
// batch is logged as discord.webhook_missing and counted in
// curtain_alert_queue_dropped_total, not in _sent_total, and is not
// logged as delivered. Each alert is still logged once, not at every poll.
// The queue used to count such batches as sent.
func TestNotifierWithoutSinkCountsDropped(t *testing.T) {
	prom := &fakePrometheus{}
	srv := httptest.NewServer(prom)
	defer srv.Close()
	var logs testenv.LogBuffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	rig := newNotifyRig(t, filepath.Join(t.TempDir(), "c.db"), srv.URL, logSink{log}, host.AlertQueueConfig{})
	rig.n.log = log
	prom.set(false, promFiring("CurtainServiceDown", ""), promFiring("CurtainRedisShardFailures", "shard0"))
	rig.pollAndDrain(t)
	rig.pollAndDrain(t)
	rig.q.Close(t.Context())
	for _, tt := range []struct {
		name string
		want float64
	}{
		{"curtain_alert_queue_sent_total", 0},
		{"curtain_alert_queue_dropped_total", 2},
	} {
		if got := counterValue(t, rig.reg, tt.name); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, got, tt.want)
		}
	}
	out := logs.String()
	if n := strings.Count(out, `"msg":"discord.webhook_missing"`); n != 1 {
		t.Errorf("discord.webhook_missing logged %d times, want once (one batch):\n%s", n, out)
	}
	if strings.Contains(out, `"msg":"alerts.delivered"`) {
		t.Errorf("alerts logged as delivered without a sink:\n%s", out)
	}
}

// TestNotifierWithoutSinkRecordsNothing: alerts notify discarded for
// want of a sink are not recorded as sent, so a notify restarted with a
// sink delivers those still firing. They were recorded, and such an
// alert was never delivered.
func TestNotifierWithoutSinkRecordsNothing(t *testing.T) {
	prom := &fakePrometheus{}
	srv := httptest.NewServer(prom)
	defer srv.Close()
	db := filepath.Join(t.TempDir(), "curtain.db")
	rig := newNotifyRig(t, db, srv.URL, logSink{slog.New(slog.DiscardHandler)}, host.AlertQueueConfig{})
	prom.set(false, promFiring("CurtainServiceDown", ""), promFiring("CurtainRedisShardFailures", "shard0"))
	rig.pollAndDrain(t)
	rig.q.Close(t.Context())

	sink := memory.NewAlertSink()
	rig2 := newNotifyRig(t, db, srv.URL, sink, host.AlertQueueConfig{})
	rig2.pollAndDrain(t)
	want := []string{"firing CurtainRedisShardFailures/shard0", "firing CurtainServiceDown/"}
	got := delivered(sink)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("notify restarted with a sink delivered %q, want %q", got, want)
	}
}

// counterValue returns the value of the unlabelled counter name in reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, f := range fams {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no counter %s", name)
	return 0
}

func TestFingerprintCoversAllLabels(t *testing.T) {
	a := map[string]string{"alertname": "X", "shard_id": "shard0"}
	b := map[string]string{"alertname": "X", "shard_id": "shard1"}
	c := map[string]string{"alertname": "X", "shard_id": "shard0"}
	if fingerprint(a) == fingerprint(b) {
		t.Error("alerts differing only in shard_id share a fingerprint")
	}
	if fingerprint(a) != fingerprint(c) {
		t.Error("equal labels give different fingerprints")
	}
	// Label boundaries matter: {"ab": "c"} is not {"a": "bc"}.
	if fingerprint(map[string]string{"ab": "c"}) == fingerprint(map[string]string{"a": "bc"}) {
		t.Error("fingerprint ignores label boundaries")
	}
}

// FuzzNotifyBody checks that no body makes POST /alert or POST
// /alertmanager answer anything but 200, 400 or 413.
func FuzzNotifyBody(f *testing.F) {
	for _, seed := range []string{`{}`, `{"alerts":[]}`, `{"alerts":[{"status":"firing","labels":{"a":"b"}}]}`,
		`{"version":"4","alerts":[{"status":"resolved","labels":{},"startsAt":"2026-01-01T00:00:00Z"}]}`, `[]`, `"x"`, `{"alerts":[null]}`, "\x00"} {
		f.Add(seed)
	}
	store, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	reg := prometheus.NewRegistry()
	log := slog.New(slog.DiscardHandler)
	n := newNotifier(sentState{store.DB()}, "http://127.0.0.1:1", log, reg)
	q := n.startQueue(memory.NewAlertSink(), host.AlertQueueConfig{}, host.Options{Logger: log, Registry: reg})
	f.Cleanup(func() { q.Close(context.Background()) })
	h := n.handler(reg)
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/alert", "/alertmanager"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("POST", path, strings.NewReader(body)))
			if rec.Code != 200 && rec.Code != 400 && rec.Code != 413 {
				t.Errorf("POST %s %q = %d %s", path, body, rec.Code, rec.Body)
			}
		}
	})
}
