package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// ErrDiscarded, returned by a sink (wrapped or not), reports alerts it
// took but did not deliver and never will, because no destination is
// configured. The AlertQueue counts them as dropped, does not retry them,
// does not pass them to OnDrop and does not log them: the sink did.
var ErrDiscarded = errors.New("alerts discarded: no destination configured")

// AlertQueueConfig tunes an AlertQueue. Its zero value selects the
// defaults.
type AlertQueueConfig struct {
	// Size bounds the alerts waiting for delivery; beyond it the oldest
	// are dropped (default 1000).
	Size int
	// MaxBatch bounds the alerts passed to one Send of the wrapped sink
	// (default 100).
	MaxBatch int
	// CallTimeout bounds each Send of the wrapped sink (default 10s).
	CallTimeout time.Duration
	// RetryMin and RetryMax bound the backoff after a failed Send
	// (defaults 500ms and 30s); it doubles after each failure.
	RetryMin, RetryMax time.Duration
	// OnDrop, when set, is told of the alerts the queue dropped (full, or
	// refused by the sink), so that whoever queued them can queue them
	// again later. It must not block.
	OnDrop func([]core.Alert)
}

func (c AlertQueueConfig) withDefaults() AlertQueueConfig {
	orDefault(&c.Size, 1000)
	orDefault(&c.MaxBatch, 100)
	orDefault(&c.CallTimeout, 10*time.Second)
	orDefault(&c.RetryMin, 500*time.Millisecond)
	orDefault(&c.RetryMax, 30*time.Second)
	c.RetryMax = max(c.RetryMax, c.RetryMin)
	if c.OnDrop == nil {
		c.OnDrop = func([]core.Alert) {}
	}
	return c
}

// AlertQueue is a core.AlertSink that delivers alerts to a wrapped sink
// from a bounded queue, so that a sink that is down (a restarting plugin,
// an unreachable chat service) delays alerts instead of losing them. Send
// only queues; one goroutine delivers in order, in batches, and retries a
// failed batch with capped exponential backoff. When the queue is full the
// oldest alerts are dropped and counted; so is a batch the sink refuses
// with an error wrapping core.ErrInvalid, which no retry can fix, and one
// the sink reports as ErrDiscarded.
//
// AlertQueue is safe for concurrent use. Close delivers what it can.
type AlertQueue struct {
	next core.AlertSink
	cfg  AlertQueueConfig
	log  *slog.Logger

	mu      sync.Mutex
	closed  bool
	pending []core.Alert
	// head is the sequence number of pending[0]: it counts the alerts
	// that ever left the queue, delivered or dropped.
	head uint64

	kick     chan struct{}
	stopping chan struct{}
	done     chan struct{}
	// runCtx is the queue's lifetime; Sends to the wrapped sink derive
	// from it, and Close cancels it when its deadline passes.
	runCtx context.Context
	cancel context.CancelFunc

	dropped  prometheus.Counter
	sent     prometheus.Counter
	failures prometheus.Counter

	closeOnce  sync.Once
	closeError error
}

var _ core.AlertSink = (*AlertQueue)(nil)

// NewAlertQueue starts a queue in front of next. Call Close to stop it.
func NewAlertQueue(next core.AlertSink, cfg AlertQueueConfig, opts Options) *AlertQueue {
	ctx, cancel := context.WithCancel(context.Background())
	q := &AlertQueue{
		next:     next,
		cfg:      cfg.withDefaults(),
		log:      opts.logger().With("component", "alerts"),
		kick:     make(chan struct{}, 1),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
		runCtx:   ctx,
		cancel:   cancel,
	}
	f := promauto.With(opts.registry())
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "curtain_alert_queue_depth",
		Help: "Alerts waiting for delivery to the alert sink.",
	}, func() float64 { return float64(q.Len()) })
	q.dropped = f.NewCounter(prometheus.CounterOpts{
		Name: "curtain_alert_queue_dropped_total",
		Help: "Alerts dropped because the alert queue was full, the alert sink refused them (a 4xx answer) or no alert sink is configured.",
	})
	q.sent = f.NewCounter(prometheus.CounterOpts{
		Name: "curtain_alert_queue_sent_total",
		Help: "Alerts delivered to the alert sink.",
	})
	q.failures = f.NewCounter(prometheus.CounterOpts{
		Name: "curtain_alert_queue_send_failures_total",
		Help: "Failed deliveries of a batch of alerts to the alert sink.",
	})
	go q.run()
	return q
}

// Send queues alerts for delivery and returns at once. It reports an error
// wrapping core.ErrUnavailable after Close.
func (q *AlertQueue) Send(_ context.Context, alerts []core.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return fmt.Errorf("queue alerts: alert queue closed: %w", core.ErrUnavailable)
	}
	q.pending = append(q.pending, alerts...)
	over := len(q.pending) - q.cfg.Size
	var dropped []core.Alert
	if over > 0 {
		dropped = slices.Clone(q.pending[:over])
		clear(q.pending[:over])
		q.pending = q.pending[over:]
		q.head += uint64(over)
	}
	q.mu.Unlock()
	if over > 0 {
		q.dropped.Add(float64(over))
		q.log.Warn("alert queue full: dropped the oldest alerts", "dropped", over)
		q.cfg.OnDrop(dropped)
	}
	select {
	case q.kick <- struct{}{}:
	default:
	}
	return nil
}

// Len returns how many alerts wait for delivery.
func (q *AlertQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}

// Close stops accepting alerts and keeps delivering the queued ones until
// none is left or ctx is done; then it stops and reports how many alerts
// were not delivered. Calling it again returns the first result.
func (q *AlertQueue) Close(ctx context.Context) error {
	q.closeOnce.Do(func() {
		q.mu.Lock()
		q.closed = true
		q.mu.Unlock()
		close(q.stopping)
		select {
		case <-q.done:
		case <-ctx.Done():
			q.cancel()
			<-q.done
		}
		q.cancel()
		if n := q.Len(); n > 0 {
			q.log.Error("alerts lost at shutdown", "alerts", n)
			q.closeError = fmt.Errorf("close alert queue: %d alerts undelivered: %w", n, ctx.Err())
		}
	})
	return q.closeError
}

// run delivers queued alerts in order until Close, retrying a failed batch
// with backoff.
func (q *AlertQueue) run() {
	defer close(q.done)
	var wait time.Duration
	failing := false
	stopping := q.stopping
	for {
		if q.Len() == 0 {
			if stopping == nil {
				return
			}
			select {
			case <-q.kick:
			case <-stopping:
				stopping = nil
			case <-q.runCtx.Done():
				return
			}
			continue
		}
		if !sleep(q.runCtx, wait) {
			return
		}
		q.mu.Lock()
		n := min(len(q.pending), q.cfg.MaxBatch)
		batch := append([]core.Alert(nil), q.pending[:n]...)
		first := q.head
		q.mu.Unlock()
		ctx, cancel := context.WithTimeout(q.runCtx, q.cfg.CallTimeout)
		err := q.next.Send(ctx, batch)
		cancel()
		if errors.Is(err, ErrDiscarded) {
			// Nowhere to deliver them: not sent, and no retry will send them.
			q.remove(first, n)
			q.dropped.Add(float64(n))
			wait = 0
			continue
		}
		if errors.Is(err, core.ErrInvalid) {
			// The destination refused the batch (a 4xx): retrying cannot
			// help, so it is dropped, counted and logged.
			q.remove(first, n)
			q.dropped.Add(float64(n))
			q.log.Error("alert sink refused a batch: dropped", "alerts", n, "error", err)
			q.cfg.OnDrop(batch)
			continue
		}
		if err != nil {
			q.failures.Inc()
			if !failing {
				failing = true
				q.log.Warn("alert sink failing: alerts queued for retry", "error", err, "queued", q.Len())
			}
			wait = min(max(2*wait, q.cfg.RetryMin), q.cfg.RetryMax)
			continue
		}
		q.remove(first, n)
		q.sent.Add(float64(n))
		wait = 0
		if failing {
			failing = false
			q.log.Info("alert sink recovered")
		}
	}
}

// remove takes the n alerts from sequence number first off the queue.
// Alerts dropped while they were being sent moved head: only the part of
// them still queued is removed.
func (q *AlertQueue) remove(first uint64, n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if end := first + uint64(n); end > q.head {
		k := min(int(end-q.head), len(q.pending))
		clear(q.pending[:k])
		q.pending = q.pending[k:]
		q.head += uint64(k)
	}
}
