package storetest

import (
	"testing"

	"github.com/uptrace/bun"

	"github.com/curtainhq/curtain/core"
)

// EventCountTriggers checks, below the store, that the database keeps the
// analytics counts exact when events are deleted by plain SQL and refuses
// to move an event to another URL, type or time in place. db is the
// store's own database.
func EventCountTriggers(t *testing.T, s core.Store, db *bun.DB) {
	ctx := t.Context()
	u := newURL(t, s, "trg001", nil)
	first := newEvent(t, s, u.ID, nil, core.EventRedirect, at(1, 0, 0, 0, 0))
	newEvent(t, s, u.ID, nil, core.EventRedirect, at(3, 0, 0, 0, 0))
	last := newEvent(t, s, u.ID, nil, core.EventRedirect, at(5, 0, 0, 0, 0))
	newEvent(t, s, u.ID, nil, core.EventClick, at(2, 0, 0, 0, 0))
	wantSummaries(t, s, "after four events", u.ID)

	for _, id := range []int64{last.ID, first.ID} {
		if _, err := db.NewRaw("DELETE FROM events WHERE id = ?", id).Exec(ctx); err != nil {
			t.Fatalf("delete event %d: %v", id, err)
		}
		wantSummaries(t, s, "after a plain DELETE", u.ID)
	}
	if _, err := db.NewRaw("DELETE FROM events WHERE event_type = 'click'").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	wantSummaries(t, s, "after the last click went", u.ID)
	got, err := s.SummarizeEvents(ctx, u.ID)
	must(t, "SummarizeEvents", err)
	if _, ok := got.Counts[core.EventClick]; ok || got.Total != 1 {
		t.Errorf("summary after deletes = %+v, want one redirect and no click entry", got)
	}

	for _, set := range []string{"event_type = 'click'", "url_id = NULL", `"timestamp" = '2030-01-01 00:00:00'`} {
		if _, err := db.NewRaw("UPDATE events SET "+set+" WHERE url_id = ?", u.ID).Exec(ctx); err == nil {
			t.Errorf("UPDATE events SET %s succeeded; the counts would drift", set)
		}
	}
	if _, err := db.NewRaw("UPDATE events SET user_id = NULL, details = '{}' WHERE url_id = ?", u.ID).Exec(ctx); err != nil {
		t.Errorf("UPDATE of user_id and details: %v", err)
	}
	wantSummaries(t, s, "after updates", u.ID)
}
