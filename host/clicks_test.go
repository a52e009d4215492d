package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

func click(id int, code string) core.Click {
	return core.Click{ID: fmt.Sprintf("c%04d", id), Code: code, Visitor: "v", At: time.Unix(1795556065, 0).UTC()}
}

func named(shards ...core.ClickShard) []core.NamedShard {
	out := make([]core.NamedShard, len(shards))
	for i, s := range shards {
		out[i] = core.NamedShard{Name: fmt.Sprintf("shard%d", i), Shard: s}
	}
	return out
}

func newTestBatcher(t *testing.T, shards []core.NamedShard, store core.Store, cfg BatcherConfig) (*ClickBatcher, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	b, err := NewClickBatcher(shards, store, cfg, Options{Logger: testLogger(t), Registry: reg})
	if err != nil {
		t.Fatalf("NewClickBatcher: %v", err)
	}
	return b, reg
}

func record(t *testing.T, b *ClickBatcher, clicks ...core.Click) {
	t.Helper()
	for _, c := range clicks {
		if err := b.Record(t.Context(), c); err != nil {
			t.Fatalf("Record(%s): %v", c.ID, err)
		}
	}
}

// recordInTurn records clicks from to to of code d5DnL5, each in a
// goroutine of wg, letting each go as far as it can (synctest.Wait)
// before the next starts, so that they reach the batcher in order.
func recordInTurn(t *testing.T, b *ClickBatcher, wg *sync.WaitGroup, from, to int) {
	for i := from; i <= to; i++ {
		wg.Go(func() {
			if err := b.Record(t.Context(), click(i, "d5DnL5")); err != nil {
				t.Errorf("Record(%d): %v", i, err)
			}
		})
		synctest.Wait()
	}
}

func closeBatcher(t *testing.T, b *ClickBatcher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestBatcherFlushOnSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log clickLog
		b, _ := newTestBatcher(t, named(okShard(&log, "shard0")), nil, BatcherConfig{BatchSize: 4, FlushInterval: time.Hour})
		start := time.Now()
		for i := range 6 {
			record(t, b, click(i, "d5DnL5"))
		}
		synctest.Wait()
		if diff := cmp.Diff([]int{4}, log.sizes("shard0")); diff != "" {
			t.Errorf("batch sizes before the interval (-want +got):\n%s", diff)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("full batch flushed after %v, want at once", d)
		}
		closeBatcher(t, b)
		if diff := cmp.Diff([]int{4, 2}, log.sizes("shard0")); diff != "" {
			t.Errorf("batch sizes after Close (-want +got):\n%s", diff)
		}
	})
}

func TestBatcherFlushOnInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log clickLog
		b, _ := newTestBatcher(t, named(okShard(&log, "shard0")), nil, BatcherConfig{BatchSize: 100, FlushInterval: 5 * time.Millisecond})
		record(t, b, click(1, "a"), click(2, "b"), click(3, "c"))
		time.Sleep(5*time.Millisecond - time.Nanosecond)
		synctest.Wait()
		if got := log.sizes("shard0"); len(got) != 0 {
			t.Fatalf("flushed %v before the interval", got)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if diff := cmp.Diff([]int{3}, log.sizes("shard0")); diff != "" {
			t.Errorf("batch sizes at the interval (-want +got):\n%s", diff)
		}
		// The interval counts from the first click of the next batch.
		time.Sleep(time.Second)
		record(t, b, click(4, "d"))
		time.Sleep(5 * time.Millisecond)
		synctest.Wait()
		if diff := cmp.Diff([]int{3, 1}, log.sizes("shard0")); diff != "" {
			t.Errorf("batch sizes after the second interval (-want +got):\n%s", diff)
		}
		closeBatcher(t, b)
	})
}

func TestBatcherGroupsByOwner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log clickLog
		b, reg := newTestBatcher(t, named(okShard(&log, "shard0"), okShard(&log, "shard1")), nil, BatcherConfig{})
		// Appendix B: d5DnL5 and KZ6mAC belong to shard0, 000001 and abc123 to shard1.
		record(t, b, click(1, "d5DnL5"), click(2, "000001"), click(3, "KZ6mAC"), click(4, "abc123"))
		closeBatcher(t, b)
		want := map[string][]string{"shard0": {"c0001", "c0003"}, "shard1": {"c0002", "c0004"}}
		if diff := cmp.Diff(want, log.ids()); diff != "" {
			t.Errorf("clicks per shard (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]int{2}, log.sizes("shard0")); diff != "" {
			t.Errorf("shard0 batches (-want +got):\n%s", diff)
		}
		for _, s := range []string{"shard0", "shard1"} {
			if got := metricValue(t, reg, "curtain_clicks_flushed_total", map[string]string{"destination": s}); got != 2 {
				t.Errorf("curtain_clicks_flushed_total{destination=%q} = %v, want 2", s, got)
			}
		}
	})
}

func TestBatcherFailover(t *testing.T) {
	// Codes and their failover orders come from Appendix B.
	tests := []struct {
		name  string
		up    []bool // per shard
		codes []string
		want  map[string][]string // shard → click ids
		// failovers maps "from>to" to the count.
		failovers map[string]float64
		failures  map[string]float64
	}{
		{
			name:      "2 shards, owner down",
			up:        []bool{false, true},
			codes:     []string{"d5DnL5", "000001", "KZ6mAC"},
			want:      map[string][]string{"shard1": {"c0000", "c0001", "c0002"}},
			failovers: map[string]float64{"shard0>shard1": 2},
			failures:  map[string]float64{"shard0": 2},
		},
		{
			name:  "3 shards, each click to its own next shard",
			up:    []bool{false, true, true},
			codes: []string{"d5DnL5", "KZ6mAC", "000001", "xyz999"},
			// d5DnL5: shard0, shard1, shard2; KZ6mAC and xyz999: shard0, shard2, shard1.
			want:      map[string][]string{"shard1": {"c0000", "c0002"}, "shard2": {"c0001", "c0003"}},
			failovers: map[string]float64{"shard0>shard1": 1, "shard0>shard2": 2},
			failures:  map[string]float64{"shard0": 3},
		},
		{
			name:  "3 shards, owner and second down",
			up:    []bool{false, true, false},
			codes: []string{"KZ6mAC", "abc123", "click1"},
			// KZ6mAC: shard0, shard2, shard1; abc123: shard2, shard1, shard0;
			// click1: shard1, shard2, shard0.
			want:      map[string][]string{"shard1": {"c0000", "c0001", "c0002"}},
			failovers: map[string]float64{"shard0>shard1": 1, "shard2>shard1": 1},
			failures:  map[string]float64{"shard0": 1, "shard2": 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var log clickLog
				var shards []core.ClickShard
				for i, up := range tt.up {
					if up {
						shards = append(shards, okShard(&log, fmt.Sprintf("shard%d", i)))
					} else {
						shards = append(shards, downShard())
					}
				}
				b, reg := newTestBatcher(t, named(shards...), nil, BatcherConfig{})
				for i, code := range tt.codes {
					record(t, b, click(i, code))
				}
				closeBatcher(t, b)
				if diff := cmp.Diff(tt.want, log.ids()); diff != "" {
					t.Errorf("clicks per shard (-want +got):\n%s", diff)
				}
				for i := range tt.up {
					from := fmt.Sprintf("shard%d", i)
					if got := metricValue(t, reg, "redis_shard_failures_total", map[string]string{"shard_id": from}); got != tt.failures[from] {
						t.Errorf("redis_shard_failures_total{shard_id=%q} = %v, want %v", from, got, tt.failures[from])
					}
					for j := range tt.up {
						to := fmt.Sprintf("shard%d", j)
						want := tt.failovers[from+">"+to]
						got := metricValue(t, reg, "redis_shard_failovers_total", map[string]string{"from_shard": from, "to_shard": to})
						if got != want {
							t.Errorf("redis_shard_failovers_total{from_shard=%q,to_shard=%q} = %v, want %v", from, to, got, want)
						}
					}
				}
				if diff := cmp.Diff([]string{"from_shard,to_shard"}, labelNames(t, reg, "redis_shard_failovers_total")); diff != "" {
					t.Errorf("failover labels (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff([]string{"shard_id"}, labelNames(t, reg, "redis_shard_failures_total")); diff != "" {
					t.Errorf("failure labels (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// TestBatcherRestsHungShard: a shard whose calls hang until their timeout
// is called once per rest, not once per batch; its clicks go to the next
// shard meanwhile, counted as failures of the hung one; and once it
// answers again it takes its clicks back within the longest rest.
func TestBatcherRestsHungShard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log clickLog
		var hung atomic.Bool
		hung.Store(true)
		var calls atomic.Int64
		owner := &fakeShard{RecordFunc: func(ctx context.Context, clicks []core.Click) error {
			calls.Add(1)
			if hung.Load() {
				<-ctx.Done()
				return fmt.Errorf("record: %w: %w", ctx.Err(), core.ErrUnavailable)
			}
			log.add("shard0", clicks)
			return nil
		}}
		cfg := BatcherConfig{BatchSize: 1, CallTimeout: time.Second, RetryMin: 100 * time.Millisecond}
		b, reg := newTestBatcher(t, named(owner, okShard(&log, "shard1")), nil, cfg)
		// d5DnL5 is owned by shard0 (Appendix B). One click every 10ms
		// for 2s: 200 batches.
		for i := range 200 {
			record(t, b, click(i, "d5DnL5"))
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(2 * maxShardRest) // the last calls time out
		// The first calls (one per flusher at most) wait their
		// CallTimeout, 1s; then rests of 100, 200, 400ms (and 500ms, the
		// longest), each ended by one probe that waits probeTimeout.
		n := calls.Load()
		if n > 7 {
			t.Errorf("the hung shard was called %d times for 200 batches, want one call per rest", n)
		}
		t.Logf("the hung shard was called %d times for 200 batches", n)
		if got := metricValue(t, reg, "redis_shard_failures_total", map[string]string{"shard_id": "shard0"}); got != 200 {
			t.Errorf("redis_shard_failures_total{shard0} = %v, want 200", got)
		}
		hung.Store(false)
		time.Sleep(maxShardRest)
		record(t, b, click(1000, "d5DnL5"))
		closeBatcher(t, b)
		ids := log.ids()
		if len(ids["shard1"]) != 200 || len(ids["shard0"]) != 1 {
			t.Errorf("clicks per shard: shard0 %d, shard1 %d; want 1 and 200", len(ids["shard0"]), len(ids["shard1"]))
		}
	})
}

func TestBatcherStoreFallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log clickLog
		store := mapStore(&log, map[string]int64{"d5DnL5": 1, "KZ6mAC": 2})
		b, reg := newTestBatcher(t, named(downShard(), downShard()), store, BatcherConfig{})
		record(t, b, click(1, "d5DnL5"), click(2, "KZ6mAC"), click(3, "nope"), click(4, "d5DnL5"))
		closeBatcher(t, b)
		want := map[string][]string{"store": {"c0001", "c0002", "c0004"}}
		if diff := cmp.Diff(want, log.ids()); diff != "" {
			t.Errorf("stored clicks (-want +got):\n%s", diff)
		}
		wantMetrics(t, reg, []metricWant{
			{"curtain_clicks_flushed_total", map[string]string{"destination": "store"}, 3},
			{"curtain_clicks_failed_total", map[string]string{"reason": "unknown_code"}, 1},
			{"redis_shard_failures_total", map[string]string{"shard_id": "shard0"}, 4},
			{"redis_shard_failures_total", map[string]string{"shard_id": "shard1"}, 4},
			{"curtain_clicks_retry_depth", nil, 0},
		})
	})
}

func TestBatcherRetryBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log clickLog
		good := mapStore(&log, map[string]int64{"d5DnL5": 1})
		var (
			mu       sync.Mutex
			attempts []time.Duration
		)
		start := time.Now()
		store := &fakeStore{
			URLIDsByCodeFunc: func(ctx context.Context, codes []string) (map[string]int64, error) {
				mu.Lock()
				attempts = append(attempts, time.Since(start))
				n := len(attempts)
				mu.Unlock()
				if n < 6 {
					return nil, fmt.Errorf("query: %w", core.ErrUnavailable)
				}
				return good.URLIDsByCode(ctx, codes)
			},
			InsertClicksFunc: good.InsertClicksFunc,
		}
		b, reg := newTestBatcher(t, named(downShard()), store, BatcherConfig{
			FlushInterval: time.Millisecond, RetryMin: 100 * time.Millisecond, RetryMax: 300 * time.Millisecond,
		})
		record(t, b, click(1, "d5DnL5"))
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got := metricValue(t, reg, "curtain_clicks_retry_depth", nil); got != 1 {
			t.Errorf("curtain_clicks_retry_depth after the first failure = %v, want 1", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		ms := time.Millisecond
		want := []time.Duration{1 * ms, 101 * ms, 301 * ms, 601 * ms, 901 * ms, 1201 * ms}
		mu.Lock()
		diff := cmp.Diff(want, attempts)
		mu.Unlock()
		if diff != "" {
			t.Errorf("store attempts at (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string][]string{"store": {"c0001"}}, log.ids()); diff != "" {
			t.Errorf("stored clicks (-want +got):\n%s", diff)
		}
		if got := metricValue(t, reg, "curtain_clicks_retry_depth", nil); got != 0 {
			t.Errorf("curtain_clicks_retry_depth after recovery = %v, want 0", got)
		}
		closeBatcher(t, b)
	})
}

func TestBatcherRetryGoesBackToShards(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log clickLog
		var up atomic.Bool
		shard := &fakeShard{RecordFunc: func(_ context.Context, clicks []core.Click) error {
			if !up.Load() {
				return core.ErrUnavailable
			}
			log.add("shard0", clicks)
			return nil
		}}
		b, _ := newTestBatcher(t, named(shard), nil, BatcherConfig{})
		record(t, b, click(1, "a"), click(2, "b"))
		time.Sleep(time.Second)
		up.Store(true)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if diff := cmp.Diff(map[string][]string{"shard0": {"c0001", "c0002"}}, log.ids()); diff != "" {
			t.Errorf("clicks after the shard came back (-want +got):\n%s", diff)
		}
		closeBatcher(t, b)
	})
}

func TestBatcherQueueFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log clickLog
		release := make(chan struct{})
		shard := &fakeShard{RecordFunc: func(ctx context.Context, clicks []core.Click) error {
			<-release
			log.add("shard0", clicks)
			return nil
		}}
		b, reg := newTestBatcher(t, named(shard), nil, BatcherConfig{QueueSize: 1, BatchSize: 1, EnqueueWait: 5 * time.Millisecond, Flushers: 1})
		record(t, b, click(1, "a")) // sent, and blocked in the shard
		synctest.Wait()
		record(t, b, click(2, "a")) // the next batch, waiting for a flusher
		synctest.Wait()
		record(t, b, click(3, "a")) // fills the queue
		start := time.Now()
		err := b.Record(t.Context(), click(4, "a"))
		if !errors.Is(err, core.ErrUnavailable) {
			t.Errorf("Record on a full queue = %v, want ErrUnavailable", err)
		}
		if d := time.Since(start); d != 5*time.Millisecond {
			t.Errorf("Record on a full queue gave up after %v, want 5ms", d)
		}
		if got := metricValue(t, reg, "curtain_clicks_queue_depth", nil); got != 1 {
			t.Errorf("curtain_clicks_queue_depth = %v, want 1", got)
		}
		close(release)
		closeBatcher(t, b)
		if diff := cmp.Diff(map[string][]string{"shard0": {"c0001", "c0002", "c0003"}}, log.ids()); diff != "" {
			t.Errorf("delivered (-want +got):\n%s", diff)
		}
		if got := metricValue(t, reg, "curtain_clicks_failed_total", map[string]string{"reason": "rejected"}); got != 1 {
			t.Errorf("rejected clicks = %v, want 1", got)
		}
	})
}

func TestBatcherClose(t *testing.T) {
	t.Run("rejects after close", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var log clickLog
			b, _ := newTestBatcher(t, named(okShard(&log, "shard0")), nil, BatcherConfig{})
			closeBatcher(t, b)
			if err := b.Record(t.Context(), click(1, "a")); !errors.Is(err, core.ErrUnavailable) {
				t.Errorf("Record after Close = %v, want ErrUnavailable", err)
			}
			if err := b.Close(t.Context()); err != nil {
				t.Errorf("second Close = %v, want nil", err)
			}
		})
	})
	t.Run("deadline reports lost clicks", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b, reg := newTestBatcher(t, named(downShard()), nil, BatcherConfig{})
			record(t, b, click(1, "a"), click(2, "b"), click(3, "c"))
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			start := time.Now()
			err := b.Close(ctx)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Close = %v, want DeadlineExceeded", err)
			}
			if d := time.Since(start); d != 3*time.Second {
				t.Errorf("Close returned after %v, want 3s", d)
			}
			if got := metricValue(t, reg, "curtain_clicks_failed_total", map[string]string{"reason": "shutdown"}); got != 3 {
				t.Errorf("clicks lost at shutdown = %v, want 3", got)
			}
		})
	})
	t.Run("retries until delivered", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var log clickLog
			var calls atomic.Int32
			shard := &fakeShard{RecordFunc: func(_ context.Context, clicks []core.Click) error {
				if calls.Add(1) <= 3 {
					return core.ErrUnavailable
				}
				log.add("shard0", clicks)
				return nil
			}}
			b, _ := newTestBatcher(t, named(shard), nil, BatcherConfig{})
			record(t, b, click(1, "a"))
			closeBatcher(t, b)
			if diff := cmp.Diff(map[string][]string{"shard0": {"c0001"}}, log.ids()); diff != "" {
				t.Errorf("delivered (-want +got):\n%s", diff)
			}
		})
	})
}

// TestBatcherNothingLost records clicks from several goroutines while
// shards and the store fail at random, and checks that every click ends up
// exactly once on a shard or in the store.
func TestBatcherNothingLost(t *testing.T) {
	var log clickLog
	codes := []string{"000001", "000002", "0000wh", "d5DnL5", "KZ6mAC", "Bfczqz", "abc123", "click1", "sc0001", "xyz999"}
	ids := map[string]int64{}
	for i, c := range codes {
		ids[c] = int64(i + 1)
	}
	flaky := func(name string, failPct int) *fakeShard {
		var mu sync.Mutex
		rng := rand.New(rand.NewPCG(uint64(len(name)), uint64(failPct)))
		return &fakeShard{RecordFunc: func(_ context.Context, clicks []core.Click) error {
			mu.Lock()
			fail := rng.IntN(100) < failPct
			mu.Unlock()
			if fail {
				return core.ErrUnavailable
			}
			log.add(name, clicks)
			return nil
		}}
	}
	good := mapStore(&log, ids)
	var storeCalls atomic.Int32
	store := &fakeStore{
		URLIDsByCodeFunc: func(ctx context.Context, codes []string) (map[string]int64, error) {
			if storeCalls.Add(1)%2 == 1 {
				return nil, core.ErrUnavailable
			}
			return good.URLIDsByCode(ctx, codes)
		},
		InsertClicksFunc: good.InsertClicksFunc,
	}
	// Flapping shards log every streak: keep the test output short.
	reg := prometheus.NewRegistry()
	b, err := NewClickBatcher(named(flaky("shard0", 60), flaky("shard1", 70), flaky("shard2", 80)), store, BatcherConfig{
		BatchSize: 16, FlushInterval: time.Millisecond, RetryMin: time.Millisecond, RetryMax: 4 * time.Millisecond,
	}, Options{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	const workers, perWorker = 8, 400
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				n := w*perWorker + i
				if err := b.Record(t.Context(), click(n, codes[n%len(codes)])); err != nil {
					t.Errorf("Record: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	closeBatcher(t, b)

	var got []string
	for _, list := range log.ids() {
		got = append(got, list...)
	}
	sort.Strings(got)
	var want []string
	for n := range workers * perWorker {
		want = append(want, fmt.Sprintf("c%04d", n))
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("delivered click ids (-want +got):\n%s", diff)
	}
	if got := metricValue(t, reg, "curtain_clicks_failed_total", map[string]string{"reason": "overflow"}); got != 0 {
		t.Errorf("overflowed clicks = %v, want 0", got)
	}
	t.Logf("per destination: %v", func() map[string]int {
		out := map[string]int{}
		for d, l := range log.ids() {
			out[d] = len(l)
		}
		return out
	}())
}

func TestClickDequeDropsOldest(t *testing.T) {
	d := &clickDeque{max: 3}
	if n := d.push([]core.Click{click(1, "a"), click(2, "a")}); n != 0 {
		t.Errorf("push under the bound dropped %d", n)
	}
	if n := d.push([]core.Click{click(3, "a"), click(4, "a")}); n != 1 {
		t.Errorf("push over the bound dropped %d, want 1", n)
	}
	if n := d.pushFront([]core.Click{click(0, "a")}); n != 1 {
		t.Errorf("pushFront over the bound dropped %d, want 1", n)
	}
	var got []string
	for _, c := range d.take(10) {
		got = append(got, c.ID)
	}
	if diff := cmp.Diff([]string{"c0002", "c0003", "c0004"}, got); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
}

// durableFake is a fake shard that reports itself durable.
type durableFake struct{ *fakeShard }

func (durableFake) Durable() bool { return true }

// storedFlags returns, per click id a destination received, whether it
// was marked Stored.
func (l *clickLog) storedFlags(dest string) map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]bool{}
	for _, b := range l.batches[dest] {
		for _, c := range b {
			out[c.ID] = c.Stored
		}
	}
	return out
}

// durableCase is a case of TestBatcherDurable.
type durableCase struct {
	name      string
	shard     func(log *clickLog) core.ClickShard
	storeDown bool
	wantErr   bool
	want      map[string][]string
	// wantStored is the Stored flag the shard saw per click.
	wantStored map[string]bool
}

// durableDest is where a case's clicks are stored durably: the durable
// shard when the store has none of them.
func (c durableCase) durableDest() string {
	if _, ok := c.want["store"]; ok || c.wantErr {
		return "store"
	}
	return "shard0"
}

// TestBatcherDurable runs the durable mode over the shard kinds: Record
// returns only once its click is stored durably, by a durable shard or by
// the store before a non-durable shard gets it marked Stored, and a click
// nothing stored fails its Record and is counted.
func TestBatcherDurable(t *testing.T) {
	ids := map[string]int64{"d5DnL5": 1, "KZ6mAC": 2}
	tests := []durableCase{
		{
			name:       "durable shard",
			shard:      func(log *clickLog) core.ClickShard { return durableFake{okShard(log, "shard0")} },
			want:       map[string][]string{"shard0": {"c0001", "c0002"}},
			wantStored: map[string]bool{"c0001": false, "c0002": false},
		},
		{
			name:       "memory-like shard: store first",
			shard:      func(log *clickLog) core.ClickShard { return okShard(log, "shard0") },
			want:       map[string][]string{"store": {"c0001", "c0002"}, "shard0": {"c0001", "c0002"}},
			wantStored: map[string]bool{"c0001": true, "c0002": true},
		},
		{
			name:  "durable shard down: store",
			shard: func(log *clickLog) core.ClickShard { return durableFake{downShard()} },
			want:  map[string][]string{"store": {"c0001", "c0002"}},
		},
		{
			name:      "store down, shard not durable: refused",
			shard:     func(log *clickLog) core.ClickShard { return okShard(log, "shard0") },
			storeDown: true,
			wantErr:   true,
			want:      map[string][]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var log clickLog
				store := mapStore(&log, ids)
				if tt.storeDown {
					store.InsertClicksFunc = func(context.Context, []core.ClickEvent) (int, error) {
						return 0, fmt.Errorf("insert: %w", core.ErrUnavailable)
					}
				}
				b, reg := newTestBatcher(t, named(tt.shard(&log)), store, BatcherConfig{Durable: true})
				if !b.AcknowledgesClicks() {
					t.Fatal("AcknowledgesClicks() = false in the durable mode")
				}
				var wg sync.WaitGroup
				errs := make([]error, 2)
				for i, c := range []core.Click{click(1, "d5DnL5"), click(2, "KZ6mAC")} {
					wg.Go(func() { errs[i] = b.Record(t.Context(), c) })
				}
				wg.Wait()
				// Record returned: what it acknowledged is stored now,
				// before any Close or Settle.
				got := log.ids()
				for i, err := range errs {
					if tt.wantErr != (err != nil) {
						t.Errorf("Record #%d = %v, want error %v", i+1, err, tt.wantErr)
					}
					if err != nil && !errors.Is(err, core.ErrUnavailable) {
						t.Errorf("Record #%d = %v, want core.ErrUnavailable", i+1, err)
					}
				}
				// The store (or a durable shard) has the clicks when
				// Record returns; a shard that only counts them gets
				// them within the flush interval.
				if diff := cmp.Diff(tt.want[tt.durableDest()], got[tt.durableDest()]); diff != "" {
					t.Errorf("stored when Record returned (-want +got):\n%s", diff)
				}
				time.Sleep(b.cfg.FlushInterval)
				synctest.Wait()
				if diff := cmp.Diff(tt.want, log.ids()); diff != "" {
					t.Errorf("delivered (-want +got):\n%s", diff)
				}
				if tt.wantStored != nil {
					if diff := cmp.Diff(tt.wantStored, log.storedFlags("shard0")); diff != "" {
						t.Errorf("Stored flags the shard saw (-want +got):\n%s", diff)
					}
				}
				var wantUnacked float64
				if tt.wantErr {
					wantUnacked = 2
				}
				if got := metricValue(t, reg, "curtain_clicks_failed_total", map[string]string{"reason": "unacknowledged"}); got != wantUnacked {
					t.Errorf("unacknowledged = %v, want %v", got, wantUnacked)
				}
				closeBatcher(t, b)
			})
		})
	}
}

// TestBatcherDurableAckTimeout: a click whose batch is not stored within
// AckTimeout fails its Record instead of waiting for ever.
func TestBatcherDurableAckTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		slow := &fakeShard{RecordFunc: func(ctx context.Context, _ []core.Click) error {
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}
		b, reg := newTestBatcher(t, named(durableFake{slow}), nil, BatcherConfig{Durable: true, AckTimeout: time.Second, CallTimeout: time.Minute})
		err := b.Record(t.Context(), click(1, "d5DnL5"))
		if !errors.Is(err, core.ErrUnavailable) {
			t.Errorf("Record = %v, want core.ErrUnavailable after AckTimeout", err)
		}
		if got := metricValue(t, reg, "curtain_clicks_failed_total", map[string]string{"reason": "unacknowledged"}); got != 1 {
			t.Errorf("unacknowledged = %v, want 1", got)
		}
		close(release)
		closeBatcher(t, b)
	})
}

// TestBatcherDurableClientGone: a Record whose context is cancelled while
// its commit is out (the client went away) returns at once without
// counting its click as unacknowledged, and the click is stored with its
// batch; a context deadline that ends the wait counts it.
func TestBatcherDurableClientGone(t *testing.T) {
	for _, tt := range []struct {
		name string
		// end ends the wait of a Record under ctx, whose cancel it gets.
		end         func(cancel context.CancelFunc)
		wantErr     error
		wantUnacked float64
	}{
		{"cancelled", func(cancel context.CancelFunc) { cancel() }, context.Canceled, 0},
		{"deadline", func(context.CancelFunc) { time.Sleep(2 * time.Second) }, context.DeadlineExceeded, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var log clickLog
				b, reg, release, _ := firstCommitWaits(t, &log)
				ctx, cancel := context.WithTimeout(t.Context(), time.Second)
				defer cancel()
				done := make(chan error, 1)
				go func() { done <- b.Record(ctx, click(1, "d5DnL5")) }()
				synctest.Wait() // the commit holding the click is out
				tt.end(cancel)
				if err := <-done; !errors.Is(err, tt.wantErr) {
					t.Errorf("Record = %v, want %v", err, tt.wantErr)
				}
				if got := metricValue(t, reg, "curtain_clicks_failed_total", map[string]string{"reason": "unacknowledged"}); got != tt.wantUnacked {
					t.Errorf("unacknowledged = %v, want %v", got, tt.wantUnacked)
				}
				close(release)
				closeBatcher(t, b)
				if got := log.ids()["store"]; len(got) != 1 {
					t.Errorf("store got clicks %v, want the 1 of the commit", got)
				}
			})
		})
	}
}

// TestBatcherFastNotAcknowledging: the fast mode does not acknowledge, so
// the service keeps answering 302 when a click is refused.
func TestBatcherFastNotAcknowledging(t *testing.T) {
	b, _ := newTestBatcher(t, named(downShard()), nil, BatcherConfig{})
	defer closeBatcher(t, b)
	if b.AcknowledgesClicks() {
		t.Error("AcknowledgesClicks() = true in the fast mode")
	}
}

// backlogShard reports a fixed backlog for the empty code.
type backlogShard struct {
	*fakeShard
	pending int64
}

func (s backlogShard) Stats(_ context.Context, req core.StatsRequest) (core.ShardStats, error) {
	if req.Code != "" || !req.Parts.Has(core.StatsPending) {
		return core.ShardStats{}, fmt.Errorf("stats %+v: want the whole backlog: %w", req, core.ErrInvalid)
	}
	return core.ShardStats{Pending: s.pending}, nil
}

func TestBatcherBacklogGauge(t *testing.T) {
	var log clickLog
	b, reg := newTestBatcher(t, named(backlogShard{okShard(&log, "shard0"), 42}, downShard()), nil, BatcherConfig{})
	defer closeBatcher(t, b)
	if got := metricValue(t, reg, "curtain_click_backlog", map[string]string{"shard_id": "shard0"}); got != 42 {
		t.Errorf("curtain_click_backlog{shard0} = %v, want 42", got)
	}
	if got := metricValue(t, reg, "curtain_click_backlog", map[string]string{"shard_id": "shard1"}); got != -1 {
		t.Errorf("curtain_click_backlog{shard1} (Stats fails) = %v, want -1", got)
	}
}

// TestBatcherWarnsOfShardsNotDurable checks that only the durable click
// mode warns, once per shard that cannot acknowledge clicks itself.
func TestBatcherWarnsOfShardsNotDurable(t *testing.T) {
	for _, durable := range []bool{false, true} {
		var log clickLog
		var out bytes.Buffer
		shards := []core.NamedShard{
			{Name: "shard0", Shard: durableFake{okShard(&log, "shard0")}},
			{Name: "shard1", Shard: okShard(&log, "shard1")},
		}
		logger := slog.New(slog.NewJSONHandler(&out, nil))
		b, err := NewClickBatcher(shards, nil, BatcherConfig{Durable: durable}, Options{Logger: logger, Registry: prometheus.NewRegistry()})
		if err != nil {
			t.Fatalf("NewClickBatcher: %v", err)
		}
		closeBatcher(t, b)
		var warned []string
		for line := range strings.Lines(out.String()) {
			var rec struct{ Level, Msg, Shard string }
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			if rec.Level == "WARN" && strings.HasPrefix(rec.Msg, "click shard not durable") {
				warned = append(warned, rec.Shard)
			}
		}
		want := []string(nil)
		if durable {
			want = []string{"shard1"}
		}
		if diff := cmp.Diff(want, warned); diff != "" {
			t.Errorf("durable=%v: shards warned about (-want +got):\n%s", durable, diff)
		}
	}
}

// TestBatcherDurableGathersWhileBusy checks group commit under load: the
// clicks that arrive while every flusher is out go together in the next
// batch once one is free, instead of one small batch per arrival.
func TestBatcherDurableGathersWhileBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log clickLog
		release := make(chan struct{})
		var first atomic.Bool
		shard := durableFake{&fakeShard{RecordFunc: func(_ context.Context, clicks []core.Click) error {
			if first.CompareAndSwap(false, true) {
				<-release // the only flusher is out with the first batch
			}
			log.add("shard0", clicks)
			return nil
		}}}
		b, _ := newTestBatcher(t, named(shard), nil, BatcherConfig{Durable: true, Flushers: 1, AckTimeout: time.Minute})
		var wg sync.WaitGroup
		recordInTurn(t, b, &wg, 1, 5) // click 1 is out; clicks 2-5 wait, in order
		close(release)
		wg.Wait()
		closeBatcher(t, b)
		var sizes []int
		for _, batch := range log.batches["shard0"] {
			sizes = append(sizes, len(batch))
		}
		if diff := cmp.Diff([]int{1, 4}, sizes); diff != "" {
			t.Errorf("batch sizes (-want +got):\n%s", diff)
		}
	})
}

// firstCommitWaits returns a durable batcher over one shard of log and a
// store of code d5DnL5 (URL 1) logging into log, whose first insert waits
// until release is closed, and the count of its inserts begun.
func firstCommitWaits(t *testing.T, log *clickLog) (b *ClickBatcher, reg *prometheus.Registry, release chan struct{}, calls *atomic.Int32) {
	t.Helper()
	store := mapStore(log, map[string]int64{"d5DnL5": 1})
	insert := store.InsertClicksFunc
	release, calls = make(chan struct{}), new(atomic.Int32)
	store.InsertClicksFunc = func(ctx context.Context, evs []core.ClickEvent) (int, error) {
		if calls.Add(1) == 1 {
			<-release
		}
		return insert(ctx, evs)
	}
	b, reg = newTestBatcher(t, named(okShard(log, "shard0")), store, BatcherConfig{Durable: true, AckTimeout: time.Minute})
	return b, reg, release, calls
}

// TestBatcherDurableCommitsShare checks the durable mode's group commit
// into the store with the default flushers: while a commit is out, the
// clicks that arrive wait for its end and share the next commit, unless
// durableShare of them wait, which then go at once; and the real-time
// figures of commits that end together reach the shard in one call.
func TestBatcherDurableCommitsShare(t *testing.T) {
	for _, tt := range []struct {
		name string
		// more is how many clicks arrive while the first commit is out.
		more int
		// wantOut is how many store calls are under way before the first
		// commit ends.
		wantOut int
	}{
		{name: "few wait", more: 4, wantOut: 1},
		{name: "enough for another commit", more: durableShare, wantOut: 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var log clickLog
				b, reg, release, calls := firstCommitWaits(t, &log)
				var wg sync.WaitGroup
				recordInTurn(t, b, &wg, 1, 1+tt.more)
				if got := int(calls.Load()); got != tt.wantOut {
					t.Errorf("store calls while the first commit is out = %d, want %d", got, tt.wantOut)
				}
				close(release)
				wg.Wait()
				time.Sleep(b.cfg.FlushInterval)
				synctest.Wait()
				want := []int{1, tt.more}
				if tt.wantOut == 2 {
					want = []int{tt.more, 1} // the second commit ends first
				}
				if diff := cmp.Diff(want, log.sizes("store")); diff != "" {
					t.Errorf("commit sizes (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff([]int{1 + tt.more}, log.sizes("shard0")); diff != "" {
					t.Errorf("shard calls for the real-time figures (-want +got):\n%s", diff)
				}
				if got := metricValue(t, reg, "curtain_clicks_store_inserts_total", nil); got != 2 {
					t.Errorf("curtain_clicks_store_inserts_total = %v, want 2 commits", got)
				}
				closeBatcher(t, b)
			})
		})
	}
}

// TestBatcherDurableLinger: with no commit out, fewer clicks than the last
// commit held wait up to durableLinger for the others to share the next.
func TestBatcherDurableLinger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log clickLog
		b, _, release, _ := firstCommitWaits(t, &log)
		var wg sync.WaitGroup
		recordInTurn(t, b, &wg, 1, 4) // click 1's commit is out; clicks 2-4 share the next
		close(release)
		wg.Wait()
		start := time.Now()
		var took time.Duration
		wg.Go(func() {
			if err := b.Record(t.Context(), click(5, "d5DnL5")); err != nil {
				t.Errorf("Record(5): %v", err)
			}
			took = time.Since(start)
		})
		synctest.Wait()
		time.Sleep(durableLinger / 2)
		recordInTurn(t, b, &wg, 6, 6)
		wg.Wait()
		if took != durableLinger {
			t.Errorf("click 5 waited %v, want %v", took, durableLinger)
		}
		if diff := cmp.Diff([]int{1, 3, 2}, log.sizes("store")); diff != "" {
			t.Errorf("commit sizes (-want +got):\n%s", diff)
		}
		closeBatcher(t, b)
	})
}

// TestBatcherDurableLingerAfterWait: a click that began waiting for a
// commit out, and is still short of the last commit's size when that
// commit ends, goes durableLinger after the end, not durableWait after it
// began waiting.
func TestBatcherDurableLingerAfterWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const commitTime = 5 * time.Millisecond
		var log clickLog
		store := mapStore(&log, map[string]int64{"d5DnL5": 1})
		insert := store.InsertClicksFunc
		store.InsertClicksFunc = func(ctx context.Context, evs []core.ClickEvent) (int, error) {
			time.Sleep(commitTime)
			return insert(ctx, evs)
		}
		b, _ := newTestBatcher(t, named(okShard(&log, "shard0")), store, BatcherConfig{Durable: true, AckTimeout: time.Minute})
		var wg sync.WaitGroup
		// Click 1's commit, then one of clicks 2 and 3.
		recordInTurn(t, b, &wg, 1, 3)
		time.Sleep(commitTime + time.Millisecond) // clicks 2 and 3 are out
		start := time.Now()
		if err := b.Record(t.Context(), click(4, "d5DnL5")); err != nil {
			t.Fatalf("Record(4): %v", err)
		}
		// Click 4 waits for the commit out (4 ms left), then lingers, then
		// its own commit takes commitTime.
		if took, want := time.Since(start), commitTime-time.Millisecond+durableLinger+commitTime; took != want {
			t.Errorf("click 4 took %v, want %v", took, want)
		}
		wg.Wait()
		if diff := cmp.Diff([]int{1, 2, 1}, log.sizes("store")); diff != "" {
			t.Errorf("commit sizes (-want +got):\n%s", diff)
		}
		closeBatcher(t, b)
	})
}

// TestBatcherDurableStuckCommit: a click that waits for a commit out
// goes beside it once it waited durableWait, so a commit held up (a lock,
// a slow disk) does not hold every later click to its own end.
func TestBatcherDurableStuckCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log clickLog
		b, _, release, _ := firstCommitWaits(t, &log)
		go b.Record(t.Context(), click(1, "d5DnL5"))
		synctest.Wait()
		start := time.Now()
		if err := b.Record(t.Context(), click(2, "d5DnL5")); err != nil {
			t.Fatalf("Record(2): %v", err)
		}
		if waited := time.Since(start); waited != durableWait {
			t.Errorf("click 2 waited %v behind the stuck commit, want %v", waited, durableWait)
		}
		if diff := cmp.Diff([]string{"c0002"}, log.ids()["store"]); diff != "" {
			t.Errorf("stored while the first commit is stuck (-want +got):\n%s", diff)
		}
		close(release)
		closeBatcher(t, b)
	})
}

// TestBatcherDurableSettleSendsFigures: in the durable mode Settle
// returns once the real-time figures of every click before it reached
// their shard, also those the figures loop was still sending.
func TestBatcherDurableSettleSendsFigures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log clickLog
		release := make(chan struct{})
		var calls atomic.Int32
		shard := &fakeShard{RecordFunc: func(_ context.Context, clicks []core.Click) error {
			if calls.Add(1) == 1 {
				<-release // the loop's send of click 1 hangs
			}
			log.add("shard0", clicks)
			return nil
		}}
		store := mapStore(&log, map[string]int64{"d5DnL5": 1})
		b, _ := newTestBatcher(t, named(shard), store, BatcherConfig{Durable: true, AckTimeout: time.Minute})
		if err := b.Record(t.Context(), click(1, "d5DnL5")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(b.cfg.FlushInterval)
		synctest.Wait() // the loop sends click 1's figures, and hangs
		if err := b.Record(t.Context(), click(2, "d5DnL5")); err != nil {
			t.Fatal(err)
		}
		settled := make(chan error, 1)
		go func() { settled <- b.Settle(t.Context()) }()
		synctest.Wait()
		select {
		case err := <-settled:
			t.Fatalf("Settle returned (%v) while click 1's figures were still being sent", err)
		default:
		}
		close(release)
		if err := <-settled; err != nil {
			t.Fatalf("Settle: %v", err)
		}
		if diff := cmp.Diff([]string{"c0001", "c0002"}, log.ids()["shard0"]); diff != "" {
			t.Errorf("figures at the shard when Settle returned (-want +got):\n%s", diff)
		}
		closeBatcher(t, b)
	})
}

// eventLog records the click events a store was given, safe for
// concurrent use.
type eventLog struct {
	mu     sync.Mutex
	events []core.ClickEvent
	// lookups counts the codes URLIDsByCode was asked for.
	lookups []string
	// tries counts the calls of InsertClicks, failed ones included.
	tries int
}

func (l *eventLog) stored() []core.ClickEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// eventStore resolves codes from ids, logs events in log, and fails while
// down is set.
func eventStore(log *eventLog, ids map[string]int64, down *atomic.Bool) *fakeStore {
	return &fakeStore{
		URLIDsByCodeFunc: func(_ context.Context, codes []string) (map[string]int64, error) {
			log.mu.Lock()
			log.lookups = append(log.lookups, codes...)
			log.mu.Unlock()
			return resolve(ids, codes), nil
		},
		InsertClicksFunc: func(_ context.Context, evs []core.ClickEvent) (int, error) {
			log.mu.Lock()
			log.tries++
			log.mu.Unlock()
			if down != nil && down.Load() {
				return 0, fmt.Errorf("insert: %w", core.ErrUnavailable)
			}
			log.mu.Lock()
			defer log.mu.Unlock()
			log.events = append(log.events, evs...)
			return len(evs), nil
		},
	}
}

// TestBatcherDirectEvents: in the direct events mode every click is
// stored as an event, filed under its owner shard and under the URL the
// redirect resolved (no lookup), before its shard sees it marked Stored.
func TestBatcherDirectEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var events eventLog
		store := eventStore(&events, map[string]int64{"KZ6mAC": 2, "000001": 3}, nil)
		var log clickLog
		// A shard checks that the store has its clicks already.
		seenFirst := func(name string) *fakeShard {
			return &fakeShard{RecordFunc: func(_ context.Context, clicks []core.Click) error {
				have := map[string]bool{}
				for _, e := range events.stored() {
					have[e.ID] = true
				}
				for _, c := range clicks {
					// A click of no URL is counted, never stored.
					if !have[c.ID] && c.Code != "nope" {
						t.Errorf("%s got click %s before the store", name, c.ID)
					}
				}
				log.add(name, clicks)
				return nil
			}}
		}
		b, reg := newTestBatcher(t, named(seenFirst("shard0"), seenFirst("shard1")), store, BatcherConfig{DirectEvents: true})
		// d5DnL5 and KZ6mAC belong to shard0, 000001 to shard1 (Appendix B).
		resolved := click(1, "d5DnL5")
		resolved.URLID = 1
		record(t, b, resolved, click(2, "KZ6mAC"), click(3, "000001"), click(4, "nope"))
		closeBatcher(t, b)

		got := map[string]string{}
		for _, e := range events.stored() {
			got[e.ID] = fmt.Sprintf("url %d shard %s", e.URLID, e.Shard)
		}
		want := map[string]string{"c0001": "url 1 shard shard0", "c0002": "url 2 shard shard0", "c0003": "url 3 shard shard1"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("events stored (-want +got):\n%s", diff)
		}
		events.mu.Lock()
		lookups := slices.Sorted(slices.Values(events.lookups))
		events.mu.Unlock()
		if diff := cmp.Diff([]string{"000001", "KZ6mAC", "nope"}, lookups); diff != "" {
			t.Errorf("codes looked up (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string][]string{"shard0": {"c0001", "c0002"}, "shard1": {"c0003", "c0004"}}, log.ids()); diff != "" {
			t.Errorf("clicks per shard (-want +got):\n%s", diff)
		}
		for _, s := range []string{"shard0", "shard1"} {
			for id, stored := range log.storedFlags(s) {
				if !stored {
					t.Errorf("%s got click %s not marked Stored", s, id)
				}
			}
		}
		wantMetrics(t, reg, []metricWant{
			{"curtain_clicks_stored_direct_total", nil, 3},
			{"curtain_clicks_failed_total", map[string]string{"reason": "unknown_code"}, 1},
			{"curtain_clicks_flushed_total", map[string]string{"destination": "store"}, 0},
		})
	})
}

// TestBatcherDirectEventsInterval: the direct events mode gathers clicks
// for EventsInterval, not FlushInterval, so that they share a commit.
func TestBatcherDirectEventsInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var events eventLog
		var log clickLog
		cfg := BatcherConfig{DirectEvents: true, FlushInterval: 5 * time.Millisecond, EventsInterval: 100 * time.Millisecond}
		b, _ := newTestBatcher(t, named(okShard(&log, "shard0")), eventStore(&events, map[string]int64{"a": 1}, nil), cfg)
		record(t, b, click(1, "a"), click(2, "a"))
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		if n := len(events.stored()); n != 0 {
			t.Fatalf("%d events stored after 50ms, want none before the events interval", n)
		}
		record(t, b, click(3, "a"))
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		if diff := cmp.Diff([]int{3}, log.sizes("shard0")); diff != "" {
			t.Errorf("batches at the events interval (-want +got):\n%s", diff)
		}
		if n := len(events.stored()); n != 3 {
			t.Errorf("%d events stored at the events interval, want 3", n)
		}
		closeBatcher(t, b)
	})
}

// TestBatcherDirectEventsStoreDown: while the store fails, clicks take the
// shards' streams (not marked Stored), the store rests between tries
// instead of being called for every batch, and once it is back clicks are
// stored directly again.
func TestBatcherDirectEventsStoreDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var events eventLog
		var down atomic.Bool
		down.Store(true)
		store := eventStore(&events, map[string]int64{"a": 1}, &down)
		var log clickLog
		cfg := BatcherConfig{DirectEvents: true, EventsInterval: 10 * time.Millisecond, RetryMin: 100 * time.Millisecond}
		b, reg := newTestBatcher(t, named(okShard(&log, "shard0")), store, cfg)
		// One click every 10ms for 1s: 100 batches.
		for i := range 100 {
			record(t, b, click(i, "a"))
			time.Sleep(10 * time.Millisecond)
		}
		synctest.Wait()
		// Rests of 100, 200, 400ms and then up to 5s: a few tries.
		events.mu.Lock()
		n := events.tries
		events.mu.Unlock()
		if n > 5 {
			t.Errorf("the failing store was tried %d times for 100 batches, want one try per rest", n)
		}
		flags := log.storedFlags("shard0")
		if len(flags) != 100 {
			t.Fatalf("shard0 got %d clicks, want 100", len(flags))
		}
		for id, stored := range flags {
			if stored {
				t.Errorf("click %s marked Stored though the store failed", id)
			}
		}
		down.Store(false)
		time.Sleep(maxStoreRest)
		record(t, b, click(1000, "a"))
		closeBatcher(t, b)
		if got := events.stored(); len(got) != 1 || got[0].ID != "c1000" {
			t.Errorf("events stored after the store came back: %v, want c1000", got)
		}
		if !log.storedFlags("shard0")["c1000"] {
			t.Error("click c1000 not marked Stored after the store came back")
		}
		if got := metricValue(t, reg, "curtain_clicks_stored_direct_total", nil); got != 1 {
			t.Errorf("curtain_clicks_stored_direct_total = %v, want 1", got)
		}
	})
}

// TestBatcherDurableSlowStore: in the durable mode a store insert slower
// than the plugins' CallTimeout but within AckTimeout acknowledges its
// clicks, rather than failing them while it goes on to store them.
func TestBatcherDurableSlowStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var events eventLog
		store := eventStore(&events, map[string]int64{"a": 1}, nil)
		insert := store.InsertClicksFunc
		store.InsertClicksFunc = func(ctx context.Context, evs []core.ClickEvent) (int, error) {
			select {
			case <-time.After(300 * time.Millisecond):
			case <-ctx.Done():
				return 0, ctx.Err()
			}
			return insert(ctx, evs)
		}
		var log clickLog
		cfg := BatcherConfig{Durable: true, CallTimeout: 100 * time.Millisecond, AckTimeout: time.Second}
		b, reg := newTestBatcher(t, named(okShard(&log, "shard0")), store, cfg)
		if err := b.Record(t.Context(), click(1, "a")); err != nil {
			t.Errorf("Record with a 300ms store insert = %v, want it acknowledged", err)
		}
		if got := metricValue(t, reg, "curtain_clicks_failed_total", map[string]string{"reason": "unacknowledged"}); got != 0 {
			t.Errorf("unacknowledged = %v, want 0", got)
		}
		closeBatcher(t, b)
		if n := len(events.stored()); n != 1 {
			t.Errorf("%d events stored, want 1", n)
		}
	})
}

// TestBatcherLogsRetryOverflow: with every shard and the store down,
// clicks beyond the retry buffer are dropped, counted, and the loss is
// logged once per outage, not per batch.
func TestBatcherLogsRetryOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		var storeDown atomic.Bool
		storeDown.Store(true)
		store := &fakeStore{
			URLIDsByCodeFunc: func(context.Context, []string) (map[string]int64, error) {
				if storeDown.Load() {
					return nil, core.ErrUnavailable
				}
				return map[string]int64{"d5DnL5": 1}, nil
			},
			InsertClicksFunc: func(_ context.Context, evs []core.ClickEvent) (int, error) {
				if storeDown.Load() {
					return 0, core.ErrUnavailable
				}
				return len(evs), nil
			},
		}
		reg := prometheus.NewRegistry()
		b, err := NewClickBatcher(named(downShard()), store,
			BatcherConfig{BatchSize: 1, FlushInterval: time.Millisecond, RetrySize: 2},
			Options{Logger: slog.New(slog.NewJSONHandler(&out, nil)), Registry: reg})
		if err != nil {
			t.Fatal(err)
		}
		outage := func(first int) {
			for i := range 5 {
				record(t, b, click(first+i, "d5DnL5"))
				time.Sleep(10 * time.Millisecond)
			}
			synctest.Wait()
		}
		outage(0)
		if got := metricValue(t, reg, "curtain_clicks_failed_total", map[string]string{"reason": "overflow"}); got != 3 {
			t.Errorf("overflowed clicks = %v, want 3 (5 clicks, room for 2)", got)
		}
		if got := strings.Count(out.String(), "clicks lost: the retry buffer is full"); got != 1 {
			t.Errorf("overflow logged %d times in the first outage, want once:\n%s", got, out.String())
		}
		// The store comes back and takes the buffered clicks; the next
		// outage's loss is logged again.
		storeDown.Store(false)
		time.Sleep(time.Minute)
		synctest.Wait()
		storeDown.Store(true)
		outage(5)
		if got := strings.Count(out.String(), "clicks lost: the retry buffer is full"); got != 2 {
			t.Errorf("overflow logged %d times in two outages, want twice:\n%s", got, out.String())
		}
		// The two buffered clicks cannot be delivered: Close says so.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := b.Close(ctx); err == nil {
			t.Error("Close = nil, want the undelivered clicks reported")
		}
	})
}
