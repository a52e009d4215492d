package bunstore

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCreateGroupSlots: many concurrent creates are each committed exactly
// once, by at most slots groups at a time, and with slots > 1 groups do
// commit concurrently; every slot is free again afterwards.
func TestCreateGroupSlots(t *testing.T) {
	for _, slots := range []int{0, 1, 3} {
		g := &createGroup{slots: slots}
		var inFlight, peak, groups atomic.Int64
		committed := make([]atomic.Int64, 400)
		commit := func(batch []*createReq) {
			n := inFlight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			groups.Add(1)
			time.Sleep(200 * time.Microsecond) // a commit's flush
			for _, r := range batch {
				committed[r.row.ID].Add(1)
				r.found = true
			}
			inFlight.Add(-1)
		}
		var wg sync.WaitGroup
		for i := range committed {
			wg.Go(func() {
				r := &createReq{row: urlRow{ID: int64(i)}}
				g.do(r, commit)
				if !r.found {
					t.Errorf("slots %d: request %d returned before its group committed", slots, i)
				}
			})
		}
		wg.Wait()
		for i := range committed {
			if n := committed[i].Load(); n != 1 {
				t.Errorf("slots %d: request %d committed %d times", slots, i, n)
			}
		}
		want := int64(max(slots, 1))
		if p := peak.Load(); p > want || (want > 1 && p < 2) {
			t.Errorf("slots %d: %d groups committed at once, want between 2 and %d", slots, p, want)
		}
		if g.active != 0 || len(g.pending) != 0 {
			t.Errorf("slots %d: afterwards %d slots held, %d pending; want none", slots, g.active, len(g.pending))
		}
		if n := groups.Load(); n >= int64(len(committed)) {
			t.Errorf("slots %d: %d groups for %d creates: no grouping", slots, n, len(committed))
		}
	}
}
