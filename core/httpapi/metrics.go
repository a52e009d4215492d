package httpapi

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics holds the request metrics of spec §9.1. Labels are bounded: the
// path label is the route template ("/urls/:id"), or "unmatched" (the
// reference used the raw path, Q14), and there is no instance label (the
// scrape target identifies the instance, so Prometheus no longer renames
// it to exported_instance).
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

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
	reg.MustRegister(m.requests, m.duration)
	return m
}

// routeMetrics caches the children of one route template, so that the
// request path does no label hashing in the common case.
type routeMetrics struct {
	m    *metrics
	path string

	mu      sync.RWMutex
	byKey   map[routeKey]prometheus.Counter
	byMeth  map[string]prometheus.Observer
	enabled bool
}

type routeKey struct {
	method string
	status int
}

// route returns the metrics of a route template, creating them once.
func (m *metrics) route(path string) *routeMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	rm, ok := m.routes[path]
	if !ok {
		rm = &routeMetrics{m: m, path: path, enabled: m.requests != nil,
			byKey: map[routeKey]prometheus.Counter{}, byMeth: map[string]prometheus.Observer{}}
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
	rm.mu.RLock()
	c, okc := rm.byKey[key]
	o, oko := rm.byMeth[method]
	rm.mu.RUnlock()
	if !okc || !oko {
		rm.mu.Lock()
		if c, okc = rm.byKey[key]; !okc {
			c = rm.m.requests.WithLabelValues(method, rm.path, strconv.Itoa(status))
			rm.byKey[key] = c
		}
		if o, oko = rm.byMeth[method]; !oko {
			o = rm.m.duration.WithLabelValues(method, rm.path)
			rm.byMeth[method] = o
		}
		rm.mu.Unlock()
	}
	c.Inc()
	o.Observe(elapsed.Seconds())
}
