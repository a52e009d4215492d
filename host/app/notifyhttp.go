package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/httpapi"
)

// maxAlertBody caps the body of POST /alert and POST /alertmanager.
const maxAlertBody = 1 << 20

// handler serves notify's HTTP contract: the relay's GET /health and
// POST /alert (spec §10.2), Alertmanager's webhook (version 4) at POST
// /alertmanager, and GET /metrics. Errors are JSON {"error": ...}.
func (n *notifier) handler(reg *prometheus.Registry) http.Handler {
	return routeTable{
		"/health":       {http.MethodGet, healthOK},
		"/metrics":      {http.MethodGet, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP},
		"/alert":        {http.MethodPost, n.receive("relay", relayAlerts)},
		"/alertmanager": {http.MethodPost, n.receive("alertmanager", alertmanagerAlerts)},
	}
}

// MetricsServer is the HTTP side of a role without an API (`curtain
// consume --metrics-addr`), bounded by the http.*_timeout settings: GET
// /metrics, and GET /health answering {"status":"ok"} while the process
// runs, as notify's does. Other paths are JSON 404s.
func (a *App) MetricsServer() *http.Server {
	return httpapi.NewServer(routeTable{
		"/health":  {http.MethodGet, healthOK},
		"/metrics": {http.MethodGet, promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}).ServeHTTP},
	}, serverTimeouts(a.cfg.HTTP))
}

// routeTable maps a path to the one method it takes and its handler; a
// path it lacks is a JSON 404, another method a JSON 405 with Allow.
type routeTable map[string]struct {
	method string
	h      http.HandlerFunc
}

func (t routeTable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route, ok := t[r.URL.Path]
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, "Not found")
	case r.Method != route.method && !(r.Method == http.MethodHead && route.method == http.MethodGet):
		w.Header().Set("Allow", route.method)
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed")
	default:
		route.h(w, r)
	}
}

// healthOK answers a liveness check: the process serves.
func healthOK(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// receive reads a JSON object body, decodes its alerts with decode and
// queues them for delivery. It answers "ok" as the relay did.
func (n *notifier) receive(source string, decode func([]byte) ([]core.Alert, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAlertBody))
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", maxAlertBody))
				return
			}
			writeError(w, http.StatusBadRequest, "could not read the request body")
			return
		}
		if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' || !json.Valid(t) {
			writeError(w, http.StatusBadRequest, "invalid json: the body must be a JSON object")
			return
		}
		alerts, err := decode(body)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err := n.queue.Send(r.Context(), alerts); err != nil {
			writeError(w, http.StatusServiceUnavailable, "alert queue closed")
			return
		}
		for _, a := range alerts {
			n.received.WithLabelValues(source, statusLabel(a.Status)).Inc()
		}
		n.log.Info("alert.received", "source", source, "alert_count", len(alerts))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "ok")
	}
}

// relayAlerts decodes the relay's body: {"alerts": [{"status", "labels",
// "annotations", ...}]}, each alert being what the reference's notifier
// sent (a Prometheus alert plus "status").
func relayAlerts(body []byte) ([]core.Alert, error) {
	var in struct {
		Alerts []struct {
			Status      string            `json:"status"`
			State       string            `json:"state"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
			ActiveAt    *time.Time        `json:"activeAt"`
			Value       string            `json:"value"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("invalid alert batch: %s", jsonProblem(err))
	}
	out := make([]core.Alert, len(in.Alerts))
	for i, a := range in.Alerts {
		status := a.Status
		if status == "" {
			status = a.State
		}
		out[i] = core.Alert{Status: status, Labels: a.Labels, Annotations: a.Annotations, Value: a.Value, Fingerprint: fingerprint(a.Labels)}
		if a.ActiveAt != nil {
			out[i].ActiveAt = *a.ActiveAt
		}
	}
	return out, nil
}

// alertmanagerAlerts decodes Alertmanager's webhook body (version 4).
func alertmanagerAlerts(body []byte) ([]core.Alert, error) {
	var in struct {
		Version string `json:"version"`
		Alerts  []struct {
			Status      string            `json:"status"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
			StartsAt    time.Time         `json:"startsAt"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("invalid Alertmanager webhook: %s", jsonProblem(err))
	}
	if in.Version != "4" {
		return nil, fmt.Errorf("unsupported Alertmanager webhook version %q: want \"4\"", in.Version)
	}
	out := make([]core.Alert, len(in.Alerts))
	for i, a := range in.Alerts {
		if a.Status != statusFiring && a.Status != statusResolved {
			return nil, fmt.Errorf("alert %d: status %q: want firing or resolved", i, a.Status)
		}
		out[i] = core.Alert{Status: a.Status, Labels: a.Labels, Annotations: a.Annotations, ActiveAt: a.StartsAt, Fingerprint: fingerprint(a.Labels)}
	}
	return out, nil
}

// jsonProblem describes a decoding error without echoing the input.
func jsonProblem(err error) string {
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return fmt.Sprintf("field %q cannot be a JSON %s", te.Field, te.Value)
	}
	return "malformed JSON"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
