package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/curtainhq/curtain/core"
	"github.com/prometheus/client_golang/prometheus"
)

// fakeShard is a click shard whose Record is a function field, so that a
// test decides per call whether it fails.
type fakeShard struct {
	RecordFunc func(ctx context.Context, clicks []core.Click) error
}

func (f *fakeShard) Record(ctx context.Context, clicks []core.Click) error {
	return f.RecordFunc(ctx, clicks)
}

func (f *fakeShard) Stats(context.Context, core.StatsRequest) (core.ShardStats, error) {
	return core.ShardStats{}, errors.ErrUnsupported
}

func (f *fakeShard) Read(context.Context, core.ReadRequest) ([]core.Delivery, error) {
	return nil, errors.ErrUnsupported
}

func (f *fakeShard) Ack(context.Context, core.AckRequest) error { return errors.ErrUnsupported }

// clickLog collects what fakes received, safe for concurrent use.
type clickLog struct {
	mu      sync.Mutex
	batches map[string][][]core.Click
}

func (l *clickLog) add(dest string, clicks []core.Click) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.batches == nil {
		l.batches = map[string][][]core.Click{}
	}
	l.batches[dest] = append(l.batches[dest], slices.Clone(clicks))
}

// ids returns the click ids each destination received, sorted.
func (l *clickLog) ids() map[string][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string][]string{}
	for dest, bs := range l.batches {
		for _, b := range bs {
			for _, c := range b {
				out[dest] = append(out[dest], c.ID)
			}
		}
		sort.Strings(out[dest])
	}
	return out
}

func (l *clickLog) sizes(dest string) []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []int
	for _, b := range l.batches[dest] {
		out = append(out, len(b))
	}
	return out
}

// okShard records into log under name.
func okShard(log *clickLog, name string) *fakeShard {
	return &fakeShard{RecordFunc: func(_ context.Context, clicks []core.Click) error {
		log.add(name, clicks)
		return nil
	}}
}

// downShard always fails.
func downShard() *fakeShard {
	return &fakeShard{RecordFunc: func(context.Context, []core.Click) error {
		return fmt.Errorf("record: %w", core.ErrUnavailable)
	}}
}

// fakeStore implements the two store methods the batcher uses; any other
// method panics through the nil embedded interface.
type fakeStore struct {
	core.Store
	URLIDsByCodeFunc func(ctx context.Context, codes []string) (map[string]int64, error)
	InsertClicksFunc func(ctx context.Context, clicks []core.ClickEvent) (int, error)
}

func (s *fakeStore) URLIDsByCode(ctx context.Context, codes []string) (map[string]int64, error) {
	return s.URLIDsByCodeFunc(ctx, codes)
}

func (s *fakeStore) InsertClicks(ctx context.Context, clicks []core.ClickEvent) (int, error) {
	return s.InsertClicksFunc(ctx, clicks)
}

// resolve returns the ids of those of codes that ids knows.
func resolve(ids map[string]int64, codes []string) map[string]int64 {
	out := map[string]int64{}
	for _, c := range codes {
		if id, ok := ids[c]; ok {
			out[c] = id
		}
	}
	return out
}

// mapStore resolves codes from ids and logs inserted clicks as "store".
func mapStore(log *clickLog, ids map[string]int64) *fakeStore {
	var mu sync.Mutex
	return &fakeStore{
		URLIDsByCodeFunc: func(_ context.Context, codes []string) (map[string]int64, error) {
			return resolve(ids, codes), nil
		},
		InsertClicksFunc: func(_ context.Context, evs []core.ClickEvent) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			cs := make([]core.Click, len(evs))
			for i, e := range evs {
				if e.URLID != ids[e.Code] || e.Shard != "" {
					return 0, fmt.Errorf("bad click event %+v", e)
				}
				cs[i] = e.Click
			}
			log.add("store", cs)
			return len(evs), nil
		},
	}
}

// metricWant is the value a test wants a counter or gauge to have.
type metricWant struct {
	name   string
	labels map[string]string
	want   float64
}

// wantMetrics reports each metric of wants whose value in reg differs.
func wantMetrics(t *testing.T, reg *prometheus.Registry, wants []metricWant) {
	t.Helper()
	for _, w := range wants {
		if got := metricValue(t, reg, w.name, w.labels); got != w.want {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, got, w.want)
		}
	}
}

// metricValue returns the value of the counter or gauge name whose labels
// are exactly labels, or 0 when there is none.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; !ok || v != lp.GetValue() {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

// labelNames lists the label names of every series of metric name.
func labelNames(t *testing.T, reg *prometheus.Registry, name string) []string {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	set := map[string]bool{}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var names []string
			for _, lp := range m.GetLabel() {
				names = append(names, lp.GetName())
			}
			set[strings.Join(names, ",")] = true
		}
	}
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// testLogger logs to the test's output until the test ends; a plugin's
// stdio goroutine may still log after that, and those lines are dropped
// (testing panics on a write after the test completed).
func testLogger(t testing.TB) *slog.Logger {
	w := &endingWriter{w: t.Output()}
	t.Cleanup(w.end)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// endingWriter writes to w until end is called, and discards after.
type endingWriter struct {
	mu    sync.Mutex
	w     io.Writer
	ended bool
}

func (e *endingWriter) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ended {
		return len(p), nil
	}
	return e.w.Write(p)
}

func (e *endingWriter) end() {
	e.mu.Lock()
	e.ended = true
	e.mu.Unlock()
}
