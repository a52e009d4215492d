package host

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/host/ring"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// BatcherConfig tunes a ClickBatcher. Its zero value selects the defaults.
type BatcherConfig struct {
	// QueueSize bounds the clicks waiting to be flushed (default 65536).
	QueueSize int
	// BatchSize flushes once this many clicks are waiting (default 1024).
	BatchSize int
	// FlushInterval flushes clicks that waited this long (default 15ms).
	// Each flush costs a shard call per shard whatever its size, so a
	// longer interval spends less per click (docs/benchmarks.md).
	FlushInterval time.Duration
	// EnqueueWait is how long Record waits for room in a full queue before
	// it gives up (default 100ms).
	EnqueueWait time.Duration
	// CallTimeout bounds each shard and store call (default 2s).
	CallTimeout time.Duration
	// RetrySize bounds the clicks kept for retry when neither a shard nor
	// the store took them; the oldest are dropped beyond it (default
	// 100000).
	RetrySize int
	// RetryMin and RetryMax bound the backoff between retries (defaults
	// 100ms and 5s); it doubles after each failed retry.
	RetryMin, RetryMax time.Duration
	// Durable selects the durable click mode: Record returns only once
	// its click is stored where a crash cannot take it (see
	// ClickBatcher), waiting up to AckTimeout.
	Durable bool
	// AckTimeout bounds how long Record waits for its click to be stored
	// in the durable mode (default 3s).
	AckTimeout time.Duration
	// Flushers is how many batches may be out at once (default 4): while
	// one waits for its shard, the next is collected and sent, so that
	// the rate of clicks is not bounded by one round trip at a time.
	Flushers int
	// DirectEvents stores every batch as events in the store first and
	// then sends it to its shards marked Stored, for the real-time
	// figures only (clicks.events: direct): no stream entry, no consumer
	// round trip. A batch the store does not take goes to the streams as
	// usual, and the store rests, as a failing shard does, meanwhile.
	// Batches are flushed every EventsInterval or at directBatches times
	// BatchSize, and gather what queued while the flushers were busy, so
	// that many clicks share a commit.
	DirectEvents bool
	// EventsInterval replaces FlushInterval in the direct events mode
	// (default 25ms).
	EventsInterval time.Duration
}

// directBatches times BatchSize caps a batch of the direct events mode.
const directBatches = 16

// In the durable mode a commit goes while another is out once
// durableShare clicks wait for it, or once one has waited durableWait;
// with none out, fewer clicks than the last commit held wait up to
// durableLinger (see flushLoop).
const (
	durableShare  = 64
	durableWait   = 20 * time.Millisecond
	durableLinger = 500 * time.Microsecond
)

func (c BatcherConfig) withDefaults() BatcherConfig {
	orDefault(&c.QueueSize, 65536)
	orDefault(&c.BatchSize, 1024)
	orDefault(&c.RetrySize, 100000)
	orDefault(&c.FlushInterval, 15*time.Millisecond)
	orDefault(&c.EnqueueWait, 100*time.Millisecond)
	orDefault(&c.CallTimeout, 2*time.Second)
	orDefault(&c.RetryMin, 100*time.Millisecond)
	orDefault(&c.RetryMax, 5*time.Second)
	orDefault(&c.AckTimeout, 3*time.Second)
	orDefault(&c.Flushers, 4)
	orDefault(&c.EventsInterval, 25*time.Millisecond)
	c.RetryMax = max(c.RetryMax, c.RetryMin)
	return c
}

// ClickBatcher records clicks from the redirect path. Record only queues
// a click; a flusher goroutine groups queued clicks by the ring owner of
// their code and sends one batch per shard, flushing on BatchSize or
// FlushInterval. A batch a shard rejects goes to the next shard in each
// code's failover order; clicks no shard takes are stored directly with
// Store.InsertClicks; clicks the store rejects too are kept in a bounded
// buffer and retried with backoff, and later batches queue behind them
// until the buffer is empty. Close flushes everything it can.
//
// In the durable mode (BatcherConfig.Durable) Record waits until its
// click is stored where a crash cannot take it, group-committed with the
// clicks of other requests: the flusher sends each batch at once and
// acknowledges it to its waiters. A shard that reports itself durable
// (DurableShard, the plugin's "durable" capability) stores the clicks;
// for any other shard, or when the durable shard fails, the batcher first
// inserts the clicks into the store (idempotent by click id) and then
// sends them to the shards marked Stored, for the real-time figures only.
// Clicks that neither took are not retried: their Record reports an error
// wrapping core.ErrUnavailable and counts them as unacknowledged, and the
// redirect answers 503.
//
// ClickBatcher implements core.ClickRecorder and core.ShardSet and is safe
// for concurrent use.
type ClickBatcher struct {
	cfg    BatcherConfig
	shards []core.NamedShard
	ring   *ring.Ring
	store  core.Store
	log    *slog.Logger
	m      batcherMetrics

	// mu guards closed against Record: Record holds it shared while it
	// enqueues, so that once Close has set closed no click enters queue.
	mu     sync.RWMutex
	closed bool
	queue  chan queuedClick

	retry *clickDeque
	kick  chan struct{}
	// settle carries Settle's requests to the flusher, which answers on
	// the request's channel once the clicks queued before it are out.
	settle chan chan error

	// runCtx is the batcher's lifetime: shard and store calls derive
	// from it, and Close cancels it when its deadline passes.
	runCtx    context.Context
	cancel    context.CancelFunc
	stopping  chan struct{} // closed by Close: drain and stop
	flushDone chan struct{} // closed when the flusher has drained
	// flushing holds a token per batch being delivered, Flushers at most;
	// batchDone gets a token when a batch of the durable mode is done.
	flushing  chan struct{}
	batchDone chan struct{}
	wg        sync.WaitGroup
	// figures holds, in the durable mode, stored clicks waiting to be
	// sent to their shards for the real-time figures (figuresLoop).
	figures figureQueue

	rests     []shardRest
	storeRest shardRest // the direct events mode's store
	fellBack  atomic.Bool
	buffering atomic.Bool
	// overflowing is set once the retry buffer dropped clicks, until it
	// is empty again.
	overflowing atomic.Bool
	closeOnce   sync.Once
	closeError  error
}

var (
	_ core.ClickRecorder     = (*ClickBatcher)(nil)
	_ core.ShardSet          = (*ClickBatcher)(nil)
	_ core.ClickSettler      = (*ClickBatcher)(nil)
	_ core.ClickAcknowledger = (*ClickBatcher)(nil)
)

// queuedClick is a click waiting in the queue with, in the durable mode,
// the channel (buffered, one slot) on which its Record waits for the
// outcome of its batch.
type queuedClick struct {
	click core.Click
	ack   chan error
}

// DurableShard is implemented by a click shard that can say whether its
// Record stores clicks where a crash cannot take them (fsync'd, and
// replicated where it is configured to be). The host's plugin handles
// implement it from the plugin's "durable" capability; the batcher checks
// for it in one place (durableShard).
type DurableShard interface {
	Durable() bool
}

// Destination label of curtain_clicks_flushed_total for clicks written to
// the store because no shard took them.
const storeDestination = "store"

type batcherMetrics struct {
	failures  []prometheus.Counter   // by shard
	failovers [][]prometheus.Counter // by owner, then by target (last: the store)
	flushed   []prometheus.Counter   // by shard
	toStore   prometheus.Counter
	direct    prometheus.Counter
	inserts   prometheus.Counter
	rejected  prometheus.Counter
	unknown   prometheus.Counter
	overflow  prometheus.Counter
	shutdown  prometheus.Counter
	unacked   prometheus.Counter
}

// NewClickBatcher starts a batcher over shards, whose order is their ring
// order. store takes the clicks no shard accepts; it may be nil, and then
// such clicks are only retried. Call Close to stop it.
func NewClickBatcher(shards []core.NamedShard, store core.Store, cfg BatcherConfig, opts Options) (*ClickBatcher, error) {
	ids := make([]string, len(shards))
	for i, s := range shards {
		if s.Shard == nil {
			return nil, fmt.Errorf("new click batcher: shard %q is nil", s.Name)
		}
		ids[i] = s.Name
	}
	r, err := ring.New(ids)
	if err != nil {
		return nil, fmt.Errorf("new click batcher: %w", err)
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	b := &ClickBatcher{
		cfg:       cfg,
		shards:    append([]core.NamedShard(nil), shards...),
		ring:      r,
		store:     store,
		log:       opts.logger().With("component", "clicks"),
		queue:     make(chan queuedClick, cfg.QueueSize),
		retry:     &clickDeque{max: cfg.RetrySize},
		kick:      make(chan struct{}, 1),
		settle:    make(chan chan error),
		runCtx:    ctx,
		cancel:    cancel,
		stopping:  make(chan struct{}),
		flushDone: make(chan struct{}),
		flushing:  make(chan struct{}, cfg.Flushers),
		batchDone: make(chan struct{}, 1),
		rests:     make([]shardRest, len(shards)),
		figures:   figureQueue{ready: make(chan struct{}, 1), sending: make(chan struct{}, 1)},
	}
	b.m = newBatcherMetrics(opts.registry(), ids, b)
	if cfg.Durable && !cfg.DirectEvents {
		for i, s := range shards {
			if !b.durableShard(i) {
				b.log.Warn("click shard not durable: in the durable click mode the host stores its clicks itself before acknowledging them; the shard's own log line says why", "shard", s.Name)
			}
		}
	}
	b.wg.Add(2)
	go b.flushLoop()
	go b.retryLoop()
	if cfg.Durable {
		b.wg.Add(1)
		go b.figuresLoop()
	}
	return b, nil
}

func newBatcherMetrics(reg *prometheus.Registry, ids []string, b *ClickBatcher) batcherMetrics {
	f := promauto.With(reg)
	failures := f.NewCounterVec(prometheus.CounterOpts{
		Name: "redis_shard_failures_total",
		Help: "Clicks a click shard failed to record, by shard.",
	}, []string{"shard_id"})
	failovers := f.NewCounterVec(prometheus.CounterOpts{
		Name: "redis_shard_failovers_total",
		Help: `Clicks that failed over from their owner shard, by target: another shard, or "store" when every shard failed and they went to the store fallback.`,
	}, []string{"from_shard", "to_shard"})
	flushed := f.NewCounterVec(prometheus.CounterOpts{
		Name: "curtain_clicks_flushed_total",
		Help: `Clicks delivered, by destination: a shard id, or "store" when no shard took them.`,
	}, []string{"destination"})
	failed := f.NewCounterVec(prometheus.CounterOpts{
		Name: "curtain_clicks_failed_total",
		Help: "Clicks not delivered, by reason: rejected (queue full or closed), unknown_code (store fallback found no URL), overflow (retry buffer full), shutdown (undelivered at close), unacknowledged (durable mode: not stored in time, the redirect answered 503).",
	}, []string{"reason"})
	direct := f.NewCounter(prometheus.CounterOpts{
		Name: "curtain_clicks_stored_direct_total",
		Help: "Clicks the host stored as events itself before sending them to their shards (clicks.events: direct).",
	})
	inserts := f.NewCounter(prometheus.CounterOpts{
		Name: "curtain_clicks_store_inserts_total",
		Help: "Inserts of clicks the host made into the store itself, each one transaction: the durable mode's commits, the direct events mode's batches, and clicks no shard took. The clicks stored over these inserts is how many clicks share a commit.",
	})
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "curtain_clicks_queue_depth",
		Help: "Clicks queued for the next flush.",
	}, func() float64 { return float64(len(b.queue)) })
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "curtain_clicks_retry_depth",
		Help: "Clicks kept for retry after every shard and the store failed.",
	}, func() float64 { return float64(b.retry.len()) })

	for _, sh := range b.shards {
		f.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "curtain_click_backlog",
			Help:        "Clicks a shard holds in its stream, not yet stored by the consumer (asked at scrape time; -1 when the shard did not answer).",
			ConstLabels: prometheus.Labels{"shard_id": sh.Name},
		}, func() float64 { return b.backlog(sh.Shard) })
	}

	m := batcherMetrics{
		failures:  make([]prometheus.Counter, len(ids)),
		failovers: make([][]prometheus.Counter, len(ids)),
		flushed:   make([]prometheus.Counter, len(ids)),
		toStore:   flushed.WithLabelValues(storeDestination),
		direct:    direct,
		inserts:   inserts,
		rejected:  failed.WithLabelValues("rejected"),
		unknown:   failed.WithLabelValues("unknown_code"),
		overflow:  failed.WithLabelValues("overflow"),
		shutdown:  failed.WithLabelValues("shutdown"),
		unacked:   failed.WithLabelValues("unacknowledged"),
	}
	for i, from := range ids {
		m.failures[i] = failures.WithLabelValues(from)
		m.flushed[i] = flushed.WithLabelValues(from)
		// One more target past the shards: the store, which takes the
		// clicks no shard took, so a one-shard ring has a series too.
		m.failovers[i] = make([]prometheus.Counter, len(ids)+1)
		for j, to := range ids {
			if i != j {
				m.failovers[i][j] = failovers.WithLabelValues(from, to)
			}
		}
		m.failovers[i][len(ids)] = failovers.WithLabelValues(from, storeDestination)
	}
	return m
}

// backlogTimeout bounds the Stats call behind curtain_click_backlog.
const backlogTimeout = time.Second

// backlog asks shard for its whole backlog: the pending figure of Stats
// for the empty code (contract v1.2; an older shard answers 0).
func (b *ClickBatcher) backlog(shard core.ClickShard) float64 {
	ctx, cancel := context.WithTimeout(b.runCtx, backlogTimeout)
	defer cancel()
	st, err := shard.Stats(ctx, core.StatsRequest{Parts: core.StatsPending})
	if err != nil {
		return -1
	}
	return float64(st.Pending)
}

// Shards returns the click shards in ring order.
func (b *ClickBatcher) Shards() []core.NamedShard {
	return append([]core.NamedShard(nil), b.shards...)
}

// AcknowledgesClicks reports whether the batcher runs in the durable
// mode (core.ClickAcknowledger).
func (b *ClickBatcher) AcknowledgesClicks() bool { return b.cfg.Durable }

// Record queues c. In the fast mode it never waits for a shard: when the
// queue is full it waits up to EnqueueWait for room and then reports an
// error wrapping core.ErrUnavailable, as it does after Close. In the
// durable mode it then waits, up to AckTimeout, until the batch holding c
// is stored, and reports an error wrapping core.ErrUnavailable when it was
// not (the click may still be stored later, by a write that was under
// way: a refused click is at most counted once, an acknowledged one is
// never lost). A ctx cancelled during that wait (the client went away)
// ends it without counting the click as unacknowledged: it is stored
// with its batch all the same, and no 503 is answered.
func (b *ClickBatcher) Record(ctx context.Context, c core.Click) error {
	q := queuedClick{click: c}
	if b.cfg.Durable {
		q.ack = make(chan error, 1)
	}
	if err := b.enqueue(ctx, q); err != nil {
		return err
	}
	if q.ack == nil {
		return nil
	}
	t := time.NewTimer(b.cfg.AckTimeout)
	defer t.Stop()
	select {
	case err := <-q.ack:
		if err != nil {
			b.m.unacked.Inc()
		}
		return err
	case <-t.C:
		b.m.unacked.Inc()
		return fmt.Errorf("store click: not acknowledged within %v: %w", b.cfg.AckTimeout, core.ErrUnavailable)
	case <-ctx.Done():
		// A cancelled request is a client that went away: nobody waits
		// for its answer, and its click is still committed with its
		// batch, so it is no click left unstored. A deadline is the
		// server's bound on the wait, answered 503.
		if !core.ClientGone(ctx, ctx.Err()) {
			b.m.unacked.Inc()
		}
		return fmt.Errorf("store click: %w", ctx.Err())
	}
}

// enqueue puts q in the queue, waiting up to EnqueueWait for room.
func (b *ClickBatcher) enqueue(ctx context.Context, q queuedClick) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		b.m.rejected.Inc()
		return fmt.Errorf("queue click: batcher closed: %w", core.ErrUnavailable)
	}
	select {
	case b.queue <- q:
		return nil
	default:
	}
	t := time.NewTimer(b.cfg.EnqueueWait)
	defer t.Stop()
	select {
	case b.queue <- q:
		return nil
	case <-t.C:
		b.m.rejected.Inc()
		return fmt.Errorf("queue click: queue full: %w", core.ErrUnavailable)
	case <-ctx.Done():
		b.m.rejected.Inc()
		return fmt.Errorf("queue click: %w", ctx.Err())
	}
}

// Settle returns once every click queued before the call has reached a
// shard or the store (core.ClickSettler): the flusher sends the queue at
// once instead of waiting for a full batch or the flush interval. It
// reports an error wrapping core.ErrUnavailable while clicks wait in the
// retry buffer, and ctx's error when ctx ends first.
func (b *ClickBatcher) Settle(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case b.settle <- done:
	case <-b.flushDone:
		return nil // closed: the queue is drained
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting clicks, flushes the queue and retries buffered
// clicks until they are delivered or ctx is done. It then stops the
// batcher's goroutines and reports how many clicks were lost, if any.
// Calling it again returns the first result.
func (b *ClickBatcher) Close(ctx context.Context) error {
	b.closeOnce.Do(func() { b.closeError = b.close(ctx) })
	return b.closeError
}

func (b *ClickBatcher) close(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	close(b.stopping)

	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		b.cancel()
		return nil
	case <-ctx.Done():
	}
	b.cancel()
	<-done
	lost := len(b.queue) + b.retry.len()
	if lost == 0 {
		return nil
	}
	b.m.shutdown.Add(float64(lost))
	b.log.Error("clicks lost at shutdown", "clicks", lost)
	return fmt.Errorf("close click batcher: %d clicks undelivered: %w", lost, ctx.Err())
}

// flushLoop collects queued clicks and flushes them on size or interval,
// each batch in a goroutine of its own, Flushers at most at once. On
// stopping it drains the queue, flushes, waits for the batches out, and
// exits.
func (b *ClickBatcher) flushLoop() {
	defer b.wg.Done()
	defer close(b.flushDone)
	size, interval := b.cfg.BatchSize, b.cfg.FlushInterval
	if b.cfg.DirectEvents {
		size, interval = directBatches*b.cfg.BatchSize, b.cfg.EventsInterval
	}
	pending := make([]queuedClick, 0, size)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	// launch sends pending as a batch on a flusher slot already taken.
	lastBatch := 0 // clicks in the last batch launched
	launch := func() {
		batch := pending
		lastBatch = len(batch)
		pending = make([]queuedClick, 0, size)
		go func() {
			b.flush(batch)
			<-b.flushing
			if b.cfg.Durable {
				select {
				case b.batchDone <- struct{}{}:
				default:
				}
			}
		}()
	}
	// gather adds to pending what else is queued, up to limit clicks.
	gather := func(limit int) {
		for len(pending) < limit {
			select {
			case c := <-b.queue:
				pending = append(pending, c)
				continue
			default:
			}
			return
		}
	}
	// waitUntil is when the timer fires for clicks that wait in the
	// durable mode (see commit); zero when it does not run for them.
	var waitUntil time.Time
	flush := func() {
		timer.Stop()
		waitUntil = time.Time{}
		if len(pending) == 0 {
			return
		}
		b.flushing <- struct{}{} // waits while Flushers batches are out
		// Share the store's commit with what queued meanwhile.
		switch {
		case b.cfg.Durable:
			gather(b.cfg.BatchSize)
		case b.cfg.DirectEvents:
			gather(size)
		}
		launch()
	}
	// flushed waits until every batch out is delivered.
	flushed := func() {
		for range cap(b.flushing) {
			b.flushing <- struct{}{}
		}
		for range cap(b.flushing) {
			<-b.flushing
		}
	}
	// wait has the timer flush within d, unless it fires sooner already.
	wait := func(d time.Duration) {
		if at := time.Now().Add(d); waitUntil.IsZero() || at.Before(waitUntil) {
			waitUntil = at
			timer.Reset(d)
		}
	}
	// commit launches pending as a commit of the durable mode (group
	// commit). While a commit is out, the next waits for its end and
	// takes what queued meanwhile, unless durableShare clicks already
	// wait or the first of them waited durableWait (a lock, a slow disk):
	// then it takes a free flusher (by the timer, flush). With no commit
	// out, fewer clicks than the last commit held wait up to
	// durableLinger for the others: the clients of that commit, answered
	// at its end, send their next clicks within it. Commits launched as
	// soon as a flusher was free held about 5 clicks each in the harness,
	// and the store's cost per commit bounded the rate.
	commit := func() {
		gather(b.cfg.BatchSize)
		switch {
		case len(pending) == 0:
		case len(b.flushing) > 0 && len(pending) < durableShare:
			wait(durableWait) // the end of the commit out calls commit again
		case len(b.flushing) == 0 && len(pending) < lastBatch:
			wait(durableLinger)
		default:
			flush()
		}
	}
	add := func(c queuedClick) {
		pending = append(pending, c)
		if b.cfg.Durable {
			commit()
			return
		}
		if len(pending) == 1 {
			timer.Reset(interval)
		}
		if len(pending) >= size {
			flush()
		}
	}
	for {
		select {
		case c := <-b.queue:
			add(c)
		case <-timer.C:
			flush()
		case <-b.batchDone:
			if b.cfg.Durable {
				commit()
			}
		case done := <-b.settle:
			// Everything Record queued before Settle is in the queue
			// now: send it, with what is pending, at once.
			for n := len(b.queue); n > 0; n-- {
				add(<-b.queue)
			}
			flush()
			flushed()
			b.sendFigures()
			if n := b.retry.len(); n > 0 {
				done <- fmt.Errorf("settle clicks: %d clicks wait for a retry: %w", n, core.ErrUnavailable)
			} else {
				done <- nil
			}
		case <-b.stopping:
			// Close let every Record finish before stopping, so the
			// queue only shrinks now.
			for len(b.queue) > 0 {
				add(<-b.queue)
			}
			flush()
			flushed()
			return
		}
	}
}

// flush delivers one batch; what no shard nor the store took goes to the
// retry buffer. While that buffer holds clicks, every shard and the store
// failed at the last try: the batch then joins the buffer untried, so that
// only the retry loop, which backs off, probes the failing backends. In
// the durable mode it commits the batch and acknowledges it instead.
func (b *ClickBatcher) flush(items []queuedClick) {
	clicks := make([]core.Click, len(items))
	for i, q := range items {
		clicks[i] = q.click
	}
	if b.cfg.Durable {
		b.commit(b.runCtx, items, clicks)
		return
	}
	if b.cfg.DirectEvents {
		owners := b.owners(clicks)
		if b.storeFirst(b.runCtx, clicks, owners) {
			b.sendStored(b.runCtx, clicks, owners)
			return
		}
	}
	rest := clicks
	if b.retry.len() == 0 {
		rest = b.deliver(b.runCtx, clicks)
	}
	if len(rest) == 0 {
		return
	}
	b.dropped(b.retry.push(rest))
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// deliver sends clicks to their shards, then to the store, and returns the
// clicks neither took.
func (b *ClickBatcher) deliver(ctx context.Context, clicks []core.Click) []core.Click {
	var (
		mu     sync.Mutex
		missed []core.Click
	)
	b.forGroups(clicks, b.owners(clicks), func(owner int, g []core.Click) {
		if rest := b.deliverGroup(ctx, owner, g); len(rest) > 0 {
			mu.Lock()
			missed = append(missed, rest...)
			mu.Unlock()
		}
	})
	if len(missed) == 0 {
		if b.fellBack.CompareAndSwap(true, false) {
			b.log.Info("click shards recovered: clicks reach shards again")
		}
		return nil
	}
	return b.toStore(ctx, missed)
}

// commit stores a batch in the durable mode and acknowledges each click's
// Record with its outcome. Clicks owned by a durable shard are stored
// there; the others, and those a durable shard failed, are inserted into
// the store in one write and then sent, marked Stored, to their shards
// for the real-time figures, whose failure no longer matters for them.
func (b *ClickBatcher) commit(ctx context.Context, items []queuedClick, clicks []core.Click) {
	done := make([]bool, len(clicks))
	owners := b.owners(clicks)
	byOwner := make([][]int, len(b.shards))
	for i, o := range owners {
		byOwner[o] = append(byOwner[o], i)
	}
	var wg sync.WaitGroup
	for o, idx := range byOwner {
		if len(idx) == 0 || !b.durableShard(o) {
			continue
		}
		wg.Go(func() {
			g := make([]core.Click, len(idx))
			for j, i := range idx {
				g[j] = clicks[i]
			}
			if b.record(ctx, o, g) {
				for _, i := range idx {
					done[i] = true
				}
			}
		})
	}
	wg.Wait()
	var rest []core.Click
	var restIdx, restOwners []int
	for i, c := range clicks {
		if !done[i] {
			c.Stored = true
			rest = append(rest, c)
			restIdx = append(restIdx, i)
			restOwners = append(restOwners, owners[i])
		}
	}
	errs := make([]error, len(clicks))
	stored := false
	if len(rest) > 0 {
		if err := b.storeDurably(ctx, rest); err != nil {
			for _, i := range restIdx {
				errs[i] = err
			}
		} else {
			stored = true
		}
	}
	// A stored click is acknowledged before its shard gets it for the
	// real-time figures: a shard that hangs (a master failing over)
	// must not hold the redirect past its clicks.ack_timeout. The
	// figures of many commits then share a shard call (figuresLoop).
	for i, q := range items {
		q.ack <- errs[i]
	}
	if stored {
		b.figures.add(rest, restOwners)
	}
}

// figureQueue gathers clicks already stored, with their ring owners,
// until they are sent to their shards for the real-time figures.
type figureQueue struct {
	mu     sync.Mutex
	clicks []core.Click
	owners []int
	// ready has a token once clicks arrived in an empty queue.
	ready chan struct{}
	// sending holds a token while clicks taken are sent (sendFigures).
	sending chan struct{}
}

// add appends clicks, whose ring owners are owners.
func (q *figureQueue) add(clicks []core.Click, owners []int) {
	q.mu.Lock()
	first := len(q.clicks) == 0
	q.clicks = append(q.clicks, clicks...)
	q.owners = append(q.owners, owners...)
	q.mu.Unlock()
	if first {
		select {
		case q.ready <- struct{}{}:
		default:
		}
	}
}

// take empties the queue and returns what it held.
func (q *figureQueue) take() ([]core.Click, []int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	clicks, owners := q.clicks, q.owners
	q.clicks, q.owners = nil, nil
	return clicks, owners
}

// sendFigures sends the stored clicks the figures queue holds to their
// shards. It returns once every click added before the call is sent, also
// those another call took first.
func (b *ClickBatcher) sendFigures() {
	b.figures.sending <- struct{}{}
	defer func() { <-b.figures.sending }()
	if clicks, owners := b.figures.take(); len(clicks) > 0 {
		b.sendStored(b.runCtx, clicks, owners)
	}
}

// figuresLoop sends the durable mode's stored clicks to their shards
// FlushInterval after the first of them arrived, so that the commits of
// that time share one call per shard instead of making one each (in the
// harness a commit held 5 clicks, and each cost a call per shard). Once
// the flusher has drained, it sends what is left and exits.
func (b *ClickBatcher) figuresLoop() {
	defer b.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-b.figures.ready:
		case <-b.flushDone:
			b.sendFigures()
			return
		}
		timer.Reset(b.cfg.FlushInterval)
		select {
		case <-timer.C:
		case <-b.flushDone:
			timer.Stop()
		}
		b.sendFigures()
	}
}

// sendStored sends clicks the store already holds to their shards, for
// the real-time figures only: what no shard takes loses only those.
// owners holds each click's ring owner (see owners).
func (b *ClickBatcher) sendStored(ctx context.Context, clicks []core.Click, owners []int) {
	b.forGroups(clicks, owners, func(owner int, g []core.Click) { b.deliverGroup(ctx, owner, g) })
}

// storeDurably inserts clicks into the store for the durable mode. The
// insert gets AckTimeout, as long as the clicks' redirects wait: a
// shorter bound (the plugins' CallTimeout) only turned a commit slowed by
// load into 503s for clicks that it then stored.
func (b *ClickBatcher) storeDurably(ctx context.Context, clicks []core.Click) error {
	if b.store == nil {
		return fmt.Errorf("store %d clicks: no store and no durable shard: %w", len(clicks), core.ErrUnavailable)
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.AckTimeout)
	defer cancel()
	if err := b.storeClicks(ctx, clicks); err != nil {
		if b.buffering.CompareAndSwap(false, true) {
			b.log.Warn("click store failing: redirects answer 503 in the durable mode", "error", err)
		}
		return fmt.Errorf("store %d clicks: %w: %w", len(clicks), err, core.ErrUnavailable)
	}
	if b.buffering.CompareAndSwap(true, false) {
		b.log.Info("click store recovered")
	}
	return nil
}

// durableShard reports whether shard s says it stores clicks durably. In
// the direct events mode none does: the host stores every click itself.
func (b *ClickBatcher) durableShard(s int) bool {
	if b.cfg.DirectEvents {
		return false
	}
	d, ok := b.shards[s].Shard.(DurableShard)
	return ok && d.Durable()
}

// owners returns the ring owner of each click's code.
func (b *ClickBatcher) owners(clicks []core.Click) []int {
	owners := make([]int, len(clicks))
	for i, c := range clicks {
		owners[i] = b.ring.OwnerIndex(c.Code)
	}
	return owners
}

// forGroups calls fn, concurrently, for each group of clicks sharing a
// ring owner; owners holds each click's (see owners).
func (b *ClickBatcher) forGroups(clicks []core.Click, owners []int, fn func(owner int, g []core.Click)) {
	owner, groups := b.group(clicks, owners)
	if groups == nil {
		fn(owner, clicks)
		return
	}
	var wg sync.WaitGroup
	for o, g := range groups {
		if len(g) > 0 {
			wg.Go(func() { fn(o, g) })
		}
	}
	wg.Wait()
}

// group splits clicks by their ring owners, in order. When one shard
// owns them all it returns that shard and nil groups, and clicks are sent
// as they are.
func (b *ClickBatcher) group(clicks []core.Click, owners []int) (owner int, groups [][]core.Click) {
	counts := make([]int, len(b.shards))
	for _, o := range owners {
		counts[o]++
	}
	for s, n := range counts {
		if n > 0 && n == len(clicks) {
			return s, nil
		}
	}
	groups = make([][]core.Click, len(b.shards))
	for s, n := range counts {
		groups[s] = make([]core.Click, 0, n)
	}
	for i, c := range clicks {
		groups[owners[i]] = append(groups[owners[i]], c)
	}
	return 0, groups
}

// deliverGroup sends clicks that share the owner shard, failing over to
// the next shard of each click's order; it returns the clicks no shard
// took.
func (b *ClickBatcher) deliverGroup(ctx context.Context, owner int, clicks []core.Click) []core.Click {
	if b.record(ctx, owner, clicks) {
		return nil
	}
	failed := make([]bool, len(b.shards))
	failed[owner] = true
	remaining := clicks
	var exhausted []core.Click
	for len(remaining) > 0 {
		byShard := make([][]core.Click, len(b.shards))
		for _, c := range remaining {
			next := -1
			for _, s := range b.ring.Order(c.Code) {
				if !failed[s] {
					next = s
					break
				}
			}
			if next < 0 {
				exhausted = append(exhausted, c)
				continue
			}
			byShard[next] = append(byShard[next], c)
		}
		remaining = nil
		for s, g := range byShard {
			if len(g) == 0 {
				continue
			}
			if b.record(ctx, s, g) {
				b.m.failovers[owner][s].Add(float64(len(g)))
				continue
			}
			failed[s] = true
			remaining = append(remaining, g...)
		}
	}
	if len(exhausted) > 0 {
		b.m.failovers[owner][len(b.shards)].Add(float64(len(exhausted)))
	}
	return exhausted
}

// record sends one batch to shard s and reports whether it succeeded,
// keeping the shard's metrics and its rest, which is its failure streak
// too: a shard that failed is not called again until its rest is over
// (the batch is reported failed at once, and counted as failed), so that
// a hung shard costs the flusher one call timeout per rest instead of one
// per batch.
// The call that ends a rest, a probe, goes alone, and gets at most
// probeTimeout in the fast mode.
func (b *ClickBatcher) record(ctx context.Context, s int, clicks []core.Click) bool {
	timeout, probe := b.cfg.CallTimeout, b.cfg.CallTimeout
	if !b.cfg.Durable {
		// A durable shard's call waits for replicas and fsyncs, and
		// its clicks wait for it in any case.
		probe = min(probe, probeTimeout)
	}
	ok, probing := b.rests[s].enter(time.Now(), probe)
	if !ok {
		b.m.failures[s].Add(float64(len(clicks)))
		return false
	}
	if probing {
		timeout = probe
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := b.shards[s].Shard.Record(ctx, clicks)
	if err != nil {
		began := b.rests[s].failed(time.Now(), b.cfg.RetryMin, maxShardRest)
		b.m.failures[s].Add(float64(len(clicks)))
		if began {
			b.log.Warn("click shard failing: clicks go to the next shard", "shard", b.shards[s].Name, "error", err)
		}
		return false
	}
	b.m.flushed[s].Add(float64(len(clicks)))
	if b.rests[s].recovered() {
		b.log.Info("click shard recovered", "shard", b.shards[s].Name)
	}
	return true
}

// maxShardRest caps a failing shard's rest, and so how long a shard that
// came back may go unused; probeTimeout bounds the call that ends a rest,
// so that a hung shard holds the flusher that long once a rest at most.
const (
	maxShardRest = 500 * time.Millisecond
	probeTimeout = 200 * time.Millisecond
)

// shardRest is the rest of one shard after failures: none until a call
// fails, then from the first rest (BatcherConfig.RetryMin) doubling with
// every failed probe up to the cap, and none again after a success.
type shardRest struct {
	until atomic.Int64 // unix nanoseconds; 0: not resting
	last  atomic.Int64 // the length of the last rest, in nanoseconds
}

// enter reports whether a call to the shard may go at now, and whether
// it is a probe: the first call after a rest. Only one probe goes at a
// time: the shard rests for the other calls until the probe's timeout.
func (r *shardRest) enter(now time.Time, probe time.Duration) (ok, probing bool) {
	until := r.until.Load()
	switch {
	case until == 0:
		return true, false
	case now.UnixNano() < until:
		return false, false
	}
	if !r.until.CompareAndSwap(until, now.Add(probe).UnixNano()) {
		return false, false // another call took the probe
	}
	return true, true
}

// failed starts the next rest at now. It reports whether the shard had
// not failed since its last success: the start of a failure streak.
func (r *shardRest) failed(now time.Time, first, limit time.Duration) (began bool) {
	for {
		last := r.last.Load()
		d := min(max(2*time.Duration(last), first), limit)
		if r.last.CompareAndSwap(last, int64(d)) {
			r.until.Store(now.Add(d).UnixNano())
			return last == 0
		}
	}
}

// recovered ends the rests. It reports whether the shard had failed
// since its last success: the end of a failure streak.
func (r *shardRest) recovered() (ended bool) {
	if r.last.Load() == 0 || r.last.Swap(0) == 0 {
		return false
	}
	r.until.Store(0)
	return true
}

// dropped counts n clicks the full retry buffer dropped; the first loss
// of an outage is logged (the reference logged each lost click,
// click_counter.record_failed), the rest only counted.
func (b *ClickBatcher) dropped(n int) {
	if n == 0 {
		return
	}
	b.m.overflow.Add(float64(n))
	if b.overflowing.CompareAndSwap(false, true) {
		b.log.Error("clicks lost: the retry buffer is full", "clicks", n, "retry_size", b.cfg.RetrySize)
	}
}

// toStore writes clicks durably, bypassing the shards; it returns them if
// the store failed.
func (b *ClickBatcher) toStore(ctx context.Context, clicks []core.Click) []core.Click {
	if b.fellBack.CompareAndSwap(false, true) {
		b.log.Warn("every click shard failed: storing clicks directly", "clicks", len(clicks))
	}
	if b.store == nil {
		return clicks
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.CallTimeout)
	defer cancel()
	err := b.storeClicks(ctx, clicks)
	if err != nil {
		if b.buffering.CompareAndSwap(false, true) {
			b.log.Warn("click store failing too: buffering clicks for retry", "error", err)
		}
		return clicks
	}
	return nil
}

// storeClicks stores clicks as events filed under no shard, counting
// them as delivered to the store.
func (b *ClickBatcher) storeClicks(ctx context.Context, clicks []core.Click) error {
	n, err := b.insertClicks(ctx, clicks, nil)
	b.m.toStore.Add(float64(n))
	return err
}

// storeFirst stores clicks as events before their shards see them (the
// direct events mode) and marks them Stored. Each event is filed under
// its owner shard (owners, see owners), with the details the consumer
// gives the clicks it reads from that shard's stream. It reports whether
// the store took them; after a failure the store rests, as a failing
// shard does, and batches take the streams meanwhile.
func (b *ClickBatcher) storeFirst(ctx context.Context, clicks []core.Click, owners []int) bool {
	if b.store == nil {
		return false
	}
	if ok, _ := b.storeRest.enter(time.Now(), b.cfg.CallTimeout); !ok {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.CallTimeout)
	defer cancel()
	n, err := b.insertClicks(ctx, clicks, owners)
	if err != nil {
		if b.storeRest.failed(time.Now(), b.cfg.RetryMin, maxStoreRest) {
			b.log.Warn("click store failing: clicks go to the shards' streams until it recovers", "error", err)
		}
		return false
	}
	if b.storeRest.recovered() {
		b.log.Info("click store recovered: clicks are stored directly again")
	}
	b.m.direct.Add(float64(n))
	for i := range clicks {
		clicks[i].Stored = true
	}
	return true
}

// maxStoreRest caps the store's rest in the direct events mode.
const maxStoreRest = 5 * time.Second

// insertClicks stores clicks as events, each under its URLID or, without
// one, under the URL its code names now; a click whose code names none
// is counted and left out. Each event is filed under the shard owners
// names for its click, or under none when owners is nil. It returns how
// many events it gave the store.
func (b *ClickBatcher) insertClicks(ctx context.Context, clicks []core.Click, owners []int) (int, error) {
	var codes []string
	seen := make(map[string]bool)
	for _, c := range clicks {
		if c.URLID == 0 && !seen[c.Code] {
			seen[c.Code] = true
			codes = append(codes, c.Code)
		}
	}
	var ids map[string]int64
	if len(codes) > 0 {
		var err error
		if ids, err = b.store.URLIDsByCode(ctx, codes); err != nil {
			return 0, fmt.Errorf("resolve %d codes: %w", len(codes), err)
		}
	}
	events := make([]core.ClickEvent, 0, len(clicks))
	for i, c := range clicks {
		if c.URLID == 0 {
			id, ok := ids[c.Code]
			if !ok {
				continue
			}
			c.URLID = id
		}
		ev := core.ClickEvent{Click: c}
		if owners != nil {
			ev.Shard = b.shards[owners[i]].Name
		}
		events = append(events, ev)
	}
	if len(events) > 0 {
		if _, err := b.store.InsertClicks(ctx, events); err != nil {
			return 0, err // the store's error says "insert N clicks"
		}
		b.m.inserts.Inc()
	}
	b.m.unknown.Add(float64(len(clicks) - len(events)))
	return len(events), nil
}

// retryLoop redelivers buffered clicks with capped exponential backoff
// until the buffer is empty and the flusher has stopped, or runCtx ends.
func (b *ClickBatcher) retryLoop() {
	defer b.wg.Done()
	wait := b.cfg.RetryMin
	chunk := 4 * b.cfg.BatchSize
	flushDone := b.flushDone
	for {
		if b.retry.len() == 0 {
			if flushDone == nil {
				return
			}
			select {
			case <-b.kick:
				wait = b.cfg.RetryMin
			case <-flushDone:
				// The flusher may have buffered its last clicks: look again.
				flushDone = nil
			case <-b.runCtx.Done():
				return
			}
			continue
		}
		if !sleep(b.runCtx, wait) {
			return
		}
		batch := b.retry.take(chunk)
		rest := b.deliver(b.runCtx, batch)
		if len(rest) > 0 {
			b.dropped(b.retry.pushFront(rest))
			wait = min(max(2*wait, b.cfg.RetryMin), b.cfg.RetryMax)
			continue
		}
		wait = 0
		if b.retry.len() == 0 {
			b.overflowing.Store(false)
			if b.buffering.CompareAndSwap(true, false) {
				b.log.Info("buffered clicks delivered")
			}
		}
	}
}

// clickDeque is a bounded FIFO of clicks safe for concurrent use. When full
// it drops the oldest clicks.
type clickDeque struct {
	mu  sync.Mutex
	max int
	buf []core.Click
}

func (d *clickDeque) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.buf)
}

// push appends clicks and returns how many old clicks it dropped.
func (d *clickDeque) push(clicks []core.Click) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.buf = append(d.buf, clicks...)
	return d.trim()
}

// pushFront puts clicks back before the others (they are the oldest) and
// returns how many it dropped.
func (d *clickDeque) pushFront(clicks []core.Click) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.buf = append(append(make([]core.Click, 0, len(clicks)+len(d.buf)), clicks...), d.buf...)
	return d.trim()
}

func (d *clickDeque) trim() int {
	over := len(d.buf) - d.max
	if over <= 0 {
		return 0
	}
	clear(d.buf[:over])
	d.buf = d.buf[over:]
	return over
}

// take removes and returns up to n of the oldest clicks.
func (d *clickDeque) take(n int) []core.Click {
	d.mu.Lock()
	defer d.mu.Unlock()
	n = min(n, len(d.buf))
	out := append([]core.Click(nil), d.buf[:n]...)
	clear(d.buf[:n])
	d.buf = d.buf[n:]
	if len(d.buf) == 0 {
		d.buf = nil
	}
	return out
}
