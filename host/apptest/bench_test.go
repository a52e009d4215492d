package apptest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/httpapi"
	"github.com/curtainhq/curtain/host"
	"github.com/curtainhq/curtain/plugins/memory"
)

// benchWriter is a reusable ResponseWriter, so that the benchmark measures
// the handler rather than the recorder.
type benchWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) WriteHeader(code int)        { w.status = code }
func (w *benchWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

// discardClicks accepts every click and keeps none.
type discardClicks struct{}

func (discardClicks) Record(context.Context, core.Click) error { return nil }

// BenchmarkRedirect measures a cache-hit redirect through the whole
// handler (routing, metrics, cache lookup, click hand-off, Location),
// in process, on the memory backends.
func BenchmarkRedirect(b *testing.B) {
	for _, bc := range []struct {
		name   string
		clicks func(b *testing.B, store core.Store) core.ClickRecorder
	}{
		{"discard", func(*testing.B, core.Store) core.ClickRecorder { return discardClicks{} }},
		{"batcher", func(b *testing.B, store core.Store) core.ClickRecorder {
			shard := memory.NewClickShard()
			cb, err := host.NewClickBatcher([]core.NamedShard{{Name: "shard0", Shard: shard}}, store, host.BatcherConfig{}, host.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { cb.Close(context.Background()) })
			return cb
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			store := openSQLiteTB(b)
			u := core.URL{ShortCode: "d5DnL5", OriginalURL: "https://hackstack.io/jade/uplink/1", IsActive: true, CreatedAt: t0, UpdatedAt: t0}
			if err := store.CreateURL(b.Context(), &u, nil); err != nil {
				b.Fatal(err)
			}
			svc := core.NewService(store, core.ServiceConfig{
				Cache:  host.NewNearCache(memory.NewCache(), host.NearCacheConfig{TTL: time.Hour}),
				Clicks: bc.clicks(b, store),
			})
			h := httpapi.New(svc, httpapi.Options{Registry: prometheus.NewRegistry()})
			req := httptest.NewRequest("GET", "/r/d5DnL5", nil)
			req.RemoteAddr = "192.0.2.1:1234"
			w := &benchWriter{h: http.Header{}}
			h.ServeHTTP(w, req) // warm the cache
			if w.status != http.StatusFound {
				b.Fatalf("status %d", w.status)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
			b.StopTimer()
			if w.status != http.StatusFound || w.h.Get("X-Cache") != "HIT" {
				b.Fatalf("status %d, X-Cache %q", w.status, w.h.Get("X-Cache"))
			}
		})
	}
}
