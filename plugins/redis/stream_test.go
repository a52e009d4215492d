package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	goredis "github.com/redis/go-redis/v9"

	"github.com/curtainhq/curtain/core"
)

const group = "pg_writers"

// recordN records n clicks per code and returns them by click id.
func recordN(t *testing.T, shard *ClickShard, codes []string, n int) map[string]core.Click {
	t.Helper()
	want := make(map[string]core.Click)
	var batch []core.Click
	for _, code := range codes {
		for i := range n {
			c := core.Click{
				ID:      fmt.Sprintf("%s-%d", code, i),
				Code:    code,
				Visitor: fmt.Sprintf("198.51.100.%d", i),
				At:      hour21.Add(time.Duration(i) * time.Second).Add(123456 * time.Microsecond),
			}
			batch = append(batch, c)
			want[c.ID] = c
		}
	}
	if err := shard.Record(t.Context(), batch); err != nil {
		t.Fatalf("Record: %v", err)
	}
	return want
}

// codeList returns n short codes: prefix and i = 0…n-1 in width digits.
func codeList(prefix string, width, n int) []string {
	codes := make([]string, n)
	for i := range codes {
		codes[i] = fmt.Sprintf("%s%0*d", prefix, width, i)
	}
	return codes
}

// read calls Read and fails the test on error.
func read(t *testing.T, shard *ClickShard, req core.ReadRequest) []core.Delivery {
	t.Helper()
	ds, err := shard.Read(t.Context(), req)
	if err != nil {
		t.Fatalf("Read(%+v): %v", req, err)
	}
	if len(ds) > req.Count {
		t.Fatalf("Read(%+v) returned %d entries, more than Count", req, len(ds))
	}
	return ds
}

// ack acknowledges deliveries and fails the test on error.
func ack(t *testing.T, shard *ClickShard, ds []core.Delivery) {
	t.Helper()
	ids := make([]core.DeliveryID, len(ds))
	for i, d := range ds {
		ids[i] = core.DeliveryID{Code: d.Click.Code, ID: d.ID}
	}
	if err := shard.Ack(t.Context(), core.AckRequest{Group: group, IDs: ids}); err != nil {
		t.Fatalf("Ack: %v", err)
	}
}

// clickEqual compares clicks by instant rather than time.Time internals.
var clickEqual = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

func TestReadAckTwoConsumers(t *testing.T) {
	srv := startServer(t)
	raw := srv.client()
	ctx := t.Context()
	producer := newTestShard(t, testSettings(srv, "ra:"))
	want := recordN(t, producer, []string{"aaa111", "bbb222", "ccc333"}, 7) // 21 clicks
	// Two consumer processes with their own plugin values.
	a := newTestShard(t, testSettings(srv, "ra:"))
	b := newTestShard(t, testSettings(srv, "ra:"))

	got := make(map[string]core.Click)
	deliveries := 0
	for round := 0; len(got) < len(want) && round < 20; round++ {
		for _, c := range []struct {
			shard *ClickShard
			name  string
			count int
		}{{a, "a", 4}, {b, "b", 5}} {
			ds := read(t, c.shard, core.ReadRequest{Group: group, Consumer: c.name, Count: c.count, MinIdle: time.Minute})
			for _, d := range ds {
				if _, dup := got[d.Click.ID]; dup {
					t.Errorf("click %s delivered twice", d.Click.ID)
				}
				got[d.Click.ID] = d.Click
			}
			deliveries += len(ds)
			ack(t, c.shard, ds)
		}
	}
	if diff := cmp.Diff(want, got, clickEqual); diff != "" {
		t.Errorf("delivered clicks mismatch (-want +got):\n%s", diff)
	}
	if deliveries != len(want) {
		t.Errorf("%d deliveries for %d clicks", deliveries, len(want))
	}
	// Acknowledged entries are gone: nothing pending, no stream left.
	for _, code := range []string{"aaa111", "bbb222", "ccc333"} {
		key := "ra:stream:clicks:" + code
		if n := raw.XLen(ctx, key).Val(); n != 0 {
			t.Errorf("XLEN %s = %d after Ack, want 0", key, n)
		}
		st, err := producer.Stats(ctx, core.StatsRequest{Code: code, Now: hour21})
		if err != nil {
			t.Fatal(err)
		}
		if st.Pending != 0 || st.Total != 7 {
			t.Errorf("Stats(%s) = total %d pending %d, want 7 and 0", code, st.Total, st.Pending)
		}
	}
	if ds := read(t, a, core.ReadRequest{Group: group, Consumer: "a", Count: 10}); len(ds) != 0 {
		t.Errorf("Read after everything was acked = %d entries", len(ds))
	}
	// Acking again, or unknown and malformed ids, is fine.
	err := a.Ack(ctx, core.AckRequest{Group: group, IDs: []core.DeliveryID{
		{Code: "aaa111", ID: "1-1"}, {Code: "zzz999", ID: "5-0"}, {Code: "aaa111", ID: "bogus"}, {Code: "", ID: "1-0"},
	}})
	if err != nil {
		t.Errorf("Ack of unknown entries: %v", err)
	}
	if err := a.Ack(ctx, core.AckRequest{IDs: []core.DeliveryID{{Code: "a", ID: "1-0"}}}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Ack without group error = %v, want core.ErrInvalid", err)
	}
}

func TestReadAckKeepsUnacked(t *testing.T) {
	srv := startServer(t)
	raw := srv.client()
	ctx := t.Context()
	shard := newTestShard(t, testSettings(srv, ""))
	recordN(t, shard, []string{"keep01"}, 4)
	ds := read(t, shard, core.ReadRequest{Group: group, Consumer: "c", Count: 10})
	if len(ds) != 4 {
		t.Fatalf("Read = %d entries, want 4", len(ds))
	}
	ack(t, shard, ds[:3])
	left, err := raw.XRange(ctx, "stream:clicks:keep01", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].ID != ds[3].ID {
		t.Errorf("stream after acking 3 of 4 = %v, want only %s", left, ds[3].ID)
	}
	pending := raw.XPending(ctx, "stream:clicks:keep01", group).Val()
	if pending.Count != 1 {
		t.Errorf("XPENDING count = %d, want 1", pending.Count)
	}
	// The group was created from id 0 and the stream was found by SCAN.
	groups := raw.XInfoGroups(ctx, "stream:clicks:keep01").Val()
	if len(groups) != 1 || groups[0].Name != group {
		t.Errorf("XINFO GROUPS = %+v, want only %s", groups, group)
	}
	ack(t, shard, ds[3:])
	// The emptied stream is kept, with its group, until it has been idle
	// for emptyGrace.
	if n := raw.Exists(ctx, "stream:clicks:keep01").Val(); n != 1 {
		t.Errorf("emptied stream deleted by the Ack, want it kept until idle")
	}
	tidyNow(t, shard)
	if n := raw.Exists(ctx, "stream:clicks:keep01").Val(); n != 0 {
		t.Errorf("empty stream still exists once idle")
	}
	// A later click recreates the stream without the group; reading
	// recreates the group and delivers it.
	recordN(t, shard, []string{"keep01"}, 1)
	ds = read(t, shard, core.ReadRequest{Group: group, Consumer: "c", Count: 10})
	if len(ds) != 1 || ds[0].Click.ID != "keep01-0" {
		t.Errorf("Read after the stream was recreated = %+v, want keep01-0", ds)
	}
}

func TestReadReclaimsIdleEntries(t *testing.T) {
	srv := startServer(t)
	ctx := t.Context()
	shard := newTestShard(t, testSettings(srv, ""))
	recordN(t, shard, []string{"dead01", "dead02"}, 3)
	const minIdle = 300 * time.Millisecond
	// The dead consumer reads and never acks.
	dead := newTestShard(t, testSettings(srv, ""))
	taken := read(t, dead, core.ReadRequest{Group: group, Consumer: "dead", Count: 4, MinIdle: minIdle})
	if len(taken) != 4 {
		t.Fatalf("dead consumer read %d entries, want 4", len(taken))
	}
	// Not idle long enough yet: the live consumer gets only the rest.
	live := read(t, shard, core.ReadRequest{Group: group, Consumer: "live", Count: 10, MinIdle: minIdle})
	if len(live) != 2 {
		t.Fatalf("live consumer read %d entries, want the 2 never delivered", len(live))
	}
	ack(t, shard, live)
	time.Sleep(minIdle + 100*time.Millisecond)
	again := read(t, shard, core.ReadRequest{Group: group, Consumer: "live", Count: 3, MinIdle: minIdle})
	more := read(t, shard, core.ReadRequest{Group: group, Consumer: "live", Count: 3, MinIdle: minIdle})
	got := append(again, more...)
	ids := func(ds []core.Delivery) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Click.ID)
		}
		slices.Sort(out)
		return out
	}
	if diff := cmp.Diff(ids(taken), ids(got)); diff != "" {
		t.Errorf("reclaimed clicks mismatch (-dead consumer's +reclaimed):\n%s", diff)
	}
	for _, d := range got {
		i := slices.IndexFunc(taken, func(x core.Delivery) bool { return x.ID == d.ID && x.Click.Code == d.Click.Code })
		if i < 0 || !cmp.Equal(taken[i], d, clickEqual) {
			t.Errorf("reclaimed %+v differs from the first delivery", d)
		}
	}
	ack(t, shard, got)
	for _, code := range []string{"dead01", "dead02"} {
		if n := srv.client().XLen(ctx, "stream:clicks:"+code).Val(); n != 0 {
			t.Errorf("XLEN stream:clicks:%s = %d, want 0", code, n)
		}
	}
}

func TestReadCountAcrossManyStreams(t *testing.T) {
	srv := startServer(t)
	shard := newTestShard(t, testSettings(srv, ""))
	codes := codeList("m", 5, 100)
	want := recordN(t, shard, codes, 3) // 300 entries over 100 streams
	got := make(map[string]int)
	for round := 0; round < 200 && len(got) < len(want); round++ {
		ds := read(t, shard, core.ReadRequest{Group: group, Consumer: "c", Count: 7, MinIdle: time.Minute})
		for _, d := range ds {
			got[d.Click.ID]++
		}
		ack(t, shard, ds)
	}
	if len(got) != len(want) {
		t.Errorf("delivered %d distinct clicks, want %d", len(got), len(want))
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("click %s delivered %d times", id, n)
		}
	}
	// A consumer reads until a read comes back empty; that read also
	// empties the unread set of streams that came back full before.
	if ds := read(t, shard, core.ReadRequest{Group: group, Consumer: "c", Count: 7, MinIdle: time.Minute}); len(ds) != 0 {
		t.Errorf("read after every click = %d entries, want 0", len(ds))
	}
	tidyNow(t, shard)
	if n := srv.client().DBSize(t.Context()).Val(); n != 300 {
		// 100 codes × (total, hour, uv); every stream is gone.
		t.Errorf("DBSIZE = %d, want 300 with every stream deleted", n)
	}
}

func TestReadMalformedEntries(t *testing.T) {
	srv := startServer(t)
	raw := srv.client()
	ctx := t.Context()
	shard := newTestShard(t, testSettings(srv, "mf:"))
	add := func(values ...string) string {
		t.Helper()
		id, err := raw.XAdd(ctx, &goredis.XAddArgs{Stream: "mf:stream:clicks:old001", Values: values}).Result()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	// As the reference wrote them: no cid.
	id1 := add("sc", "old001", "ip", "203.0.113.9", "ts", "1795556065.2274902")
	id2 := add("sc", "old001", "ts", "yesterday")
	id3 := add("junk", "1")
	before := time.Now()
	ds := read(t, shard, core.ReadRequest{Group: group, Consumer: "c", Count: 10})
	after := time.Now()
	if len(ds) != 3 {
		t.Fatalf("Read = %d entries, want 3", len(ds))
	}
	want := []core.Delivery{
		{ID: id1, Click: core.Click{ID: "stream:clicks:old001/" + id1, Code: "old001", Visitor: "203.0.113.9", At: time.Unix(1795556065, 227490200).UTC()}},
		{ID: id2, Click: core.Click{ID: "stream:clicks:old001/" + id2, Code: "old001"}},
		{ID: id3, Click: core.Click{ID: "stream:clicks:old001/" + id3, Code: "old001"}},
	}
	for i := 1; i < 3; i++ {
		if at := ds[i].Click.At; at.Before(before.Add(-time.Second)) || at.After(after) {
			t.Errorf("entry %d without a readable ts: At = %v, want now", i, at)
		}
		ds[i].Click.At = time.Time{}
	}
	if diff := cmp.Diff(want, ds, clickEqual); diff != "" {
		t.Errorf("deliveries mismatch (-want +got):\n%s", diff)
	}
	if LegacyClickID("old001", id1) != want[0].Click.ID {
		t.Errorf("LegacyClickID disagrees with Read")
	}
	ack(t, shard, ds)
	tidyNow(t, shard)
	if n := raw.Exists(ctx, "mf:stream:clicks:old001").Val(); n != 0 {
		t.Errorf("stream of malformed entries still exists after Ack")
	}
}

func TestReadBlocks(t *testing.T) {
	srv := startServer(t)
	// The reference's 50 ms socket timeout against a longer BLOCK (Q3).
	set := testSettings(srv, "")
	set.ReadTimeout = 50 * time.Millisecond
	shard := newTestShard(t, set)
	producer := newTestShard(t, testSettings(srv, ""))
	recordN(t, producer, []string{"blk001"}, 1)
	ack(t, shard, read(t, shard, core.ReadRequest{Group: group, Consumer: "c", Count: 1}))

	t.Run("waits the whole block when idle", func(t *testing.T) {
		start := time.Now()
		ds := read(t, shard, core.ReadRequest{Group: group, Consumer: "c", Count: 5, Block: 400 * time.Millisecond})
		if took := time.Since(start); len(ds) != 0 || took < 350*time.Millisecond || took > 2*time.Second {
			t.Errorf("idle Read = %d entries after %v, want none after about 400ms", len(ds), took)
		}
	})
	t.Run("wakes up for a new click", func(t *testing.T) {
		go func() {
			time.Sleep(150 * time.Millisecond)
			producer.Record(context.Background(), []core.Click{{ID: "late", Code: "blk001", At: time.Now()}})
		}()
		start := time.Now()
		ds := read(t, shard, core.ReadRequest{Group: group, Consumer: "c", Count: 5, Block: 3 * time.Second})
		if took := time.Since(start); len(ds) != 1 || ds[0].Click.ID != "late" || took > 1500*time.Millisecond {
			t.Errorf("Read = %+v after %v, want the late click soon after 150ms", ds, took)
		}
		ack(t, shard, ds)
	})
	t.Run("ends before the context deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		ds, err := shard.Read(ctx, core.ReadRequest{Group: group, Consumer: "c", Count: 5, Block: 5 * time.Second})
		if took := time.Since(start); err != nil || len(ds) != 0 || took > time.Second {
			t.Errorf("Read with a 300ms deadline = %d, %v after %v, want nothing, no error, within the deadline", len(ds), err, took)
		}
	})
	t.Run("stops when the context is cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := shard.Read(ctx, core.ReadRequest{Group: group, Consumer: "c", Count: 5, Block: 5 * time.Second})
		if took := time.Since(start); !errors.Is(err, context.Canceled) || took > 1500*time.Millisecond {
			t.Errorf("cancelled Read = %v after %v, want context.Canceled soon after 100ms", err, took)
		}
	})
	t.Run("waits for the first stream to appear", func(t *testing.T) {
		empty := newTestShard(t, testSettings(srv, "fresh:"))
		other := newTestShard(t, testSettings(srv, "fresh:"))
		go func() {
			time.Sleep(150 * time.Millisecond)
			other.Record(context.Background(), []core.Click{{ID: "first", Code: "new001", At: time.Now()}})
		}()
		ds := read(t, empty, core.ReadRequest{Group: group, Consumer: "c", Count: 5, Block: 2 * time.Second})
		if len(ds) != 1 || ds[0].Click.ID != "first" {
			t.Errorf("Read = %+v, want the click of a stream created while waiting", ds)
		}
	})
}

func TestReadInvalid(t *testing.T) {
	srv := startServer(t)
	shard := newTestShard(t, testSettings(srv, ""))
	for _, req := range []core.ReadRequest{
		{Consumer: "c", Count: 1},
		{Group: group, Count: 1},
		{Group: group, Consumer: "c"},
		{Group: group, Consumer: "c", Count: 1, Block: -time.Second},
		{Group: group, Consumer: "c", Count: 1, MinIdle: -time.Second},
	} {
		if _, err := shard.Read(t.Context(), req); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("Read(%+v) error = %v, want core.ErrInvalid", req, err)
		}
	}
}

// TestReadUnreadSet: the unread set holds the streams with new entries and
// empties as readers drain them; a stream deleted by an Ack and recreated
// by a click is read again without a rescan (its group is recreated by
// the read itself).
func TestReadUnreadSet(t *testing.T) {
	srv := startServer(t)
	raw := srv.client()
	ctx := t.Context()
	shard := newTestShard(t, testSettings(srv, "un:"))
	recordN(t, shard, []string{"aaa111", "bbb222"}, 3)
	if n := raw.SCard(ctx, "un:curtain:streams:unread").Val(); n != 2 {
		t.Fatalf("SCARD unread = %d after clicks on 2 codes, want 2", n)
	}
	ds := read(t, shard, core.ReadRequest{Group: group, Consumer: "c", Count: 100, MinIdle: time.Minute})
	if len(ds) != 6 {
		t.Fatalf("Read = %d entries, want 6", len(ds))
	}
	if n := raw.SCard(ctx, "un:curtain:streams:unread").Val(); n != 0 {
		t.Errorf("SCARD unread = %d after draining, want 0", n)
	}
	ack(t, shard, ds)
	tidyNow(t, shard)
	if n := raw.Exists(ctx, "un:stream:clicks:aaa111").Val(); n != 0 {
		t.Fatalf("stream still exists after its entries were acknowledged")
	}
	want := recordN(t, shard, []string{"aaa111"}, 2)
	ds = read(t, shard, core.ReadRequest{Group: group, Consumer: "c", Count: 100, MinIdle: time.Minute})
	if len(ds) != len(want) {
		t.Errorf("Read after the stream was recreated = %d entries, want %d", len(ds), len(want))
	}
	// Streams that lost their group, read in one XREADGROUP with one that
	// is gone: the gone one leaves the set, the others are read.
	ack(t, shard, ds)
	tidyNow(t, shard)
	recordN(t, shard, []string{"aaa111"}, 2)
	recordN(t, shard, []string{"bbb222"}, 1)
	raw.SAdd(ctx, "un:curtain:streams:unread", "un:stream:clicks:gone00")
	ds = read(t, shard, core.ReadRequest{Group: group, Consumer: "c", Count: 100, MinIdle: time.Minute})
	if len(ds) != 3 {
		t.Errorf("Read = %d entries, want 3", len(ds))
	}
	if n := raw.SCard(ctx, "un:curtain:streams:unread").Val(); n != 0 {
		t.Errorf("SCARD unread = %d after draining, want 0", n)
	}
}

// indexed returns the members of every index bucket with their scores.
func indexed(t *testing.T, raw goredis.Cmdable, prefix string) map[string]float64 {
	t.Helper()
	out := make(map[string]float64)
	for _, k := range (&conn{prefix: prefix}).indexKeys() {
		for _, z := range raw.ZRangeWithScores(t.Context(), k, 0, -1).Val() {
			out[z.Member.(string)] = z.Score
		}
	}
	return out
}

// scanCalls returns how many SCAN commands the server has run.
func scanCalls(t *testing.T, raw *goredis.Client) int64 {
	t.Helper()
	info := raw.Info(t.Context(), "commandstats").Val()
	for line := range strings.Lines(info) {
		if rest, ok := strings.CutPrefix(line, "cmdstat_scan:calls="); ok {
			n, _ := strconv.ParseInt(rest[:strings.IndexByte(rest, ',')], 10, 64)
			return n
		}
	}
	return 0
}

// TestStreamIndex: readers find streams through the index, not by SCAN
// (one sweep when they start); drained streams leave the index; a stream
// written without the index (by the reference) is found by the sweep; a
// member whose stream is gone is removed only if no click bumped it since.
func TestStreamIndex(t *testing.T) {
	srv := startServer(t)
	raw := srv.client()
	ctx := t.Context()
	producer := newTestShard(t, testSettings(srv, "ix:"))
	// The reference's consumer layout: a stream written with no index.
	if err := raw.XAdd(ctx, &goredis.XAddArgs{Stream: "ix:stream:clicks:old001", Values: []string{"sc", "old001", "ip", "", "ts", "1.0"}}).Err(); err != nil {
		t.Fatal(err)
	}
	want := recordN(t, producer, []string{"aaa111", "bbb222", "ccc333"}, 3)
	if got := indexed(t, raw, "ix:"); len(got) != 3 || got["ix:stream:clicks:aaa111"] != 1 {
		t.Fatalf("index after one batch on 3 codes = %v, want the 3 streams with score 1", got)
	}

	consumer := newTestShard(t, testSettings(srv, "ix:"))
	got := make(map[string]int)
	scans := int64(-1)
	for round := 0; round < 50 && len(got) < len(want)+1; round++ {
		ds := read(t, consumer, core.ReadRequest{Group: group, Consumer: "c", Count: 2, MinIdle: time.Minute})
		if scans < 0 {
			scans = scanCalls(t, raw) // after the start-up sweep
		}
		for _, d := range ds {
			got[d.Click.ID]++
		}
		ack(t, consumer, ds)
		consumer.state(consumer.b.cur.Load()).forget(false) // rediscover every round
	}
	if len(got) != len(want)+1 {
		t.Errorf("delivered %d distinct clicks, want %d (with the reference's)", len(got), len(want)+1)
	}
	if n := scanCalls(t, raw); n != scans {
		t.Errorf("SCAN ran %d times after the start-up sweep, want 0", n-scans)
	}
	tidyNow(t, consumer)
	if left := indexed(t, raw, "ix:"); len(left) != 0 {
		t.Errorf("index after every stream was drained and deleted = %v, want empty", left)
	}

	t.Run("stale member", func(t *testing.T) {
		cn := consumer.b.cur.Load()
		st := consumer.state(cn)
		stale, bumped := "ix:stream:clicks:gone01", "ix:stream:clicks:gone02"
		raw.ZAdd(ctx, cn.indexKey(stale), goredis.Z{Member: stale, Score: 4})
		raw.ZAdd(ctx, cn.indexKey(bumped), goredis.Z{Member: bumped, Score: 4})
		st.forget(false)
		if _, err := st.discover(ctx); err != nil {
			t.Fatal(err)
		}
		scores := st.scoresOf([]string{stale, bumped})
		// A click bumps one of them after discovery read its score.
		raw.ZIncrBy(ctx, cn.indexKey(bumped), 1, bumped)
		st.missing(ctx, []string{stale, bumped}, scores)
		if left := indexed(t, raw, "ix:"); len(left) != 1 || left[bumped] != 5 {
			t.Errorf("index = %v, want only %s (bumped since discovery)", left, bumped)
		}
	})
}

// TestStreamIndexResweep: streams whose index entries were lost (as in a
// failover, where an index bucket's master dies before its replica has
// the write) are found again by the sweep that follows a connection
// failure, and only then, no sooner than sweepGap after the last one.
func TestStreamIndexResweep(t *testing.T) {
	srv := startServer(t)
	raw := srv.client()
	ctx := t.Context()
	consumer := newTestShard(t, testSettings(srv, "rs:"))
	read(t, consumer, core.ReadRequest{Group: group, Consumer: "c", Count: 10}) // the start-up sweep
	producer := newTestShard(t, testSettings(srv, "rs:"))
	want := recordN(t, producer, []string{"lost01"}, 3)
	// The unread set and the index bucket are lost.
	cn := consumer.b.cur.Load()
	raw.Del(ctx, append(cn.indexKeys(), "rs:"+unreadKey)...)
	st := consumer.state(cn)
	st.forget(false)
	if ds := read(t, consumer, core.ReadRequest{Group: group, Consumer: "c", Count: 10}); len(ds) != 0 {
		t.Fatalf("Read without the index = %d entries, want none until a sweep", len(ds))
	}
	st.failed(ctx, errors.New("connection refused"))
	if ds := read(t, consumer, core.ReadRequest{Group: group, Consumer: "c", Count: 10}); len(ds) != 0 {
		t.Fatalf("Read within sweepGap of the last sweep = %d entries, want none yet", len(ds))
	}
	st.mu.Lock()
	st.sweptAt = time.Now().Add(-sweepGap) // the gap has passed
	st.mu.Unlock()
	st.forget(false)
	ds := read(t, consumer, core.ReadRequest{Group: group, Consumer: "c", Count: 10})
	if len(ds) != len(want) {
		t.Errorf("Read after a connection failure = %d entries, want the %d the sweep found", len(ds), len(want))
	}
	if got := indexed(t, raw, "rs:"); len(got) != 1 {
		t.Errorf("index after the sweep = %v, want the stream", got)
	}
}

func TestIsEntryID(t *testing.T) {
	for s, want := range map[string]bool{
		"1-0": true, "1796517274333-12": true,
		"": false, "-": false, "1-": false, "-1": false, "1": false, "1-2-3": false, "a-1": false, "1-b": false, "$": false, ">": false, " 1-1": false,
	} {
		if got := isEntryID(s); got != want {
			t.Errorf("isEntryID(%q) = %v, want %v", s, got, want)
		}
	}
}
