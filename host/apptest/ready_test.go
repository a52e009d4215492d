package apptest_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/httpapi"
)

// testReady checks GET /health/ready: each dependency reported on its
// own, degraded (200) while an optional one is down, 503 while the store
// is, and GET /health unaffected.
func testReady(t *testing.T, newStore storeFactory) {
	var store atomic.Pointer[core.Store]
	var cacheDown atomic.Bool
	checks := []httpapi.Check{
		{Name: "store", Kind: "store", Required: true, Probe: func(ctx context.Context) (string, error) {
			return "test store", (*store.Load()).Ping(ctx)
		}},
		{Name: "cache", Kind: "cache", Probe: func(ctx context.Context) (string, error) {
			if cacheDown.Load() {
				return "memory", errors.New("not running")
			}
			return "memory, pid 7", nil
		}},
	}
	e := newEnv(t, newStore, envConfig{readiness: checks})
	store.Store(&e.store)

	e.get("/health/ready").want(t, "all up", http.StatusOK,
		`{"checks":[{"detail":"test store","kind":"store","name":"store","required":true,"status":"up"},`+
			`{"detail":"memory, pid 7","kind":"cache","name":"cache","required":false,"status":"up"}],"instance":"probe-host","status":"ready"}`+"\n")
	if ct := e.get("/health/ready").Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}

	cacheDown.Store(true)
	e.get("/health/ready").want(t, "cache down", http.StatusOK,
		`{"checks":[{"detail":"test store","kind":"store","name":"store","required":true,"status":"up"},`+
			`{"detail":"memory","error":"not running","kind":"cache","name":"cache","required":false,"status":"down"}],"instance":"probe-host","status":"degraded"}`+"\n")

	if err := e.store.Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
	r := e.get("/health/ready")
	var body struct {
		Status string `json:"status"`
		Checks []struct {
			Name, Status, Error string
		} `json:"checks"`
	}
	r.decode(t, &body)
	if r.Status != http.StatusServiceUnavailable || body.Status != "not_ready" || body.Checks[0].Status != "down" || body.Checks[0].Error == "" {
		t.Errorf("store closed: GET /health/ready = %d %s", r.Status, r.Body)
	}
	e.get("/health").want(t, "GET /health with the store down", http.StatusOK, `{"instance":"probe-host","status":"ok"}`+"\n")

	// Without checks the instance is ready.
	bare := newEnv(t, newStore, envConfig{})
	bare.get("/health/ready").want(t, "no checks", http.StatusOK, `{"checks":[],"instance":"probe-host","status":"ready"}`+"\n")
}
