package core

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/curtainhq/curtain/core/hll"

	"github.com/curtainhq/curtain/core/pycompat"
)

// Analytics is the per-URL summary of GET /urls/<id>/analytics (spec
// §4.22): exactly eight fields.
type Analytics struct {
	URLID         int64
	ShortCode     string
	OriginalURL   string
	TotalEvents   int64
	ClickCount    int64
	RedirectCount int64
	// EventCounts maps each event type present to its count.
	EventCounts map[string]int64
	// LatestEventAt is the time of the last event, nil if none: the last
	// durable one, or the newest click still pending in a shard.
	LatestEventAt *time.Time
	// Protected reports that the link has a password, so that the API
	// shows OriginalURL only to whom may change the link; not one of the
	// eight fields.
	Protected bool
}

// ClickSettler is implemented by a ClickRecorder that can wait for the
// clicks it has queued. Analytics and Realtime check for it in one place
// (settleClicks).
type ClickSettler interface {
	// Settle returns once every click queued before the call has reached
	// a shard or the store, or an error when ctx ends first (a shard and
	// the store both failing, for example).
	Settle(ctx context.Context) error
}

// settleTimeout bounds how long an analytics miss or a realtime read
// waits for the clicks queued before it.
const settleTimeout = 250 * time.Millisecond

// Analytics returns a URL's analytics, from the cache first (spec §4.22),
// unless this instance served a click of the URL since the cached
// response was read (clickMarks).
// On a miss the durable event counts come from the store, in constant
// time (fix of Q26), and the clicks the shards still hold in their
// streams, not yet stored durably, are added to the redirect figures (fix
// of Q2). A stream entry leaves the stream when the consumer stores it, so
// nothing is counted twice, apart from the moment between the consumer's
// insert and its acknowledgement.
//
// A response is cached only when it cannot be behind a click already
// served: the click recorder first settles every click queued before the
// request. When it cannot (no ClickSettler, or it timed out), the response
// is returned uncached, so a client who clicks and then looks never sees
// an old count for the cache's 120 s.
func (s *Service) Analytics(ctx context.Context, id int64) (Analytics, CacheStatus, error) {
	key := analyticsKey(id)
	if raw, ok := s.cacheGet(ctx, key); ok && !s.marks.behind(id) {
		if a, ok := decodeAnalytics(raw); ok {
			return a, CacheHit, nil
		}
	}
	u, err := s.loadURL(ctx, id)
	if err != nil {
		return Analytics{}, CacheNone, err
	}
	readFrom := s.marks.reading()
	settled := s.settleClicks(ctx)
	sum, err := s.store.SummarizeEvents(ctx, id)
	if err != nil {
		return Analytics{}, CacheNone, fmt.Errorf("summarize events of url %d: %w", id, err)
	}
	a := Analytics{
		URLID:         u.ID,
		ShortCode:     u.ShortCode,
		OriginalURL:   u.OriginalURL,
		Protected:     u.PasswordHash != "",
		TotalEvents:   sum.Total,
		EventCounts:   make(map[string]int64, len(sum.Counts)+1),
		LatestEventAt: sum.Latest,
	}
	maps.Copy(a.EventCounts, sum.Counts)
	if pending, latest := s.pendingClicks(ctx, u.ShortCode); pending > 0 {
		a.EventCounts[EventRedirect] += pending
		a.TotalEvents += pending
		// The newest pending click is the last event once stored.
		latest = latest.UTC().Truncate(time.Second)
		if !latest.IsZero() && (a.LatestEventAt == nil || latest.After(*a.LatestEventAt)) {
			a.LatestEventAt = &latest
		}
	}
	a.ClickCount = a.EventCounts[EventClick]
	a.RedirectCount = a.EventCounts[EventRedirect]
	if settled {
		s.cacheSet(ctx, key, encodeAnalytics(a), ttlAnalytics)
		s.marks.cache(id, readFrom)
	}
	return a, CacheMiss, nil
}

// settleClicks waits, for at most settleTimeout, until every click queued
// so far has reached a shard or the store, and reports whether they all
// did. Without a click recorder clicks are stored before the redirect
// answers, so there is nothing to wait for.
func (s *Service) settleClicks(ctx context.Context) bool {
	if s.clicks == nil {
		return true
	}
	settler, ok := s.clicks.(ClickSettler)
	if !ok {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	if err := settler.Settle(ctx); err != nil {
		s.log.DebugContext(ctx, "queued clicks not settled, analytics left uncached", "error", err)
		return false
	}
	return true
}

// pendingClicks sums the clicks of code that the shards hold in their
// streams, not yet stored durably, and says when the most recently
// recorded of them was made (zero when no shard tells). A failing shard
// counts as none.
func (s *Service) pendingClicks(ctx context.Context, code string) (total int64, latest time.Time) {
	for _, st := range s.shardStats(ctx, s.shardList(), StatsRequest{Code: code, Now: s.clock(), Parts: StatsPending}) {
		total += st.Pending
		if st.PendingLatest.After(latest) {
			latest = st.PendingLatest
		}
	}
	return total, latest
}

// shardList returns the configured shards, none without a ShardSet.
func (s *Service) shardList() []NamedShard {
	if s.shards == nil {
		return nil
	}
	return s.shards.Shards()
}

// shardStats asks shards, concurrently, for their figures of one code.
// Shards that fail are left out, and logged at Warn at most once a
// second with the number of failures since the last such log.
func (s *Service) shardStats(ctx context.Context, shards []NamedShard, req StatsRequest) []ShardStats {
	results := make([]ShardStats, len(shards))
	ok := make([]bool, len(shards))
	var wg sync.WaitGroup
	for i, sh := range shards {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, shardTimeout)
			defer cancel()
			st, err := sh.Shard.Stats(ctx, req)
			if err != nil {
				if n, ok := s.statsLog.Ready(s.clock(), time.Second); ok {
					s.log.WarnContext(ctx, "shard stats unavailable", "shard", sh.Name, "failures", n, "error", err)
				}
				return
			}
			results[i], ok[i] = st, true
		})
	}
	wg.Wait()
	out := results[:0]
	for i := range results {
		if ok[i] {
			out = append(out, results[i])
		}
	}
	return out
}

// RealtimeHours is how many hourly buckets the realtime route returns.
const RealtimeHours = 72

// Realtime is the real-time click picture of one URL (spec §7.4).
type Realtime struct {
	// Hourly holds one bucket per hour, oldest first, ending with the
	// current hour; empty when no shard is configured.
	Hourly []HourlyClicks
	// TotalClicks sums the shards' all-time totals.
	TotalClicks int64
	// UniqueVisitors estimates distinct visitors over all shards, from
	// the union of their HyperLogLog sketches (fix of Q19: the reference
	// summed per-shard estimates).
	UniqueVisitors int64
}

// HourlyClicks is the click count of one hour.
type HourlyClicks struct {
	// Hour is the start of the hour, UTC.
	Hour   time.Time
	Clicks int64
}

// Realtime merges the shards' real-time figures for a URL (GET
// /urls/<id>/realtime): totals and hourly buckets are summed, visitor
// sketches merged. A shard that fails is skipped. Like Analytics, it
// first settles the clicks queued before the request (for at most
// settleTimeout), so that a client who clicks and then looks counts its
// click.
func (s *Service) Realtime(ctx context.Context, id int64) (Realtime, error) {
	u, err := s.loadURL(ctx, id)
	if err != nil {
		return Realtime{}, err
	}
	var rt Realtime
	shards := s.shardList()
	if len(shards) == 0 {
		return rt, nil
	}
	s.settleClicks(ctx)
	now := s.clock()
	stats := s.shardStats(ctx, shards, StatsRequest{Code: u.ShortCode, Now: now, Hours: RealtimeHours})
	var buckets [RealtimeHours]int64 // newest first
	var visitors hll.Registers
	for _, st := range stats {
		rt.TotalClicks += st.Total
		for i, n := range st.Hourly[:min(len(st.Hourly), RealtimeHours)] {
			buckets[i] += n
		}
		if len(st.Visitors) == 0 {
			continue
		}
		r := hll.Registers(st.Visitors)
		if err := r.Validate(); err != nil {
			s.log.WarnContext(ctx, "shard returned a malformed visitor sketch", "code", u.ShortCode, "error", err)
			continue
		}
		if visitors == nil {
			visitors = hll.New()
		}
		hll.Merge(visitors, r)
	}
	rt.UniqueVisitors = int64(visitors.Count())
	hour := now.Truncate(time.Hour)
	rt.Hourly = make([]HourlyClicks, RealtimeHours)
	for i := range RealtimeHours {
		rt.Hourly[RealtimeHours-1-i] = HourlyClicks{Hour: hour.Add(-time.Duration(i) * time.Hour), Clicks: buckets[i]}
	}
	return rt, nil
}

// encodeAnalytics writes a as the reference caches it (Python json.dumps
// layout and key order; event types sorted), with "password_protected"
// last for a protected link.
func encodeAnalytics(a Analytics) []byte {
	b := make([]byte, 0, 256)
	b = append(b, `{"url_id": `...)
	b = strconv.AppendInt(b, a.URLID, 10)
	b = append(b, `, "short_code": `...)
	b = pycompat.AppendJSONString(b, a.ShortCode)
	b = append(b, `, "original_url": `...)
	b = pycompat.AppendJSONString(b, a.OriginalURL)
	b = append(b, `, "total_events": `...)
	b = strconv.AppendInt(b, a.TotalEvents, 10)
	b = append(b, `, "click_count": `...)
	b = strconv.AppendInt(b, a.ClickCount, 10)
	b = append(b, `, "redirect_count": `...)
	b = strconv.AppendInt(b, a.RedirectCount, 10)
	b = append(b, `, "event_counts": {`...)
	for i, k := range slices.Sorted(maps.Keys(a.EventCounts)) {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = pycompat.AppendJSONString(b, k)
		b = append(b, ": "...)
		b = strconv.AppendInt(b, a.EventCounts[k], 10)
	}
	b = append(b, `}, "latest_event_at": `...)
	if a.LatestEventAt == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = AppendTime(b, *a.LatestEventAt)
		b = append(b, '"')
	}
	if a.Protected {
		// Only a protected link's entry carries the mark: the others
		// keep the reference's eight members.
		b = append(b, `, "password_protected": true`...)
	}
	return append(b, '}')
}

// decodeAnalytics reads a cached analytics object, keeping exactly the
// eight fields and the password_protected mark of a protected link
// (extra ones, like the reference's short-lived realtime block, are
// dropped). An entry lacking a field or holding a wrong type is
// a miss (the reference rendered a missing field as null).
func decodeAnalytics(raw []byte) (Analytics, bool) {
	v, err := pycompat.ParseJSON(raw)
	if err != nil || v.Kind != pycompat.JSONObject {
		return Analytics{}, false
	}
	var a Analytics
	ok := true
	get := func(key string, dst *int64) {
		if ok {
			*dst, ok = intField(v, key)
		}
	}
	get("url_id", &a.URLID)
	get("total_events", &a.TotalEvents)
	get("click_count", &a.ClickCount)
	get("redirect_count", &a.RedirectCount)
	if !ok {
		return Analytics{}, false
	}
	if a.ShortCode, ok = stringField(v, "short_code"); !ok {
		return Analytics{}, false
	}
	if a.OriginalURL, ok = stringField(v, "original_url"); !ok {
		return Analytics{}, false
	}
	counts, _ := v.Get("event_counts")
	if counts.Kind != pycompat.JSONObject {
		return Analytics{}, false
	}
	a.EventCounts = make(map[string]int64, len(counts.Members))
	for _, m := range counts.Members {
		n, isInt, overflow := m.Value.Int64()
		if !isInt || overflow {
			return Analytics{}, false
		}
		a.EventCounts[m.Key] = n
	}
	latest, present := v.Get("latest_event_at")
	switch {
	case !present:
		return Analytics{}, false
	case latest.Kind == pycompat.JSONNull:
	case latest.Kind == pycompat.JSONString:
		t, err := time.Parse(TimeLayout, latest.Text)
		if err != nil {
			return Analytics{}, false
		}
		a.LatestEventAt = &t
	default:
		return Analytics{}, false
	}
	protected, _ := v.Get("password_protected")
	a.Protected = protected.Kind == pycompat.JSONBool && protected.Bool
	return a, true
}
