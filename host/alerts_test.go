package host

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

// fakeSink is an alert sink whose Send is a function field; it logs the
// fingerprints of the batches it accepted and when.
type fakeSink struct {
	SendFunc func(ctx context.Context, alerts []core.Alert) error

	mu      sync.Mutex
	batches [][]string
	at      []time.Duration
	start   time.Time
}

func (s *fakeSink) Send(ctx context.Context, alerts []core.Alert) error {
	s.mu.Lock()
	s.at = append(s.at, time.Since(s.start))
	s.mu.Unlock()
	if s.SendFunc != nil {
		if err := s.SendFunc(ctx, alerts); err != nil {
			return err
		}
	}
	var fps []string
	for _, a := range alerts {
		fps = append(fps, a.Fingerprint)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, fps)
	return nil
}

func (s *fakeSink) delivered() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]string(nil), s.batches...)
}

func (s *fakeSink) attempts() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.at...)
}

func alerts(fps ...string) []core.Alert {
	out := make([]core.Alert, len(fps))
	for i, fp := range fps {
		out[i] = core.Alert{Status: "firing", Fingerprint: fp, Labels: map[string]string{"alertname": "X"}}
	}
	return out
}

func newTestAlertQueue(t *testing.T, sink core.AlertSink, cfg AlertQueueConfig) (*AlertQueue, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	return NewAlertQueue(sink, cfg, Options{Logger: testLogger(t), Registry: reg}), reg
}

func send(t *testing.T, q *AlertQueue, fps ...string) {
	t.Helper()
	if err := q.Send(t.Context(), alerts(fps...)); err != nil {
		t.Fatalf("Send(%q): %v", fps, err)
	}
}

func TestAlertQueueBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &fakeSink{start: time.Now()}
		release := make(chan struct{})
		first := true
		sink.SendFunc = func(context.Context, []core.Alert) error {
			if first {
				first = false
				<-release
			}
			return nil
		}
		q, reg := newTestAlertQueue(t, sink, AlertQueueConfig{MaxBatch: 2})
		send(t, q, "a")
		synctest.Wait() // "a" is being sent
		send(t, q, "b", "c")
		send(t, q, "d")
		close(release)
		synctest.Wait()
		if diff := cmp.Diff([][]string{{"a"}, {"b", "c"}, {"d"}}, sink.delivered()); diff != "" {
			t.Errorf("delivered batches (-want +got):\n%s", diff)
		}
		if got := metricValue(t, reg, "curtain_alert_queue_sent_total", nil); got != 4 {
			t.Errorf("curtain_alert_queue_sent_total = %v, want 4", got)
		}
		if err := q.Close(t.Context()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

func TestAlertQueueRetryBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &fakeSink{start: time.Now()}
		fails := 5
		sink.SendFunc = func(context.Context, []core.Alert) error {
			if fails > 0 {
				fails--
				return fmt.Errorf("send: %w", core.ErrUnavailable)
			}
			return nil
		}
		q, reg := newTestAlertQueue(t, sink, AlertQueueConfig{RetryMin: 100 * time.Millisecond, RetryMax: 300 * time.Millisecond})
		send(t, q, "a", "b")
		time.Sleep(time.Second)
		send(t, q, "c") // joins the batch being retried
		time.Sleep(time.Second)
		ms := time.Millisecond
		want := []time.Duration{0, 100 * ms, 300 * ms, 600 * ms, 900 * ms, 1200 * ms}
		if diff := cmp.Diff(want, sink.attempts()); diff != "" {
			t.Errorf("Send attempts at (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([][]string{{"a", "b", "c"}}, sink.delivered()); diff != "" {
			t.Errorf("delivered batches (-want +got):\n%s", diff)
		}
		if got := metricValue(t, reg, "curtain_alert_queue_send_failures_total", nil); got != 5 {
			t.Errorf("curtain_alert_queue_send_failures_total = %v, want 5", got)
		}
		if err := q.Close(t.Context()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

func TestAlertQueueDropsOldest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &fakeSink{start: time.Now()}
		var up atomic.Bool
		sink.SendFunc = func(context.Context, []core.Alert) error {
			if !up.Load() {
				return core.ErrUnavailable
			}
			return nil
		}
		q, reg := newTestAlertQueue(t, sink, AlertQueueConfig{Size: 3, RetryMin: time.Second})
		send(t, q, "a", "b")
		send(t, q, "c", "d", "e")
		if got := q.Len(); got != 3 {
			t.Errorf("Len() = %d, want 3", got)
		}
		if got := metricValue(t, reg, "curtain_alert_queue_dropped_total", nil); got != 2 {
			t.Errorf("curtain_alert_queue_dropped_total = %v, want 2", got)
		}
		up.Store(true)
		time.Sleep(10 * time.Second)
		if diff := cmp.Diff([][]string{{"c", "d", "e"}}, sink.delivered()); diff != "" {
			t.Errorf("delivered batches (-want +got):\n%s", diff)
		}
		if err := q.Close(t.Context()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

// TestAlertQueueDropDuringSend drops alerts of the batch in flight: the
// batch is still delivered once, and the queue keeps the newer alerts.
func TestAlertQueueDropDuringSend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &fakeSink{start: time.Now()}
		release := make(chan struct{})
		first := true
		sink.SendFunc = func(context.Context, []core.Alert) error {
			if first {
				first = false
				<-release
			}
			return nil
		}
		q, _ := newTestAlertQueue(t, sink, AlertQueueConfig{Size: 3, MaxBatch: 2})
		send(t, q, "a", "b")
		synctest.Wait() // a, b in flight
		send(t, q, "c", "d", "e")
		close(release)
		synctest.Wait()
		if diff := cmp.Diff([][]string{{"a", "b"}, {"c", "d"}, {"e"}}, sink.delivered()); diff != "" {
			t.Errorf("delivered batches (-want +got):\n%s", diff)
		}
		if err := q.Close(t.Context()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

func TestAlertQueueClose(t *testing.T) {
	t.Run("delivers queued alerts", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sink := &fakeSink{start: time.Now()}
			calls := 0
			sink.SendFunc = func(context.Context, []core.Alert) error {
				calls++
				if calls < 3 {
					return core.ErrUnavailable
				}
				return nil
			}
			q, _ := newTestAlertQueue(t, sink, AlertQueueConfig{})
			send(t, q, "a")
			if err := q.Close(t.Context()); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if diff := cmp.Diff([][]string{{"a"}}, sink.delivered()); diff != "" {
				t.Errorf("delivered batches (-want +got):\n%s", diff)
			}
			if err := q.Send(t.Context(), alerts("b")); !errors.Is(err, core.ErrUnavailable) {
				t.Errorf("Send after Close = %v, want ErrUnavailable", err)
			}
		})
	})
	t.Run("deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			sink := &fakeSink{start: time.Now(), SendFunc: func(context.Context, []core.Alert) error { return core.ErrUnavailable }}
			q, _ := newTestAlertQueue(t, sink, AlertQueueConfig{})
			send(t, q, "a", "b")
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			if err := q.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Close = %v, want DeadlineExceeded", err)
			}
		})
	})
}

func TestAlertQueueDropsRefusedBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		sink := &fakeSink{start: time.Now(), SendFunc: func(_ context.Context, as []core.Alert) error {
			calls.Add(1)
			if as[0].Fingerprint == "bad" {
				return fmt.Errorf("webhook answered HTTP 400: %w", core.ErrInvalid)
			}
			return nil
		}}
		q, reg := newTestAlertQueue(t, sink, AlertQueueConfig{MaxBatch: 1})
		send(t, q, "bad", "good")
		if err := q.Close(t.Context()); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if diff := cmp.Diff([][]string{{"good"}}, sink.delivered()); diff != "" {
			t.Errorf("delivered (-want +got):\n%s", diff)
		}
		if calls.Load() != 2 {
			t.Errorf("Send calls = %d, want 2 (the refused batch is not retried)", calls.Load())
		}
		if got := metricValue(t, reg, "curtain_alert_queue_dropped_total", nil); got != 1 {
			t.Errorf("dropped = %v, want 1", got)
		}
	})
}
