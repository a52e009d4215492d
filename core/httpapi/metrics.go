package httpapi

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/curtainhq/curtain/core"
)

// metrics holds the request metrics of spec §9.1. Labels are bounded: the
// path label is the route template ("/urls/:id"), or "unmatched" (the
// reference used the raw path, Q14), and there is no instance label (the
// scrape target identifies the instance, so Prometheus no longer renames
// it to exported_instance).
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// unavailable counts the 503 answers by cause (unavailableCauses);
	// nil without a registry.
	unavailable map[string]prometheus.Counter

	mu     sync.Mutex
	routes map[string]*routeMetrics
}

// durationBuckets are the reference's buckets (Python's defaults, spec
// §9.1, so old and new series line up in one panel) plus two below 5ms
// for Curtain's faster redirects.
var durationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .075, .1, .25, .5, .75, 1, 2.5, 5, 7.5, 10}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{routes: map[string]*routeMetrics{}}
	if reg == nil {
		return m
	}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total",
		Help: "HTTP requests answered, by method, route template and status.",
	}, []string{"method", "path", "status_code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_request_duration_seconds",
		Help:    "Time to answer HTTP requests, by method and route template.",
		Buckets: durationBuckets,
	}, []string{"method", "path"})
	unavailable := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "curtain_http_unavailable_total",
		Help: "Requests answered 503, by cause: store (the store could not be reached or did not answer in time, GET /health/ready included), clicks (durable click mode: the redirect's click was not stored within clicks.ack_timeout), plugin (GET /health/ready: a required plugin is down), stopping (GET /health/ready while the server stops).",
	}, []string{"cause"})
	m.unavailable = map[string]prometheus.Counter{}
	for _, c := range unavailableCauses {
		m.unavailable[c] = unavailable.WithLabelValues(c)
	}
	reg.MustRegister(m.requests, m.duration, unavailable)
	return m
}

// The causes of curtain_http_unavailable_total.
const (
	causeStore    = "store"
	causeClicks   = "clicks"
	causePlugin   = "plugin"
	causeStopping = "stopping"
)

var unavailableCauses = []string{causeStore, causeClicks, causePlugin, causeStopping}

// countUnavailable counts one 503 answer for cause.
func (m *metrics) countUnavailable(cause string) {
	if c := m.unavailable[cause]; c != nil {
		c.Inc()
	}
}

// unavailableCause names the cause of a 503 answer for err, an error
// wrapping core.ErrUnavailable: the durable click mode's refused click,
// or else the store, the one backend a request waits for without a
// fallback (the plugins degrade instead: spec §7).
func unavailableCause(err error) string {
	if errors.Is(err, core.ErrClickNotStored) {
		return causeClicks
	}
	return causeStore
}

// routeMetrics caches the children of one route template, so that the
// request path does no label hashing and takes no lock: children is an
// immutable map replaced as a whole (copy on write) when a new method and
// status pair first appears, which happens a handful of times per route.
type routeMetrics struct {
	m    *metrics
	path string

	mu       sync.Mutex // serialises additions to children
	children atomic.Pointer[map[routeKey]routeChildren]
	enabled  bool
}

type routeKey struct {
	method string
	status int
}

// routeChildren are the series one request of a route updates.
type routeChildren struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// route returns the metrics of a route template, creating them once.
func (m *metrics) route(path string) *routeMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	rm, ok := m.routes[path]
	if !ok {
		rm = &routeMetrics{m: m, path: path, enabled: m.requests != nil}
		rm.children.Store(&map[routeKey]routeChildren{})
		m.routes[path] = rm
	}
	return rm
}

// observe counts one finished request.
func (rm *routeMetrics) observe(method string, status int, elapsed time.Duration) {
	if !rm.enabled {
		return
	}
	key := routeKey{method, status}
	ch, ok := (*rm.children.Load())[key]
	if !ok {
		ch = rm.add(key)
	}
	ch.requests.Inc()
	ch.duration.Observe(elapsed.Seconds())
}

// add resolves the children of key and publishes them in a new map.
func (rm *routeMetrics) add(key routeKey) routeChildren {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	old := *rm.children.Load()
	if ch, ok := old[key]; ok {
		return ch
	}
	ch := routeChildren{
		requests: rm.m.requests.WithLabelValues(key.method, rm.path, strconv.Itoa(key.status)),
		duration: rm.m.duration.WithLabelValues(key.method, rm.path),
	}
	next := make(map[routeKey]routeChildren, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[key] = ch
	rm.children.Store(&next)
	return ch
}
