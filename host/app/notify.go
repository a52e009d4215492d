package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/httpapi"
	"github.com/curtainhq/curtain/host"
)

// Alert states.
const (
	statusFiring   = "firing"
	statusPending  = "pending"
	statusResolved = "resolved"
)

// Notify polls Prometheus' alerts (notify.prometheus_url) and delivers
// each firing alert once and its resolution once through the alert sink;
// it also serves, on notify.addr, the relay's POST /alert, Alertmanager's
// webhook and its own metrics. It runs until ctx ends, then stops the HTTP
// server and the delivery queue (within http.shutdown_timeout) and closes
// the App.
func (a *App) Notify(ctx context.Context) error {
	if a.role != Notify {
		return fmt.Errorf("notify on an application started for %s", a.role)
	}
	defer a.Close(context.WithoutCancel(ctx))
	cfg, reg := a.cfg, a.reg
	log := a.log.With("component", "notify")
	db, err := dbOf(a.store)
	if err != nil {
		return err
	}
	if cfg.Plugins.AlertSink.Builtin == "memory" {
		// The embedded default: alerts have nowhere to go, as with the
		// relay when DISCORD_WEBHOOK_URL was unset.
		log.Warn("discord.webhook_missing", "detail", "DISCORD_WEBHOOK_URL is unset and no alert sink is configured (plugins.alertsink): alerts are logged, not delivered")
	}
	n := newNotifier(sentState{db}, cfg.Notify.PrometheusURL, log, reg)
	if err := n.loadState(ctx); err != nil {
		return err
	}
	q := n.startQueue(a.AlertSink(), host.AlertQueueConfig{CallTimeout: alertSinkCallTimeout + 5*time.Second},
		host.Options{Logger: a.log, Registry: reg})

	ln, err := httpapi.Listen(cfg.Notify.Addr)
	if err != nil {
		q.Close(ctx)
		return fmt.Errorf("listen %s: %w", cfg.Notify.Addr, err)
	}
	// The http.*_timeout settings bound notify's connections too: a body
	// sent slowly is cut off.
	srv := httpapi.NewServer(n.handler(reg), serverTimeouts(cfg.HTTP))
	go srv.Serve(ln)
	log.Info("notify.listening", "addr", ln.Addr().String(), "prometheus_url", cfg.Notify.PrometheusURL,
		"poll_interval", cfg.Notify.PollInterval.String(), "sent", len(n.sent))

	n.run(ctx, cfg.Notify.PollInterval)

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.HTTP.ShutdownTimeout)
	defer cancel()
	srv.Shutdown(sctx)
	if err := q.Close(sctx); err != nil {
		log.Error("notify.shutdown", "error", err.Error())
	}
	return nil
}

// notifier turns Prometheus' alert list into firing and resolved
// notifications. It remembers what was delivered (sent, mirrored in the
// durable state) and what is queued for delivery, so that each firing
// alert and each resolution is delivered once.
type notifier struct {
	state   sentState
	promURL string
	client  *http.Client
	log     *slog.Logger
	queue   core.AlertSink
	now     func() time.Time

	mu     sync.Mutex
	sent   map[string]sentAlert // delivered firing alerts, by fingerprint
	queued map[string]string    // fingerprint → status queued, not delivered yet

	// unrecorded holds, by fingerprint, the last delivery the durable
	// state failed to take (the store was down); stateMu orders the
	// writes to the state.
	stateMu    sync.Mutex
	unrecorded map[string]sentAlert

	polls    *prometheus.CounterVec
	received *prometheus.CounterVec
}

func newNotifier(state sentState, promURL string, log *slog.Logger, reg *prometheus.Registry) *notifier {
	f := promauto.With(reg)
	n := &notifier{
		state:   state,
		promURL: strings.TrimRight(promURL, "/"),
		client:  &http.Client{Timeout: 10 * time.Second},
		log:     log,
		now:     time.Now,
		sent:    map[string]sentAlert{},
		queued:  map[string]string{},

		unrecorded: map[string]sentAlert{},
		polls: f.NewCounterVec(prometheus.CounterOpts{
			Name: "curtain_notify_polls_total",
			Help: "Polls of Prometheus' alerts, by outcome (ok, error).",
		}, []string{"outcome"}),
		received: f.NewCounterVec(prometheus.CounterOpts{
			Name: "curtain_notify_alerts_queued_total",
			Help: "Alerts queued for delivery, by source (prometheus, relay, alertmanager) and status (firing, resolved, unknown).",
		}, []string{"source", "status"}),
	}
	n.polls.WithLabelValues("ok")
	n.polls.WithLabelValues("error")
	for _, source := range []string{"prometheus", "relay", "alertmanager"} {
		for _, status := range []string{statusFiring, statusResolved, "unknown"} {
			n.received.WithLabelValues(source, status)
		}
	}
	return n
}

// statusLabel is the status label of curtain_notify_alerts_queued_total:
// firing, resolved or unknown. A relayed alert's status is whatever its
// sender wrote, and a label must come from a closed set.
func statusLabel(status string) string {
	if status == statusFiring || status == statusResolved {
		return status
	}
	return "unknown"
}

func (n *notifier) loadState(ctx context.Context) error {
	sent, err := n.state.load(ctx)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.sent = sent
	n.mu.Unlock()
	return nil
}

// run polls at once and then every interval until ctx ends.
func (n *notifier) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll reads Prometheus' alerts and queues what changed: firing alerts
// not delivered yet, and resolutions of delivered alerts that Prometheus
// no longer reports. A delivered alert that Prometheus reports as pending
// is not resolved: its condition still holds, and a restarted Prometheus
// reports every firing alert as pending again for its "for" duration. A
// failed poll changes nothing.
func (n *notifier) poll(ctx context.Context) {
	alerts, err := n.fetch(ctx)
	if err != nil {
		if ctx.Err() == nil {
			n.polls.WithLabelValues("error").Inc()
			n.log.Error("poll.failed", "error", err.Error())
		}
		return
	}
	n.polls.WithLabelValues("ok").Inc()
	// The store may be back: record what it missed, so that a restart
	// does not deliver those alerts again.
	n.persist(ctx, nil)
	firing := map[string]core.Alert{}
	pending := map[string]bool{}
	for _, a := range alerts {
		fp := fingerprint(a.Labels)
		switch a.State {
		case statusFiring:
			firing[fp] = core.Alert{Status: statusFiring, Labels: a.Labels, Annotations: a.Annotations,
				ActiveAt: a.ActiveAt, Value: a.Value, Fingerprint: fp}
		case statusPending:
			pending[fp] = true
		}
	}
	n.mu.Lock()
	var batch []core.Alert
	for _, fp := range slices.Sorted(maps.Keys(firing)) {
		if _, ok := n.sent[fp]; ok || n.queued[fp] == statusFiring {
			continue
		}
		batch = append(batch, firing[fp])
		n.queued[fp] = statusFiring
	}
	nFiring := len(batch)
	var gone []string // delivered alerts Prometheus no longer reports
	for _, fp := range slices.Sorted(maps.Keys(n.sent)) {
		if _, ok := firing[fp]; ok || pending[fp] || n.queued[fp] == statusResolved {
			continue
		}
		gone = append(gone, fp)
	}
	n.mu.Unlock()
	var unevaluated map[string]bool
	if len(gone) > 0 {
		unevaluated = n.unevaluatedRules(ctx)
	}
	n.mu.Lock()
	for _, fp := range gone {
		sent, ok := n.sent[fp]
		if !ok || n.queued[fp] == statusResolved || unevaluated[sent.Alert.Labels["alertname"]] {
			continue
		}
		r := sent.Alert
		r.Status = statusResolved
		batch = append(batch, r)
		n.queued[fp] = statusResolved
	}
	n.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	n.received.WithLabelValues("prometheus", statusFiring).Add(float64(nFiring))
	n.received.WithLabelValues("prometheus", statusResolved).Add(float64(len(batch) - nFiring))
	n.log.Info("alerts.queued", "firing", nFiring, "resolved", len(batch)-nFiring)
	if err := n.queue.Send(ctx, batch); err != nil {
		n.log.Error("alerts.queue_failed", "error", err.Error())
		n.mu.Lock()
		for _, a := range batch {
			delete(n.queued, a.Fingerprint)
		}
		n.mu.Unlock()
	}
}

// promAlert is one alert of Prometheus' /api/v1/alerts.
type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
	ActiveAt    time.Time         `json:"activeAt"`
	Value       string            `json:"value"`
}

// fetch GETs <PROMETHEUS_URL>/api/v1/alerts.
func (n *notifier) fetch(ctx context.Context) ([]promAlert, error) {
	var data struct {
		Alerts []promAlert `json:"alerts"`
	}
	err := n.getAPI(ctx, "/api/v1/alerts", "alerts", &data)
	return data.Alerts, err
}

// unevaluatedRules returns the names of the alerting rules that
// Prometheus has not evaluated since it started. Until their first
// evaluation a restarted Prometheus reports none of their alerts, firing
// or pending, so their absence resolves nothing yet: notify used to send
// a resolution of every firing alert at each Prometheus restart, and the
// alert again once it fired. A server that does not answer
// /api/v1/rules gets the reference's reading: an alert not reported is
// resolved.
func (n *notifier) unevaluatedRules(ctx context.Context) map[string]bool {
	var data struct {
		Groups []struct {
			Rules []struct {
				Name           string    `json:"name"`
				Type           string    `json:"type"`
				LastEvaluation time.Time `json:"lastEvaluation"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := n.getAPI(ctx, "/api/v1/rules?type=alert", "rules", &data); err != nil {
		n.log.Debug("rules.unavailable", "error", err.Error())
		return nil
	}
	out := map[string]bool{}
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			if r.Type == "alerting" && r.LastEvaluation.Year() <= 1 {
				out[r.Name] = true
			}
		}
	}
	return out
}

// getAPI GETs path of Prometheus' HTTP API and decodes its data into
// data; what names the answer in errors.
func (n *notifier) getAPI(ctx context.Context, path, what string, data any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.promURL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("prometheus answered HTTP %d: %.200s", resp.StatusCode, body)
	}
	out := struct {
		Status string `json:"status"`
		Data   any    `json:"data"`
	}{Data: data}
	if err := json.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("decode %s: %w", what, err)
	}
	if out.Status != "success" {
		return fmt.Errorf("prometheus answered status %q", out.Status)
	}
	return nil
}

// delivered records alerts the sink accepted and logs how many: polled
// ones (those queued by poll, with the status poll queued) move into the
// sent state, durably first; relayed ones are only counted. Alerts the
// sink discarded (no sink configured) move into this process's sent state
// only, so that each is logged once: they were never delivered, and a
// notify restarted with a sink must still send those that fire, and the
// resolutions of those that fired.
func (n *notifier) delivered(ctx context.Context, alerts []core.Alert, discarded bool) {
	if len(alerts) == 0 {
		return
	}
	if !discarded {
		defer n.log.Info("alerts.delivered", "alerts", len(alerts))
	}
	n.mu.Lock()
	var polled []core.Alert
	for _, a := range alerts {
		// A relayed alert may have no status: it must not match a
		// fingerprint that is not queued at all.
		if st, ok := n.queued[a.Fingerprint]; ok && st == a.Status {
			polled = append(polled, a)
		}
	}
	n.mu.Unlock()
	if len(polled) == 0 {
		return
	}
	now := n.now()
	if !discarded {
		recorded := make([]sentAlert, len(polled))
		for i, a := range polled {
			recorded[i] = sentAlert{Alert: a, SentAt: now}
		}
		if err := n.persist(ctx, recorded); err != nil {
			// Still delivered: this process will not repeat them, and the
			// next polls record them once the store is back; a restart
			// before that may repeat them.
			n.log.Error("alerts.state_failed", "error", err.Error(), "alerts", len(polled))
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, a := range polled {
		if st, ok := n.queued[a.Fingerprint]; !ok || st != a.Status {
			continue
		}
		delete(n.queued, a.Fingerprint)
		if a.Status == statusFiring {
			n.sent[a.Fingerprint] = sentAlert{Alert: a, SentAt: now}
		} else {
			delete(n.sent, a.Fingerprint)
		}
	}
}

// persist records deliveries in the durable state, with those an earlier
// failed write left over. For each alert only its last delivery is
// recorded, which is what the state must end up holding: a resolution
// whose write failed must not leave the firing alert in the store, where
// a restarted notify would find it and resolve it a second time.
func (n *notifier) persist(ctx context.Context, alerts []sentAlert) error {
	n.stateMu.Lock()
	defer n.stateMu.Unlock()
	for _, a := range alerts {
		n.unrecorded[a.Alert.Fingerprint] = a
	}
	if len(n.unrecorded) == 0 {
		return nil
	}
	if err := n.state.record(ctx, slices.Collect(maps.Values(n.unrecorded))); err != nil {
		return err
	}
	clear(n.unrecorded)
	return nil
}

// startQueue puts the alert queue n sends through in front of sink: the
// queue tells n what the sink accepted (deliveryRecorder) and what it
// dropped (undelivered).
func (n *notifier) startQueue(sink core.AlertSink, cfg host.AlertQueueConfig, opts host.Options) *host.AlertQueue {
	cfg.OnDrop = n.undelivered
	q := host.NewAlertQueue(deliveryRecorder{next: sink, n: n}, cfg, opts)
	n.queue = q
	return q
}

// undelivered forgets that polled alerts the queue dropped (full, or
// refused by the sink) are queued, so that the next poll queues them again
// while Prometheus still reports them so; otherwise such an alert would
// never be sent until notify restarted.
func (n *notifier) undelivered(alerts []core.Alert) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, a := range alerts {
		if st, ok := n.queued[a.Fingerprint]; ok && st == a.Status {
			delete(n.queued, a.Fingerprint)
		}
	}
}

// deliveryRecorder is the sink under the alert queue: it records each
// batch the real sink accepted or discarded.
type deliveryRecorder struct {
	next core.AlertSink
	n    *notifier
}

func (r deliveryRecorder) Send(ctx context.Context, alerts []core.Alert) error {
	err := r.next.Send(ctx, alerts)
	discarded := errors.Is(err, host.ErrDiscarded)
	if err != nil && !discarded {
		return err
	}
	r.n.delivered(context.WithoutCancel(ctx), alerts, discarded)
	return err
}

// fingerprint identifies an alert by all its labels (spec Q23: the
// reference used only five of them, so alerts differing in shard_id
// counted as one).
func fingerprint(labels map[string]string) string {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		h.Write([]byte(k))
		h.Write([]byte{0xff})
		h.Write([]byte(labels[k]))
		h.Write([]byte{0xff})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
