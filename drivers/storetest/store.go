package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/seed"
)

var counterCases = []testCase{
	{"ReserveAndFloor", testReserveCodes},
	{"FloorFollowsURLs", testCodeFloorURLs},
	{"ConcurrentReservationsAreDisjoint", testConcurrentReserve},
}

var importCases = []testCase{
	{"InsertsSkipsAndMovesSequences", testImport},
	{"RejectsRowsWithoutID", testImportNoID},
	{"ReferenceSeed", testImportSeed},
}

var storeCases = []testCase{
	{"Reset", testReset},
	{"PingAndClose", testPingClose},
}

func testReserveCodes(t *testing.T, s core.Store) {
	ctx := t.Context()
	wantFloor(t, s, 0, "of an empty store")
	steps := []struct {
		n         int64
		wantFirst int64
		wantFloor int64
	}{
		{10, 1, 10},
		{5, 11, 15},
		{1, 16, 16},
	}
	for _, st := range steps {
		first, err := s.ReserveCodes(ctx, st.n)
		must(t, "ReserveCodes", err)
		if first != st.wantFirst {
			t.Errorf("ReserveCodes(%d) = %d, want %d", st.n, first, st.wantFirst)
		}
		wantFloor(t, s, st.wantFloor, fmt.Sprintf("after ReserveCodes(%d)", st.n))
	}
	for _, n := range []int64{0, -3} {
		_, err := s.ReserveCodes(ctx, n)
		wantErr(t, fmt.Sprintf("ReserveCodes(%d)", n), err, core.ErrInvalid)
	}
}

func testCodeFloorURLs(t *testing.T, s core.Store) {
	ctx := t.Context()
	newURL(t, s, "flr001", nil)
	wantFloor(t, s, 1, "with URL id 1")
	_, err := s.Import(ctx, core.Import{URLs: []core.URL{{ID: 100, ShortCode: "flr100", OriginalURL: "https://x.test/", IsActive: true, CreatedAt: at(1, 0, 0, 0, 0), UpdatedAt: at(1, 0, 0, 0, 0)}}})
	must(t, "Import", err)
	wantFloor(t, s, 100, "with URL id 100")
	first, err := s.ReserveCodes(ctx, 3)
	must(t, "ReserveCodes", err)
	if first != 101 {
		t.Errorf("ReserveCodes(3) above URL id 100 = %d, want 101", first)
	}
	// The counter stays ahead of URLs created below it.
	_, err = s.Import(ctx, core.Import{URLs: []core.URL{{ID: 102, ShortCode: "flr102", OriginalURL: "https://x.test/", IsActive: true, CreatedAt: at(1, 0, 0, 0, 0), UpdatedAt: at(1, 0, 0, 0, 0)}}})
	must(t, "Import", err)
	wantFloor(t, s, 103, "with counter 103 and URL id 102")
	first, err = s.ReserveCodes(ctx, 1)
	must(t, "ReserveCodes", err)
	if first != 104 {
		t.Errorf("ReserveCodes(1) = %d, want 104", first)
	}
}

func testConcurrentReserve(t *testing.T, s core.Store) {
	ctx := t.Context()
	const workers, each, size = 4, 5, 3
	var (
		mu     sync.Mutex
		firsts []int64
		wg     sync.WaitGroup
		errs   = make(chan error, workers*each)
	)
	for range workers {
		wg.Go(func() {
			for range each {
				first, err := s.ReserveCodes(ctx, size)
				errs <- err
				mu.Lock()
				firsts = append(firsts, first)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, "concurrent ReserveCodes", err)
	}
	slices.Sort(firsts)
	var want []int64
	for i := range workers * each {
		want = append(want, int64(1+i*size))
	}
	diff(t, "reserved blocks", want, firsts)
}

func testImport(t *testing.T, s core.Store) {
	ctx := t.Context()
	ts := at(12, 1, 2, 3, 0)
	batch := core.Import{
		Users: []core.User{
			{ID: 2, Username: "two", Email: "dup@example.com", CreatedAt: ts},
			{ID: 7, Username: "seven", Email: "dup@example.com", CreatedAt: ts},
		},
		URLs: []core.URL{
			{ID: 3, UserID: ptr[int64](7), ShortCode: "imp003", OriginalURL: "https://x.test/3", Title: ptr(""), IsActive: false, CreatedAt: ts, UpdatedAt: ts.Add(time.Hour)},
			{ID: 9, ShortCode: "imp009", OriginalURL: "https://x.test/9", IsActive: true, CreatedAt: ts, UpdatedAt: ts},
		},
		Events: []core.Event{
			{ID: 4, URLID: ptr[int64](3), UserID: ptr[int64](7), EventType: core.EventCreated, Timestamp: ts, Details: `{"a":1}`},
			{ID: 11, URLID: ptr[int64](9), EventType: "deleted", Timestamp: ts, Details: `{"reason":"expired"}`},
		},
	}
	counts, err := s.Import(ctx, batch)
	must(t, "Import", err)
	diff(t, "Import counts", core.ImportCounts{Users: 2, URLs: 2, Events: 2}, counts)

	users, urls, events := contents(t, s)
	diff(t, "imported users", batch.Users, users)
	diff(t, "imported urls", batch.URLs, urls)
	diff(t, "imported events", batch.Events, events)

	counts, err = s.Import(ctx, batch)
	must(t, "Import again", err)
	diff(t, "second Import counts", core.ImportCounts{}, counts)

	// Partly new rows: only the new ids are inserted; existing rows keep
	// their values.
	changed := batch.Users[0]
	changed.Username = "changed"
	counts, err = s.Import(ctx, core.Import{Users: []core.User{changed, {ID: 8, Username: "eight", Email: "e@example.com", CreatedAt: ts}}})
	must(t, "Import overlap", err)
	diff(t, "overlapping Import counts", core.ImportCounts{Users: 1}, counts)
	two, err := s.GetUser(ctx, 2)
	must(t, "GetUser(2)", err)
	diff(t, "user 2 after overlapping import", batch.Users[0], two)

	// Generated ids continue after the highest imported ones.
	if u := newUser(t, s, "next"); u.ID != 9 {
		t.Errorf("CreateUser after import got id %d, want 9", u.ID)
	}
	if u := newURL(t, s, "imp010", nil); u.ID != 10 {
		t.Errorf("CreateURL after import got id %d, want 10", u.ID)
	}
	if e := newEvent(t, s, 3, nil, core.EventClick, ts); e.ID != 12 {
		t.Errorf("CreateEvent after import got id %d, want 12", e.ID)
	}

	// An import that references a missing row fails whole.
	_, err = s.Import(ctx, core.Import{
		Users: []core.User{{ID: 50, Username: "fifty", Email: "f@example.com", CreatedAt: ts}},
		URLs:  []core.URL{{ID: 51, UserID: ptr[int64](404), ShortCode: "imp051", OriginalURL: "https://x.test/", CreatedAt: ts, UpdatedAt: ts}},
	})
	wantErr(t, "Import with a missing owner", err, core.ErrReference)
	_, err = s.GetUser(ctx, 50)
	wantErr(t, "GetUser of a rolled-back import", err, core.ErrNotFound)
}

func testImportNoID(t *testing.T, s core.Store) {
	ctx := t.Context()
	ts := at(1, 0, 0, 0, 0)
	tests := []struct {
		name  string
		batch core.Import
	}{
		{"user", core.Import{Users: []core.User{{Username: "x", Email: "x@example.com", CreatedAt: ts}}}},
		{"url", core.Import{URLs: []core.URL{{ShortCode: "x", OriginalURL: "https://x.test/", CreatedAt: ts, UpdatedAt: ts}}}},
		{"event", core.Import{Events: []core.Event{{EventType: "x", Timestamp: ts, Details: "{}"}}}},
	}
	for _, tt := range tests {
		_, err := s.Import(ctx, tt.batch)
		wantErr(t, "Import of a "+tt.name+" without id", err, core.ErrInvalid)
	}
}

func testImportSeed(t *testing.T, s core.Store) {
	ctx := t.Context()
	dir := seedDir()
	if dir == "" {
		t.Skipf("reference seed directory shared/seed-data not found above the working directory (set %s to point at it)", SeedDirEnv)
	}
	batch, err := seed.LoadDir(dir)
	must(t, "seed.LoadDir", err)
	start := time.Now()
	counts, err := s.Import(ctx, batch)
	must(t, "Import", err)
	t.Logf("imported the reference seed in %v", time.Since(start))
	diff(t, "seed Import counts", core.ImportCounts{Users: 400, URLs: 2000, Events: 3422}, counts)

	counts, err = s.Import(ctx, batch)
	must(t, "Import again", err)
	diff(t, "second seed Import counts", core.ImportCounts{}, counts)

	users, urls, events := contents(t, s)
	if len(users) != 400 || len(urls) != 2000 || len(events) != 3422 {
		t.Errorf("stored %d users, %d urls, %d events, want 400, 2000, 3422", len(users), len(urls), len(events))
	}
	first, err := s.GetURLByCode(ctx, "d5DnL5")
	must(t, "GetURLByCode(d5DnL5)", err)
	diff(t, "seed URL 1", batch.URLs[0], first)
	owned, err := s.ListURLs(ctx, core.URLFilter{UserID: ptr[int64](300)})
	must(t, "ListURLs(user 300)", err)
	if len(owned) != 5 {
		t.Errorf("user 300 owns %d urls, want 5", len(owned))
	}
	taken, err := s.EmailTaken(ctx, "embercanyon83@example.com")
	must(t, "EmailTaken", err)
	if !taken {
		t.Errorf("EmailTaken(embercanyon83@example.com) = false, want true")
	}
	wantFloor(t, s, 2000, "after seeding")

	if u := newUser(t, s, "newcomer"); u.ID != 401 {
		t.Errorf("CreateUser after seeding got id %d, want 401", u.ID)
	}
	if u := newURL(t, s, "0000wi", nil); u.ID != 2001 {
		t.Errorf("CreateURL after seeding got id %d, want 2001", u.ID)
	}
	if e := newEvent(t, s, 1, nil, core.EventClick, at(1, 0, 0, 0, 0)); e.ID != 3423 {
		t.Errorf("CreateEvent after seeding got id %d, want 3423", e.ID)
	}
}

func testReset(t *testing.T, s core.Store) {
	ctx := t.Context()
	owner := newUser(t, s, "alice")
	u := newURL(t, s, "rst001", &owner.ID)
	newEvent(t, s, u.ID, nil, core.EventClick, at(1, 0, 0, 0, 0))
	_, err := s.InsertClicks(ctx, []core.ClickEvent{click("r1", "rst001", u.ID, "", at(1, 0, 0, 0, 0))})
	must(t, "InsertClicks", err)
	_, err = s.ReserveCodes(ctx, 50)
	must(t, "ReserveCodes", err)

	must(t, "Reset", s.Reset(ctx))

	users, urls, events := contents(t, s)
	if len(users)+len(urls)+len(events) != 0 {
		t.Errorf("after Reset: %d users, %d urls, %d events, want none", len(users), len(urls), len(events))
	}
	wantFloor(t, s, 0, "after Reset")
	if got := newUser(t, s, "again"); got.ID != 1 {
		t.Errorf("first user after Reset got id %d, want 1", got.ID)
	}
	again := newURL(t, s, "rst001", nil)
	n, err := s.InsertClicks(ctx, []core.ClickEvent{click("r1", "rst001", again.ID, "", at(1, 0, 0, 0, 0))})
	must(t, "InsertClicks", err)
	if again.ID != 1 || n != 1 {
		t.Errorf("after Reset: URL id %d, click inserted %d, want 1 and 1", again.ID, n)
	}
}

func testPingClose(t *testing.T, s core.Store) {
	ctx := t.Context()
	must(t, "Ping", s.Ping(ctx))
	must(t, "Close", s.Close())
	if err := s.Ping(ctx); err == nil {
		t.Errorf("Ping after Close = nil, want an error")
	}
}
