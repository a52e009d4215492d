package apptest_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/curtainhq/curtain/core"
)

// TestRetentionKeepsTotals checks on both stores that pruning deletes the
// old visitor events in batches, keeps link history and recent events, and
// leaves GET /urls/{id}/analytics exactly as it was.
func TestRetentionKeepsTotals(t *testing.T) {
	eachStore(t, func(t *testing.T, open storeFactory) {
		e := newEnv(t, open, envConfig{noCache: true})
		now := time.Now().UTC().Truncate(time.Second)
		old := now.Add(-40 * 24 * time.Hour)
		u := e.url("keep01", "https://example.com/keep", nil, true)
		other := e.url("keep02", "https://example.com/other", nil, true)
		e.event(u.ID, nil, core.EventCreated, old, `{"short_code": "keep01"}`)
		for i := range 5 {
			e.event(u.ID, nil, core.EventRedirect, old.Add(time.Duration(i)*time.Minute), `{"ip": "203.0.113.7"}`)
		}
		e.event(u.ID, nil, core.EventClick, old, `{}`)
		e.event(u.ID, nil, core.EventRedirect, now.Add(-time.Hour), `{"ip": "203.0.113.8"}`)
		e.event(u.ID, nil, core.EventRedirect, now.Add(-time.Minute), `{"ip": "203.0.113.9"}`)
		// Another link whose every event is old: its counts must
		// survive having no events left.
		for range 3 {
			e.event(other.ID, nil, core.EventRedirect, old, `{}`)
		}

		analytics := func(id int64) map[string]any {
			t.Helper()
			r := e.get(fmt.Sprintf("/urls/%d/analytics", id))
			var m map[string]any
			if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
				t.Fatalf("analytics: %v %s", err, r.Body)
			}
			return m
		}
		before, beforeOther := analytics(u.ID), analytics(other.ID)
		if before["redirect_count"] != float64(7) || before["total_events"] != float64(9) {
			t.Fatalf("analytics before = %v", before)
		}

		pruner, ok := e.store.(core.EventPruner)
		if !ok {
			t.Fatalf("%T does not implement core.EventPruner", e.store)
		}
		n, err := core.PruneOnce(t.Context(), pruner, now.Add(-30*24*time.Hour), 2)
		if err != nil || n != 9 {
			t.Fatalf("PruneOnce = %d, %v; want the 9 old redirect and click events", n, err)
		}
		if n, err := core.PruneOnce(t.Context(), pruner, now.Add(-30*24*time.Hour), 2); err != nil || n != 0 {
			t.Errorf("second PruneOnce = %d, %v; want 0", n, err)
		}

		if diff := cmp.Diff(before, analytics(u.ID)); diff != "" {
			t.Errorf("analytics changed by retention (-before +after):\n%s", diff)
		}
		if diff := cmp.Diff(beforeOther, analytics(other.ID)); diff != "" {
			t.Errorf("analytics of the link with only old events changed (-before +after):\n%s", diff)
		}
		var types []string
		for _, ev := range e.events(u.ID) {
			types = append(types, ev.EventType)
		}
		if diff := cmp.Diff([]string{"created", "redirect", "redirect"}, types); diff != "" {
			t.Errorf("events left (-want +got):\n%s", diff)
		}
		if len(e.events(other.ID)) != 0 {
			t.Errorf("old events of keep02 left")
		}
		// A new redirect still counts on top of the kept totals.
		e.get("/r/keep01")
		if got := analytics(u.ID)["redirect_count"]; got != float64(8) {
			t.Errorf("redirect_count after one more redirect = %v, want 8", got)
		}
	})
}
