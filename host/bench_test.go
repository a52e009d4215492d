package host

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/memory"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// countingShard counts the clicks its shard accepted.
type countingShard struct {
	core.ClickShard
	n atomic.Int64
}

func (s *countingShard) Record(ctx context.Context, clicks []core.Click) error {
	if err := s.ClickShard.Record(ctx, clicks); err != nil {
		return err
	}
	s.n.Add(int64(len(clicks)))
	return nil
}

// drain waits until the shard accepted want clicks, then reads and
// acknowledges its whole stream, so that a long benchmark does not grow
// the shard's memory without bound.
func drain(b *testing.B, s *countingShard, want int64) {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for s.n.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("shard accepted %d of %d clicks", s.n.Load(), want)
		}
		time.Sleep(100 * time.Microsecond)
	}
	ctx := context.Background()
	for {
		ds, err := s.Read(ctx, core.ReadRequest{Group: "bench", Consumer: "bench", Count: 10000, MinIdle: time.Hour})
		if err != nil {
			b.Fatalf("Read: %v", err)
		}
		if len(ds) == 0 {
			return
		}
		ids := make([]core.DeliveryID, len(ds))
		for i, d := range ds {
			ids[i] = core.DeliveryID{Code: d.Click.Code, ID: d.ID}
		}
		if err := s.Ack(ctx, core.AckRequest{Group: "bench", IDs: ids}); err != nil {
			b.Fatalf("Ack: %v", err)
		}
	}
}

// BenchmarkRedirectBoundary measures the per-redirect cost of the backend
// boundary: each op records one click and every 100th op reserves a block
// of 100 counter values, as creating short codes does. "plugin" goes
// through the batcher to a click shard and a counter served by real plugin
// processes; "inprocess" does the same against the memory implementations
// in this process; "plugin-unbatched" sends every click in its own shard
// call, for scale. Time is end to end: an op's click is counted once a
// shard accepted it, and the shard's stream is drained outside the timer.
func BenchmarkRedirectBoundary(b *testing.B) {
	const drainEvery = 1 << 16
	type backends struct {
		shard   *countingShard
		counter core.Counter
	}
	pluginBackends := func(b *testing.B) backends {
		h := newTestHost(b, Config{Plugins: []PluginConfig{
			memoryPlugin(sdk.KindCounter),
			memoryPlugin(sdk.KindClickShard),
		}}, Options{Logger: quietLogger(b)})
		return backends{shard: &countingShard{ClickShard: h.Shards()[0].Shard}, counter: h.Counter()}
	}
	inProcess := func(*testing.B) backends {
		return backends{shard: &countingShard{ClickShard: memory.NewClickShard()}, counter: memory.NewCounter()}
	}
	codes := make([]string, 1000)
	for i := range codes {
		codes[i] = core.ShortCode(int64(i + 1))
	}
	run := func(b *testing.B, be backends, batched bool) {
		ctx := context.Background()
		var rec core.ClickRecorder
		var batcher *ClickBatcher
		if batched {
			var err error
			batcher, err = NewClickBatcher([]core.NamedShard{{Name: "shard0", Shard: be.shard}}, nil,
				BatcherConfig{EnqueueWait: 10 * time.Second}, Options{Logger: quietLogger(b)})
			if err != nil {
				b.Fatal(err)
			}
			rec = batcher
		} else {
			rec = recorderFunc(func(ctx context.Context, c core.Click) error {
				return be.shard.Record(ctx, []core.Click{c})
			})
		}
		at := time.Now().UTC()
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if i%100 == 0 {
				if _, err := be.counter.Reserve(ctx, core.ReserveRequest{Size: 100}); err != nil {
					b.Fatalf("Reserve: %v", err)
				}
			}
			c := core.Click{ID: fmt.Sprint(i), Code: codes[i%len(codes)], Visitor: "203.0.113.7", At: at}
			if err := rec.Record(ctx, c); err != nil {
				b.Fatalf("Record: %v", err)
			}
			if i > 0 && i%drainEvery == 0 {
				b.StopTimer()
				drain(b, be.shard, int64(i+1))
				b.StartTimer()
			}
		}
		// Wait for the last clicks to reach the shard, inside the timer.
		deadline := time.Now().Add(30 * time.Second)
		for be.shard.n.Load() < int64(b.N) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Microsecond)
		}
		b.StopTimer()
		if batcher != nil {
			if err := batcher.Close(ctx); err != nil {
				b.Fatalf("Close: %v", err)
			}
		}
		if got := be.shard.n.Load(); got != int64(b.N) {
			b.Fatalf("shard accepted %d of %d clicks", got, b.N)
		}
	}
	b.Run("plugin", func(b *testing.B) { run(b, pluginBackends(b), true) })
	b.Run("inprocess", func(b *testing.B) { run(b, inProcess(b), true) })
	b.Run("plugin-unbatched", func(b *testing.B) { run(b, pluginBackends(b), false) })
}

// recorderFunc adapts a function to core.ClickRecorder.
type recorderFunc func(ctx context.Context, c core.Click) error

func (f recorderFunc) Record(ctx context.Context, c core.Click) error { return f(ctx, c) }

// quietLogger logs warnings and errors only to the benchmark's output.
func quietLogger(b *testing.B) *slog.Logger {
	return slog.New(slog.NewTextHandler(b.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}
