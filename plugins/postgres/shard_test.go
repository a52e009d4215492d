package postgres

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/hll"
)

// baseHour is the current hour, which the tests' clicks and windows end at.
var baseHour = time.Now().UTC().Truncate(time.Hour)

// batchOf returns n clicks spread over codes codes, visitors distinct
// visitors and three hours back from baseHour.
func batchOf(prefix string, n, codes, visitors int) []core.Click {
	out := make([]core.Click, n)
	for i := range out {
		out[i] = core.Click{
			ID:      fmt.Sprintf("%s-click-%d", prefix, i),
			Code:    fmt.Sprintf("%s%02d", prefix, i%codes),
			Visitor: fmt.Sprintf("10.0.%d.%d", i%visitors/256, i%visitors%256),
			At:      baseHour.Add(-time.Duration(i%3)*time.Hour + time.Duration(i)*time.Millisecond),
		}
	}
	return out
}

// TestRecordOneTransaction records 1,000 clicks and checks that every row
// they wrote, in every table, was written by one transaction, and that
// the figures add up.
func TestRecordOneTransaction(t *testing.T) {
	s := testSettings(t)
	shard := newTestShard(t, s)
	raw := rawConn(t)
	clicks := batchOf("tx", 1000, 10, 300)
	start := time.Now()
	if err := shard.Record(t.Context(), clicks); err != nil {
		t.Fatalf("Record(1000 clicks): %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Record(1000 clicks) took %v", took)
	}
	for _, tbl := range []string{TotalsTable, HourlyTable, VisitorsTable, StreamTable} {
		if n := queryInt(t, raw, "SELECT count(DISTINCT xmin::text) FROM "+table(s.Schema, tbl)); n != 1 {
			t.Errorf("rows of %s written by %d transactions, want 1", tbl, n)
		}
	}
	xids := queryInt(t, raw, fmt.Sprintf(`SELECT count(DISTINCT x) FROM (
		SELECT xmin::text AS x FROM %s UNION ALL SELECT xmin::text FROM %s
		UNION ALL SELECT xmin::text FROM %s UNION ALL SELECT xmin::text FROM %s) u`,
		table(s.Schema, TotalsTable), table(s.Schema, HourlyTable), table(s.Schema, VisitorsTable), table(s.Schema, StreamTable)))
	if xids != 1 {
		t.Errorf("the batch's rows come from %d transactions, want 1", xids)
	}
	if n := queryInt(t, raw, "SELECT count(*) FROM "+table(s.Schema, StreamTable)); n != 1000 {
		t.Errorf("stream rows = %d, want 1000", n)
	}
	if n := queryInt(t, raw, "SELECT sum(total) FROM "+table(s.Schema, TotalsTable)); n != 1000 {
		t.Errorf("sum of totals = %d, want 1000", n)
	}

	// Per code: 100 clicks, spread over three hours as batchOf does, and
	// exactly the registers PFADD would build.
	code := "tx03"
	var want []core.Click
	for _, c := range clicks {
		if c.Code == code {
			want = append(want, c)
		}
	}
	st, err := shard.Stats(t.Context(), core.StatsRequest{Code: code, Now: baseHour, Hours: 4})
	if err != nil {
		t.Fatal(err)
	}
	wantHourly := make([]int64, 4)
	sketch := hll.New()
	for _, c := range want {
		wantHourly[int(baseHour.Sub(c.At.Truncate(time.Hour))/time.Hour)]++
		sketch.Add([]byte(c.Visitor))
	}
	if st.Total != 100 || st.Pending != 100 {
		t.Errorf("Stats(%q) Total %d Pending %d, want 100 and 100", code, st.Total, st.Pending)
	}
	if diff := cmp.Diff(wantHourly, st.Hourly); diff != "" {
		t.Errorf("Stats(%q).Hourly (-want +got):\n%s", code, diff)
	}
	if !bytes.Equal(st.Visitors, sketch) {
		t.Errorf("Stats(%q).Visitors differ from the sketch of its visitors", code)
	}
	// Stream entries keep the batch's order and the clicks exactly.
	ds, err := shard.Read(t.Context(), core.ReadRequest{Group: "g", Consumer: "c", Count: 2000})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(clicks, clicksOf(ds)); diff != "" {
		t.Errorf("stream entries (-recorded +read):\n%s", diff)
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

func TestRecordInvalid(t *testing.T) {
	s := testSettings(t)
	shard := newTestShard(t, s)
	raw := rawConn(t)
	now := time.Now()
	tests := []struct {
		name  string
		batch []core.Click
	}{
		{"empty code", []core.Click{{ID: "a", Code: "ok", At: now}, {ID: "b", At: now}}},
		{"no time", []core.Click{{ID: "a", Code: "ok", At: now}, {ID: "b", Code: "ok"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := shard.Record(t.Context(), tt.batch); !errors.Is(err, core.ErrInvalid) {
				t.Errorf("Record(%s) error = %v, want core.ErrInvalid", tt.name, err)
			}
		})
	}
	for _, tbl := range []string{TotalsTable, HourlyTable, VisitorsTable, StreamTable} {
		if n := queryInt(t, raw, "SELECT count(*) FROM "+table(s.Schema, tbl)); n != 0 {
			t.Errorf("%s has %d rows after rejected batches, want 0", tbl, n)
		}
	}
	if _, err := shard.Stats(t.Context(), core.StatsRequest{Code: "ok", Hours: -1}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Stats(Hours -1) error = %v, want core.ErrInvalid", err)
	}
}

// TestHourlyExpiry ages buckets past their lifetime: Stats ignores them at
// once, a new click in an expired bucket starts it again from zero, and
// pruning deletes what is still expired.
func TestHourlyExpiry(t *testing.T) {
	s := testSettings(t)
	shard := newTestShard(t, s)
	raw := rawConn(t)
	ctx := t.Context()
	code := "exp"
	old, recent := baseHour.Add(-5*time.Hour), baseHour.Add(-time.Hour)
	clicks := []core.Click{
		{ID: "1", Code: code, Visitor: "a", At: old},
		{ID: "2", Code: code, Visitor: "a", At: old},
		{ID: "3", Code: code, Visitor: "a", At: recent},
	}
	if err := shard.Record(ctx, clicks); err != nil {
		t.Fatal(err)
	}
	stats := func() []int64 {
		t.Helper()
		st, err := shard.Stats(ctx, core.StatsRequest{Code: code, Now: baseHour, Hours: 6})
		if err != nil {
			t.Fatal(err)
		}
		return st.Hourly
	}
	if diff := cmp.Diff([]int64{0, 1, 0, 0, 0, 2}, stats()); diff != "" {
		t.Errorf("Hourly before expiry (-want +got):\n%s", diff)
	}
	// The bucket of old was last clicked more than core.BucketTTL ago.
	if _, err := raw.Exec(ctx, "UPDATE "+table(s.Schema, HourlyTable)+" SET expires_at = now() - interval '1 second' WHERE hour = $1", old); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{0, 1, 0, 0, 0, 0}, stats()); diff != "" {
		t.Errorf("Hourly after expiry (-want +got):\n%s", diff)
	}
	if err := shard.Record(ctx, clicks[:1]); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{0, 1, 0, 0, 0, 1}, stats()); diff != "" {
		t.Errorf("Hourly after a click in an expired bucket (-want +got):\n%s", diff)
	}
	// Each click pushed its bucket's expiry to core.BucketTTL from then.
	var left time.Duration
	if err := raw.QueryRow(ctx, "SELECT expires_at - now() FROM "+table(s.Schema, HourlyTable)+" WHERE hour = $1", old).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left < core.BucketTTL-time.Minute || left > core.BucketTTL {
		t.Errorf("bucket expires in %v, want about %v", left, core.BucketTTL)
	}

	if _, err := raw.Exec(ctx, "UPDATE "+table(s.Schema, HourlyTable)+" SET expires_at = now() - interval '1 second' WHERE hour = $1", recent); err != nil {
		t.Fatal(err)
	}
	cn, l, err := shard.b.conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := prune(ctx, cn, l); err != nil {
		t.Fatalf("prune: %v", err)
	}
	if n := queryInt(t, raw, "SELECT count(*) FROM "+table(s.Schema, HourlyTable)); n != 1 {
		t.Errorf("hourly rows after pruning = %d, want 1 (the live bucket)", n)
	}
	if st, err := shard.Stats(ctx, core.StatsRequest{Code: code, Now: baseHour, Hours: 6}); err != nil || st.Total != 4 {
		t.Errorf("Stats after pruning = %+v, %v; want Total 4 (the total never expires)", st, err)
	}
}

// TestConcurrentRecord records overlapping batches (same codes, same
// hours, same visitors, in different orders) from several goroutines and
// two shard values: no batch fails, and the figures are exactly those of
// all the clicks.
func TestConcurrentRecord(t *testing.T) {
	s := testSettings(t)
	shards := []*ClickShard{newTestShard(t, s), newTestShard(t, s)}
	const workers, batches, size = 4, 10, 50
	var all []core.Click
	var wg sync.WaitGroup
	for w := range workers {
		var mine [][]core.Click
		for b := range batches {
			batch := batchOf(fmt.Sprintf("w%db%d", w, b), size, 5, 40)
			for i := range batch {
				// Same codes for everyone, in an order that differs per
				// worker.
				batch[i].Code = fmt.Sprintf("cc%d", (i*(w+1))%5)
			}
			mine = append(mine, batch)
			all = append(all, batch...)
		}
		wg.Go(func() {
			for _, batch := range mine {
				if err := shards[w%2].Record(t.Context(), batch); err != nil {
					t.Errorf("Record: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	for code := range 5 {
		code := fmt.Sprintf("cc%d", code)
		var total int64
		sketch := hll.New()
		hourly := make([]int64, 3)
		for _, c := range all {
			if c.Code == code {
				total++
				sketch.Add([]byte(c.Visitor))
				hourly[int(baseHour.Sub(c.At.Truncate(time.Hour))/time.Hour)]++
			}
		}
		st, err := shards[0].Stats(t.Context(), core.StatsRequest{Code: code, Now: baseHour, Hours: 3})
		if err != nil {
			t.Fatal(err)
		}
		if st.Total != total || st.Pending != total {
			t.Errorf("Stats(%q) Total %d Pending %d, want %d", code, st.Total, st.Pending, total)
		}
		if diff := cmp.Diff(hourly, st.Hourly); diff != "" {
			t.Errorf("Stats(%q).Hourly (-want +got):\n%s", code, diff)
		}
		if !bytes.Equal(st.Visitors, sketch) {
			t.Errorf("Stats(%q).Visitors differ from the sketch of its visitors", code)
		}
	}
}

// TestConcurrentSetup configures several shards and counters on one new
// schema at once, as processes starting together would.
func TestConcurrentSetup(t *testing.T) {
	s := testSettings(t)
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				c := NewClickShardPlugin()
				err = c.Configure(t.Context(), settingsJSONFor(t, s))
				defer c.Close()
			} else {
				c := NewCounterPlugin()
				err = c.Configure(t.Context(), settingsJSONFor(t, s))
				defer c.Close()
			}
			if err != nil {
				t.Errorf("Configure %d: %v", i, err)
			}
		})
	}
	wg.Wait()
}

func TestStatsParts(t *testing.T) {
	shard := newTestShard(t, testSettings(t))
	ctx := t.Context()
	at := baseHour.Add(-time.Hour)
	if err := shard.Record(ctx, []core.Click{{ID: "1", Code: "prt", Visitor: "a", At: at}, {ID: "2", Code: "prt", Visitor: "b", At: at}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		parts core.StatsParts
		want  core.ShardStats
		// sketch says whether Visitors must be present.
		sketch bool
	}{
		{0, core.ShardStats{Total: 2, Hourly: []int64{0, 2}, Pending: 2, PendingLatest: at}, true},
		{core.StatsPending, core.ShardStats{Hourly: []int64{0, 0}, Pending: 2, PendingLatest: at}, false},
		{core.StatsTotals, core.ShardStats{Total: 2, Hourly: []int64{0, 2}}, false},
		{core.StatsVisitors, core.ShardStats{Hourly: []int64{0, 0}}, true},
	}
	for _, tt := range tests {
		got, err := shard.Stats(ctx, core.StatsRequest{Code: "prt", Now: baseHour, Hours: 2, Parts: tt.parts})
		if err != nil {
			t.Fatal(err)
		}
		if (got.Visitors != nil) != tt.sketch {
			t.Errorf("Stats(parts %b) sketch = %d bytes, want present %v", tt.parts, len(got.Visitors), tt.sketch)
		}
		got.Visitors = nil
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Stats(parts %b) (-want +got):\n%s", tt.parts, diff)
		}
	}
}

// TestShardDurableAndBacklog: on a server with fsync and
// synchronous_commit on (the test server), the shard is durable, and
// Stats for the empty code counts its whole backlog.
func TestShardDurableAndBacklog(t *testing.T) {
	s := newTestShard(t, testSettings(t))
	if !s.Durable() {
		t.Error("Durable() = false on a server with fsync and synchronous_commit on")
	}
	clicks := batchOf("bk", 5, 2, 2)
	clicks[0].Stored = true
	if err := s.Record(t.Context(), clicks); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats(t.Context(), core.StatsRequest{Parts: core.StatsPending})
	if err != nil || st.Pending != 4 {
		t.Errorf("whole backlog = %d, %v; want 4 (one of 5 clicks was stored by the host)", st.Pending, err)
	}
}
