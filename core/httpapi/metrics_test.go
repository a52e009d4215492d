package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/uptrace/bunrouter"

	"github.com/curtainhq/curtain/core"
)

// counterValue reads a counter child.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var out dto.Metric
	if err := c.Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetCounter().GetValue()
}

// TestRouteMetricsConcurrent: requests observed from many goroutines, with
// method and status pairs first seen while others are being counted, are
// each counted once under their own labels.
func TestRouteMetricsConcurrent(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	rm := m.route("/r/:code")
	if m.route("/r/:code") != rm {
		t.Fatal("route returned a second routeMetrics for the same template")
	}
	statuses := []int{302, 404, 500, 301}
	const perStatus = 200
	var wg sync.WaitGroup
	for _, st := range statuses {
		for range 4 {
			wg.Go(func() {
				for range perStatus / 4 {
					rm.observe("GET", st, time.Millisecond)
				}
			})
		}
	}
	wg.Wait()
	rm.observe("HEAD", 302, time.Millisecond)
	for _, st := range statuses {
		c := m.requests.WithLabelValues("GET", "/r/:code", strconv.Itoa(st))
		if got := counterValue(t, c); got != perStatus {
			t.Errorf("requests GET %d = %v, want %d", st, got, perStatus)
		}
	}
	if got := counterValue(t, m.requests.WithLabelValues("HEAD", "/r/:code", "302")); got != 1 {
		t.Errorf("requests HEAD 302 = %v, want 1", got)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := 0
	for _, mf := range mfs {
		if mf.GetName() == "http_request_duration_seconds" {
			series = len(mf.GetMetric())
		}
	}
	if got := series; got != 2 {
		t.Errorf("duration series = %d, want 2 (GET and HEAD)", got)
	}
	if got := len(*rm.children.Load()); got != len(statuses)+1 {
		t.Errorf("cached children = %d, want %d", got, len(statuses)+1)
	}
}

// TestRouteMetricsDisabled: without a registry nothing is counted and
// nothing panics.
func TestRouteMetricsDisabled(t *testing.T) {
	m := newMetrics(nil)
	m.route("/health").observe("GET", 200, time.Millisecond)
	if got := len(*m.route("/health").children.Load()); got != 0 {
		t.Errorf("cached children without a registry = %d, want 0", got)
	}
}

// TestUnavailableCause: a 503 is counted in curtain_http_unavailable_total
// by cause, so that CurtainStoreUnavailable watches the store alone: a
// redirect whose click the durable mode could not store in time is
// cause "clicks", not "store"; GET /health/ready counts the store's 503s
// as "store" and a stopping server's as "stopping".
func TestUnavailableCause(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := &api{log: slog.New(slog.DiscardHandler), metrics: newMetrics(reg)}
	fail := func(err error) bunrouter.HandlerFunc {
		return func(http.ResponseWriter, bunrouter.Request) error { return err }
	}
	serve := func(template, name, path string, h bunrouter.HandlerFunc) {
		t.Helper()
		rec := httptest.NewRecorder()
		_ = a.wrap(template, name, h)(rec, bunrouter.NewRequest(httptest.NewRequest("GET", path, nil)))
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("GET %s: status %d, want 503", path, rec.Code)
		}
	}
	clickErr := fmt.Errorf("record click: store click: not acknowledged within 3s: %w: %w", core.ErrUnavailable, core.ErrClickNotStored)
	storeErr := fmt.Errorf("get url by code %q: ping store: %w", "abc", core.ErrUnavailable)
	serve("/r/:code", "redirect", "/r/abc", fail(clickErr))
	serve("/r/:code", "redirect", "/r/abc", fail(clickErr))
	serve("/r/:code", "redirect", "/r/abd", fail(storeErr))
	serve("/urls", "urls.list", "/urls", fail(storeErr))
	serve("/urls", "urls.list", "/urls", fail(storeErr))

	a.opts.Readiness = []Check{{Name: "store", Kind: "store", Required: true,
		Probe: func(context.Context) (string, error) { return "", storeErr }}}
	serve("/health/ready", "system.ready", "/health/ready", a.ready)
	a.opts.Stopping = func() bool { return true }
	serve("/health/ready", "system.ready", "/health/ready", a.ready)

	for cause, want := range map[string]float64{causeStore: 4, causeClicks: 2, causePlugin: 0, causeStopping: 1} {
		if got := counterValue(t, a.metrics.unavailable[cause]); got != want {
			t.Errorf("curtain_http_unavailable_total{cause=%q} = %v, want %v", cause, got, want)
		}
	}
	if !errors.Is(clickErr, core.ErrUnavailable) {
		t.Error("core.ErrClickNotStored does not match core.ErrUnavailable: the redirect would not answer 503")
	}
}
