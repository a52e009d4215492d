package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/internal/testenv"
)

// fakeShard serves one batch of deliveries, then nothing.
type fakeShard struct {
	core.ClickShard
	mu      sync.Mutex
	pending []core.Delivery
	acked   []core.DeliveryID
	ackErr  error
}

func (f *fakeShard) Read(ctx context.Context, req core.ReadRequest) ([]core.Delivery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.pending
	f.pending = nil
	return d, nil
}

func (f *fakeShard) Ack(ctx context.Context, req core.AckRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ackErr != nil {
		err := f.ackErr
		f.ackErr = nil
		return err
	}
	f.acked = append(f.acked, req.IDs...)
	return nil
}

// fakeStore resolves codes and records inserted clicks, failing the first
// failInserts inserts.
type fakeStore struct {
	core.Store
	mu          sync.Mutex
	codes       map[string]int64
	lookups     int
	failInserts int
	inserted    []core.ClickEvent
}

func (f *fakeStore) URLIDsByCode(ctx context.Context, codes []string) (map[string]int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	out := map[string]int64{}
	for _, c := range codes {
		if id, ok := f.codes[c]; ok {
			out[c] = id
		}
	}
	return out, nil
}

func (f *fakeStore) InsertClicks(ctx context.Context, clicks []core.ClickEvent) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failInserts > 0 {
		f.failInserts--
		return 0, core.ErrUnavailable
	}
	f.inserted = append(f.inserted, clicks...)
	return len(clicks), nil
}

func deliveries(codes ...string) []core.Delivery {
	var out []core.Delivery
	for i, c := range codes {
		out = append(out, core.Delivery{ID: string(rune('a' + i)), Click: core.Click{ID: "click-" + string(rune('a'+i)), Code: c, At: time.Unix(1700000000, 0).UTC()}})
	}
	return out
}

// later gives ds the entry ids that follow n earlier entries of their
// stream, as a shard's later reads do (a stream never repeats an id).
func later(n int, ds []core.Delivery) []core.Delivery {
	for i := range ds {
		ds[i].ID = string(rune('a' + n + i))
	}
	return ds
}

func TestDrainStoresThenAcks(t *testing.T) {
	shard := &fakeShard{pending: deliveries("abc123", "gone00", "abc123")}
	store := &fakeStore{codes: map[string]int64{"abc123": 42}}
	c := New(store, nil, Config{MaxBackoff: time.Millisecond})
	n, err := c.Drain(t.Context(), core.NamedShard{Name: "shard0", Shard: shard})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("Drain = %d, want 2 events (the unknown code dropped)", n)
	}
	if len(store.inserted) != 2 || store.inserted[0].URLID != 42 || store.inserted[0].Shard != "shard0" || store.inserted[0].ID != "click-a" {
		t.Errorf("inserted = %+v", store.inserted)
	}
	if len(shard.acked) != 3 {
		t.Errorf("acked %d entries, want all 3 (the dropped one too)", len(shard.acked))
	}
}

func TestDrainRetriesStoreOutageBeforeAck(t *testing.T) {
	shard := &fakeShard{pending: deliveries("abc123"), ackErr: errors.New("shard blip")}
	store := &fakeStore{codes: map[string]int64{"abc123": 1}, failInserts: 3}
	c := New(store, nil, Config{MaxBackoff: time.Millisecond})
	n, err := c.Drain(t.Context(), core.NamedShard{Name: "shard0", Shard: shard})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || len(store.inserted) != 1 {
		t.Errorf("Drain = %d, inserted %d; want the batch stored once after the outage", n, len(store.inserted))
	}
	if len(shard.acked) != 1 {
		t.Errorf("acked %d, want 1 after the ack retry", len(shard.acked))
	}
}

func TestDrainStopsWithContext(t *testing.T) {
	shard := &fakeShard{pending: deliveries("abc123")}
	store := &fakeStore{codes: map[string]int64{"abc123": 1}, failInserts: 1 << 30}
	c := New(store, nil, Config{MaxBackoff: time.Millisecond, FinishTimeout: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	defer cancel()
	if _, err := c.Drain(ctx, core.NamedShard{Name: "shard0", Shard: shard}); err == nil {
		t.Fatal("Drain succeeded with the store down, want a timeout")
	}
	if len(shard.acked) != 0 {
		t.Errorf("acked %d entries that were never stored", len(shard.acked))
	}
}

// queueShard hands out its batches one per Read, then blocks until ctx is
// done. served is closed once the second batch has been handed out.
type queueShard struct {
	core.ClickShard
	mu      sync.Mutex
	batches [][]core.Delivery
	reads   int
	served  chan struct{}
	acked   int
}

func (q *queueShard) Read(ctx context.Context, req core.ReadRequest) ([]core.Delivery, error) {
	q.mu.Lock()
	if len(q.batches) > 0 {
		b := q.batches[0]
		q.batches = q.batches[1:]
		q.reads++
		if q.reads == 2 {
			close(q.served)
		}
		q.mu.Unlock()
		return b, nil
	}
	q.mu.Unlock()
	<-ctx.Done()
	return nil, ctx.Err()
}

func (q *queueShard) Ack(ctx context.Context, req core.AckRequest) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.acked += len(req.IDs)
	return nil
}

// gatedStore holds its first insert until gate is closed.
type gatedStore struct {
	fakeStore
	gate  <-chan struct{}
	once  sync.Once
	stuck bool
}

func (g *gatedStore) InsertClicks(ctx context.Context, clicks []core.ClickEvent) (int, error) {
	g.once.Do(func() {
		select {
		case <-g.gate:
		case <-ctx.Done():
			g.stuck = true
		}
	})
	return g.fakeStore.InsertClicks(ctx, clicks)
}

// TestRunReadsWhileStoring proves the pipeline: the first batch's insert
// waits until the shard has handed out the second batch, which only a
// reader running beside the insert can fetch.
func TestRunReadsWhileStoring(t *testing.T) {
	shard := &queueShard{batches: [][]core.Delivery{deliveries("abc123", "abc123"), later(2, deliveries("abc123"))}, served: make(chan struct{})}
	store := &gatedStore{fakeStore: fakeStore{codes: map[string]int64{"abc123": 7}}, gate: shard.served}
	c := New(store, staticShards{{Name: "shard0", Shard: shard}}, Config{MaxBackoff: time.Millisecond, FinishTimeout: 10 * time.Second})
	runUntilAcked(t, c, shard, 3)
	if store.stuck {
		t.Error("the first insert gave up waiting: the second batch was not read while it ran")
	}
	if shard.acked != 3 {
		t.Errorf("acked %d entries, want 3", shard.acked)
	}
}

// TestRunLeavesABatchInHandToItsWriter: a read that claims back entries
// a writer of this consumer is still storing (they have been pending
// longer than recoverIdle, as in a catch-up after a restart) hands them
// to no second writer: each is stored and acknowledged once.
func TestRunLeavesABatchInHandToItsWriter(t *testing.T) {
	batch := deliveries("abc123", "abc123")
	shard := &queueShard{batches: [][]core.Delivery{batch, slices.Clone(batch)}, served: make(chan struct{})}
	// The first insert waits until the claim has been read.
	store := &gatedStore{fakeStore: fakeStore{codes: map[string]int64{"abc123": 7}}, gate: shard.served}
	c := New(store, staticShards{{Name: "shard0", Shard: shard}}, Config{MaxBackoff: time.Millisecond, FinishTimeout: 10 * time.Second})
	// Run has finished every batch it read when runUntil returns.
	runUntil(t, c, func() string {
		if shard.ackedCount() >= 2 {
			return ""
		}
		return "the batch was not acknowledged"
	})
	if len(store.inserted) != 2 || shard.acked != 2 {
		t.Errorf("inserted %d events and acknowledged %d entries, want the 2 entries once each", len(store.inserted), shard.acked)
	}
}

// pairedStore holds each of its first two inserts until both have begun.
type pairedStore struct {
	fakeStore
	both    chan struct{}
	started atomic.Int32
	alone   atomic.Bool
}

func (p *pairedStore) InsertClicks(ctx context.Context, clicks []core.ClickEvent) (int, error) {
	if n := p.started.Add(1); n == 2 {
		close(p.both)
	}
	select {
	case <-p.both:
	case <-time.After(5 * time.Second):
		p.alone.Store(true)
	}
	return p.fakeStore.InsertClicks(ctx, clicks)
}

// TestRunStoresBatchesAtOnce: with two writers (the default) two batches
// of a shard are stored at once.
func TestRunStoresBatchesAtOnce(t *testing.T) {
	shard := &queueShard{batches: [][]core.Delivery{deliveries("abc123"), later(1, deliveries("abc123"))}, served: make(chan struct{})}
	store := &pairedStore{fakeStore: fakeStore{codes: map[string]int64{"abc123": 7}}, both: make(chan struct{})}
	c := New(store, staticShards{{Name: "shard0", Shard: shard}}, Config{MaxBackoff: time.Millisecond})
	runUntilAcked(t, c, shard, 2)
	if store.alone.Load() {
		t.Error("an insert waited alone: the second batch was not stored while the first was")
	}
}

// runUntilAcked runs c until shard has acknowledged n entries, then stops
// it and waits for Run to return.
func runUntilAcked(t *testing.T, c *Consumer, shard *queueShard, n int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	for {
		shard.mu.Lock()
		acked := shard.acked
		shard.mu.Unlock()
		if acked == n {
			break
		}
		select {
		case <-done:
			t.Fatal("Run returned early")
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	<-done
}

// staticShards is a fixed core.ShardSet.
type staticShards []core.NamedShard

func (s staticShards) Shards() []core.NamedShard { return s }

// lossyShard models a read whose reply is lost: its first Read moves a
// batch to the consumer's pending entries and fails; later reads return
// those entries only as a claim, once they have been pending for the
// request's MinIdle, as a Redis consumer group does.
type lossyShard struct {
	core.ClickShard
	mu        sync.Mutex
	batch     []core.Delivery
	pendingAt time.Time // zero: nothing pending
	minIdles  []time.Duration
	acked     int
}

func (l *lossyShard) Read(ctx context.Context, req core.ReadRequest) ([]core.Delivery, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.minIdles = append(l.minIdles, req.MinIdle)
	switch {
	case l.batch != nil && l.pendingAt.IsZero():
		l.pendingAt = time.Now()
		return nil, errors.New("i/o timeout")
	case l.batch != nil && time.Since(l.pendingAt) >= req.MinIdle:
		b := l.batch
		l.batch = nil
		return b, nil
	}
	l.mu.Unlock()
	select { // an idle read waits a little, as a blocking one would
	case <-ctx.Done():
	case <-time.After(10 * time.Millisecond):
	}
	l.mu.Lock()
	return nil, nil
}

func (l *lossyShard) Ack(ctx context.Context, req core.AckRequest) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked += len(req.IDs)
	return nil
}

func (s *lossyShard) ackedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acked
}

func (s *queueShard) ackedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acked
}

// runUntil runs c until pending, polled every 5 ms, reports nothing left
// to wait for (""), then stops it. The test fails if Run returns first,
// or with pending's last answer after 30 s.
func runUntil(t *testing.T, c *Consumer, pending func() string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	giveUp := time.After(30 * time.Second)
	for {
		why := pending()
		if why == "" {
			return
		}
		select {
		case <-done:
			t.Fatal("Run returned early")
		case <-giveUp:
			t.Fatal(why)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestRunClaimsBackALostRead: entries a failed read left pending are
// stored soon after, not after MinIdle (an hour here).
func TestRunClaimsBackALostRead(t *testing.T) {
	shard := &lossyShard{batch: deliveries("abc123", "abc123")}
	store := &fakeStore{codes: map[string]int64{"abc123": 7}}
	c := New(store, staticShards{{Name: "shard0", Shard: shard}}, Config{MinIdle: time.Hour, MaxBackoff: time.Millisecond})
	c.claimAtStart = false // this test is about the failed read alone
	// runUntil's liveness bound is far above recoverIdle and far below
	// MinIdle.
	runUntil(t, c, func() string {
		if shard.ackedCount() == 2 {
			return ""
		}
		return "the entries the failed read left pending were not claimed back"
	})
	if len(store.inserted) != 2 {
		t.Errorf("stored %d events, want the 2 the failed read left pending", len(store.inserted))
	}
	if shard.minIdles[0] != time.Hour || shard.minIdles[1] > recoverIdle {
		t.Errorf("MinIdle of the reads = %v, want 1h first, then at most %v after the failure", shard.minIdles[:2], recoverIdle)
	}
}

// TestRunLingersAfterPartialBatches checks when the reader pauses: after a
// read that returned some entries but fewer than BatchSize, never after a
// full one, and not at all with a negative Linger.
func TestRunLingersAfterPartialBatches(t *testing.T) {
	for _, tc := range []struct {
		linger time.Duration
		want   []time.Duration
	}{
		{linger: 0, want: []time.Duration{DefaultLinger, DefaultLinger}},
		{linger: 40 * time.Millisecond, want: []time.Duration{40 * time.Millisecond, 40 * time.Millisecond}},
		{linger: -1, want: nil},
	} {
		shard := &queueShard{
			batches: [][]core.Delivery{deliveries("abc123"), later(1, deliveries("abc123", "abc123")), later(3, deliveries("abc123"))},
			served:  make(chan struct{}),
		}
		store := &fakeStore{codes: map[string]int64{"abc123": 7}}
		c := New(store, staticShards{{Name: "shard0", Shard: shard}}, Config{BatchSize: 2, Linger: tc.linger, MaxBackoff: time.Millisecond})
		var mu sync.Mutex
		var slept []time.Duration
		c.sleep = func(ctx context.Context, d time.Duration) {
			mu.Lock()
			slept = append(slept, d)
			mu.Unlock()
		}
		runUntilAcked(t, c, shard, 4)
		if !slices.Equal(slept, tc.want) {
			t.Errorf("Linger %v: paused %v, want %v", tc.linger, slept, tc.want)
		}
	}
}

// liveStore is a fakeStore that, like the real stores, drops clicks whose
// URL id does not exist and skips click ids already stored.
type liveStore struct {
	fakeStore
	live   map[int64]bool
	stored map[string]int64 // click id → URL id
}

func (l *liveStore) InsertClicks(ctx context.Context, clicks []core.ClickEvent) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range clicks {
		if _, dup := l.stored[c.ID]; dup || !l.live[c.URLID] {
			continue
		}
		l.stored[c.ID] = c.URLID
		n++
	}
	return n, nil
}

// TestStoreBatchCachesURLIDs checks the consumer's cache of URL ids: a
// batch of known codes needs no lookup, and a code deleted and created
// again under a new id gets its clicks stored under the new id.
func TestStoreBatchCachesURLIDs(t *testing.T) {
	store := &liveStore{fakeStore: fakeStore{codes: map[string]int64{"promo": 7, "other": 8}}, live: map[int64]bool{7: true, 8: true}, stored: map[string]int64{}}
	batch := func(ids ...string) []core.Delivery {
		var out []core.Delivery
		for _, id := range ids {
			out = append(out, core.Delivery{ID: id, Click: core.Click{Code: "promo", ID: "click-" + id}})
		}
		return append(out, core.Delivery{ID: "o" + ids[0], Click: core.Click{Code: "other", ID: "click-o" + ids[0]}})
	}
	shard := &queueShard{batches: [][]core.Delivery{batch("1-0"), batch("2-0"), batch("3-0")}, served: make(chan struct{})}
	c := New(store, staticShards{{Name: "shard0", Shard: shard}}, Config{MaxBackoff: time.Millisecond})
	s := core.NamedShard{Name: "shard0", Shard: shard}

	for i, want := range []struct {
		inserted, lookups int
	}{{2, 1}, {2, 1}} {
		n, err := c.Drain(t.Context(), s)
		if err != nil || n != want.inserted || store.lookups != want.lookups {
			t.Fatalf("batch %d: inserted %d (err %v) after %d lookups, want %d after %d", i+1, n, err, store.lookups, want.inserted, want.lookups)
		}
	}

	// "promo" is deleted and created again as URL 9.
	store.mu.Lock()
	store.codes["promo"] = 9
	delete(store.live, 7)
	store.live[9] = true
	store.mu.Unlock()
	n, err := c.Drain(t.Context(), s)
	if err != nil || n != 2 {
		t.Fatalf("batch 3: inserted %d (err %v), want 2", n, err)
	}
	if got := store.stored["click-3-0"]; got != 9 {
		t.Errorf("the click after the re-creation went to URL %d, want 9", got)
	}
	if store.lookups != 2 {
		t.Errorf("%d lookups, want 2 (one more for the stale batch)", store.lookups)
	}
}

// TestRunLogsReferenceLines: the consumer logs the reference's lines
// (spec §9.2) with their fields and levels: stream_consumer.starting
// (batch_size, block_ms) and stream_consumer.shards_loaded (the list of
// shards) at start, consumer_group.created once per shard, stream.flushed
// (shard, events_written) at INFO and stream_consumer.shard_error (shard,
// error) at ERROR.
func TestRunLogsReferenceLines(t *testing.T) {
	var logs testenv.LogBuffer
	lossy := &lossyShard{batch: deliveries("abc123", "abc123")}
	queue := &queueShard{batches: [][]core.Delivery{deliveries("abc123", "abc123", "abc123")}, served: make(chan struct{})}
	store := &fakeStore{codes: map[string]int64{"abc123": 7}}
	c := New(store, staticShards{{Name: "shard0", Shard: lossy}, {Name: "shard1", Shard: queue}}, Config{
		BatchSize: 50, Block: 2 * time.Second, MinIdle: time.Hour, MaxBackoff: time.Millisecond,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	runUntil(t, c, func() string {
		lossyAcked, queueAcked := lossy.ackedCount(), queue.ackedCount()
		if lossyAcked == 2 && queueAcked == 3 {
			return ""
		}
		return fmt.Sprintf("acked %d and %d entries, want 2 and 3", lossyAcked, queueAcked)
	})

	text := logs.String()
	byMessage := map[string][]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["component"] != "stream_consumer" {
			t.Errorf("line without component stream_consumer: %s", line)
		}
		msg := fmt.Sprint(m["msg"])
		byMessage[msg] = append(byMessage[msg], m)
	}
	want := func(msg, level string, count int) []map[string]any {
		t.Helper()
		got := byMessage[msg]
		if len(got) != count {
			t.Errorf("%d %s lines, want %d:\n%s", len(got), msg, count, text)
		}
		for _, l := range got {
			if l["level"] != level {
				t.Errorf("%s at %v, want %s", msg, l["level"], level)
			}
		}
		return got
	}
	if l := want("stream_consumer.starting", "INFO", 1); len(l) == 1 && (l[0]["batch_size"] != 50.0 || l[0]["block_ms"] != 2000.0) {
		t.Errorf("starting = %v, want batch_size 50 and block_ms 2000", l[0])
	}
	if l := want("stream_consumer.shards_loaded", "INFO", 1); len(l) == 1 && fmt.Sprint(l[0]["shards"]) != "[shard0 shard1]" {
		t.Errorf("shards_loaded shards = %v, want [shard0 shard1]", l[0]["shards"])
	}
	groups := map[string]bool{}
	for _, l := range want("consumer_group.created", "INFO", 2) {
		if l["group"] != "pg_writers" || l["stream"] == nil {
			t.Errorf("consumer_group.created = %v, want stream and group pg_writers", l)
		}
		groups[fmt.Sprint(l["shard"])] = true
	}
	if !groups["shard0"] || !groups["shard1"] {
		t.Errorf("consumer_group.created for shards %v, want shard0 and shard1", groups)
	}
	written := map[string]float64{}
	for _, l := range want("stream.flushed", "INFO", 2) {
		written[fmt.Sprint(l["shard"])] += l["events_written"].(float64)
	}
	if written["shard0"] != 2 || written["shard1"] != 3 {
		t.Errorf("stream.flushed events_written by shard = %v, want shard0 2, shard1 3", written)
	}
	if l := want("stream_consumer.shard_error", "ERROR", 1); len(l) == 1 && (l[0]["shard"] != "shard0" || l[0]["error"] != "i/o timeout") {
		t.Errorf("shard_error = %v, want shard0 and its error", l[0])
	}
}

// groupShard models one stream of a Redis consumer group: a Read first
// claims entries pending for at least the request's MinIdle (whoever holds
// them), then hands out the new ones; an Ack ends an entry's pending.
type groupShard struct {
	core.ClickShard
	mu        sync.Mutex
	fresh     []core.Delivery
	pending   map[string]core.Delivery
	pendingAt map[string]time.Time
	acked     map[string]bool
}

func newGroupShard(fresh []core.Delivery) *groupShard {
	return &groupShard{fresh: fresh, pending: map[string]core.Delivery{}, pendingAt: map[string]time.Time{}, acked: map[string]bool{}}
}

// leftPending makes ds pending since at, as a consumer that read them and
// died would have left them.
func (g *groupShard) leftPending(ds []core.Delivery, at time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, d := range ds {
		g.pending[d.ID] = d
		g.pendingAt[d.ID] = at
	}
}

func (g *groupShard) Read(ctx context.Context, req core.ReadRequest) ([]core.Delivery, error) {
	g.mu.Lock()
	var out []core.Delivery
	for id, d := range g.pending {
		if time.Since(g.pendingAt[id]) >= req.MinIdle {
			g.pendingAt[id] = time.Now()
			out = append(out, d)
		}
	}
	for _, d := range g.fresh {
		g.pending[d.ID] = d
		g.pendingAt[d.ID] = time.Now()
	}
	out = append(out, g.fresh...)
	g.fresh = nil
	g.mu.Unlock()
	if len(out) > 0 {
		return out, nil
	}
	select { // an idle read waits a little, as a blocking one would
	case <-ctx.Done():
	case <-time.After(10 * time.Millisecond):
	}
	return nil, nil
}

func (g *groupShard) Ack(ctx context.Context, req core.AckRequest) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, id := range req.IDs {
		delete(g.pending, id.ID)
		g.acked[id.ID] = true
	}
	return nil
}

func (g *groupShard) ackedCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.acked)
}

// TestRunClaimsWhatItsLastLifeLeftPending: a consumer restarted after a
// SIGKILL stores the entries its previous process had read but not
// acknowledged soon after it starts, not after MinIdle (an hour here;
// 30 s by default, which made a killed consumer's last batches wait 30 to
// 45 s).
func TestRunClaimsWhatItsLastLifeLeftPending(t *testing.T) {
	shard := newGroupShard(nil)
	shard.leftPending(deliveries("abc123", "abc123", "abc123"), time.Now().Add(-2*recoverIdle))
	store := &fakeStore{codes: map[string]int64{"abc123": 7}}
	c := New(store, staticShards{{Name: "shard0", Shard: shard}}, Config{MinIdle: time.Hour, MaxBackoff: time.Millisecond})
	runUntil(t, c, func() string {
		if shard.ackedCount() == 3 {
			return ""
		}
		return "the entries the previous process left pending were not claimed"
	})
}

// outageStore fails every insert until its outage ends.
type outageStore struct {
	fakeStore
	until time.Time
}

func (o *outageStore) InsertClicks(ctx context.Context, clicks []core.ClickEvent) (int, error) {
	if time.Now().Before(o.until) {
		return 0, core.ErrUnavailable
	}
	return o.fakeStore.InsertClicks(ctx, clicks)
}

// TestRunClaimsBackABatchItCouldNotStore: a batch whose insert kept
// failing for longer than FinishTimeout (a store outage) stays pending for
// the consumer; it is stored soon after the store is back, not after
// MinIdle (an hour here).
func TestRunClaimsBackABatchItCouldNotStore(t *testing.T) {
	shard := newGroupShard(deliveries("abc123", "abc123"))
	store := &outageStore{fakeStore: fakeStore{codes: map[string]int64{"abc123": 7}}, until: time.Now().Add(200 * time.Millisecond)}
	c := New(store, staticShards{{Name: "shard0", Shard: shard}}, Config{MinIdle: time.Hour, MaxBackoff: time.Millisecond, FinishTimeout: 50 * time.Millisecond})
	c.claimAtStart = false // the start's own recovery would hide the batch's
	runUntil(t, c, func() string {
		if shard.ackedCount() == 2 {
			return ""
		}
		return "the batch left pending by the store outage was not claimed back"
	})
}

// TestRunExportsEverySeriesAtStart: the consumer's counters exist, at 0,
// for every shard and step once Run starts. curtain_consumer_failures_total
// used to appear only with its first failure, at 1, which rate() and
// increase() do not count.
func TestRunExportsEverySeriesAtStart(t *testing.T) {
	reg := prometheus.NewRegistry()
	queue := &queueShard{batches: [][]core.Delivery{deliveries("abc123")}, served: make(chan struct{})}
	c := New(&fakeStore{codes: map[string]int64{"abc123": 7}}, staticShards{{Name: "shard0", Shard: queue}, {Name: "shard1", Shard: &queueShard{served: make(chan struct{})}}},
		Config{Block: time.Millisecond, MaxBackoff: time.Millisecond, Registry: reg})
	runUntilAcked(t, c, queue, 1)
	want := map[string]int{"curtain_consumer_events_stored_total": 2, "curtain_consumer_entries_dropped_total": 2, "curtain_consumer_failures_total": 6}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, f := range families {
		got[f.GetName()] = len(f.GetMetric())
	}
	for name, n := range want {
		if got[name] != n {
			t.Errorf("%s has %d series, want %d (every shard, and every step)", name, got[name], n)
		}
	}
}

// TestStoreOutageLoggedOnce checks that a store outage is logged once
// however many retries it takes, and its end once, while the failures
// counter counts every attempt; a later outage is logged again.
func TestStoreOutageLoggedOnce(t *testing.T) {
	var logs testenv.LogBuffer
	store := &fakeStore{codes: map[string]int64{"abc123": 1}, failInserts: 6}
	c := New(store, nil, Config{MaxBackoff: time.Millisecond,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	shard := core.NamedShard{Name: "shard0", Shard: &fakeShard{pending: deliveries("abc123")}}
	if _, err := c.Drain(t.Context(), shard); err != nil {
		t.Fatal(err)
	}
	count := func(msg string) int { return strings.Count(logs.String(), `"msg":"`+msg+`"`) }
	if f, r := count("stream_consumer.store_failed"), count("stream_consumer.store_recovered"); f != 1 || r != 1 {
		t.Errorf("after one outage of 6 failed attempts: %d store_failed and %d store_recovered lines, want 1 and 1:\n%s", f, r, logs.String())
	}
	var m dto.Metric
	if err := c.failed.WithLabelValues("shard0", "store").Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetCounter().GetValue(); got != 6 {
		t.Errorf("curtain_consumer_failures_total{step=store} = %v, want 6", got)
	}

	store.mu.Lock()
	store.failInserts = 2
	store.mu.Unlock()
	shard.Shard = &fakeShard{pending: deliveries("abc123")}
	if _, err := c.Drain(t.Context(), shard); err != nil {
		t.Fatal(err)
	}
	if f, r := count("stream_consumer.store_failed"), count("stream_consumer.store_recovered"); f != 2 || r != 2 {
		t.Errorf("after a second outage: %d store_failed and %d store_recovered lines, want 2 and 2", f, r)
	}
}
