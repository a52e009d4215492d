package memory

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/hll"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// ClickShard is an in-memory core.ClickShard. Per code it keeps the
// all-time total, hourly buckets (hour of the click's time, UTC, each
// expiring core.BucketTTL after its last click, as the Redis shard's
// EXPIRE), the unique-visitor sketch as hll.Registers, and stream
// entries. The stream has consumer-group
// semantics like a Redis stream read with XREADGROUP and XAUTOCLAIM:
// entries are delivered to one consumer of a group, stay pending with
// their delivery time until acknowledged, and are handed to the next
// reader once idle longer than its MinIdle.
//
// The memory shard is not durable: its stream is the only copy of a click
// until the consumer stores it, so its backlog (live stream entries) is
// bounded by the max_backlog setting. A batch that would pass the bound is
// refused with core.ErrUnavailable, and the host sends it to the next
// shard or stores it directly. Clicks marked Stored (the durable click
// mode) update the figures only and take no room in the stream.
type ClickShard struct {
	maxBacklog atomic.Int64

	mu     sync.Mutex
	codes  map[string]*codeState
	groups map[string]*group
	// stream holds the entries in id order; acknowledged ones are removed
	// by compaction, and byID finds live ones.
	stream  []*streamEntry
	dead    int   // removed entries still in stream
	live    int64 // entries in stream not removed: the backlog
	byID    map[string]*streamEntry
	seq     uint64 // sequence of the last entry
	lastMS  int64  // id parts of the last entry
	lastSeq int64
	// wake is closed, and replaced, whenever entries are added.
	wake chan struct{}
}

type codeState struct {
	total    int64
	hourly   map[int64]bucket // by the hour's Unix time
	visitors hll.Registers
	entries  int64     // live stream entries
	latest   time.Time // when the click last streamed was made
}

type bucket struct {
	count   int64
	expires time.Time
}

type streamEntry struct {
	seq     uint64
	id      string
	click   core.Click
	removed bool
}

type group struct {
	last    uint64 // sequence of the last entry delivered as new
	pending map[uint64]*pendingEntry
}

type pendingEntry struct {
	entry     *streamEntry
	consumer  string
	delivered time.Time
}

// DefaultMaxBacklog is the backlog bound of a shard whose settings set
// none: at most this many clicks wait in its stream for the consumer.
const DefaultMaxBacklog = 100_000

// NewClickShard returns an empty shard with the default backlog bound.
func NewClickShard() *ClickShard {
	s := &ClickShard{
		codes:  make(map[string]*codeState),
		groups: make(map[string]*group),
		byID:   make(map[string]*streamEntry),
		wake:   make(chan struct{}),
	}
	s.maxBacklog.Store(DefaultMaxBacklog)
	return s
}

// ClickShardSettings are the memory click shard's settings.
type ClickShardSettings struct {
	// MaxBacklog bounds the clicks waiting in the stream for the consumer
	// (default DefaultMaxBacklog): what a crash of the shard can lose in
	// the fast click mode. A batch past it is refused and goes to the next
	// shard or to the store.
	MaxBacklog int64 `json:"max_backlog"`
}

// Configure implements sdk.Configurer: settings are a
// ClickShardSettings object; a max_backlog below zero is rejected, zero
// keeps the default.
func (s *ClickShard) Configure(ctx context.Context, settings []byte) error {
	var cfg ClickShardSettings
	if err := sdk.DecodeSettings(settings, &cfg); err != nil {
		return err
	}
	switch {
	case cfg.MaxBacklog < 0:
		return sdk.InvalidSetting("max_backlog", "%d is negative; use a positive number of clicks, or 0 for the default %d", cfg.MaxBacklog, DefaultMaxBacklog)
	case cfg.MaxBacklog == 0:
		cfg.MaxBacklog = DefaultMaxBacklog
	}
	s.maxBacklog.Store(cfg.MaxBacklog)
	return nil
}

// Record implements core.ClickShard. A click without a code or without a
// time fails the whole batch with core.ErrInvalid before anything is
// applied; a batch whose stream entries would take the backlog past its
// bound fails with core.ErrUnavailable, also before anything is applied.
func (s *ClickShard) Record(ctx context.Context, clicks []core.Click) error {
	if err := core.CheckClicks(clicks); err != nil {
		return err
	}
	if len(clicks) == 0 {
		return nil
	}
	var streamed int64
	for _, c := range clicks {
		if !c.Stored {
			streamed++
		}
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if max := s.maxBacklog.Load(); streamed > 0 && s.live+streamed > max {
		return fmt.Errorf("record %d clicks: backlog of %d clicks at its bound %d: %w", len(clicks), s.live, max, core.ErrUnavailable)
	}
	for _, c := range clicks {
		cs := s.codes[c.Code]
		if cs == nil {
			cs = &codeState{hourly: make(map[int64]bucket)}
			s.codes[c.Code] = cs
		}
		cs.total++
		hour := c.At.Truncate(time.Hour).Unix()
		b, ok := cs.hourly[hour]
		switch {
		case !ok:
			// Only a new bucket grows the map: drop the expired ones.
			maps.DeleteFunc(cs.hourly, func(_ int64, b bucket) bool { return !now.Before(b.expires) })
		case !now.Before(b.expires):
			b.count = 0
		}
		cs.hourly[hour] = bucket{count: b.count + 1, expires: now.Add(core.BucketTTL)}
		if cs.visitors == nil {
			cs.visitors = hll.New()
		}
		cs.visitors.Add([]byte(c.Visitor))
		if !c.Stored {
			s.appendEntry(now, c)
			cs.entries++
			s.live++
			cs.latest = c.At
		}
	}
	close(s.wake)
	s.wake = make(chan struct{})
	return nil
}

// appendEntry adds c to the stream with a Redis-style id
// "<milliseconds>-<sequence>", increasing even if the clock goes back.
func (s *ClickShard) appendEntry(now time.Time, c core.Click) {
	ms := now.UnixMilli()
	if ms <= s.lastMS {
		ms, s.lastSeq = s.lastMS, s.lastSeq+1
	} else {
		s.lastSeq = 0
	}
	s.lastMS = ms
	s.seq++
	e := &streamEntry{seq: s.seq, id: strconv.FormatInt(ms, 10) + "-" + strconv.FormatInt(s.lastSeq, 10), click: c}
	s.stream = append(s.stream, e)
	s.byID[e.id] = e
}

// Stats implements core.ClickShard. A code the shard never saw has zero
// figures. A zero req.Now means the current time; a negative req.Hours is
// rejected with core.ErrInvalid. Figures req.Parts leaves out are zero.
func (s *ClickShard) Stats(ctx context.Context, req core.StatsRequest) (core.ShardStats, error) {
	if req.Hours < 0 {
		return core.ShardStats{}, fmt.Errorf("stats of %q: %d hours: %w", req.Code, req.Hours, core.ErrInvalid)
	}
	now := time.Now()
	end := req.Now
	if end.IsZero() {
		end = now
	}
	top := end.UTC().Truncate(time.Hour)
	st := core.ShardStats{Hourly: make([]int64, req.Hours)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.Code == "" {
		if req.Parts.Has(core.StatsPending) {
			st.Pending = s.live
		}
		return st, nil
	}
	cs := s.codes[req.Code]
	if cs == nil {
		return st, nil
	}
	if req.Parts.Has(core.StatsPending) && cs.entries > 0 {
		st.Pending, st.PendingLatest = cs.entries, cs.latest
	}
	if req.Parts.Has(core.StatsTotals) {
		st.Total = cs.total
		for i := range st.Hourly {
			b, ok := cs.hourly[top.Add(-time.Duration(i)*time.Hour).Unix()]
			if ok && now.Before(b.expires) {
				st.Hourly[i] = b.count
			}
		}
	}
	if cs.visitors != nil && req.Parts.Has(core.StatsVisitors) {
		st.Visitors = append([]byte(nil), cs.visitors...)
	}
	return st, nil
}

// Read implements core.ClickShard. A group is created on first use and
// starts at the beginning of the stream. Pending entries of any consumer
// of the group (the reader's own included) idle for at least req.MinIdle
// are claimed first, oldest first; then never-delivered entries follow in
// record order. Read waits up to req.Block when there is nothing to
// return; it then returns nothing, or, if ctx ends first, ctx's error.
// An empty group or consumer name or a Count below 1 is rejected with
// core.ErrInvalid.
func (s *ClickShard) Read(ctx context.Context, req core.ReadRequest) ([]core.Delivery, error) {
	if req.Group == "" || req.Consumer == "" || req.Count < 1 {
		return nil, fmt.Errorf("read group %q consumer %q count %d: %w", req.Group, req.Consumer, req.Count, core.ErrInvalid)
	}
	var deadline time.Time
	if req.Block > 0 {
		deadline = time.Now().Add(req.Block)
	}
	for {
		ds, wake := s.read(req)
		if len(ds) > 0 {
			return ds, nil
		}
		wait := time.Until(deadline)
		if deadline.IsZero() || wait <= 0 {
			return nil, nil
		}
		timer := time.NewTimer(wait)
		select {
		case <-wake:
			timer.Stop()
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("read group %q: %w", req.Group, ctx.Err())
		}
	}
}

// read delivers what is available now and returns the channel that is
// closed when entries are next added.
func (s *ClickShard) read(req core.ReadRequest) ([]core.Delivery, <-chan struct{}) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[req.Group]
	if g == nil {
		g = &group{pending: make(map[uint64]*pendingEntry)}
		s.groups[req.Group] = g
	}
	var out []core.Delivery
	for _, seq := range sortedKeys(g.pending) {
		if len(out) == req.Count {
			break
		}
		p := g.pending[seq]
		if now.Sub(p.delivered) < req.MinIdle {
			continue
		}
		p.consumer, p.delivered = req.Consumer, now
		out = append(out, core.Delivery{ID: p.entry.id, Click: p.entry.click})
	}
	start, _ := slices.BinarySearchFunc(s.stream, g.last+1, func(e *streamEntry, seq uint64) int {
		return cmp.Compare(e.seq, seq)
	})
	for _, e := range s.stream[start:] {
		if len(out) == req.Count {
			break
		}
		if e.removed {
			continue
		}
		g.last = e.seq
		g.pending[e.seq] = &pendingEntry{entry: e, consumer: req.Consumer, delivered: now}
		out = append(out, core.Delivery{ID: e.id, Click: e.click})
	}
	return out, s.wake
}

// Ack implements core.ClickShard: each entry pending in the group is
// acknowledged and removed from the stream (and from every other group's
// pending entries). Unknown entries, entries of another code and entries
// not delivered to the group are ignored.
func (s *ClickShard) Ack(ctx context.Context, req core.AckRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[req.Group]
	if g == nil {
		return nil
	}
	for _, id := range req.IDs {
		e := s.byID[id.ID]
		if e == nil || e.click.Code != id.Code {
			continue
		}
		if _, ok := g.pending[e.seq]; !ok {
			continue
		}
		s.remove(e)
	}
	s.compact()
	return nil
}

func (s *ClickShard) remove(e *streamEntry) {
	e.removed = true
	delete(s.byID, e.id)
	for _, g := range s.groups {
		delete(g.pending, e.seq)
	}
	if cs := s.codes[e.click.Code]; cs != nil {
		cs.entries--
	}
	s.live--
	s.dead++
}

// Delete implements core.ClickDeleter: it forgets the codes' figures and
// removes their stream entries, pending ones included.
func (s *ClickShard) Delete(ctx context.Context, codes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	gone := make(map[string]bool, len(codes))
	for _, code := range codes {
		if cs := s.codes[code]; cs != nil {
			gone[code] = cs.entries > 0
			delete(s.codes, code)
		}
	}
	for _, e := range s.stream {
		if !e.removed && gone[e.click.Code] {
			s.remove(e)
		}
	}
	s.compact()
	return nil
}

// compact drops removed entries from the stream once they are at least
// half of it.
func (s *ClickShard) compact() {
	if s.dead == 0 || 2*s.dead < len(s.stream) {
		return
	}
	live := s.stream[:0]
	for _, e := range s.stream {
		if !e.removed {
			live = append(live, e)
		}
	}
	clear(s.stream[len(live):])
	s.stream = live
	s.dead = 0
}
