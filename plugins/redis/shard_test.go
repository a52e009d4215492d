package redis

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	goredis "github.com/redis/go-redis/v9"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/hll"
)

func newTestShard(t testing.TB, s Settings) *ClickShard {
	t.Helper()
	return configured(t, NewClickShardPlugin(), s)
}

// hour21 is the hour of spec Appendix B's redirects.
var hour21 = time.Date(2026, 11, 24, 21, 0, 0, 0, time.UTC)

// appendixBClicks are five redirects of d5DnL5 in hour 2026-11-24 21 UTC,
// from three visitors.
func appendixBClicks() []core.Click {
	var clicks []core.Click
	for i := range 5 {
		clicks = append(clicks, core.Click{
			ID:      fmt.Sprintf("click-%d", i),
			Code:    "d5DnL5",
			Visitor: fmt.Sprintf("10.0.0.%d", i%3),
			At:      hour21.Add(time.Duration(i)*time.Minute + 227490*time.Microsecond),
		})
	}
	return clicks
}

func TestRecordLayout(t *testing.T) {
	srv := startServer(t)
	shard := newTestShard(t, testSettings(srv, ""))
	raw := srv.client()
	ctx := t.Context()
	clicks := appendixBClicks()
	// Two batches, as the host's batching may split them.
	if err := shard.Record(ctx, clicks[:2]); err != nil {
		t.Fatalf("Record: %v", err)
	}
	if err := shard.Record(ctx, clicks[2:]); err != nil {
		t.Fatalf("Record: %v", err)
	}

	keys := []struct {
		key, typ, value string
		ttl             time.Duration // -1: none
	}{
		{"clicks:d5DnL5", "string", "5", -1},
		{"clicks:d5DnL5:ts:2026-11-24:21", "string", "5", core.BucketTTL},
		{"clicks:d5DnL5:uv", "string", "", -1},
		{"stream:clicks:d5DnL5", "stream", "", -1},
		// Curtain's additions: the streams with unread entries, and the
		// index bucket of the streams that have entries.
		{"curtain:streams:unread", "set", "", -1},
		{(&conn{}).indexKey("stream:clicks:d5DnL5"), "zset", "", -1},
	}
	for _, k := range keys {
		if typ := raw.Type(ctx, k.key).Val(); typ != k.typ {
			t.Errorf("TYPE %s = %q, want %q", k.key, typ, k.typ)
		}
		if k.value != "" {
			if v := raw.Get(ctx, k.key).Val(); v != k.value {
				t.Errorf("GET %s = %q, want %q", k.key, v, k.value)
			}
		}
		ttl := raw.TTL(ctx, k.key).Val()
		if k.ttl < 0 && ttl != -1 {
			t.Errorf("TTL %s = %v, want none", k.key, ttl)
		}
		if k.ttl > 0 && (ttl > k.ttl || ttl < k.ttl-5*time.Second) {
			t.Errorf("TTL %s = %v, want %v", k.key, ttl, k.ttl)
		}
	}
	if n := raw.PFCount(ctx, "clicks:d5DnL5:uv").Val(); n != 3 {
		t.Errorf("PFCOUNT clicks:d5DnL5:uv = %d, want 3", n)
	}
	if n := raw.DBSize(ctx).Val(); n != int64(len(keys)) {
		t.Errorf("DBSIZE = %d, want exactly the %d keys above", n, len(keys))
	}
	if m := raw.SMembers(ctx, "curtain:streams:unread").Val(); len(m) != 1 || m[0] != "stream:clicks:d5DnL5" {
		t.Errorf("SMEMBERS curtain:streams:unread = %q, want the stream", m)
	}
	// Two batches wrote to the stream within indexFresh: the first
	// bumped its index score, the second did not need to.
	if z := raw.ZRangeWithScores(ctx, keys[5].key, 0, -1).Val(); len(z) != 1 || z[0].Member != "stream:clicks:d5DnL5" || z[0].Score != 1 {
		t.Errorf("index bucket %s = %v, want the stream with score 1", keys[5].key, z)
	}

	// Stream entries carry sc, ip, ts (and cid), in that order.
	entries, err := raw.Do(ctx, "XRANGE", "stream:clicks:d5DnL5", "-", "+").Slice()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 5 {
		t.Fatalf("XRANGE returned %d entries, want 5", len(entries))
	}
	for i, e := range entries {
		fields := e.([]any)[1].([]any)
		var got []string
		for _, f := range fields {
			got = append(got, f.(string))
		}
		c := clicks[i]
		want := []string{"sc", "d5DnL5", "ip", c.Visitor, "ts", got[5], "cid", c.ID}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("entry %d fields mismatch (-want +got):\n%s", i, diff)
		}
		f, err := strconv.ParseFloat(got[5], 64)
		if err != nil {
			t.Errorf("entry %d ts %q is not a float: %v", i, got[5], err)
		}
		if d := f - float64(c.At.UnixNano())/1e9; d > 1e-6 || d < -1e-6 {
			t.Errorf("entry %d ts %q is %v s off %v", i, got[5], d, c.At)
		}
	}

	// Stats reads it all back in the same units.
	stats, err := shard.Stats(ctx, core.StatsRequest{Code: "d5DnL5", Now: hour21.Add(90 * time.Minute), Hours: 3})
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if stats.Total != 5 || stats.Pending != 5 {
		t.Errorf("Stats = total %d pending %d, want 5 and 5", stats.Total, stats.Pending)
	}
	if diff := cmp.Diff([]int64{0, 5, 0}, stats.Hourly); diff != "" {
		t.Errorf("Stats hourly (22h, 21h, 20h) mismatch (-want +got):\n%s", diff)
	}
	regs := hll.Registers(stats.Visitors)
	if err := regs.Validate(); err != nil {
		t.Fatalf("Stats visitors: %v", err)
	}
	if n := regs.Count(); n != 3 {
		t.Errorf("Stats visitors count = %d, want 3 (PFCOUNT)", n)
	}
}

func TestStats(t *testing.T) {
	srv := startServer(t)
	shard := newTestShard(t, testSettings(srv, "st:"))
	raw := srv.client()
	ctx := t.Context()
	now := time.Date(2026, 4, 4, 14, 30, 0, 0, time.UTC)
	var clicks []core.Click
	for h, n := range []int{3, 0, 2, 1} { // clicks per hour, newest first
		for i := range n {
			clicks = append(clicks, core.Click{ID: fmt.Sprintf("%d-%d", h, i), Code: "abc123", Visitor: "v", At: now.Add(-time.Duration(h) * time.Hour)})
		}
	}
	if err := shard.Record(ctx, clicks); err != nil {
		t.Fatalf("Record: %v", err)
	}
	tests := []struct {
		name string
		req  core.StatsRequest
		want core.ShardStats
	}{
		{
			name: "window of 6 hours",
			req:  core.StatsRequest{Code: "abc123", Now: now, Hours: 6},
			want: core.ShardStats{Total: 6, Hourly: []int64{3, 0, 2, 1, 0, 0}, Pending: 6, PendingLatest: now.Add(-3 * time.Hour)},
		},
		{
			name: "now in another zone",
			req:  core.StatsRequest{Code: "abc123", Now: now.In(time.FixedZone("x", 5*3600+1800)), Hours: 2},
			want: core.ShardStats{Total: 6, Hourly: []int64{3, 0}, Pending: 6, PendingLatest: now.Add(-3 * time.Hour)},
		},
		{
			name: "no hours",
			req:  core.StatsRequest{Code: "abc123", Now: now},
			want: core.ShardStats{Total: 6, Hourly: []int64{}, Pending: 6, PendingLatest: now.Add(-3 * time.Hour)},
		},
		{
			name: "pending only: no totals, no sketch",
			req:  core.StatsRequest{Code: "abc123", Now: now, Hours: 2, Parts: core.StatsPending},
			want: core.ShardStats{Hourly: []int64{0, 0}, Pending: 6, PendingLatest: now.Add(-3 * time.Hour)},
		},
		{
			name: "totals only",
			req:  core.StatsRequest{Code: "abc123", Now: now, Hours: 2, Parts: core.StatsTotals},
			want: core.ShardStats{Total: 6, Hourly: []int64{3, 0}},
		},
		{
			name: "unknown code",
			req:  core.StatsRequest{Code: "nope00", Now: now, Hours: 2},
			want: core.ShardStats{Hourly: []int64{0, 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := shard.Stats(ctx, tt.req)
			if err != nil {
				t.Fatalf("Stats(%+v): %v", tt.req, err)
			}
			visitors := got.Visitors
			got.Visitors = nil
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Stats(%+v) mismatch (-want +got):\n%s", tt.req, diff)
			}
			if tt.req.Parts.Has(core.StatsVisitors) && tt.want.Total > 0 && hll.Registers(visitors).Count() != 1 {
				t.Errorf("Stats(%+v) visitors count = %d, want 1", tt.req, hll.Registers(visitors).Count())
			}
			if (tt.want.Total == 0 || !tt.req.Parts.Has(core.StatsVisitors)) && visitors != nil {
				t.Errorf("Stats(%+v) visitors = %d bytes, want nil", tt.req, len(visitors))
			}
		})
	}
	if _, err := shard.Stats(ctx, core.StatsRequest{Code: "abc123", Hours: -1}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Stats(hours -1) error = %v, want core.ErrInvalid", err)
	}
	// Without a code only the whole backlog can be asked for (contract
	// v1.2; TestShardBacklog).
	if _, err := shard.Stats(ctx, core.StatsRequest{Hours: 1, Parts: core.StatsTotals}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Stats(no code) error = %v, want core.ErrInvalid", err)
	}
	// A sketch written by the reference's own PFADD decodes the same.
	raw.PFAdd(ctx, "st:clicks:ref:uv", "a", "b", "c", "d")
	got, err := shard.Stats(ctx, core.StatsRequest{Code: "ref", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if n := hll.Registers(got.Visitors).Count(); n != 4 {
		t.Errorf("visitors of a PFADD sketch = %d, want 4", n)
	}
}

func TestRecordInvalid(t *testing.T) {
	srv := startServer(t)
	shard := newTestShard(t, testSettings(srv, ""))
	err := shard.Record(t.Context(), []core.Click{{ID: "1", Code: "ok", At: hour21}, {ID: "2", At: hour21}})
	if !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Record(click without code) error = %v, want core.ErrInvalid", err)
	}
	if n := srv.client().DBSize(t.Context()).Val(); n != 0 {
		t.Errorf("a rejected batch wrote %d keys", n)
	}
	if err := shard.Record(t.Context(), nil); err != nil {
		t.Errorf("Record(nil) = %v", err)
	}
}

func TestUnixSeconds(t *testing.T) {
	tests := []struct {
		at   time.Time
		want string
	}{
		{time.Unix(1795556065, 227490200), "1795556065.2274902"},
		{time.Unix(1795556065, 0), "1795556065.0"},
		{time.Unix(1795556065, 1), "1795556065.000000001"},
		{time.Unix(0, 500_000_000), "0.5"},
	}
	for _, tt := range tests {
		if got := formatUnixSeconds(tt.at); got != tt.want {
			t.Errorf("formatUnixSeconds(%v) = %q, want %q", tt.at, got, tt.want)
		}
		back, ok := parseUnixSeconds(tt.want)
		if !ok || !back.Equal(tt.at) {
			t.Errorf("parseUnixSeconds(%q) = %v, %v, want %v", tt.want, back, ok, tt.at)
		}
	}
	for _, s := range []string{"", "abc", "1.2.3", "NaN", "1e300", "-", "."} {
		if got, ok := parseUnixSeconds(s); ok {
			t.Errorf("parseUnixSeconds(%q) = %v, want not ok", s, got)
		}
	}
	if got, ok := parseUnixSeconds("1.7955e9"); !ok || got.Unix() != 1795500000 {
		t.Errorf("parseUnixSeconds(1.7955e9) = %v, %v", got, ok)
	}
}

func FuzzUnixSeconds(f *testing.F) {
	f.Add(int64(1795556065), int64(227490200))
	f.Add(int64(0), int64(0))
	f.Fuzz(func(t *testing.T, sec, nsec int64) {
		if sec < 0 || sec > 1e11 || nsec < 0 || nsec >= 1e9 {
			return
		}
		at := time.Unix(sec, nsec)
		s := formatUnixSeconds(at)
		back, ok := parseUnixSeconds(s)
		if !ok || !back.Equal(at) {
			t.Errorf("parseUnixSeconds(formatUnixSeconds(%v) = %q) = %v, %v", at, s, back, ok)
		}
	})
}

// keysOf lists the keys of a server, sorted.
func keysOf(t *testing.T, raw *goredis.Client) []string {
	t.Helper()
	keys, err := raw.Keys(t.Context(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}
