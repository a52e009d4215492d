package plugintest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/hll"
)

// ClickShard runs the core.ClickShard conformance suite. newShard returns
// a shard that holds no clicks and no consumer groups.
//
// Click times in the suite are whole seconds, so an implementation may
// keep them at second precision or finer.
func ClickShard(t *testing.T, newShard func(t *testing.T) core.ClickShard) {
	t.Helper()
	for _, tc := range ClickShardCases() {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			tc.Run(t, newShard(t))
		})
	}
}

// ClickShardCases returns the cases of the ClickShard suite, for runners other than go
// test (see Check).
func ClickShardCases() []Case[core.ClickShard] {
	return []Case[core.ClickShard]{
		{"RecordAndStats", shardRecordAndStats},
		{"StatsOfUnknownCode", shardUnknownCode},
		{"StatsWindow", shardWindow},
		{"EmptyBatch", shardEmptyBatch},
		{"ReadDeliversInOrderAndKeepsPending", shardReadOrder},
		{"AckRemovesEntries", shardAck},
		{"IdleEntriesAreRedelivered", shardRedeliver},
		{"BlockTimesOut", shardBlockTimeout},
		{"BlockWakesOnRecord", shardBlockWakes},
		{"BlockEndsWithContext", shardBlockContext},
		{"StoredClicksAreNotStreamed", shardStoredClicks},
		{"DeleteForgetsCodes", shardDelete},
		{"StreamKeepsClickExtras", shardClickExtras},
		{"PendingLatestIsTheNewestClick", shardPendingLatest},
		{"StreamKeepsAgentClass", shardAgentClass},
	}
}

// shardAgentClass: the User-Agent class of contract v1.6 (ua_device,
// ua_browser, ua_os, ua_bot), which the host sends in place of the
// header when privacy.store_user_agent is off, comes back with the
// stream entry, and a click without it comes back without it. A plugin
// that predates it drops it; that is logged, not failed.
func shardAgentClass(t T, s core.ClickShard) {
	code := unique("ag")
	clicks := newClicks(code, 3, suiteNow())
	clicks[0].Agent = core.AgentClass{Device: "unknown", Browser: "Googlebot", OS: "unknown", Bot: "Googlebot"}
	clicks[1].Agent = core.AgentClass{Device: "mobile", Browser: "Safari", OS: "iOS"}
	record(t, s, clicks...)
	ds := read(t, s, core.ReadRequest{Group: unique("g"), Consumer: "c", Count: 10})
	if len(ds) != 3 {
		t.Fatalf("Read = %d entries, want 3", len(ds))
	}
	got := clicksOf(ds)
	if !got[0].Agent.Known() && !got[1].Agent.Known() {
		t.Log("Click.ua_device, ua_browser, ua_os and ua_bot dropped (a plugin older than contract v1.6): nothing more to check")
		return
	}
	for i, c := range got {
		if c.Agent != clicks[i].Agent || c.UserAgent != "" {
			t.Errorf("entry %d: agent %+v, user agent %q; want %+v and none", i, c.Agent, c.UserAgent, clicks[i].Agent)
		}
	}
}

// shardClickExtras: the optional fields of contract v1.3 (user agent,
// referrer, rule, target) come back with the stream entry, and a click
// without them comes back without them. A plugin that predates them drops
// all four; that is logged, not failed.
func shardClickExtras(t T, s core.ClickShard) {
	code := unique("ex")
	clicks := newClicks(code, 2, suiteNow())
	clicks[0].UserAgent, clicks[0].Referrer = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", "https://example.org/a?b=c"
	clicks[0].Rule, clicks[0].Target, clicks[0].Country = "mobile", "https://m.example.com/", "NZ"
	record(t, s, clicks...)
	ds := read(t, s, core.ReadRequest{Group: unique("g"), Consumer: "c", Count: 10})
	if len(ds) != 2 {
		t.Fatalf("Read = %d entries, want 2", len(ds))
	}
	got := clicksOf(ds)
	if c := got[0]; c.UserAgent == "" && c.Referrer == "" && c.Rule == "" && c.Target == "" {
		t.Log("Click.user_agent, referrer, rule and target dropped (a plugin older than contract v1.3): nothing more to check")
		return
	}
	for i, c := range got {
		want := clicks[i]
		if c.UserAgent != want.UserAgent || c.Referrer != want.Referrer || c.Rule != want.Rule || c.Target != want.Target || c.Country != want.Country {
			t.Errorf("entry %d: user agent %q, referrer %q, rule %q, target %q, country %q; want %q, %q, %q, %q, %q", i,
				c.UserAgent, c.Referrer, c.Rule, c.Target, c.Country, want.UserAgent, want.Referrer, want.Rule, want.Target, want.Country)
		}
	}
}

// shardPendingLatest: Stats gives, beside Pending, when the most recently
// recorded pending click was made (contract v1.4), and nothing once none
// is pending. A plugin that predates the field leaves it zero; that is
// logged, not failed.
func shardPendingLatest(t T, s core.ClickShard) {
	code := unique("pl")
	at := suiteNow()
	record(t, s, newClicks(code, 2, at.Add(-time.Minute))...)
	record(t, s, newClicks(code, 1, at)...)
	st := stats(t, s, code, at, 1)
	if st.Pending != 3 {
		t.Fatalf("Stats(%q) pending = %d, want 3", code, st.Pending)
	}
	if st.PendingLatest.IsZero() {
		t.Log("StatsResponse.pending_latest absent (a plugin older than contract v1.4): nothing more to check")
		return
	}
	if !st.PendingLatest.Equal(at) {
		t.Errorf("Stats(%q) pending latest = %v, want the last recorded click's %v", code, st.PendingLatest, at)
	}
	g := unique("g")
	ds := read(t, s, core.ReadRequest{Group: g, Consumer: "c", Count: 10})
	ids := make([]core.DeliveryID, len(ds))
	for i, d := range ds {
		ids[i] = core.DeliveryID{Code: code, ID: d.ID}
	}
	if err := s.Ack(callCtx(t), core.AckRequest{Group: g, IDs: ids}); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if st := stats(t, s, code, at, 1); st.Pending != 0 || !st.PendingLatest.IsZero() {
		t.Errorf("Stats(%q) after every entry was acknowledged: pending %d, latest %v; want 0 and none", code, st.Pending, st.PendingLatest)
	}
}

// shardStoredClicks: a click the host stored already (Stored, contract
// v1.2) counts in the figures but gets no stream entry. A plugin that
// predates the field streams it as well; that is logged, not failed.
func shardStoredClicks(t T, s core.ClickShard) {
	code := unique("st")
	at := suiteNow()
	clicks := newClicks(code, 3, at)
	clicks[0].Stored, clicks[1].Stored = true, true
	record(t, s, clicks...)
	st := stats(t, s, code, at, 1)
	if st.Total == 3 && st.Pending == 3 {
		// Contract v1.1 and older: the field is ignored and every click
		// streamed, which the consumer's idempotent insert tolerates.
		t.Log("Click.stored ignored (a plugin older than contract v1.2): nothing more to check")
		return
	}
	if st.Total != 3 || st.Pending != 1 {
		t.Errorf("Stats(%q) after 2 stored and 1 streamed clicks: total %d, pending %d; want 3 and 1", code, st.Total, st.Pending)
	}
	ds := read(t, s, core.ReadRequest{Group: unique("g"), Consumer: "c", Count: 10})
	if len(ds) != 1 || ds[0].Click.ID != clicks[2].ID {
		t.Errorf("Read = %v, want only the streamed click %s", clicksOf(ds), clicks[2].ID)
	}
}

// shardDelete: Delete (optional, core.ClickDeleter) forgets a code's
// figures and stream entries, pending ones included, leaves other codes
// alone, and is idempotent.
func shardDelete(t T, s core.ClickShard) {
	d, ok := s.(core.ClickDeleter)
	if !ok {
		t.Log("not a core.ClickDeleter: nothing to check")
		return
	}
	gone, kept := unique("gone"), unique("kept")
	at := suiteNow()
	record(t, s, newClicks(gone, 3, at)...)
	record(t, s, newClicks(kept, 2, at)...)
	group := unique("g")
	// Some of the deleted code's entries are pending already.
	read(t, s, core.ReadRequest{Group: group, Consumer: "c", Count: 2})
	for i := range 2 {
		err := d.Delete(callCtx(t), []string{gone, unique("never")})
		if errors.Is(err, errors.ErrUnsupported) {
			t.Log("Delete unsupported (a plugin older than contract v1.2): nothing to check")
			return
		}
		if err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	st := stats(t, s, gone, at, 1)
	if st.Total != 0 || st.Pending != 0 || len(st.Visitors) != 0 || st.Hourly[0] != 0 {
		t.Errorf("Stats(%q) after Delete = total %d, hourly %v, pending %d, %d sketch bytes; want all zero", gone, st.Total, st.Hourly, st.Pending, len(st.Visitors))
	}
	if st := stats(t, s, kept, at, 1); st.Total != 2 || st.Pending != 2 {
		t.Errorf("Stats(%q) of the other code = total %d, pending %d; want 2 and 2", kept, st.Total, st.Pending)
	}
	ds := read(t, s, core.ReadRequest{Group: group, Consumer: "c2", Count: 10})
	for _, c := range clicksOf(ds) {
		if c.Code == gone {
			t.Errorf("Read after Delete delivered %s of the deleted code", c.ID)
		}
	}
}

// suiteNow is the current time at second precision, in UTC.
func suiteNow() time.Time { return time.Now().UTC().Truncate(time.Second) }

func record(t T, s core.ClickShard, clicks ...core.Click) {
	t.Helper()
	if err := s.Record(callCtx(t), clicks); err != nil {
		t.Fatalf("Record(%d clicks) error: %v", len(clicks), err)
	}
}

func stats(t T, s core.ClickShard, code string, now time.Time, hours int) core.ShardStats {
	t.Helper()
	st, err := s.Stats(callCtx(t), core.StatsRequest{Code: code, Now: now, Hours: hours})
	if err != nil {
		t.Fatalf("Stats(%q) error: %v", code, err)
	}
	return st
}

func read(t T, s core.ClickShard, req core.ReadRequest) []core.Delivery {
	t.Helper()
	ds, err := s.Read(callCtx(t), req)
	if err != nil {
		t.Fatalf("Read(%+v) error: %v", req, err)
	}
	return ds
}

func ack(t T, s core.ClickShard, group string, ds ...core.Delivery) {
	t.Helper()
	req := core.AckRequest{Group: group}
	for _, d := range ds {
		req.IDs = append(req.IDs, core.DeliveryID{Code: d.Click.Code, ID: d.ID})
	}
	if err := s.Ack(callCtx(t), req); err != nil {
		t.Fatalf("Ack(%d entries) error: %v", len(ds), err)
	}
}

// clicksOf returns the clicks of deliveries.
func clicksOf(ds []core.Delivery) []core.Click {
	out := make([]core.Click, len(ds))
	for i, d := range ds {
		out[i] = d.Click
	}
	return out
}

// newClicks returns n clicks on code at time at with distinct ids.
func newClicks(code string, n int, at time.Time) []core.Click {
	out := make([]core.Click, n)
	for i := range out {
		out[i] = core.Click{ID: unique("click-"), Code: code, Visitor: fmt.Sprintf("10.0.0.%d", i), At: at}
	}
	return out
}

func shardRecordAndStats(t T, s core.ClickShard) {
	now := suiteNow()
	code, other := unique("c"), unique("o")
	clicks := []core.Click{
		{ID: unique("k"), Code: code, Visitor: "a", At: now},
		{ID: unique("k"), Code: code, Visitor: "b", At: now},
		{ID: unique("k"), Code: other, Visitor: "z", At: now},
		{ID: unique("k"), Code: code, Visitor: "a", At: now},
		{ID: unique("k"), Code: code, Visitor: "c", At: now.Add(-time.Hour)},
		{ID: unique("k"), Code: code, Visitor: "", At: now.Add(-time.Hour)},
		{ID: unique("k"), Code: code, Visitor: "a", At: now.Add(-5 * time.Hour)},
	}
	record(t, s, clicks[:3]...)
	record(t, s, clicks[3:]...)

	st := stats(t, s, code, now, 72)
	wantHourly := make([]int64, 72)
	wantHourly[0], wantHourly[1], wantHourly[5] = 3, 2, 1
	if st.Total != 6 || st.Pending != 6 {
		t.Errorf("Stats(%q) Total %d Pending %d, want 6 and 6", code, st.Total, st.Pending)
	}
	if diff := cmp.Diff(wantHourly, st.Hourly); diff != "" {
		t.Errorf("Stats(%q).Hourly (-want +got):\n%s", code, diff)
	}
	// The sketch holds exactly the registers Redis's PFADD would build.
	want := hll.New()
	for _, v := range []string{"a", "b", "c", ""} {
		want.Add([]byte(v))
	}
	if err := hll.Registers(st.Visitors).Validate(); err != nil {
		t.Fatalf("Stats(%q).Visitors: %v", code, err)
	}
	if !bytes.Equal(st.Visitors, want) {
		t.Errorf("Stats(%q).Visitors differ from the registers of {a, b, c, \"\"}", code)
	}
	if n := hll.Registers(st.Visitors).Count(); n != 4 {
		t.Errorf("Stats(%q) unique visitors = %d, want 4", code, n)
	}

	ost := stats(t, s, other, now, 1)
	if ost.Total != 1 || ost.Pending != 1 || !cmp.Equal(ost.Hourly, []int64{1}) {
		t.Errorf("Stats(%q) = Total %d Pending %d Hourly %v, want 1, 1, [1]", other, ost.Total, ost.Pending, ost.Hourly)
	}
}

func shardUnknownCode(t T, s core.ClickShard) {
	st := stats(t, s, unique("none"), suiteNow(), 72)
	if st.Total != 0 || st.Pending != 0 || st.Visitors != nil {
		t.Errorf("Stats of an unknown code = Total %d Pending %d %d visitor bytes, want zeros and nil",
			st.Total, st.Pending, len(st.Visitors))
	}
	if diff := cmp.Diff(make([]int64, 72), st.Hourly); diff != "" {
		t.Errorf("Stats of an unknown code Hourly (-want +got):\n%s", diff)
	}
}

func shardWindow(t T, s core.ClickShard) {
	now := suiteNow()
	code := unique("w")
	record(t, s, append(newClicks(code, 2, now.Add(-2*time.Hour)), newClicks(code, 4, now.Add(-3*time.Hour))...)...)
	st := stats(t, s, code, now, 3)
	if diff := cmp.Diff([]int64{0, 0, 2}, st.Hourly); diff != "" {
		t.Errorf("Stats(Hours 3).Hourly (-want +got):\n%s", diff)
	}
	if st.Total != 6 {
		t.Errorf("Stats(Hours 3).Total = %d, want 6 (the total is all-time)", st.Total)
	}
	// The window ends at the hour of Now, not at the present.
	st = stats(t, s, code, now.Add(-2*time.Hour), 2)
	if diff := cmp.Diff([]int64{2, 4}, st.Hourly); diff != "" {
		t.Errorf("Stats(Now-2h, Hours 2).Hourly (-want +got):\n%s", diff)
	}
}

func shardEmptyBatch(t T, s core.ClickShard) {
	if err := s.Record(callCtx(t), nil); err != nil {
		t.Errorf("Record(nil) error: %v", err)
	}
	if ds := read(t, s, core.ReadRequest{Group: "g", Consumer: "c", Count: 10}); len(ds) != 0 {
		t.Errorf("Read after an empty batch = %d entries, want 0", len(ds))
	}
}

func shardReadOrder(t T, s core.ClickShard) {
	code := unique("r")
	clicks := newClicks(code, 5, suiteNow())
	record(t, s, clicks[:2]...)
	record(t, s, clicks[2:]...)
	group := unique("g")

	first := read(t, s, core.ReadRequest{Group: group, Consumer: "c1", Count: 3, MinIdle: time.Hour})
	if diff := cmp.Diff(clicks[:3], clicksOf(first)); diff != "" {
		t.Fatalf("first Read (-want +got):\n%s", diff)
	}
	rest := read(t, s, core.ReadRequest{Group: group, Consumer: "c1", Count: 10, MinIdle: time.Hour})
	if diff := cmp.Diff(clicks[3:], clicksOf(rest)); diff != "" {
		t.Fatalf("second Read (-want +got):\n%s", diff)
	}
	seen := map[string]bool{}
	for _, d := range append(first, rest...) {
		if d.ID == "" || seen[d.ID] {
			t.Errorf("delivery id %q is empty or repeated", d.ID)
		}
		seen[d.ID] = true
	}
	// Pending entries are not handed to another consumer before MinIdle.
	if ds := read(t, s, core.ReadRequest{Group: group, Consumer: "c2", Count: 10, MinIdle: time.Hour}); len(ds) != 0 {
		t.Errorf("Read by another consumer = %d entries, want 0 (all pending, not idle)", len(ds))
	}
	if st := stats(t, s, code, suiteNow(), 1); st.Pending != 5 {
		t.Errorf("Stats.Pending = %d, want 5 (delivered but not acknowledged)", st.Pending)
	}
}

func shardAck(t T, s core.ClickShard) {
	code := unique("a")
	record(t, s, newClicks(code, 4, suiteNow())...)
	group := unique("g")
	ds := read(t, s, core.ReadRequest{Group: group, Consumer: "c1", Count: 10, MinIdle: time.Hour})
	if len(ds) != 4 {
		t.Fatalf("Read = %d entries, want 4", len(ds))
	}
	ack(t, s, group, ds[:3]...)
	if st := stats(t, s, code, suiteNow(), 1); st.Pending != 1 {
		t.Errorf("Stats.Pending after acking 3 of 4 = %d, want 1", st.Pending)
	}
	// Acknowledging again, or unknown entries, is not an error.
	ack(t, s, group, ds[:3]...)
	ack(t, s, group, core.Delivery{ID: "1-1", Click: core.Click{Code: unique("nope")}})
	if err := s.Ack(callCtx(t), core.AckRequest{Group: unique("nogroup"), IDs: []core.DeliveryID{{Code: code, ID: ds[3].ID}}}); err != nil {
		t.Errorf("Ack in an unknown group error: %v", err)
	}
	// Acknowledged entries are gone for good: even an immediate claim
	// (MinIdle 0) returns only the one still pending.
	again := read(t, s, core.ReadRequest{Group: group, Consumer: "c2", Count: 10})
	if len(again) != 1 || again[0].ID != ds[3].ID {
		t.Errorf("Read with MinIdle 0 after acks = %v, want only %q", again, ds[3].ID)
	}
	ack(t, s, group, again...)
	if st := stats(t, s, code, suiteNow(), 1); st.Pending != 0 || st.Total != 4 {
		t.Errorf("Stats after acking all = Pending %d Total %d, want 0 and 4", st.Pending, st.Total)
	}
}

func shardRedeliver(t T, s core.ClickShard) {
	code := unique("i")
	clicks := newClicks(code, 2, suiteNow())
	record(t, s, clicks...)
	group := unique("g")
	const idle = 300 * time.Millisecond
	got := read(t, s, core.ReadRequest{Group: group, Consumer: "dead", Count: 10, MinIdle: idle})
	if len(got) != 2 {
		t.Fatalf("Read = %d entries, want 2", len(got))
	}
	if ds := read(t, s, core.ReadRequest{Group: group, Consumer: "live", Count: 10, MinIdle: idle}); len(ds) != 0 {
		t.Fatalf("immediate Read by another consumer = %d entries, want 0", len(ds))
	}
	var claimed []core.Delivery
	start := time.Now()
	eventually(t, "idle entries redelivered", func() bool {
		claimed = append(claimed, read(t, s, core.ReadRequest{Group: group, Consumer: "live", Count: 10, MinIdle: idle})...)
		return len(claimed) >= 2
	})
	if waited := time.Since(start); waited < idle/2 {
		t.Errorf("entries redelivered after %v, before MinIdle %v", waited, idle)
	}
	if diff := cmp.Diff(got, claimed); diff != "" {
		t.Errorf("redelivered entries (-first delivery +redelivery):\n%s", diff)
	}
	ack(t, s, group, claimed...)
	if st := stats(t, s, code, suiteNow(), 1); st.Pending != 0 {
		t.Errorf("Stats.Pending after acking redelivered entries = %d, want 0", st.Pending)
	}
}

func shardBlockTimeout(t T, s core.ClickShard) {
	code := unique("b")
	group := unique("g")
	// Make the stream exist and drain it, as a consumer would.
	record(t, s, newClicks(code, 1, suiteNow())...)
	ack(t, s, group, read(t, s, core.ReadRequest{Group: group, Consumer: "c", Count: 10})...)

	const block = 300 * time.Millisecond
	start := time.Now()
	ds := read(t, s, core.ReadRequest{Group: group, Consumer: "c", Count: 10, Block: block, MinIdle: time.Hour})
	elapsed := time.Since(start)
	if len(ds) != 0 {
		t.Errorf("blocking Read on a drained stream = %d entries, want 0", len(ds))
	}
	if elapsed < block*2/3 || elapsed > waitLimit {
		t.Errorf("blocking Read returned after %v, want about %v", elapsed, block)
	}
}

func shardBlockWakes(t T, s core.ClickShard) {
	code := unique("b")
	group := unique("g")
	record(t, s, newClicks(code, 1, suiteNow())...)
	ack(t, s, group, read(t, s, core.ReadRequest{Group: group, Consumer: "c", Count: 10})...)

	const block = 20 * time.Second
	type result struct {
		ds  []core.Delivery
		err error
	}
	done := make(chan result, 1)
	ctx, cancel := context.WithTimeout(t.Context(), block+waitLimit)
	defer cancel()
	start := time.Now()
	go func() {
		ds, err := s.Read(ctx, core.ReadRequest{Group: group, Consumer: "c", Count: 10, Block: block, MinIdle: time.Hour})
		done <- result{ds, err}
	}()
	time.Sleep(200 * time.Millisecond)
	want := newClicks(code, 1, suiteNow())
	record(t, s, want...)
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("blocking Read error: %v", r.err)
		}
		if diff := cmp.Diff(want, clicksOf(r.ds)); diff != "" {
			t.Errorf("blocking Read (-want +got):\n%s", diff)
		}
		if elapsed := time.Since(start); elapsed > waitLimit {
			t.Errorf("blocking Read woke %v after the start, want soon after the Record", elapsed)
		}
	case <-time.After(waitLimit):
		t.Fatalf("blocking Read did not return within %v of a Record", waitLimit)
	}
}

func shardBlockContext(t T, s core.ClickShard) {
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	ds, err := s.Read(ctx, core.ReadRequest{Group: unique("g"), Consumer: "c", Count: 10, Block: 30 * time.Second})
	elapsed := time.Since(start)
	if elapsed > waitLimit {
		t.Errorf("Read with Block 30s returned %v after its context ended, want promptly", elapsed)
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		t.Errorf("Read error = %v, want nil or the context's error", err)
	}
	if len(ds) != 0 {
		t.Errorf("Read on an empty shard = %d entries, want 0", len(ds))
	}
}
