package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
)

var eventCases = []testCase{
	{"CreateAndGet", testCreateEvent},
	{"CreateUnknownReferences", testCreateEventReferences},
	{"GetMissing", func(t *testing.T, s core.Store) {
		_, err := s.GetEvent(t.Context(), 5)
		wantErr(t, "GetEvent(5)", err, core.ErrNotFound)
	}},
	{"List", testListEvents},
	{"Summarize", testSummarizeEvents},
	{"SummarizeLatestOrdering", testSummarizeLatest},
	{"SummaryExactOnEveryPath", testSummaryEveryPath},
}

var clickCases = []testCase{
	{"InsertIsIdempotent", testInsertClicks},
	{"DetailsAndFields", testClickDetails},
	{"DetailsRecordTheRule", testClickRuleDetails},
	{"DropsClicksOfMissingURLs", testClicksMissingURL},
	{"ManyChunks", testClicksChunks},
	{"Empty", func(t *testing.T, s core.Store) {
		n, err := s.InsertClicks(t.Context(), nil)
		must(t, "InsertClicks(nil)", err)
		if n != 0 {
			t.Errorf("InsertClicks(nil) = %d, want 0", n)
		}
	}},
}

func testCreateEvent(t *testing.T, s core.Store) {
	ctx := t.Context()
	owner := newUser(t, s, "alice")
	u := newURL(t, s, "ev0001", &owner.ID)
	e := core.Event{
		URLID: &u.ID, UserID: &owner.ID, EventType: core.EventClick,
		Timestamp: at(6, 1, 2, 3, 456789), Details: `{"ref": "héllo ✓", "n": [1, 2]}`,
	}
	must(t, "CreateEvent", s.CreateEvent(ctx, &e))
	if e.ID != 1 {
		t.Errorf("event id = %d, want 1", e.ID)
	}
	got, err := s.GetEvent(ctx, e.ID)
	must(t, "GetEvent", err)
	diff(t, "GetEvent", e, got)

	// Details are stored as given, even when they are not JSON; no URL, no user.
	loose := core.Event{EventType: "custom-type", Timestamp: at(6, 0, 0, 0, 0), Details: "not json"}
	must(t, "CreateEvent", s.CreateEvent(ctx, &loose))
	got, err = s.GetEvent(ctx, loose.ID)
	must(t, "GetEvent", err)
	diff(t, "GetEvent of a loose event", loose, got)

	// A zero timestamp is set to now.
	before := core.Now()
	now := core.Event{URLID: &u.ID, EventType: core.EventClick, Details: "{}"}
	must(t, "CreateEvent", s.CreateEvent(ctx, &now))
	if now.Timestamp.Before(before) || now.Timestamp.Location() != time.UTC {
		t.Errorf("Timestamp = %v, want now in UTC", now.Timestamp)
	}
}

func testCreateEventReferences(t *testing.T, s core.Store) {
	ctx := t.Context()
	u := newURL(t, s, "ev0001", nil)
	tests := []struct {
		name string
		e    core.Event
	}{
		{"unknown url", core.Event{URLID: ptr[int64](99), EventType: core.EventClick, Details: "{}"}},
		{"unknown user", core.Event{URLID: &u.ID, UserID: ptr[int64](99), EventType: core.EventClick, Details: "{}"}},
	}
	for _, tt := range tests {
		err := s.CreateEvent(ctx, &tt.e)
		wantErr(t, "CreateEvent with "+tt.name, err, core.ErrReference)
	}
	events, err := s.ListEvents(ctx, core.EventFilter{})
	must(t, "ListEvents", err)
	if len(events) != 0 {
		t.Errorf("%d events after failed creates, want 0", len(events))
	}
}

func testListEvents(t *testing.T, s core.Store) {
	ctx := t.Context()
	a := newUser(t, s, "alice")
	b := newUser(t, s, "bob")
	u1 := newURL(t, s, "lst001", nil)
	u2 := newURL(t, s, "lst002", nil)
	ts := at(7, 0, 0, 0, 0)
	newEvent(t, s, u1.ID, &a.ID, core.EventClick, ts)    // 1
	newEvent(t, s, u1.ID, &b.ID, core.EventClick, ts)    // 2
	newEvent(t, s, u2.ID, &a.ID, core.EventUpdated, ts)  // 3
	newEvent(t, s, u1.ID, nil, core.EventRedirect, ts)   // 4
	newEvent(t, s, u2.ID, &a.ID, core.EventClick, ts)    // 5
	newEvent(t, s, u1.ID, &a.ID, core.EventUpdated, ts)  // 6
	newEvent(t, s, u1.ID, &a.ID, core.EventRedirect, ts) // 7
	tests := []struct {
		f    core.EventFilter
		want []int64
	}{
		{core.EventFilter{}, []int64{1, 2, 3, 4, 5, 6, 7}},
		{core.EventFilter{URLID: &u1.ID}, []int64{1, 2, 4, 6, 7}},
		{core.EventFilter{UserID: &a.ID}, []int64{1, 3, 5, 6, 7}},
		{core.EventFilter{EventType: ptr(core.EventClick)}, []int64{1, 2, 5}},
		{core.EventFilter{URLID: &u1.ID, UserID: &a.ID}, []int64{1, 6, 7}},
		{core.EventFilter{URLID: &u1.ID, UserID: &a.ID, EventType: ptr(core.EventRedirect)}, []int64{7}},
		{core.EventFilter{URLID: &u2.ID, EventType: ptr(core.EventRedirect)}, []int64{}},
		{core.EventFilter{URLID: ptr[int64](99)}, []int64{}},
	}
	for _, tt := range tests {
		events, err := s.ListEvents(ctx, tt.f)
		must(t, "ListEvents", err)
		diff(t, fmt.Sprintf("ListEvents(url %v, user %v, type %v)", deref(tt.f.URLID), deref(tt.f.UserID), deref(tt.f.EventType)), tt.want, append([]int64{}, eventIDs(events)...))
	}
}

func testSummarizeEvents(t *testing.T, s core.Store) {
	ctx := t.Context()
	u := newURL(t, s, "sum001", nil)
	other := newURL(t, s, "sum002", nil)
	empty, err := s.SummarizeEvents(ctx, u.ID)
	must(t, "SummarizeEvents", err)
	diff(t, "summary of no events", core.EventSummary{Counts: map[string]int64{}}, empty)

	newEvent(t, s, u.ID, nil, core.EventCreated, at(1, 0, 0, 0, 0))
	newEvent(t, s, u.ID, nil, core.EventRedirect, at(8, 9, 0, 0, 0))
	newEvent(t, s, u.ID, nil, core.EventRedirect, at(8, 7, 0, 0, 0))
	newEvent(t, s, u.ID, nil, core.EventClick, at(3, 0, 0, 0, 0))
	newEvent(t, s, other.ID, nil, core.EventClick, at(20, 0, 0, 0, 0))
	_, err = s.InsertClicks(ctx, []core.ClickEvent{{Click: core.Click{ID: "k1", Code: "sum001", At: at(8, 8, 0, 0, 0), URLID: u.ID}}})
	must(t, "InsertClicks", err)

	got, err := s.SummarizeEvents(ctx, u.ID)
	must(t, "SummarizeEvents", err)
	want := core.EventSummary{
		Total:  5,
		Counts: map[string]int64{core.EventCreated: 1, core.EventRedirect: 3, core.EventClick: 1},
		Latest: ptr(at(8, 9, 0, 0, 0)),
	}
	diff(t, "summary", want, got)
	if got.Latest.Location() != time.UTC {
		t.Errorf("Latest location = %v, want UTC", got.Latest.Location())
	}
}

func testSummarizeLatest(t *testing.T, s core.Store) {
	ctx := t.Context()
	// Times whose text forms sort differently from their values unless the
	// store keeps them in a fixed-width form.
	tests := []struct {
		name  string
		times []time.Time
		want  time.Time
	}{
		{"fraction beats whole second", []time.Time{at(9, 10, 0, 0, 0), at(9, 10, 0, 0, 500000), at(9, 9, 59, 59, 999999)}, at(9, 10, 0, 0, 500000)},
		{"one microsecond apart", []time.Time{at(9, 10, 0, 0, 2), at(9, 10, 0, 0, 10), at(9, 10, 0, 0, 9)}, at(9, 10, 0, 0, 10)},
		{"whole second after fraction", []time.Time{at(9, 10, 0, 0, 999999), at(9, 10, 0, 1, 0)}, at(9, 10, 0, 1, 0)},
		{"ties", []time.Time{at(9, 10, 0, 0, 0), at(9, 10, 0, 0, 0)}, at(9, 10, 0, 0, 0)},
		{"years apart", []time.Time{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), at(9, 23, 0, 0, 0)}, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for i, tt := range tests {
		u := newURL(t, s, fmt.Sprintf("lat%03d", i), nil)
		for j, ts := range tt.times {
			newEvent(t, s, u.ID, nil, fmt.Sprint("type", j%2), ts)
		}
		got, err := s.SummarizeEvents(ctx, u.ID)
		must(t, "SummarizeEvents", err)
		if got.Latest == nil || !got.Latest.Equal(tt.want) {
			t.Errorf("%s: Latest = %v, want %v", tt.name, got.Latest, tt.want)
		}
		if got.Total != int64(len(tt.times)) {
			t.Errorf("%s: Total = %d, want %d", tt.name, got.Total, len(tt.times))
		}
	}
}

// click returns a click event for url with id and code.
func click(id, code string, url int64, shard string, ts time.Time) core.ClickEvent {
	return core.ClickEvent{Click: core.Click{ID: id, Code: code, Visitor: "10.0.0.1", At: ts, URLID: url}, Shard: shard}
}

func testInsertClicks(t *testing.T, s core.Store) {
	ctx := t.Context()
	u := newURL(t, s, "clk001", nil)
	batch := []core.ClickEvent{
		click("a", "clk001", u.ID, "shard0", at(10, 0, 0, 0, 1)),
		click("b", "clk001", u.ID, "shard0", at(10, 0, 0, 0, 2)),
		click("c", "clk001", u.ID, "shard1", at(10, 0, 0, 0, 3)),
	}
	n, err := s.InsertClicks(ctx, batch)
	must(t, "InsertClicks", err)
	if n != 3 {
		t.Errorf("InsertClicks = %d, want 3", n)
	}
	n, err = s.InsertClicks(ctx, batch)
	must(t, "InsertClicks replay", err)
	if n != 0 {
		t.Errorf("InsertClicks replay = %d, want 0", n)
	}
	// Partly new, with a click repeated inside the batch.
	more := append(batch[1:], click("d", "clk001", u.ID, "shard1", at(10, 0, 0, 0, 4)), click("d", "clk001", u.ID, "shard1", at(10, 0, 0, 0, 4)))
	n, err = s.InsertClicks(ctx, more)
	must(t, "InsertClicks overlap", err)
	if n != 1 {
		t.Errorf("InsertClicks with one new click = %d, want 1", n)
	}
	events, err := s.ListEvents(ctx, core.EventFilter{URLID: &u.ID, EventType: ptr(core.EventRedirect)})
	must(t, "ListEvents", err)
	var ids []string
	for _, e := range events {
		ids = append(ids, e.ClickID)
	}
	diff(t, "stored click ids", []string{"a", "b", "c", "d"}, ids)

	// Large batches, which PostgreSQL copies: replayed, partly new, and
	// with the clicks of a link deleted meanwhile.
	w := newURL(t, s, "clk002", nil)
	large := func(from, n int) []core.ClickEvent {
		var b []core.ClickEvent
		for i := from; i < from+n; i++ {
			url, code := u.ID, "clk001"
			if i%2 == 1 {
				url, code = w.ID, "clk002"
			}
			b = append(b, click(fmt.Sprintf("L%05d", i), code, url, "shard0", at(11, 0, 0, 0, i)))
		}
		return b
	}
	for _, tc := range []struct {
		name  string
		batch []core.ClickEvent
		want  int
	}{
		{"new", large(0, 1500), 1500},
		{"replayed", large(0, 1500), 0},
		{"half new", large(750, 1500), 750},
	} {
		n, err := s.InsertClicks(ctx, tc.batch)
		must(t, "InsertClicks large "+tc.name, err)
		if n != tc.want {
			t.Errorf("InsertClicks of a large batch, %s = %d, want %d", tc.name, n, tc.want)
		}
	}
	must(t, "DeleteURL", s.DeleteURL(ctx, w.ID))
	n, err = s.InsertClicks(ctx, large(2250, 1500))
	must(t, "InsertClicks large, one link deleted", err)
	if n != 750 {
		t.Errorf("InsertClicks of a large batch, half of it for a deleted link = %d, want the other 750", n)
	}
	n, err = s.InsertClicks(ctx, large(3750, 10))
	must(t, "InsertClicks small, one link deleted", err)
	if n != 5 {
		t.Errorf("InsertClicks of a small batch, half of it for a deleted link = %d, want the other 5", n)
	}
	wantSummaries(t, s, "after the large batches", u.ID)
}

func testClickDetails(t *testing.T, s core.Store) {
	ctx := t.Context()
	owner := newUser(t, s, "alice")
	u := newURL(t, s, "clk001", &owner.ID)
	ts := time.Date(2026, 11, 24, 21, 5, 6, 789012345, time.FixedZone("x", -3600))
	_, err := s.InsertClicks(ctx, []core.ClickEvent{
		click("stream-1", "clk001", u.ID, "shard1", ts),
		{Click: core.Click{ID: "direct-1", Code: "clk001", Visitor: `1.2.3.4, "<x>"`, At: at(10, 0, 0, 0, 0), URLID: u.ID}},
	})
	must(t, "InsertClicks", err)
	events, err := s.ListEvents(ctx, core.EventFilter{URLID: &u.ID})
	must(t, "ListEvents", err)
	if len(events) != 2 {
		t.Fatalf("ListEvents = %d events, want 2", len(events))
	}
	// Stores may keep a batch in time order: the direct click is older.
	if events[0].ClickID != "stream-1" {
		events[0], events[1] = events[1], events[0]
	}
	want := core.Event{
		ID: events[0].ID, URLID: &u.ID, EventType: core.EventRedirect,
		Timestamp: time.Date(2026, 11, 24, 22, 5, 6, 789012000, time.UTC),
		ClickID:   "stream-1",
	}
	got := events[0]
	var details map[string]string
	if err := json.Unmarshal([]byte(got.Details), &details); err != nil {
		t.Fatalf("details %q are not a JSON object of strings: %v", got.Details, err)
	}
	diff(t, "stream click details", map[string]string{"ip": "10.0.0.1", "shard": "shard1", "short_code": "clk001", "source": "stream"}, details)
	got.Details = ""
	diff(t, "stream click event", want, got)

	if err := json.Unmarshal([]byte(events[1].Details), &details); err != nil {
		t.Fatalf("details %q are not a JSON object of strings: %v", events[1].Details, err)
	}
	diff(t, "direct click details", map[string]string{"ip": `1.2.3.4, "<x>"`, "shard": "", "short_code": "clk001", "source": "direct"}, details)
	if events[1].UserID != nil {
		t.Errorf("click event user = %v, want nil", *events[1].UserID)
	}
}

func testClicksMissingURL(t *testing.T, s core.Store) {
	ctx := t.Context()
	u := newURL(t, s, "clk001", nil)
	gone := newURL(t, s, "clk002", nil)
	must(t, "DeleteURL", s.DeleteURL(ctx, gone.ID))
	n, err := s.InsertClicks(ctx, []core.ClickEvent{
		click("a", "clk001", u.ID, "shard0", at(10, 0, 0, 0, 0)),
		click("b", "clk002", gone.ID, "shard0", at(10, 0, 0, 0, 0)),
		click("c", "never", 999, "shard0", at(10, 0, 0, 0, 0)),
	})
	must(t, "InsertClicks with clicks of missing URLs", err)
	if n != 1 {
		t.Errorf("InsertClicks = %d, want 1 (two URLs are missing)", n)
	}
	n, err = s.InsertClicks(ctx, []core.ClickEvent{click("b", "clk002", gone.ID, "", at(10, 0, 0, 0, 0))})
	must(t, "InsertClicks of only missing URLs", err)
	if n != 0 {
		t.Errorf("InsertClicks = %d, want 0", n)
	}
}

func testClicksChunks(t *testing.T, s core.Store) {
	ctx := t.Context()
	u := newURL(t, s, "clk001", nil)
	v := newURL(t, s, "clk002", nil)
	var batch []core.ClickEvent
	for i := range 1234 {
		url, code := u.ID, "clk001"
		if i%3 == 0 {
			url, code = v.ID, "clk002"
		}
		batch = append(batch, click(fmt.Sprint("id-", i), code, url, "shard0", at(11, 0, 0, 0, i)))
	}
	n, err := s.InsertClicks(ctx, batch)
	must(t, "InsertClicks", err)
	if n != len(batch) {
		t.Errorf("InsertClicks = %d, want %d", n, len(batch))
	}
	n, err = s.InsertClicks(ctx, batch)
	must(t, "InsertClicks replay", err)
	if n != 0 {
		t.Errorf("InsertClicks replay = %d, want 0", n)
	}
	sum, err := s.SummarizeEvents(ctx, v.ID)
	must(t, "SummarizeEvents", err)
	if sum.Total != 412 || !sum.Latest.Equal(at(11, 0, 0, 0, 1233)) {
		t.Errorf("summary of url %d = total %d latest %v, want 412 and %v", v.ID, sum.Total, sum.Latest, at(11, 0, 0, 0, 1233))
	}
}

// wantSummaries fails t unless SummarizeEvents of each URL equals the
// summary computed from the URL's listed events.
func wantSummaries(t *testing.T, s core.Store, when string, urlIDs ...int64) {
	t.Helper()
	for _, id := range urlIDs {
		events, err := s.ListEvents(t.Context(), core.EventFilter{URLID: &id})
		must(t, "ListEvents", err)
		want := core.EventSummary{Counts: map[string]int64{}}
		for _, e := range events {
			want.Total++
			want.Counts[e.EventType]++
			if want.Latest == nil || e.Timestamp.After(*want.Latest) {
				want.Latest = ptr(e.Timestamp)
			}
		}
		got, err := s.SummarizeEvents(t.Context(), id)
		must(t, "SummarizeEvents", err)
		diff(t, fmt.Sprintf("summary of url %d %s", id, when), want, got)
	}
}

func testSummaryEveryPath(t *testing.T, s core.Store) {
	ctx := t.Context()
	owner := newUser(t, s, "alice")
	u := core.URL{UserID: &owner.ID, ShortCode: "sum001", OriginalURL: "https://example.com/s", IsActive: true}
	created := core.Event{UserID: &owner.ID, EventType: core.EventCreated, Timestamp: at(1, 0, 0, 0, 0), Details: "{}"}
	must(t, "CreateURL", s.CreateURL(ctx, &u, &created))
	other := newURL(t, s, "sum002", nil)
	wantSummaries(t, s, "after CreateURL", u.ID, other.ID)

	u.IsActive = false
	updated := core.Event{URLID: &u.ID, EventType: core.EventUpdated, Timestamp: at(2, 0, 0, 0, 0), Details: "{}"}
	must(t, "UpdateURL", s.UpdateURL(ctx, u, &updated))
	newEvent(t, s, u.ID, &owner.ID, core.EventClick, at(3, 0, 0, 0, 0))
	newEvent(t, s, other.ID, nil, "custom", at(1, 0, 0, 0, 0))
	wantSummaries(t, s, "after UpdateURL and CreateEvent", u.ID, other.ID)

	// Clicks over several chunks, replayed, with repeats inside a batch and
	// a click of a URL that does not exist.
	var clicks []core.ClickEvent
	for i := range 1203 {
		url := u.ID
		if i%3 == 0 {
			url = other.ID
		}
		clicks = append(clicks, click(fmt.Sprint("c", i), "sum", url, "shard0", at(4, 0, 0, i%60, i)))
	}
	clicks = append(clicks, clicks[7], click("gone", "gone", other.ID+1000, "", at(5, 0, 0, 0, 0)))
	n, err := s.InsertClicks(ctx, clicks)
	must(t, "InsertClicks", err)
	if n != 1203 {
		t.Errorf("InsertClicks = %d, want 1203", n)
	}
	wantSummaries(t, s, "after InsertClicks", u.ID, other.ID, other.ID+1000)
	n, err = s.InsertClicks(ctx, append(clicks[100:200:200], click("late", "sum", u.ID, "", at(28, 0, 0, 0, 0))))
	must(t, "InsertClicks replay", err)
	if n != 1 {
		t.Errorf("InsertClicks replay = %d, want 1", n)
	}
	wantSummaries(t, s, "after a replay", u.ID, other.ID)

	// Import, twice: the second inserts nothing and counts nothing.
	batch := core.Import{
		URLs: []core.URL{{ID: 9001, ShortCode: "imp001", OriginalURL: "https://example.com/i", IsActive: true,
			CreatedAt: at(1, 0, 0, 0, 0), UpdatedAt: at(1, 0, 0, 0, 0)}},
		Events: []core.Event{
			{ID: 90001, URLID: ptr(int64(9001)), EventType: core.EventCreated, Timestamp: at(1, 0, 0, 0, 0), Details: "{}"},
			{ID: 90002, URLID: ptr(int64(9001)), EventType: core.EventRedirect, Timestamp: at(2, 0, 0, 0, 0), Details: "{}"},
			{ID: 90003, URLID: &u.ID, EventType: core.EventRedirect, Timestamp: at(29, 0, 0, 0, 0), Details: "{}"},
		},
	}
	for range 2 {
		_, err := s.Import(ctx, batch)
		must(t, "Import", err)
		wantSummaries(t, s, "after Import", u.ID, other.ID, 9001)
	}

	// Deleting the owner leaves the counts; deleting a URL removes them.
	must(t, "DeleteUser", s.DeleteUser(ctx, owner.ID))
	wantSummaries(t, s, "after DeleteUser", u.ID)
	must(t, "DeleteURL", s.DeleteURL(ctx, u.ID))
	wantSummaries(t, s, "after DeleteURL", u.ID, other.ID, 9001)
}

// testClickRuleDetails: a click a link's rule sent on records the rule and
// the target it chose in its event's details (an A/B test's split is read
// from them), between the reference's members in key order; a click no
// rule matched keeps the reference's four members.
func testClickRuleDetails(t *testing.T, s core.Store) {
	ctx := t.Context()
	u := newURL(t, s, "clk003", nil)
	ruled := click("ruled", "clk003", u.ID, "shard0", at(10, 0, 0, 0, 0))
	ruled.Rule, ruled.Target = "variant-b", "https://b.example/?x=1&y=2"
	_, err := s.InsertClicks(ctx, []core.ClickEvent{ruled, click("plain", "clk003", u.ID, "shard0", at(10, 0, 0, 1, 0))})
	must(t, "InsertClicks", err)
	events, err := s.ListEvents(ctx, core.EventFilter{URLID: &u.ID})
	must(t, "ListEvents", err)
	got := map[string]string{}
	for _, e := range events {
		got[e.ClickID] = e.Details
	}
	var details map[string]string
	if err := json.Unmarshal([]byte(got["ruled"]), &details); err != nil {
		t.Fatalf("details %q are not a JSON object of strings: %v", got["ruled"], err)
	}
	diff(t, "details of a click a rule sent on", map[string]string{"ip": "10.0.0.1", "rule": "variant-b", "shard": "shard0",
		"short_code": "clk003", "source": "stream", "target": "https://b.example/?x=1&y=2"}, details)
	if want := `{"ip":"10.0.0.1","shard":"shard0","short_code":"clk003","source":"stream"}`; got["plain"] != want {
		t.Errorf("details of a click without a rule = %s, want %s", got["plain"], want)
	}
}
