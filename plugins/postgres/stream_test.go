package postgres

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/curtainhq/curtain/core"
)

func readAll(t *testing.T, s *ClickShard, req core.ReadRequest) []core.Delivery {
	t.Helper()
	ds, err := s.Read(t.Context(), req)
	if err != nil {
		t.Fatalf("Read(%+v): %v", req, err)
	}
	return ds
}

func ackAll(t *testing.T, s *ClickShard, group string, ds []core.Delivery) {
	t.Helper()
	req := core.AckRequest{Group: group}
	for _, d := range ds {
		req.IDs = append(req.IDs, core.DeliveryID{Code: d.Click.Code, ID: d.ID})
	}
	if err := s.Ack(t.Context(), req); err != nil {
		t.Fatalf("Ack(%d entries): %v", len(ds), err)
	}
}

// clickIDs returns the click ids of deliveries, sorted.
func clickIDs(ds []core.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Click.ID
	}
	slices.Sort(out)
	return out
}

// TestSharedGroupDisjoint has two consumers, on two shard values (two
// processes), drain one group concurrently in small reads: together they
// get every entry exactly once.
func TestSharedGroupDisjoint(t *testing.T) {
	s := testSettings(t)
	shards := []*ClickShard{newTestShard(t, s), newTestShard(t, s)}
	clicks := batchOf("d", 300, 7, 50)
	if err := shards[0].Record(t.Context(), clicks); err != nil {
		t.Fatal(err)
	}
	got := make([][]core.Delivery, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			for {
				ds, err := shards[i].Read(t.Context(), core.ReadRequest{Group: "g", Consumer: fmt.Sprintf("c%d", i), Count: 7, MinIdle: time.Hour})
				if err != nil {
					t.Errorf("Read by c%d: %v", i, err)
					return
				}
				if len(ds) == 0 {
					return
				}
				got[i] = append(got[i], ds...)
			}
		})
	}
	wg.Wait()
	if len(got[0]) == 0 || len(got[1]) == 0 {
		t.Logf("one consumer got everything (%d and %d entries): the reads did not interleave", len(got[0]), len(got[1]))
	}
	if diff := cmp.Diff(clickIDs(deliveriesOf(clicks)), clickIDs(slices.Concat(got[0], got[1]))); diff != "" {
		t.Errorf("entries delivered to the group (-recorded +delivered):\n%s", diff)
	}
}

// deliveriesOf wraps clicks as deliveries, for comparing click ids.
func deliveriesOf(clicks []core.Click) []core.Delivery {
	out := make([]core.Delivery, len(clicks))
	for i, c := range clicks {
		out[i] = core.Delivery{Click: c}
	}
	return out
}

// TestStreamUnderConcurrentRecords reads a group while several writers
// record: the group's cursor must never pass an entry that a slower
// transaction commits later, so every entry arrives exactly once.
func TestStreamUnderConcurrentRecords(t *testing.T) {
	s := testSettings(t)
	writer, reader := newTestShard(t, s), newTestShard(t, s)
	const writers, batches, size = 4, 25, 4
	var recorded []core.Click
	var wg sync.WaitGroup
	for w := range writers {
		var mine [][]core.Click
		for b := range batches {
			batch := batchOf(fmt.Sprintf("w%db%d-", w, b), size, 3, 10)
			mine = append(mine, batch)
			recorded = append(recorded, batch...)
		}
		wg.Go(func() {
			for _, batch := range mine {
				if err := writer.Record(t.Context(), batch); err != nil {
					t.Errorf("Record: %v", err)
					return
				}
			}
		})
	}
	var (
		got     []core.Delivery
		gotMu   sync.Mutex
		readers sync.WaitGroup
	)
	done := make(chan struct{})
	for i := range 2 {
		var mine []core.Delivery
		readers.Go(func() {
			defer func() {
				gotMu.Lock()
				got = append(got, mine...)
				gotMu.Unlock()
			}()
			for {
				ds, err := reader.Read(t.Context(), core.ReadRequest{Group: "g", Consumer: fmt.Sprintf("r%d", i), Count: 5, Block: 100 * time.Millisecond, MinIdle: time.Hour})
				if err != nil {
					t.Errorf("Read: %v", err)
					return
				}
				mine = append(mine, ds...)
				if len(ds) == 0 {
					select {
					case <-done:
						return
					default:
					}
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	if diff := cmp.Diff(clickIDs(deliveriesOf(recorded)), clickIDs(got)); diff != "" {
		t.Errorf("entries delivered while recording (-recorded +delivered):\n%s", diff)
	}
}

// TestRedeliverToAnotherConsumer has a consumer that never acknowledges:
// another consumer of the group gets its entries once they have been idle
// for MinIdle, not before, and acknowledging them removes them for good.
func TestRedeliverToAnotherConsumer(t *testing.T) {
	s := testSettings(t)
	dead, live := newTestShard(t, s), newTestShard(t, s)
	clicks := batchOf("i", 5, 2, 5)
	if err := dead.Record(t.Context(), clicks); err != nil {
		t.Fatal(err)
	}
	const idle = 300 * time.Millisecond
	first := readAll(t, dead, core.ReadRequest{Group: "g", Consumer: "dead", Count: 10, MinIdle: idle})
	if len(first) != 5 {
		t.Fatalf("first Read = %d entries, want 5", len(first))
	}
	start := time.Now()
	if ds := readAll(t, live, core.ReadRequest{Group: "g", Consumer: "live", Count: 10, MinIdle: idle}); len(ds) != 0 {
		t.Fatalf("Read before MinIdle = %d entries, want 0", len(ds))
	}
	// A blocking read returns the entries once they are idle, without a
	// Record to wake it.
	claimed := readAll(t, live, core.ReadRequest{Group: "g", Consumer: "live", Count: 10, MinIdle: idle, Block: 5 * time.Second})
	if waited := time.Since(start); waited < idle/2 || waited > safetyPoll {
		t.Errorf("entries redelivered after %v, want soon after MinIdle %v", waited, idle)
	}
	if diff := cmp.Diff(first, claimed); diff != "" {
		t.Errorf("redelivered entries (-first delivery +redelivery):\n%s", diff)
	}
	raw := rawConn(t)
	if n := queryInt(t, raw, "SELECT count(*) FROM "+table(s.Schema, PendingTable)+" WHERE consumer = 'live'"); n != 5 {
		t.Errorf("pending rows owned by the new consumer = %d, want 5", n)
	}
	ackAll(t, live, "g", claimed)
	ackAll(t, dead, "g", first) // the late acknowledgement is harmless
	if ds := readAll(t, dead, core.ReadRequest{Group: "g", Consumer: "dead", Count: 10}); len(ds) != 0 {
		t.Errorf("Read after the acks = %d entries, want 0", len(ds))
	}
}

// TestAckRemovesEntries checks what Ack deletes: only entries pending in
// the group and named with their own code, from the stream and from every
// group's pending rows.
func TestAckRemovesEntries(t *testing.T) {
	s := testSettings(t)
	shard := newTestShard(t, s)
	raw := rawConn(t)
	if err := shard.Record(t.Context(), batchOf("a", 4, 1, 4)); err != nil {
		t.Fatal(err)
	}
	ds := readAll(t, shard, core.ReadRequest{Group: "g1", Consumer: "c", Count: 10})
	other := readAll(t, shard, core.ReadRequest{Group: "g2", Consumer: "c", Count: 10})
	if len(ds) != 4 || len(other) != 4 {
		t.Fatalf("Reads in two groups = %d and %d entries, want 4 each", len(ds), len(other))
	}
	count := func(tbl string) int64 { return queryInt(t, raw, "SELECT count(*) FROM "+table(s.Schema, tbl)) }

	// Not pending in the group, the wrong code, or not an entry id: no-ops.
	for _, req := range []core.AckRequest{
		{Group: "g3", IDs: []core.DeliveryID{{Code: ds[0].Click.Code, ID: ds[0].ID}}},
		{Group: "g1", IDs: []core.DeliveryID{{Code: "other", ID: ds[0].ID}}},
		{Group: "g1", IDs: []core.DeliveryID{{Code: ds[0].Click.Code, ID: "1-0"}, {Code: ds[0].Click.Code, ID: "-4"}}},
		{Group: "g1"},
	} {
		if err := shard.Ack(t.Context(), req); err != nil {
			t.Errorf("Ack(%+v): %v", req, err)
		}
	}
	if n := count(StreamTable); n != 4 {
		t.Fatalf("stream rows after no-op acks = %d, want 4", n)
	}

	ackAll(t, shard, "g1", ds[:3])
	if n := count(StreamTable); n != 1 {
		t.Errorf("stream rows after acking 3 = %d, want 1", n)
	}
	if n := count(PendingTable); n != 2 {
		t.Errorf("pending rows after acking 3 = %d, want 2 (the last entry in both groups)", n)
	}
	ackAll(t, shard, "g1", ds[:3]) // again: harmless
	// g2 had the acknowledged entries pending too: they are gone there.
	if got := readAll(t, shard, core.ReadRequest{Group: "g2", Consumer: "c2", Count: 10}); len(got) != 1 || got[0].ID != ds[3].ID {
		t.Errorf("claim in g2 after g1's acks = %v, want only %s", got, ds[3].ID)
	}
	ackAll(t, shard, "g2", other[3:])
	if n, m := count(StreamTable), count(PendingTable); n != 0 || m != 0 {
		t.Errorf("after acking everything: %d stream rows and %d pending rows, want none", n, m)
	}
}

// TestBlockingReadWakesAcrossProcesses blocks a Read on one shard value
// and records through another: the NOTIFY reaches the reader's LISTEN
// connection and wakes it well before its block time.
func TestBlockingReadWakesAcrossProcesses(t *testing.T) {
	s := testSettings(t)
	reader, writer := newTestShard(t, s), newTestShard(t, s)
	// Start listening, then drain.
	readAll(t, reader, core.ReadRequest{Group: "g", Consumer: "c", Count: 10, Block: 10 * time.Millisecond})
	type result struct {
		ds  []core.Delivery
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		ds, err := reader.Read(t.Context(), core.ReadRequest{Group: "g", Consumer: "c", Count: 10, Block: 20 * time.Second})
		done <- result{ds, err}
	}()
	time.Sleep(100 * time.Millisecond)
	want := batchOf("wake", 2, 1, 2)
	if err := writer.Record(t.Context(), want); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("blocking Read: %v", r.err)
		}
		if diff := cmp.Diff(want, clicksOf(r.ds)); diff != "" {
			t.Errorf("blocking Read (-want +got):\n%s", diff)
		}
		// Well under safetyPoll: the notification woke it.
		if took := time.Since(start); took > safetyPoll {
			t.Errorf("blocking Read returned after %v, want soon after the Record", took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("blocking Read did not return within 5s of a Record")
	}
}

// TestBlockingReadEndsWithClose checks that closing a shard ends its
// listening connection without hanging.
func TestBlockingReadEndsWithClose(t *testing.T) {
	s := testSettings(t)
	shard := newTestShard(t, s)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := shard.Read(ctx, core.ReadRequest{Group: "g", Consumer: "c", Count: 1, Block: time.Second}); err == nil {
		t.Log("blocking Read returned at its context's end without an error")
	}
	closed := make(chan error, 1)
	go func() { closed <- shard.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return within 5s")
	}
}
