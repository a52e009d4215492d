package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/curtainhq/curtain/core"
)

func TestCounterRejects(t *testing.T) {
	c := NewCounter()
	tests := []struct {
		name string
		req  core.ReserveRequest
	}{
		{"zero size", core.ReserveRequest{Size: 0}},
		{"negative size", core.ReserveRequest{Size: -3}},
		{"overflow", core.ReserveRequest{Size: 2, Floor: 1<<63 - 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.Reserve(t.Context(), tt.req); !errors.Is(err, core.ErrInvalid) {
				t.Errorf("Reserve(%+v) error = %v, want core.ErrInvalid", tt.req, err)
			}
		})
	}
	// A rejected request leaves the counter alone.
	if b, err := c.Reserve(t.Context(), core.ReserveRequest{Size: 1}); err != nil || b.First != 1 {
		t.Errorf("Reserve after rejections = %+v, %v; want First 1", b, err)
	}
}

func TestCacheTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		c := NewCache()
		err := c.Set(ctx, []core.CacheEntry{
			{Key: "short", Value: []byte("s"), TTL: time.Minute},
			{Key: "forever", Value: []byte("f")},
		})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute - time.Nanosecond)
		if m, _ := c.Get(ctx, []string{"short"}); len(m) != 1 {
			t.Errorf("Get just before the TTL = %v, want a hit", m)
		}
		time.Sleep(time.Nanosecond)
		m, _ := c.Get(ctx, []string{"short", "forever"})
		if diff := cmp.Diff(map[string][]byte{"forever": []byte("f")}, m); diff != "" {
			t.Errorf("Get at the TTL (-want +got):\n%s", diff)
		}
	})
}

func TestCacheSweepsExpired(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		c := NewCache()
		for i := range minSweep - 1 {
			_ = c.Set(ctx, []core.CacheEntry{{Key: fmt.Sprint(i), TTL: time.Second}})
		}
		time.Sleep(2 * time.Second)
		_ = c.Set(ctx, []core.CacheEntry{{Key: "live"}})
		if n := c.Len(); n != 1 {
			t.Errorf("Len after a sweep = %d, want 1", n)
		}
	})
}

func TestCacheCopiesValues(t *testing.T) {
	ctx := t.Context()
	c := NewCache()
	v := []byte("abc")
	_ = c.Set(ctx, []core.CacheEntry{{Key: "k", Value: v}})
	v[0] = 'X'
	m, _ := c.Get(ctx, []string{"k"})
	m["k"][1] = 'Y'
	if m, _ := c.Get(ctx, []string{"k"}); string(m["k"]) != "abc" {
		t.Errorf("stored value = %q, want %q (copies in and out)", m["k"], "abc")
	}
}

func TestAlertSinkKeepsBatches(t *testing.T) {
	s := NewAlertSink()
	labels := map[string]string{"alertname": "A"}
	_ = s.Send(t.Context(), []core.Alert{{Status: "firing", Labels: labels}})
	_ = s.Send(t.Context(), nil)
	labels["alertname"] = "changed"
	want := [][]core.Alert{{{Status: "firing", Labels: map[string]string{"alertname": "A"}}}, {}}
	if diff := cmp.Diff(want, s.Batches()); diff != "" {
		t.Errorf("Batches (-want +got):\n%s", diff)
	}
	if n := len(s.Alerts()); n != 1 {
		t.Errorf("len(Alerts) = %d, want 1", n)
	}
}

func TestShardHourlyBucketsExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		s := NewClickShard()
		start := time.Now().UTC()
		click := core.Click{ID: "1", Code: "c", Visitor: "v", At: start}
		if err := s.Record(ctx, []core.Click{click}); err != nil {
			t.Fatal(err)
		}
		// Stats for the click's hour, asked at any later present.
		hourly := func() int64 {
			st, err := s.Stats(ctx, core.StatsRequest{Code: "c", Now: start, Hours: 1})
			if err != nil {
				t.Fatal(err)
			}
			return st.Hourly[0]
		}
		time.Sleep(core.BucketTTL - time.Second)
		if n := hourly(); n != 1 {
			t.Errorf("bucket just before %v = %d, want 1", core.BucketTTL, n)
		}
		// A click into the same hour refreshes the expiry, as EXPIRE does.
		click.ID = "2"
		if err := s.Record(ctx, []core.Click{click}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		if n := hourly(); n != 2 {
			t.Errorf("refreshed bucket = %d, want 2", n)
		}
		time.Sleep(core.BucketTTL)
		if n := hourly(); n != 0 {
			t.Errorf("bucket after %v = %d, want 0", core.BucketTTL, n)
		}
		st, _ := s.Stats(ctx, core.StatsRequest{Code: "c", Now: start, Hours: 1})
		if st.Total != 2 {
			t.Errorf("Total = %d, want 2 (totals never expire)", st.Total)
		}
	})
}

func TestShardRejectsBadInput(t *testing.T) {
	ctx := t.Context()
	s := NewClickShard()
	now := time.Now()
	bad := [][]core.Click{
		{{ID: "1", Code: "a", At: now}, {ID: "2", Code: "", At: now}},
		{{ID: "1", Code: "a", At: now}, {ID: "2", Code: "b"}},
	}
	for _, batch := range bad {
		if err := s.Record(ctx, batch); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("Record(%v) error = %v, want core.ErrInvalid", batch, err)
		}
	}
	// Nothing of a rejected batch was applied.
	if st, _ := s.Stats(ctx, core.StatsRequest{Code: "a", Hours: 1}); st.Total != 0 {
		t.Errorf("Total after rejected batches = %d, want 0", st.Total)
	}
	if _, err := s.Stats(ctx, core.StatsRequest{Code: "a", Hours: -1}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Stats(Hours -1) error = %v, want core.ErrInvalid", err)
	}
	for _, req := range []core.ReadRequest{
		{Consumer: "c", Count: 1}, {Group: "g", Count: 1}, {Group: "g", Consumer: "c"},
	} {
		if _, err := s.Read(ctx, req); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("Read(%+v) error = %v, want core.ErrInvalid", req, err)
		}
	}
}

func TestShardReadBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		s := NewClickShard()
		req := core.ReadRequest{Group: "g", Consumer: "c", Count: 10, Block: 5 * time.Second, MinIdle: time.Hour}

		start := time.Now()
		ds, err := s.Read(ctx, req)
		if err != nil || len(ds) != 0 || time.Since(start) != req.Block {
			t.Errorf("Read on an empty shard = %v, %v after %v; want nothing after %v", ds, err, time.Since(start), req.Block)
		}

		go func() {
			time.Sleep(time.Second)
			_ = s.Record(ctx, []core.Click{{ID: "1", Code: "a", At: time.Now()}})
		}()
		start = time.Now()
		ds, err = s.Read(ctx, req)
		if err != nil || len(ds) != 1 || time.Since(start) != time.Second {
			t.Errorf("Read woken by a Record = %v, %v after %v; want 1 entry after 1s", ds, err, time.Since(start))
		}

		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		req.Block = time.Hour
		start = time.Now()
		if _, err := s.Read(cctx, req); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 2*time.Second {
			t.Errorf("Read with an ending context error = %v after %v, want DeadlineExceeded after 2s", err, time.Since(start))
		}
	})
}

func TestShardRedeliveryAndCompaction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		s := NewClickShard()
		var clicks []core.Click
		for i := range 10 {
			clicks = append(clicks, core.Click{ID: fmt.Sprint(i), Code: "a", At: time.Now()})
		}
		_ = s.Record(ctx, clicks)
		read := func(consumer string, idle time.Duration) []core.Delivery {
			ds, err := s.Read(ctx, core.ReadRequest{Group: "g", Consumer: consumer, Count: 4, MinIdle: idle})
			if err != nil {
				t.Fatal(err)
			}
			return ds
		}
		first := read("a", time.Minute) // entries 0-3
		time.Sleep(time.Minute)
		// Idle entries come first, then new ones, within Count.
		second := read("b", time.Minute)
		if diff := cmp.Diff(first, second); diff != "" {
			t.Errorf("claim after MinIdle (-want +got):\n%s", diff)
		}
		third := read("b", time.Minute)
		if diff := cmp.Diff(clicks[4:8], clicksOf(third)); diff != "" {
			t.Errorf("new entries after the claim (-want +got):\n%s", diff)
		}
		// Ack entries 0-7 in two steps; the stream is compacted.
		acks := core.AckRequest{Group: "g"}
		for _, d := range append(second, third...) {
			acks.IDs = append(acks.IDs, core.DeliveryID{Code: "a", ID: d.ID})
		}
		if err := s.Ack(ctx, acks); err != nil {
			t.Fatal(err)
		}
		s.mu.Lock()
		streamLen := len(s.stream)
		s.mu.Unlock()
		if streamLen != 2 {
			t.Errorf("stream holds %d entries after acking 8 of 10, want 2", streamLen)
		}
		rest := read("c", time.Minute)
		if diff := cmp.Diff(clicks[8:], clicksOf(rest)); diff != "" {
			t.Errorf("entries after compaction (-want +got):\n%s", diff)
		}
		// An ack naming the wrong code is ignored.
		_ = s.Ack(ctx, core.AckRequest{Group: "g", IDs: []core.DeliveryID{{Code: "b", ID: rest[0].ID}}})
		if st, _ := s.Stats(ctx, core.StatsRequest{Code: "a"}); st.Pending != 2 {
			t.Errorf("Pending = %d, want 2", st.Pending)
		}
	})
}

func clicksOf(ds []core.Delivery) []core.Click {
	out := make([]core.Click, len(ds))
	for i, d := range ds {
		out[i] = d.Click
	}
	return out
}

func TestShardIDsIncrease(t *testing.T) {
	s := NewClickShard()
	now := time.Now()
	for range 3 {
		_ = s.Record(t.Context(), []core.Click{{ID: "x", Code: "a", At: now}, {ID: "y", Code: "a", At: now}})
	}
	ds, _ := s.Read(t.Context(), core.ReadRequest{Group: "g", Consumer: "c", Count: 10})
	seen := map[string]bool{}
	for _, d := range ds {
		if seen[d.ID] {
			t.Errorf("id %q repeated", d.ID)
		}
		seen[d.ID] = true
	}
	if len(seen) != 6 {
		t.Errorf("%d distinct ids, want 6", len(seen))
	}
}

func TestShardStatsParts(t *testing.T) {
	ctx := t.Context()
	s := NewClickShard()
	now := time.Now().UTC()
	if err := s.Record(ctx, []core.Click{{ID: "1", Code: "c", Visitor: "v", At: now}, {ID: "2", Code: "c", Visitor: "w", At: now}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		parts                         core.StatsParts
		wantTotal, wantHour, wantPend int64
		wantSketch                    bool
	}{
		{0, 2, 2, 2, true},
		{core.StatsAll, 2, 2, 2, true},
		{core.StatsPending, 0, 0, 2, false},
		{core.StatsTotals, 2, 2, 0, false},
		{core.StatsVisitors, 0, 0, 0, true},
	}
	for _, tt := range tests {
		st, err := s.Stats(ctx, core.StatsRequest{Code: "c", Now: now, Hours: 1, Parts: tt.parts})
		if err != nil {
			t.Fatal(err)
		}
		if st.Total != tt.wantTotal || st.Hourly[0] != tt.wantHour || st.Pending != tt.wantPend || (st.Visitors != nil) != tt.wantSketch {
			t.Errorf("Stats(parts %b) = total %d, hour %d, pending %d, sketch %d bytes; want %d, %d, %d, sketch %v",
				tt.parts, st.Total, st.Hourly[0], st.Pending, len(st.Visitors), tt.wantTotal, tt.wantHour, tt.wantPend, tt.wantSketch)
		}
	}
}

func TestCacheWatchInvalidations(t *testing.T) {
	c := NewCache()
	ctx, cancel := context.WithCancel(t.Context())
	events, done := make(chan core.Invalidation, 4), make(chan error, 1)
	go func() {
		done <- c.WatchInvalidations(ctx, func(inv core.Invalidation) error {
			events <- inv
			return nil
		})
	}()
	if inv := <-events; !inv.Reset {
		t.Fatalf("first event = %+v, want a reset", inv)
	}
	if err := c.Set(ctx, []core.CacheEntry{{Key: "a", Value: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, []string{"b", "c"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]string{{"a"}, {"b", "c"}} {
		if inv := <-events; !slices.Equal(inv.Keys, want) {
			t.Errorf("event keys %q, want %q", inv.Keys, want)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("WatchInvalidations after cancel = %v, want context.Canceled", err)
	}
}

func TestShardBacklogBound(t *testing.T) {
	ctx := t.Context()
	s := NewClickShard()
	if err := s.Configure(ctx, []byte(`{"max_backlog": 3}`)); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	c := func(id string) core.Click { return core.Click{ID: id, Code: "abc", Visitor: "v", At: at} }
	if err := s.Record(ctx, []core.Click{c("1"), c("2")}); err != nil {
		t.Fatalf("Record 2 of 3: %v", err)
	}
	// Two more would pass the bound: the whole batch is refused.
	if err := s.Record(ctx, []core.Click{c("3"), c("4")}); !errors.Is(err, core.ErrUnavailable) {
		t.Fatalf("Record past the bound = %v, want core.ErrUnavailable", err)
	}
	// Stored clicks take no room in the stream and are still counted.
	stored := c("5")
	stored.Stored = true
	if err := s.Record(ctx, []core.Click{stored, stored}); err != nil {
		t.Fatalf("Record of stored clicks at the bound: %v", err)
	}
	st, err := s.Stats(ctx, core.StatsRequest{Code: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Total != 4 || st.Pending != 2 {
		t.Errorf("Stats(abc) total %d pending %d, want 4 and 2", st.Total, st.Pending)
	}
	whole, err := s.Stats(ctx, core.StatsRequest{Parts: core.StatsPending})
	if err != nil || whole.Pending != 2 {
		t.Errorf("Stats(whole backlog) = %d, %v; want 2", whole.Pending, err)
	}
	// Consuming makes room again.
	ds, err := s.Read(ctx, core.ReadRequest{Group: "g", Consumer: "c", Count: 10})
	if err != nil || len(ds) != 2 {
		t.Fatalf("Read = %d entries, %v; want the 2 streamed ones", len(ds), err)
	}
	ids := make([]core.DeliveryID, len(ds))
	for i, d := range ds {
		ids[i] = core.DeliveryID{Code: d.Click.Code, ID: d.ID}
	}
	if err := s.Ack(ctx, core.AckRequest{Group: "g", IDs: ids}); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, []core.Click{c("6"), c("7"), c("8")}); err != nil {
		t.Errorf("Record after the consumer caught up: %v", err)
	}
	for _, bad := range []string{`{"max_backlog": -1}`, `{"max_backlg": 5}`} {
		if err := s.Configure(ctx, []byte(bad)); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("Configure(%s) = %v, want core.ErrInvalid", bad, err)
		}
	}
}

func TestShardDelete(t *testing.T) {
	ctx := t.Context()
	s := NewClickShard()
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	if err := s.Record(ctx, []core.Click{
		{ID: "1", Code: "gone", Visitor: "a", At: at},
		{ID: "2", Code: "kept", Visitor: "b", At: at},
		{ID: "3", Code: "gone", Visitor: "c", At: at},
	}); err != nil {
		t.Fatal(err)
	}
	// One entry of the deleted code is pending in a group already.
	if _, err := s.Read(ctx, core.ReadRequest{Group: "g", Consumer: "c", Count: 1}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent
		if err := s.Delete(ctx, []string{"gone", "never-seen"}); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	st, _ := s.Stats(ctx, core.StatsRequest{Code: "gone", Hours: 1})
	if st.Total != 0 || st.Pending != 0 || st.Visitors != nil || st.Hourly[0] != 0 {
		t.Errorf("Stats(gone) after Delete = %+v, want zero figures", st)
	}
	ds, err := s.Read(ctx, core.ReadRequest{Group: "g", Consumer: "c", Count: 10})
	if err != nil || len(ds) != 1 || ds[0].Click.Code != "kept" {
		t.Errorf("Read after Delete = %+v, %v; want only the kept code's entry", ds, err)
	}
	whole, _ := s.Stats(ctx, core.StatsRequest{Parts: core.StatsPending})
	if whole.Pending != 1 {
		t.Errorf("backlog after Delete = %d, want 1", whole.Pending)
	}
}
