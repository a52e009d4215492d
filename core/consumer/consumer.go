// Package consumer stores the click streams of the shards durably: it reads
// each shard's stream as a member of a consumer group, inserts the clicks as
// redirect events in batches keyed by click id (so a replay inserts nothing
// twice), and acknowledges them only after the insert committed. Entries a
// dead consumer left pending are claimed by the shards' Read after MinIdle.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/prometheus/client_golang/prometheus"
)

// Config tunes a Consumer. The zero value of each field takes a default.
type Config struct {
	// Group is the consumer group; default "pg_writers".
	Group string
	// Name identifies this consumer within the group; default "worker".
	Name string
	// BatchSize is the most entries read per shard per pass; default
	// DefaultBatchSize.
	BatchSize int
	// Block is how long a read waits for new entries; default 1s.
	Block time.Duration
	// Linger is how long the reader pauses after a read that did not fill
	// a batch, so that under load each read and each store carries many
	// clicks instead of a few; default DefaultLinger, negative for none.
	// A read that found nothing is followed at once by the next, which
	// blocks.
	Linger time.Duration
	// MinIdle is how long an entry stays pending before another consumer
	// may claim it; default 30s.
	MinIdle time.Duration
	// Writers is how many batches of a shard are stored at once while the
	// next is read; default 2. Batches are independent (keyed by click
	// id), so they commit in any order.
	Writers int
	// MaxBackoff caps the wait between retries after a failure; default 2s.
	MaxBackoff time.Duration
	// FinishTimeout bounds how long a batch already read may take to be
	// stored and acknowledged after the consumer is told to stop; default
	// 10s.
	FinishTimeout time.Duration
	// StreamOf names, by shard, the streams the shard keeps its group on,
	// for the shard's consumer_group.created line; "" means the shard has
	// no such stream (the memory shard) and gets no line. Nil names
	// stream:clicks:*, the reference's key pattern, for every shard.
	StreamOf func(shard string) string
	Logger   *slog.Logger
	// Registry receives the consumer's metrics when set.
	Registry prometheus.Registerer
}

// Consumer drains the click streams of a set of shards into a store.
type Consumer struct {
	store  core.Store
	shards core.ShardSet
	cfg    Config
	log    *slog.Logger

	stored  *prometheus.CounterVec
	dropped *prometheus.CounterVec
	failed  *prometheus.CounterVec

	// sleep waits between reads (see Config.Linger); tests replace it.
	sleep func(ctx context.Context, d time.Duration)
	// urlIDs caches the URL ids of codes.
	urlIDs urlIDs
	// grouped holds the names of the shards whose consumer_group.created
	// was logged.
	grouped sync.Map
	// storeFailing holds, by shard name, an *atomic.Bool set while the
	// shard's batches cannot be stored, so that an outage is logged once
	// and its end once, however many retries it takes.
	storeFailing sync.Map
	// claimAtStart makes Run's first reads claim entries pending for
	// recoverIdle (see runShard); tests turn it off.
	claimAtStart bool
}

// The defaults of Config.BatchSize and Config.Linger. Under load a pass
// stores what a shard gathered in DefaultLinger: the more clicks an insert
// carries, the fewer times it updates each URL's counts, and the fewer
// reads and acknowledgements each stream costs the shard. In load runs
// (docs/benchmarks.md) 4000 and 250ms served 12 % more redirects than 1000
// and 100ms, and stored the last click 0.2-0.35 s after the load's end.
const (
	DefaultBatchSize = 4000
	DefaultLinger    = 250 * time.Millisecond
)

// New returns a Consumer of shards' streams writing to store.
func New(store core.Store, shards core.ShardSet, cfg Config) *Consumer {
	if cfg.Group == "" {
		cfg.Group = "pg_writers"
	}
	if cfg.Name == "" {
		cfg.Name = "worker"
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.Block <= 0 {
		cfg.Block = time.Second
	}
	if cfg.MinIdle <= 0 {
		cfg.MinIdle = 30 * time.Second
	}
	if cfg.Writers <= 0 {
		cfg.Writers = 2
	}
	if cfg.Linger < 0 {
		cfg.Linger = 0
	} else if cfg.Linger == 0 {
		cfg.Linger = DefaultLinger
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 2 * time.Second
	}
	if cfg.FinishTimeout <= 0 {
		cfg.FinishTimeout = 10 * time.Second
	}
	if cfg.StreamOf == nil {
		cfg.StreamOf = func(string) string { return "stream:clicks:*" }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Consumer{
		claimAtStart: true,
		sleep:        sleep,
		store:        store,
		shards:       shards,
		cfg:          cfg,
		log:          cfg.Logger.With("component", "stream_consumer", "consumer", cfg.Name),
		stored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "curtain_consumer_events_stored_total",
			Help: "Clicks the stream consumer stored as redirect events.",
		}, []string{"shard"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "curtain_consumer_entries_dropped_total",
			Help: "Stream entries acknowledged without an event because their short code no longer exists.",
		}, []string{"shard"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "curtain_consumer_failures_total",
			Help: "Failed consumer steps, by shard and step (read, store, ack).",
		}, []string{"shard", "step"}),
	}
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(c.stored, c.dropped, c.failed)
	}
	return c
}

// Run drains every shard, one goroutine each, until ctx is done. It returns
// nil after a clean stop. It first logs the reference's start lines (spec
// §9.2): stream_consumer.starting with batch_size and block_ms, then
// stream_consumer.shards_loaded with the list of shards.
func (c *Consumer) Run(ctx context.Context) error {
	shards := c.shards.Shards()
	names := make([]string, len(shards))
	for i, s := range shards {
		names[i] = s.Name
	}
	for _, s := range shards {
		// Every series exists from the start: a counter that appears at 1
		// shows no increase, so the first store failure would escape
		// rate() and increase(), and with them CurtainStoreUnavailable.
		c.stored.WithLabelValues(s.Name)
		c.dropped.WithLabelValues(s.Name)
		for _, step := range []string{"read", "store", "ack"} {
			c.failed.WithLabelValues(s.Name, step)
		}
	}
	c.log.Info("stream_consumer.starting", "batch_size", c.cfg.BatchSize, "block_ms", c.cfg.Block.Milliseconds(),
		"block", c.cfg.Block.String(), "group", c.cfg.Group)
	c.log.Info("stream_consumer.shards_loaded", "shards", names)
	var wg sync.WaitGroup
	for _, s := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.runShard(ctx, s)
		}()
	}
	wg.Wait()
	return nil
}

// runShard drains one shard as a two-stage pipeline: a reader fetches the
// next batch while Writers earlier ones are being stored and acknowledged,
// so that the shard round trips and the store commits overlap. Every batch
// the reader fetched is stored, even after ctx is done.
func (c *Consumer) runShard(ctx context.Context, s core.NamedShard) {
	batches := make(chan []core.Delivery, 1)
	// failedAt is when a read or a batch last failed, in Unix nanoseconds.
	// Both leave entries pending for this consumer, and so may the
	// consumer's previous life (a crash, a SIGKILL): the start counts as
	// a failure, so that the first reads claim what it left pending
	// instead of waiting for MinIdle.
	var failedAt atomic.Int64
	if c.claimAtStart {
		failedAt.Store(time.Now().UnixNano())
	}
	held := &heldEntries{ids: map[core.DeliveryID]struct{}{}}
	go func() {
		defer close(batches)
		var backoff time.Duration
		for ctx.Err() == nil {
			deliveries, err := c.read(ctx, s, c.cfg.Block, c.minIdle(time.Unix(0, failedAt.Load())))
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				failedAt.Store(time.Now().UnixNano())
				backoff = c.pause(ctx, s, backoff, err)
				continue
			}
			backoff = 0
			read := len(deliveries)
			if deliveries = held.take(deliveries); len(deliveries) > 0 {
				batches <- deliveries
			}
			if read > 0 && read < c.cfg.BatchSize && c.cfg.Linger > 0 {
				c.sleep(ctx, c.cfg.Linger)
			}
		}
	}()
	var writers sync.WaitGroup
	for range c.cfg.Writers {
		writers.Go(func() {
			var backoff time.Duration
			for deliveries := range batches {
				_, err := c.finish(ctx, s, deliveries)
				held.release(deliveries)
				if err != nil {
					// The batch stays pending: claim it back soon.
					failedAt.Store(time.Now().UnixNano())
					backoff = c.pause(ctx, s, backoff, err)
					continue
				}
				backoff = 0
			}
		})
	}
	writers.Wait()
}

// heldEntries are the entries of a shard that the consumer has read and
// not finished yet. While it recovers (recoverIdle) the reader claims
// entries pending for a second, and a batch that waits for a writer that
// long is among them: without this it would be read, stored and
// acknowledged a second time, as a catch-up after a restart does batch
// after batch.
type heldEntries struct {
	mu  sync.Mutex
	ids map[core.DeliveryID]struct{}
}

// take marks the deliveries held and returns those that were not held
// already; it reuses ds.
func (h *heldEntries) take(ds []core.Delivery) []core.Delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := ds[:0]
	for _, d := range ds {
		id := core.DeliveryID{Code: d.Click.Code, ID: d.ID}
		if _, ok := h.ids[id]; ok {
			continue
		}
		h.ids[id] = struct{}{}
		out = append(out, d)
	}
	return out
}

// release forgets deliveries whose batch is finished, stored or not: a
// batch that failed stays pending and is claimed back like any other.
func (h *heldEntries) release(ds []core.Delivery) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, d := range ds {
		delete(h.ids, core.DeliveryID{Code: d.Click.Code, ID: d.ID})
	}
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// A read that fails after the shard handed it entries (its reply timed
// out, say) leaves them pending for this consumer, unseen, and so do a
// batch that could not be stored or acknowledged within FinishTimeout (a
// store outage) and a consumer killed with batches in hand: at MinIdle
// (30 s by default) they would be claimed back, long after the clicks were
// served. For recoverFor after a failed read, a failed batch or the start,
// reads claim entries pending longer than recoverIdle instead; a batch
// another consumer is still storing that long is at worst stored twice,
// which inserts nothing.
const (
	recoverIdle = time.Second
	recoverFor  = 10 * time.Second
)

// minIdle is the MinIdle of the next read, given when the last read
// failed (zero: never).
func (c *Consumer) minIdle(failedAt time.Time) time.Duration {
	if !failedAt.IsZero() && time.Since(failedAt) < recoverFor {
		return min(c.cfg.MinIdle, recoverIdle)
	}
	return c.cfg.MinIdle
}

// pause logs a failed step and waits for the next, doubled, backoff (or
// until ctx is done); it returns that backoff.
func (c *Consumer) pause(ctx context.Context, s core.NamedShard, backoff time.Duration, err error) time.Duration {
	backoff = min(max(2*backoff, 50*time.Millisecond), c.cfg.MaxBackoff)
	c.log.Error("stream_consumer.shard_error", "shard", s.Name, "error", err.Error(), "retry_in", backoff.String())
	select {
	case <-ctx.Done():
	case <-time.After(backoff):
	}
	return backoff
}

// Drain runs one pass over a shard: read a batch (waiting up to Block for
// one), store it, acknowledge it. It returns how many events it inserted.
// A batch whose insert fails is retried until it succeeds or ctx is done,
// so a store outage delays entries but never strands them.
func (c *Consumer) Drain(ctx context.Context, s core.NamedShard) (int, error) {
	_, n, err := c.drain(ctx, s, c.cfg.Block, c.cfg.MinIdle)
	return n, err
}

// Flush drains every shard until its stream has nothing left for this
// consumer, or ctx is done. Run it at shutdown so that a process keeping
// clicks in memory hands them all to the store first.
func (c *Consumer) Flush(ctx context.Context) error {
	for _, s := range c.shards.Shards() {
		for {
			read, _, err := c.drain(ctx, s, time.Millisecond, time.Nanosecond)
			if err != nil {
				return fmt.Errorf("flush %s: %w", s.Name, err)
			}
			if read == 0 {
				break
			}
		}
	}
	return nil
}

// drain reads one batch, waiting up to block and claiming entries pending
// longer than minIdle, then stores and acknowledges it. It returns how many
// entries it read and how many events it inserted.
func (c *Consumer) drain(ctx context.Context, s core.NamedShard, block, minIdle time.Duration) (read, inserted int, err error) {
	deliveries, err := c.read(ctx, s, block, minIdle)
	if err != nil || len(deliveries) == 0 {
		return 0, 0, err
	}
	n, err := c.finish(ctx, s, deliveries)
	return len(deliveries), n, err
}

// read fetches up to BatchSize entries of a shard's stream.
func (c *Consumer) read(ctx context.Context, s core.NamedShard, block, minIdle time.Duration) ([]core.Delivery, error) {
	deliveries, err := s.Shard.Read(ctx, core.ReadRequest{
		Group:    c.cfg.Group,
		Consumer: c.cfg.Name,
		Count:    c.cfg.BatchSize,
		Block:    block,
		MinIdle:  minIdle,
	})
	if err != nil {
		c.failed.WithLabelValues(s.Name, "read").Inc()
		return nil, err
	}
	c.groupReady(s)
	return deliveries, nil
}

// groupReady logs consumer_group.created (spec §9.2) once per shard,
// after the first successful read. The shard, not the consumer, creates
// the group on its streams (the Redis shard on each stream:clicks:<code>
// as it finds it, from id 0) and its Read does not say whether it did,
// so the host cannot log each creation as the reference did: it logs
// once per shard that the group is in place on the shard's click
// streams, named by Config.StreamOf (stream:clicks:*, the reference's key
// pattern, spec §7.3). A shard without such streams (the memory shard)
// gets no line: it would name streams that do not exist.
func (c *Consumer) groupReady(s core.NamedShard) {
	if _, logged := c.grouped.LoadOrStore(s.Name, true); !logged {
		if stream := c.cfg.StreamOf(s.Name); stream != "" {
			c.log.Info("consumer_group.created", "stream", stream, "group", c.cfg.Group, "shard", s.Name)
		}
	}
}

// finish stores a batch that was read and acknowledges it; it returns how
// many events it inserted. A batch once read is finished even when ctx is
// cancelled meanwhile, so that a stopping consumer does not leave it
// pending for MinIdle.
func (c *Consumer) finish(ctx context.Context, s core.NamedShard, deliveries []core.Delivery) (int, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.FinishTimeout)
	defer cancel()
	n, err := c.storeBatch(ctx, s, deliveries)
	if err != nil {
		return 0, err
	}
	ids := make([]core.DeliveryID, len(deliveries))
	for i, d := range deliveries {
		ids[i] = core.DeliveryID{Code: d.Click.Code, ID: d.ID}
	}
	// Entries already stored are safe to re-deliver (the insert is keyed
	// by click id), so a failed ack only costs a replay later.
	if err := retry(ctx, c.cfg.MaxBackoff, func() error {
		return s.Shard.Ack(ctx, core.AckRequest{Group: c.cfg.Group, IDs: ids})
	}, func(err error) {
		c.failed.WithLabelValues(s.Name, "ack").Inc()
		c.log.Warn("stream_consumer.ack_failed", "shard", s.Name, "error", err.Error())
	}); err != nil {
		return n, err
	}
	return n, nil
}

// storeBatch resolves the deliveries' codes and inserts them, retrying store
// failures with backoff until ctx is done.
//
// Codes resolve through the consumer's cache of URL ids. A stale id (its
// code deleted and created again since) makes the insert store fewer
// clicks than it was given; the batch is then resolved again from the
// store and inserted once more, which stores exactly the clicks the first
// insert dropped, since inserts are keyed by click id.
func (c *Consumer) storeBatch(ctx context.Context, s core.NamedShard, deliveries []core.Delivery) (int, error) {
	codes := make([]string, 0, len(deliveries))
	seen := make(map[string]bool, len(deliveries))
	for _, d := range deliveries {
		if !seen[d.Click.Code] {
			seen[d.Click.Code] = true
			codes = append(codes, d.Click.Code)
		}
	}
	var inserted int
	err := retry(ctx, c.cfg.MaxBackoff, func() error {
		ids, cached, err := c.urlIDs.resolve(ctx, c.store, codes)
		if err != nil {
			return err
		}
		events := c.events(s, deliveries, ids)
		n, err := c.insert(ctx, events)
		if err != nil {
			return err
		}
		if cached && n < len(events) {
			c.urlIDs.forget(codes)
			if ids, _, err = c.urlIDs.resolve(ctx, c.store, codes); err != nil {
				return err
			}
			events = c.events(s, deliveries, ids)
			more, err := c.insert(ctx, events)
			if err != nil {
				return err
			}
			n += more
		}
		inserted = n
		c.dropped.WithLabelValues(s.Name).Add(float64(len(deliveries) - len(events)))
		return nil
	}, func(err error) {
		c.failed.WithLabelValues(s.Name, "store").Inc()
		if c.failingStore(s.Name).CompareAndSwap(false, true) {
			c.log.Warn("stream_consumer.store_failed", "shard", s.Name, "entries", len(deliveries), "error", err.Error())
		}
	})
	if err != nil {
		return 0, err
	}
	if c.failingStore(s.Name).CompareAndSwap(true, false) {
		c.log.Info("stream_consumer.store_recovered", "shard", s.Name)
	}
	c.stored.WithLabelValues(s.Name).Add(float64(inserted))
	if inserted > 0 {
		c.log.Info("stream.flushed", "shard", s.Name, "events_written", inserted)
	}
	return inserted, nil
}

// failingStore returns the flag that is set while a shard's batches
// cannot be stored (storeBatch logs the first failure and the recovery;
// curtain_consumer_failures_total{step="store"} counts every attempt).
func (c *Consumer) failingStore(shard string) *atomic.Bool {
	f, _ := c.storeFailing.LoadOrStore(shard, new(atomic.Bool))
	return f.(*atomic.Bool)
}

// events pairs deliveries with their URL ids, leaving out a delivery whose
// code has no URL.
func (c *Consumer) events(s core.NamedShard, deliveries []core.Delivery, ids map[string]int64) []core.ClickEvent {
	events := make([]core.ClickEvent, 0, len(deliveries))
	for _, d := range deliveries {
		id, ok := ids[d.Click.Code]
		if !ok {
			continue
		}
		c := d.Click
		c.URLID = id
		events = append(events, core.ClickEvent{Click: c, Shard: s.Name})
	}
	return events
}

// insert stores events, if any.
func (c *Consumer) insert(ctx context.Context, events []core.ClickEvent) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	return c.store.InsertClicks(ctx, events)
}

// retry calls fn until it succeeds or ctx is done, waiting with capped
// exponential backoff between attempts and reporting each failure.
func retry(ctx context.Context, maxBackoff time.Duration, fn func() error, report func(error)) error {
	backoff := 25 * time.Millisecond
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return ctx.Err()
		}
		report(err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}
