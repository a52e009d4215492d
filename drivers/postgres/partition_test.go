package postgres

import (
	"slices"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/drivers/bunstore"
)

// partitionsOf lists the partitions of events, sorted.
func partitionsOf(t *testing.T, s *bunstore.Store) []string {
	t.Helper()
	var parts []string
	if err := s.DB().NewRaw(`SELECT c.relname FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
WHERE i.inhparent = 'events'::regclass ORDER BY c.relname`).Scan(t.Context(), &parts); err != nil {
		t.Fatalf("list partitions: %v", err)
	}
	return parts
}

// partitionOfClick names the partition that holds the event of a click.
func partitionOfClick(t *testing.T, s *bunstore.Store, clickID string) string {
	t.Helper()
	var part string
	if err := s.DB().NewRaw(`SELECT tableoid::regclass::text FROM events WHERE click_id = ?`, clickID).Scan(t.Context(), &part); err != nil {
		t.Fatalf("partition of click %s: %v", clickID, err)
	}
	return part
}

// monthPartition names the partition of the month m months after now's.
func monthPartition(m int) string {
	now := time.Now().UTC()
	return "events_" + time.Date(now.Year(), now.Month()+time.Month(m), 1, 0, 0, 0, 0, time.UTC).Format("2006_01")
}

// TestEventsPartitionedByMonth: a fresh database partitions events by
// month, with the current month and three ahead created and a default
// partition; clicks land in their month's partition, replays insert
// nothing, the analytics aggregates count every event, and partitions
// added later take over their month's events from the default partition
// without changing any count.
func TestEventsPartitionedByMonth(t *testing.T) {
	s := openFresh(t)
	ctx := t.Context()
	want := []string{"events_default"}
	for m := range bunstore.PartitionsAhead + 1 {
		want = append(want, monthPartition(m))
	}
	slices.Sort(want)
	if got := partitionsOf(t, s); !slices.Equal(got, want) {
		t.Fatalf("partitions of a fresh database = %v, want %v", got, want)
	}

	u := core.URL{ShortCode: "0000p1", OriginalURL: "https://example.com/p", IsActive: true}
	created := core.Event{EventType: core.EventCreated, Details: "{}"}
	if err := s.CreateURL(ctx, &u, &created); err != nil {
		t.Fatalf("CreateURL: %v", err)
	}
	now := time.Now().UTC()
	month := func(m int) time.Time {
		return time.Date(now.Year(), now.Month()+time.Month(m), 15, 12, 0, 0, 0, time.UTC)
	}
	clicks := []core.ClickEvent{
		{Click: core.Click{ID: "now", Code: u.ShortCode, At: now, URLID: u.ID}},
		{Click: core.Click{ID: "ahead2", Code: u.ShortCode, At: month(2), URLID: u.ID}},
		{Click: core.Click{ID: "old", Code: u.ShortCode, At: time.Date(2020, 3, 1, 0, 0, 0, 0, time.UTC), URLID: u.ID}},
		{Click: core.Click{ID: "ahead6", Code: u.ShortCode, At: month(6), URLID: u.ID}},
	}
	if n, err := s.InsertClicks(ctx, clicks); err != nil || n != 4 {
		t.Fatalf("InsertClicks = %d, %v; want 4", n, err)
	}
	if n, err := s.InsertClicks(ctx, clicks); err != nil || n != 0 {
		t.Errorf("InsertClicks replayed = %d, %v; want 0 (idempotent by click id)", n, err)
	}
	for id, part := range map[string]string{"now": monthPartition(0), "ahead2": monthPartition(2), "old": "events_default", "ahead6": "events_default"} {
		if got := partitionOfClick(t, s, id); got != part {
			t.Errorf("click %s is in %s, want %s", id, got, part)
		}
	}
	check := func(when string) {
		t.Helper()
		sum, err := s.SummarizeEvents(ctx, u.ID)
		if err != nil || sum.Total != 5 || sum.Counts["redirect"] != 4 || sum.Counts["created"] != 1 || sum.Latest == nil || !sum.Latest.Equal(month(6)) {
			t.Errorf("SummarizeEvents %s = %+v, %v; want 5 events, 4 redirects, latest %v", when, sum, err, month(6))
		}
		evs, err := s.ListEvents(ctx, core.EventFilter{URLID: &u.ID})
		if err != nil || len(evs) != 5 {
			t.Errorf("ListEvents %s = %d events, %v; want 5", when, len(evs), err)
		}
	}
	check("after the clicks")

	// Partitions up to six months ahead: the sixth month's click moves
	// out of the default partition.
	made, err := s.AddEventPartitions(ctx, 6)
	if err != nil || made != 6-bunstore.PartitionsAhead {
		t.Fatalf("AddEventPartitions(6) = %d, %v; want %d", made, err, 6-bunstore.PartitionsAhead)
	}
	if got := partitionOfClick(t, s, "ahead6"); got != monthPartition(6) {
		t.Errorf("click ahead6 is in %s after its partition was added, want %s", got, monthPartition(6))
	}
	check("after the partitions were added")
	if n, err := s.InsertClicks(ctx, clicks[3:]); err != nil || n != 0 {
		t.Errorf("InsertClicks of the moved click again = %d, %v; want 0", n, err)
	}
	if made, err := s.AddEventPartitions(ctx, 6); err != nil || made != 0 {
		t.Errorf("AddEventPartitions(6) again = %d, %v; want 0", made, err)
	}
	// Deleting the URL's events through the parent keeps the counts.
	if _, err := s.DB().ExecContext(ctx, `DELETE FROM events WHERE click_id = 'old'`); err != nil {
		t.Fatal(err)
	}
	if sum, err := s.SummarizeEvents(ctx, u.ID); err != nil || sum.Total != 4 {
		t.Errorf("SummarizeEvents after deleting one event = %+v, %v; want 4", sum, err)
	}
}

// TestAdoptedEventsStayUnpartitioned: a reference database adopted with
// its events keeps its plain events table; the store and
// AddEventPartitions work on it.
func TestAdoptedEventsStayUnpartitioned(t *testing.T) {
	ctx := t.Context()
	dsn, raw := referenceDatabase(t)
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	var kind string
	if err := raw.QueryRowContext(ctx, `SELECT relkind::text FROM pg_class WHERE oid = 'events'::regclass`).Scan(&kind); err != nil || kind != "r" {
		t.Errorf("relkind of the adopted events = %q, %v; want r (a plain table)", kind, err)
	}
	if made, err := s.AddEventPartitions(ctx, 3); err != nil || made != 0 {
		t.Errorf("AddEventPartitions on the adopted database = %d, %v; want 0, nil", made, err)
	}
	// The reference's explicit ids left its sequence behind (spec §4.9);
	// the paths that create rows resynchronise it, InsertClicks does not.
	if _, err := raw.ExecContext(ctx, `SELECT setval('events_id_seq', 10)`); err != nil {
		t.Fatal(err)
	}
	click := []core.ClickEvent{{Click: core.Click{ID: "k1", Code: "d5DnL5", At: time.Now(), URLID: 1}}}
	for i, want := range []int{1, 0} {
		if n, err := s.InsertClicks(ctx, click); err != nil || n != want {
			t.Errorf("InsertClicks #%d on the adopted database = %d, %v; want %d", i+1, n, err, want)
		}
	}
	if sum, err := s.SummarizeEvents(ctx, 1); err != nil || sum.Total != 2 || sum.Counts["redirect"] != 1 {
		t.Errorf("SummarizeEvents = %+v, %v; want 2 events, 1 redirect", sum, err)
	}
}
