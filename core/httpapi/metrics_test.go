package httpapi

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
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
