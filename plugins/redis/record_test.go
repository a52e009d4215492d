package redis

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	goredis "github.com/redis/go-redis/v9"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/hll"
)

// mixedBatch is a batch that exercises the aggregation: codes
// interleaved, a code clicked in two hours (out of order), repeated and
// empty visitors, a click the host stored already, and optional fields.
// Code a is clicked at 21:59:59, 22:00:01, 22:00:00 and 20:59:59.
func mixedBatch() []core.Click {
	at := hour21.Add(59*time.Minute + 59*time.Second)
	return []core.Click{
		{ID: "1", Code: "a", Visitor: "v1", At: at},
		{ID: "2", Code: "b", Visitor: "v1", At: at, UserAgent: "curl/8", Country: "DE"},
		{ID: "3", Code: "a", Visitor: "v2", At: at.Add(2 * time.Second), Referrer: "https://x.test/", Rule: "r1", Target: "https://t.test/"},
		{ID: "4", Code: "a", Visitor: "v1", At: at.Add(time.Second), Stored: true},
		{ID: "", Code: "a", Visitor: "", At: at.Add(-time.Hour)},
		{ID: "6", Code: "c", Visitor: "v3", At: at, Stored: true},
		{ID: "7", Code: "b", Visitor: "v4", At: at.Add(3 * time.Second)},
	}
}

// TestRecordAggregated records one batch with per-code aggregation under
// one key prefix and the same clicks one per batch (the reference's
// commands, click by click) under another, and checks that both leave
// the same keys, values, TTLs, sketches and stream entries. The stream
// index differs by design (its buckets hash the prefixed key, its scores
// count batches) and is checked on its own.
func TestRecordAggregated(t *testing.T) {
	srv := startServer(t)
	raw := srv.client()
	ctx := t.Context()
	batched := newTestShard(t, testSettings(srv, "batch:"))
	single := newTestShard(t, testSettings(srv, "one:"))
	clicks := mixedBatch()
	if err := batched.Record(ctx, clicks); err != nil {
		t.Fatalf("Record: %v", err)
	}
	for _, c := range clicks {
		if err := single.Record(ctx, []core.Click{c}); err != nil {
			t.Fatalf("Record %s: %v", c.ID, err)
		}
	}

	batchKeys := keysUnder(t, raw, "batch:")
	oneKeys := keysUnder(t, raw, "one:")
	if diff := cmp.Diff(oneKeys, batchKeys); diff != "" {
		t.Fatalf("keys mismatch (-one by one +batched):\n%s", diff)
	}
	for _, k := range oneKeys {
		got, want := dumpKey(ctx, t, raw, "batch:"+k), dumpKey(ctx, t, raw, "one:"+k)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("key %s mismatch (-one by one +batched):\n%s", k, diff)
		}
	}
	for _, code := range []string{"a", "b"} {
		stream := "batch:" + streamPrefix + code
		index := (&conn{prefix: "batch:"}).indexKey(stream)
		if score, err := raw.ZScore(ctx, index, stream).Result(); err != nil || score != 1 {
			t.Errorf("ZSCORE %s %s = %v, %v; want 1 (one batch)", index, stream, score, err)
		}
	}
	// The layout itself, beyond agreeing with the click-by-click one.
	for k, v := range map[string]string{"clicks:a": "4", "clicks:a:ts:2026-11-24:21": "1", "clicks:a:ts:2026-11-24:22": "2", "clicks:a:ts:2026-11-24:20": "1", "clicks:b": "2", "clicks:c": "1"} {
		if got := raw.Get(ctx, "batch:"+k).Val(); got != v {
			t.Errorf("GET batch:%s = %q, want %q", k, got, v)
		}
	}
	if n := raw.PFCount(ctx, "batch:clicks:a:uv").Val(); n != 3 {
		t.Errorf("PFCOUNT batch:clicks:a:uv = %d, want 3 (v1, v2 and the empty visitor)", n)
	}
	if n := raw.XLen(ctx, "batch:stream:clicks:a").Val(); n != 3 {
		t.Errorf("XLEN batch:stream:clicks:a = %d, want 3 (the stored click has no entry)", n)
	}
	if m := raw.SMembers(ctx, "batch:curtain:streams:unread").Val(); !cmp.Equal(sorted(m), []string{"batch:stream:clicks:a", "batch:stream:clicks:b"}) {
		t.Errorf("unread set = %q, want the streams of a and b", m)
	}
}

// keysUnder returns the keys with prefix but the index buckets, without
// the prefix, sorted.
func keysUnder(t *testing.T, raw *goredis.Client, prefix string) []string {
	t.Helper()
	keys, err := raw.Keys(t.Context(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range keys {
		if !strings.Contains(k, "curtain:streams:{") { // the index
			out = append(out, strings.TrimPrefix(k, prefix))
		}
	}
	return sorted(out)
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}

// keyDump is what a key holds, comparable between prefixes.
type keyDump struct {
	Type    string
	Value   string     // a counter
	Regs    []byte     // a sketch's registers
	HasTTL  bool       // an expiry within core.BucketTTL
	Entries [][]string // a stream's fields, in order
	Members []string   // a set's
}

// dumpKey reads key, with every key prefix in values removed.
func dumpKey(ctx context.Context, t *testing.T, raw *goredis.Client, key string) keyDump {
	t.Helper()
	d := keyDump{Type: raw.Type(ctx, key).Val()}
	ttl := raw.TTL(ctx, key).Val()
	d.HasTTL = ttl > core.BucketTTL-time.Minute && ttl <= core.BucketTTL
	if ttl > 0 && !d.HasTTL {
		t.Errorf("TTL %s = %v, want none or %v", key, ttl, core.BucketTTL)
	}
	unprefix := func(s string) string {
		_, rest, ok := strings.Cut(s, ":")
		if ok && (strings.HasPrefix(s, "batch:") || strings.HasPrefix(s, "one:")) {
			return rest
		}
		return s
	}
	switch d.Type {
	case "string":
		v := raw.Get(ctx, key).Val()
		if strings.HasSuffix(key, ":uv") {
			regs, err := hll.Decode([]byte(v))
			if err != nil {
				t.Fatalf("sketch %s: %v", key, err)
			}
			d.Regs = regs
		} else {
			d.Value = v
		}
	case "stream":
		for _, m := range raw.XRange(ctx, key, "-", "+").Val() {
			e, err := raw.Do(ctx, "XRANGE", key, m.ID, m.ID).Slice()
			if err != nil {
				t.Fatal(err)
			}
			var fields []string
			for _, f := range e[0].([]any)[1].([]any) {
				fields = append(fields, f.(string))
			}
			d.Entries = append(d.Entries, fields)
		}
	case "set":
		for _, m := range raw.SMembers(ctx, key).Val() {
			d.Members = append(d.Members, unprefix(m))
		}
		slices.Sort(d.Members)
	default:
		t.Errorf("key %s has type %q", key, d.Type)
	}
	return d
}
