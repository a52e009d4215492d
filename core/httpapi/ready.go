package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/uptrace/bunrouter"
)

// Check is one dependency GET /health/ready reports: the store or a
// plugin instance.
type Check struct {
	// Name identifies the dependency ("store", "counter", "shard0").
	Name string
	// Kind is "store" or the plugin kind ("counter", "clickshard",
	// "cache", "alertsink").
	Kind string
	// Required dependencies make the instance not ready while they are
	// down (503); the others only make it degraded (200).
	Required bool
	// Probe reports the dependency's state: a short human description
	// (version, pid, restarts) and nil when it is up, an error when down.
	// It must honour ctx.
	Probe func(ctx context.Context) (detail string, err error)
}

// readyTimeout bounds all probes of one readiness request.
const readyTimeout = 2 * time.Second

// readyCheck is one entry of the readiness body.
type readyCheck struct {
	Detail   string `json:"detail,omitempty"`
	Error    string `json:"error,omitempty"`
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	Required bool   `json:"required"`
	Status   string `json:"status"` // "up" or "down"
}

// readyBody is the body of GET /health/ready.
type readyBody struct {
	Checks   []readyCheck `json:"checks"`
	Instance string       `json:"instance"`
	// Status is "ready" (all up), "degraded" (an optional dependency is
	// down), "not_ready" (a required one is down) or "shutting_down" (the
	// server is stopping; nothing was probed).
	Status string `json:"status"`
}

// ready reports each dependency separately and answers 503 while a
// required one is down. Probes run concurrently under one deadline.
func (a *api) ready(w http.ResponseWriter, req bunrouter.Request) error {
	if a.opts.Stopping != nil && a.opts.Stopping() {
		a.metrics.countUnavailable(causeStopping)
		writeValue(w, http.StatusServiceUnavailable, readyBody{Checks: []readyCheck{}, Instance: a.opts.InstanceID, Status: "shutting_down"})
		return nil
	}
	ctx, cancel := context.WithTimeout(req.Context(), readyTimeout)
	defer cancel()
	checks := a.opts.Readiness
	body := readyBody{Checks: make([]readyCheck, len(checks)), Instance: a.opts.InstanceID, Status: "ready"}
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			rc := readyCheck{Kind: c.Kind, Name: c.Name, Required: c.Required, Status: "up"}
			detail, err := c.Probe(ctx)
			rc.Detail = detail
			if err != nil {
				rc.Status, rc.Error = "down", err.Error()
			}
			body.Checks[i] = rc
		})
	}
	wg.Wait()
	status, cause := http.StatusOK, ""
	for _, c := range body.Checks {
		switch {
		case c.Status == "up":
		case c.Required:
			body.Status, status = "not_ready", http.StatusServiceUnavailable
			if c.Kind == "store" {
				cause = causeStore
			} else if cause == "" {
				cause = causePlugin
			}
		case body.Status == "ready":
			body.Status = "degraded"
		}
	}
	if cause != "" {
		a.metrics.countUnavailable(cause)
	}
	writeValue(w, status, body)
	return nil
}

// writeValue writes v as JSON with encoding/json, for the routes the
// reference does not have (their members are declared in byte order).
func writeValue(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, errorBody("Internal server error"))
		return
	}
	writeJSON(w, status, append(b, '\n'))
}
