package redis

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/curtainhq/curtain/core"
)

// commandCalls returns how many times the server has run each command
// since the last CONFIG RESETSTAT.
func commandCalls(t *testing.T, raw *goredis.Client) map[string]int64 {
	t.Helper()
	out := make(map[string]int64)
	for line := range strings.Lines(raw.Info(t.Context(), "commandstats").Val()) {
		name, rest, ok := strings.Cut(strings.TrimPrefix(line, "cmdstat_"), ":calls=")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(rest[:strings.IndexByte(rest, ',')], 10, 64)
		out[name] = n
	}
	return out
}

// TestAckOneScriptRun: an Ack of entries of many streams on a single
// server is one script run by EVALSHA (after the first, which loads the
// script), with one XACK and one XDEL per stream and no XPENDING, and it
// still deletes only what was pending: not an entry written after the
// read, even when its id is in the Ack.
func TestAckOneScriptRun(t *testing.T) {
	srv := startServer(t)
	raw := srv.client()
	ctx := t.Context()
	shard := newTestShard(t, testSettings(srv, "one:"))
	codes := codeList("one", 3, 50)
	for round := range 2 {
		recordN(t, shard, codes, 2) // 100 entries over 50 streams
		ds := read(t, shard, core.ReadRequest{Group: group, Consumer: "c", Count: 1000, MinIdle: time.Minute})
		if len(ds) != 100 {
			t.Fatalf("round %d: Read = %d entries, want 100", round, len(ds))
		}
		// One entry stays pending (of a stream other than codes[2]'s,
		// whose stream gets an entry after the read), one unknown id is
		// thrown in, and so is the id of that entry written after the
		// read, which no reader has had.
		k := slices.IndexFunc(ds, func(d core.Delivery) bool { return d.Click.Code != codes[2] })
		keep := ds[k]
		recordN(t, shard, codes[2:3], 1)
		fresh := raw.XRevRangeN(ctx, "one:stream:clicks:"+codes[2], "+", "-", 1).Val()[0].ID
		ids := []core.DeliveryID{{Code: codes[1], ID: "1-1"}, {Code: codes[2], ID: fresh}}
		for i, d := range ds {
			if i != k {
				ids = append(ids, core.DeliveryID{Code: d.Click.Code, ID: d.ID})
			}
		}
		raw.ConfigResetStat(ctx)
		if err := shard.Ack(ctx, core.AckRequest{Group: group, IDs: ids}); err != nil {
			t.Fatalf("round %d: Ack: %v", round, err)
		}
		calls := commandCalls(t, raw)
		if round == 1 && (calls["evalsha"] != 1 || calls["eval"] != 0) {
			t.Errorf("round %d: Ack ran EVALSHA %d and EVAL %d times, want one EVALSHA", round, calls["evalsha"], calls["eval"])
		}
		if calls["xpending"] != 0 {
			t.Errorf("round %d: Ack ran XPENDING %d times, want none", round, calls["xpending"])
		}
		if calls["xack"] != 50 || calls["xdel"] != 50 {
			t.Errorf("round %d: XACK %d, XDEL %d times, want 50 and 50 (one each per stream)", round, calls["xack"], calls["xdel"])
		}
		left := raw.XRange(ctx, "one:stream:clicks:"+keep.Click.Code, "-", "+").Val()
		if len(left) != 1 || left[0].ID != keep.ID {
			t.Errorf("round %d: stream of the unacknowledged entry = %v, want only %s", round, left, keep.ID)
		}
		left = raw.XRange(ctx, "one:stream:clicks:"+codes[2], "-", "+").Val()
		if len(left) != 1 || left[0].ID != fresh {
			t.Errorf("round %d: stream of the entry written after the read = %v, want only %s", round, left, fresh)
		}
		later := read(t, shard, core.ReadRequest{Group: group, Consumer: "c", Count: 10, MinIdle: time.Minute})
		if len(later) != 1 || later[0].ID != fresh {
			t.Errorf("round %d: read after the Ack = %v, want only %s", round, later, fresh)
		}
		ack(t, shard, append(later, keep))
		tidyNow(t, shard)
		if n := raw.Keys(ctx, "one:stream:clicks:*").Val(); len(n) != 0 {
			t.Errorf("round %d: streams left after every entry was acknowledged: %v", round, n)
		}
	}
}

// TestAckRuns: a single server's acknowledgement is cut into runs of
// about ackChunk ids whatever the number of streams; a cluster's has one
// run per stream.
func TestAckRuns(t *testing.T) {
	byCode := map[string][]any{}
	codes := []string{"a", "b", "c"}
	for i, n := range []int{2, ackChunk, 3} {
		for j := range n {
			byCode[codes[i]] = append(byCode[codes[i]], fmt.Sprintf("%d-%d", i, j))
		}
	}
	describe := func(runs []scriptRun) string {
		var b strings.Builder
		for _, r := range runs {
			fmt.Fprintf(&b, "%v/%d ", r.keys, len(r.args))
		}
		return b.String()
	}
	single := ackRuns(&conn{prefix: "p:"}, group, codes, byCode)
	// {a} alone (b's 1000 ids would go over the chunk), {b}, {c}: every
	// run is group, then per key the count and the ids.
	want := fmt.Sprintf("[p:stream:clicks:a]/4 [p:stream:clicks:b]/%d [p:stream:clicks:c]/5 ", ackChunk+2)
	if got := describe(single); got != want {
		t.Errorf("single server runs = %s, want %s", got, want)
	}
	small := map[string][]any{"a": {"1-0"}, "b": {"2-0", "2-1"}, "c": {"3-0"}}
	if got, want := describe(ackRuns(&conn{}, group, codes, small)), "[stream:clicks:a stream:clicks:b stream:clicks:c]/8 "; got != want {
		t.Errorf("single server runs of small batches = %s, want %s", got, want)
	}
	cluster := ackRuns(&conn{cluster: &goredis.ClusterClient{}}, group, codes, small)
	if len(cluster) != 3 {
		t.Errorf("cluster runs = %s, want one per stream", describe(cluster))
	}
}

// TestReadSlowServer: a consumer read whose reply takes longer than the
// read_timeout setting (the server is busy) still succeeds, so the entries
// it took are not left pending to be claimed again.
func TestReadSlowServer(t *testing.T) {
	srv := startServer(t, "--enable-debug-command", "yes")
	set := testSettings(srv, "")
	set.ReadTimeout = 50 * time.Millisecond
	shard := newTestShard(t, set)
	want := recordN(t, shard, []string{"slow01"}, 3)
	read(t, shard, core.ReadRequest{Group: group, Consumer: "c", Count: 1, MinIdle: time.Minute})
	stalled := make(chan struct{})
	go func() {
		close(stalled)
		srv.client().Do(context.Background(), "DEBUG", "SLEEP", "0.3")
	}()
	<-stalled
	time.Sleep(20 * time.Millisecond) // let DEBUG SLEEP reach the server first
	ds, err := shard.Read(t.Context(), core.ReadRequest{Group: group, Consumer: "c", Count: 10, MinIdle: time.Minute})
	if err != nil || len(ds) != len(want)-1 {
		t.Errorf("Read on a server busy for longer than read_timeout = %d entries, %v; want %d", len(ds), err, len(want)-1)
	}
}

// tidyNow deletes every empty stream the shard's reader knows of, as the
// reader does emptyGrace after a stream's last click, and takes them out
// of the index.
func tidyNow(t testing.TB, shard *ClickShard) {
	t.Helper()
	st := shard.state(shard.b.cur.Load())
	st.forget(false)
	streams, err := st.discover(t.Context())
	if err != nil {
		t.Fatalf("discover: %v", err)
	}
	if err := st.tidy(t.Context(), streams, 0); err != nil {
		t.Fatalf("tidy: %v", err)
	}
	// Without the grace, the shard's memory of its recent index bumps no
	// longer holds (see indexFresh): as after emptyGrace, it bumps again.
	st.bumps.forget(nil)
}

// TestReadCountAboveScriptEntries: a Count above scriptEntries is served
// by several script runs, through the unread set and through the read of
// every stream alike.
func TestReadCountAboveScriptEntries(t *testing.T) {
	srv := startServer(t)
	raw := srv.client()
	shard := newTestShard(t, testSettings(srv, "big:"))
	codes := []string{"big001", "big002", "big003"}
	perCode := scriptEntries*2/3 + 1 // 2001 entries in all
	want := recordN(t, shard, codes, perCode)
	ds := read(t, shard, core.ReadRequest{Group: group, Consumer: "c", Count: 4 * scriptEntries, MinIdle: time.Minute})
	if len(ds) != len(want) {
		t.Errorf("Read through the unread set = %d entries, want %d", len(ds), len(want))
	}
	ack(t, shard, ds)
	// Without the unread set (a writer cut off before its SADD), the
	// read of every stream finds them.
	want = recordN(t, shard, codes, perCode)
	raw.Del(t.Context(), "big:"+unreadKey)
	ds = read(t, shard, core.ReadRequest{Group: group, Consumer: "c", Count: 4 * scriptEntries, MinIdle: time.Minute})
	if len(ds) != len(want) {
		t.Errorf("Read of every stream = %d entries, want %d", len(ds), len(want))
	}
}

// TestReadEntryWithoutIndex: an entry added to an emptied stream without
// the unread set or the index bump that follow it (a Record pipeline cut
// off by its read timeout, the connection closed before the server read
// its end) is read all the same: the stream, kept with its group and index
// entry until idle, is read with every stream. When the Ack deleted
// emptied streams at once, such an entry recreated an unindexed stream
// that waited for a sweep.
func TestReadEntryWithoutIndex(t *testing.T) {
	srv := startServer(t)
	raw := srv.client()
	ctx := t.Context()
	shard := newTestShard(t, testSettings(srv, "cut:"))
	recordN(t, shard, []string{"cut001"}, 2)
	ack(t, shard, read(t, shard, core.ReadRequest{Group: group, Consumer: "c", Count: 10, MinIdle: time.Minute}))
	id, err := raw.XAdd(ctx, &goredis.XAddArgs{Stream: "cut:stream:clicks:cut001", Values: []string{"sc", "cut001", "ip", "", "ts", "1.0", "cid", "late"}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	ds := read(t, shard, core.ReadRequest{Group: group, Consumer: "c", Count: 10, MinIdle: time.Minute})
	if len(ds) != 1 || ds[0].ID != id {
		t.Errorf("Read = %+v, want the entry %s written without the index", ds, id)
	}
}

// xreadLog returns how many XREADGROUP calls the server's slow log holds
// (with slowlog-log-slower-than 0, every call sent to it, not those of
// scripts) and how many streams they named: a logged call keeps its first
// 32 arguments and says how many more it had.
func xreadLog(t *testing.T, raw *goredis.Client) (calls, visits int) {
	t.Helper()
	logs, err := raw.SlowLogGet(t.Context(), -1).Result()
	if err != nil {
		t.Fatalf("SLOWLOG GET: %v", err)
	}
	for _, l := range logs {
		if len(l.Args) == 0 || !strings.EqualFold(l.Args[0], "xreadgroup") {
			continue
		}
		args := len(l.Args)
		var more int
		if _, err := fmt.Sscanf(l.Args[len(l.Args)-1], "... (%d more arguments)", &more); err == nil {
			args += more - 1
		}
		at := slices.IndexFunc(l.Args, func(a string) bool { return strings.EqualFold(a, "streams") })
		calls++
		visits += (args - at - 1) / 2
	}
	return calls, visits
}

// logEveryCall has the server's slow log keep every call until the test
// ends, and empties it.
func logEveryCall(t *testing.T, raw *goredis.Client) {
	t.Helper()
	ctx := t.Context()
	raw.ConfigSet(ctx, "slowlog-log-slower-than", "0")
	raw.ConfigSet(ctx, "slowlog-max-len", "1000")
	raw.SlowLogReset(ctx)
	t.Cleanup(func() { raw.ConfigSet(context.Background(), "slowlog-log-slower-than", "10000") })
}

// readRig starts a server with a shard on it, and returns n codes and
// the consumer's default read (4000 entries).
func readRig(t *testing.T, prefix string, n int) (*goredis.Client, *ClickShard, []string, core.ReadRequest) {
	t.Helper()
	srv := startServer(t)
	req := core.ReadRequest{Group: group, Consumer: "c", Count: 4000, MinIdle: time.Minute}
	return srv.client(), newTestShard(t, testSettings(srv, "")), codeList(prefix, 3, n), req
}

// TestReadVisitsEachStreamOnce: under a steady load of a few entries per
// stream, a read visits each stream of the unread set once, though the
// streams together hold more than one XREADGROUP may return. Before, each
// round asked every stream for its share of what was missing (one entry
// each, 1000 / 600 streams), and each stream was visited once per entry
// and once more to find it empty: 2400 visits for 1800 entries.
func TestReadVisitsEachStreamOnce(t *testing.T) {
	raw, shard, codes, req := readRig(t, "v", 600)
	for round := range 2 {
		recordN(t, shard, codes, 3)
		logEveryCall(t, raw)
		ds := read(t, shard, req)
		_, visits := xreadLog(t, raw)
		if len(ds) != 1800 {
			t.Fatalf("round %d: Read = %d entries, want 1800", round, len(ds))
		}
		ack(t, shard, ds)
		// The first read has no figure of the streams' load yet.
		if round == 1 && visits > 660 {
			t.Errorf("round %d: XREADGROUP visited %d streams for 600 streams of 3 entries, want each about once", round, visits)
		}
	}
}

// TestReadAfterBacklog: after a read of streams holding a backlog (a
// hundred entries each), a read of many streams holding one entry each
// still asks each round for many streams: the last read's average is
// capped (maxPerStream), and the first read after a backlog does not go
// one stream a round.
func TestReadAfterBacklog(t *testing.T) {
	raw, shard, codes, req := readRig(t, "b", 300)
	recordN(t, shard, codes[:20], 100)
	ack(t, shard, read(t, shard, req))
	recordN(t, shard, codes, 1)
	logEveryCall(t, raw)
	ds := read(t, shard, req)
	if len(ds) != 300 {
		t.Fatalf("Read = %d entries, want 300", len(ds))
	}
	// 1000 entries a round at most 64 a stream: 15 streams a round.
	if calls, _ := xreadLog(t, raw); calls > 25 {
		t.Errorf("%d XREADGROUP calls for 300 streams of one entry after a backlog, want at most 25", calls)
	}
}
