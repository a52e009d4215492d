package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/curtainhq/curtain/core"
)

// Cases of issue 15: races and limits that must not corrupt data or turn
// into server errors.
var raceCases = []testCase{
	{"ParallelCreatesOfOneURLShareOneLink", testParallelCreateOrFind},
	{"ReuseEndsWithDeactivation", testReuseAfterDeactivate},
	{"RaiseCodeFloor", testRaiseCodeFloor},
	{"DeleteUserRacingCreateURL", testDeleteUserRace},
	{"ExplicitIDsLeaveTheSequenceRoom", testExplicitIDBound},
	{"GroupedCreatesFailAlone", testGroupedCreatesFailAlone},
	{"ReuseIsScopedByAPIKey", testReuseScopedByKey},
	{"GroupedCreatesFindLinksToReuse", testGroupedCreatesFind},
	{"GroupedCreatesStoreEveryField", testGroupedCreatesStoreFields},
	{"OverlappingClickBatchesAtOnce", testOverlappingClickBatches},
}

// testOverlappingClickBatches: two consumers inserting the same clicks at
// once, in opposite orders (a click recorded on two shards when a slow
// shard failed over, or a batch claimed back while its first reader still
// stores it), both succeed, and each click is stored once. Batches of
// 200 and of 1500 clicks take both of PostgreSQL's insert paths (arrays,
// COPY).
func testOverlappingClickBatches(t *testing.T, s core.Store) {
	ctx := t.Context()
	u := newURL(t, s, "ovl001", nil)
	v := newURL(t, s, "ovl002", nil)
	const rounds = 4
	var total int
	for _, size := range []int{200, 1500} {
		for r := range rounds {
			var batch []core.ClickEvent
			for i := range size {
				url, code := u.ID, "ovl001"
				if i%2 == 0 {
					url, code = v.ID, "ovl002"
				}
				batch = append(batch, click(fmt.Sprintf("ovl-%d-%d-%04d", size, r, i), code, url, "shard0", at(11, 0, 0, 0, total+i)))
			}
			total += size
			reversed := slices.Clone(batch)
			slices.Reverse(reversed)
			var wg sync.WaitGroup
			var stored [2]int
			var errs [2]error
			for k, b := range [][]core.ClickEvent{batch, reversed} {
				wg.Go(func() { stored[k], errs[k] = s.InsertClicks(ctx, b) })
			}
			wg.Wait()
			for k, err := range errs {
				if err != nil {
					t.Fatalf("batches of %d, round %d: InsertClicks %d: %v", size, r, k, err)
				}
			}
			if stored[0]+stored[1] != size {
				t.Fatalf("batches of %d, round %d: the two inserts stored %d and %d clicks, want %d in all", size, r, stored[0], stored[1], size)
			}
		}
	}
	wantSummaries(t, s, "after the overlapping batches", u.ID, v.ID)
	sum, err := s.SummarizeEvents(ctx, u.ID)
	must(t, "SummarizeEvents", err)
	if sum.Total != int64(total/2) {
		t.Errorf("summary of url %d = total %d, want %d", u.ID, sum.Total, total/2)
	}
}

// testGroupedCreatesStoreFields: concurrent creates of links with and
// without an owner, title and tags store each link and created event as
// given, NULLs included.
func testGroupedCreatesStoreFields(t *testing.T, s core.Store) {
	ctx := t.Context()
	owner := newUser(t, s, "grouped")
	const n = 12
	urls, found, errs := createConcurrently(ctx, s, n, func(i int) core.URL {
		u := core.URL{ShortCode: fmt.Sprintf("gf%04d", i), OriginalURL: fmt.Sprintf("https://fields.test/%d", i), IsActive: true,
			CreatedAt: at(5, 10, 0, i, 0), UpdatedAt: at(5, 10, 0, i, 0)}
		if i%2 == 0 {
			u.UserID, u.Title, u.Tags = &owner.ID, ptr(fmt.Sprint("Title ", i)), []string{"alpha", fmt.Sprint("t", i)}
		}
		return u
	})
	for i := range n {
		must(t, "CreateOrFindURL", errs[i])
		if found[i] {
			t.Fatalf("create %d found a link; each URL is new", i)
		}
		got, err := s.GetURL(ctx, urls[i].ID)
		must(t, "GetURL", err)
		want := urls[i]
		want.KeyID = 0
		diff(t, fmt.Sprintf("link %d", i), want, got)
	}
	_, _, events := contents(t, s)
	created := map[int64]int{}
	for _, e := range events {
		if e.EventType == core.EventCreated && e.URLID != nil {
			created[*e.URLID]++
		}
	}
	for i, u := range urls {
		if created[u.ID] != 1 {
			t.Errorf("link %d has %d created events, want 1", i, created[u.ID])
		}
	}
}

// testGroupedCreatesFind: concurrent creates, some of links that exist
// without a reuse key (CreateURL), some of links one key owns, some new,
// each get the link FindActiveURL finds (the lowest id, same key) or one
// new link per URL and key, with one created event per new link only.
func testGroupedCreatesFind(t *testing.T, s core.Store) {
	ks, ok := s.(core.KeyStore)
	if !ok {
		t.Skip("the store keeps no API keys")
	}
	ctx := t.Context()
	k := core.APIKey{Name: "g", Hash: fmt.Sprintf("%064d", 7), Scopes: []string{core.ScopeWrite}, CreatedAt: core.Now()}
	must(t, "CreateAPIKey", ks.CreateAPIKey(ctx, &k))
	const x, y, z = "https://x.test/", "https://y.test/", "https://z.test/"
	first := core.URL{ShortCode: "gx0001", OriginalURL: x, IsActive: true}
	must(t, "CreateURL", s.CreateURL(ctx, &first, nil))
	second := core.URL{ShortCode: "gx0002", OriginalURL: x, IsActive: true}
	must(t, "CreateURL", s.CreateURL(ctx, &second, nil))
	owned := core.URL{ShortCode: "gy0001", OriginalURL: y, IsActive: true, KeyID: k.ID}
	if found, err := s.CreateOrFindURL(ctx, &owned, nil); err != nil || found {
		t.Fatalf("create owned link = found %v, %v", found, err)
	}
	_, _, before := contents(t, s)
	type want struct {
		original string
		key      int64
		id       int64 // 0: one new link for all such creates
	}
	cases := []want{{x, 0, first.ID}, {x, k.ID, 0}, {y, k.ID, owned.ID}, {y, 0, 0}, {z, 0, 0}}
	const n = 40
	urls, found, errs := createConcurrently(ctx, s, n, func(i int) core.URL {
		c := cases[i%len(cases)]
		return core.URL{ShortCode: fmt.Sprintf("grp%03d", i), OriginalURL: c.original, IsActive: true, KeyID: c.key}
	})
	newLinks := map[want]int64{}
	created := 0
	for i := range n {
		must(t, "CreateOrFindURL", errs[i])
		c := cases[i%len(cases)]
		if !found[i] {
			created++
		}
		if c.id != 0 {
			if !found[i] || urls[i].ID != c.id {
				t.Errorf("create %d of %s by key %d = link %d (found %v), want link %d found", i, c.original, c.key, urls[i].ID, found[i], c.id)
			}
			continue
		}
		if id, seen := newLinks[c]; seen && id != urls[i].ID {
			t.Errorf("%s by key %d got links %d and %d", c.original, c.key, id, urls[i].ID)
		}
		newLinks[c] = urls[i].ID
	}
	_, _, after := contents(t, s)
	if created != 3 || len(newLinks) != 3 || len(after)-len(before) != 3 {
		t.Errorf("%d creates: %d created, %d new links, %d new events; want 3 of each", n, created, len(newLinks), len(after)-len(before))
	}
	if got, err := ks.URLOwner(ctx, newLinks[want{x, k.ID, 0}]); err != nil || got != k.ID {
		t.Errorf("owner of the new link of key %d = %d, %v", k.ID, got, err)
	}
}

// testReuseScopedByKey: find-if-exists never hands one API key's link to
// another key or to an anonymous create, concurrent creates of one key
// share one link, and the owner row is there with the link.
func testReuseScopedByKey(t *testing.T, s core.Store) {
	ks, ok := s.(core.KeyStore)
	if !ok {
		t.Skip("the store keeps no API keys")
	}
	ctx := t.Context()
	keys := make([]int64, 2)
	for i := range keys {
		k := core.APIKey{Name: fmt.Sprintf("k%d", i), Hash: fmt.Sprintf("%064d", i), Scopes: []string{core.ScopeWrite}, CreatedAt: core.Now()}
		must(t, "CreateAPIKey", ks.CreateAPIKey(ctx, &k))
		keys[i] = k.ID
	}
	const original = "https://scoped.test/"
	const n = 12                 // 4 creates each: anonymous, key 0, key 1, at once
	owner := func(i int) int64 { // 0, keys[0], keys[1]
		if i%3 == 0 {
			return 0
		}
		return keys[i%3-1]
	}
	urls, _, errs := createConcurrently(ctx, s, n, func(i int) core.URL {
		return core.URL{ShortCode: fmt.Sprintf("scp%03d", i), OriginalURL: original, IsActive: true, KeyID: owner(i)}
	})
	links := map[int64]int64{} // owner key -> link id
	for i := range n {
		must(t, "CreateOrFindURL", errs[i])
		if id, seen := links[owner(i)]; seen && id != urls[i].ID {
			t.Errorf("key %d got links %d and %d for one URL", owner(i), id, urls[i].ID)
		}
		links[owner(i)] = urls[i].ID
	}
	if len(links) != 3 || links[0] == links[keys[0]] || links[0] == links[keys[1]] || links[keys[0]] == links[keys[1]] {
		t.Fatalf("links by key = %v, want three distinct links (anonymous, key %d, key %d)", links, keys[0], keys[1])
	}
	for key, id := range links {
		got, err := ks.URLOwner(ctx, id)
		must(t, "URLOwner", err)
		if got != key {
			t.Errorf("owner of link %d = %d, want %d", id, got, key)
		}
		f, err := s.FindActiveURL(ctx, original, key)
		must(t, "FindActiveURL", err)
		if f.ID != id {
			t.Errorf("FindActiveURL(key %d) = link %d, want %d", key, f.ID, id)
		}
	}
	// One create alone (no group) is scoped the same way.
	u := core.URL{ShortCode: "scpone", OriginalURL: original, IsActive: true, KeyID: keys[1]}
	if f, err := s.CreateOrFindURL(ctx, &u, nil); err != nil || !f || u.ID != links[keys[1]] {
		t.Errorf("create by key %d again = link %d, found %v, %v; want link %d found", keys[1], u.ID, f, err, links[keys[1]])
	}
}

func testParallelCreateOrFind(t *testing.T, s core.Store) {
	ctx := t.Context()
	const n = 32
	urls, found, errs := createConcurrently(ctx, s, n, func(i int) core.URL {
		return core.URL{ShortCode: fmt.Sprintf("par%03d", i), OriginalURL: "https://same.test/page", IsActive: true}
	})
	created := 0
	for i := range n {
		must(t, "CreateOrFindURL", errs[i])
		if !found[i] {
			created++
		}
		if urls[i].ID != urls[0].ID || urls[i].ShortCode != urls[0].ShortCode {
			t.Errorf("create %d got link %d %q, create 0 got %d %q", i, urls[i].ID, urls[i].ShortCode, urls[0].ID, urls[0].ShortCode)
		}
	}
	_, rows, events := contents(t, s)
	if created != 1 || len(rows) != 1 || len(events) != 1 {
		t.Errorf("%d parallel creates: %d created, %d rows, %d events; want 1 of each", n, created, len(rows), len(events))
	}
}

func testReuseAfterDeactivate(t *testing.T, s core.Store) {
	ctx := t.Context()
	const original = "https://again.test/"
	mk := func(code string) (core.URL, bool) {
		u := core.URL{ShortCode: code, OriginalURL: original, IsActive: true}
		found, err := s.CreateOrFindURL(ctx, &u, nil)
		must(t, "CreateOrFindURL", err)
		return u, found
	}
	a, _ := mk("reuse1")
	if again, found := mk("reuse2"); !found || again.ID != a.ID {
		t.Errorf("second create = %d (found %v), want link %d found", again.ID, found, a.ID)
	}
	a.IsActive = false
	must(t, "UpdateURL", s.UpdateURL(ctx, a, nil))
	b, found := mk("reuse3")
	if found || b.ID == a.ID {
		t.Errorf("create after deactivation = %d (found %v), want a new link", b.ID, found)
	}
	// The reactivated link has no reuse key, but it is the link
	// FindActiveURL finds (the lowest id), and so what a create finds.
	a.IsActive = true
	must(t, "UpdateURL", s.UpdateURL(ctx, a, nil))
	if c, found := mk("reuse4"); !found || c.ID != a.ID {
		t.Errorf("create after reactivation = %d (found %v), want link %d found", c.ID, found, a.ID)
	}
	// A plain CreateURL link holds no reuse key, but FindActiveURL finds
	// it, and so does a create; a link with options of its own is never
	// found.
	plain := core.URL{ShortCode: "plain1", OriginalURL: "https://plain.test/", IsActive: true}
	must(t, "CreateURL", s.CreateURL(ctx, &plain, nil))
	d := core.URL{ShortCode: "plain2", OriginalURL: "https://plain.test/", IsActive: true}
	if found, err := s.CreateOrFindURL(ctx, &d, nil); err != nil || !found || d.ID != plain.ID {
		t.Errorf("CreateOrFindURL beside a plain link = link %d, %v, %v, want link %d found", d.ID, found, err, plain.ID)
	}
	custom := core.URL{ShortCode: "custom1", CustomCode: true, OriginalURL: "https://custom.test/", IsActive: true}
	must(t, "CreateURL", s.CreateURL(ctx, &custom, nil))
	e := core.URL{ShortCode: "custom2", OriginalURL: "https://custom.test/", IsActive: true}
	if found, err := s.CreateOrFindURL(ctx, &e, nil); err != nil || found || e.ID == custom.ID {
		t.Errorf("CreateOrFindURL beside a custom-code link = link %d, %v, %v, want a new link", e.ID, found, err)
	}
}

func testRaiseCodeFloor(t *testing.T, s core.Store) {
	ctx := t.Context()
	newURL(t, s, "abc123", nil)
	must(t, "RaiseCodeFloor", s.RaiseCodeFloor(ctx, 500))
	wantFloor(t, s, 500, "after raising it to 500")
	must(t, "RaiseCodeFloor", s.RaiseCodeFloor(ctx, 300))
	wantFloor(t, s, 500, "after raising it to 300")
	first, err := s.ReserveCodes(ctx, 10)
	must(t, "ReserveCodes", err)
	if first != 501 {
		t.Errorf("ReserveCodes after the floor = %d, want 501", first)
	}
}

// testDeleteUserRace deletes users while URLs are created for them: each
// side either wins or reports that the user is gone, never another error.
func testDeleteUserRace(t *testing.T, s core.Store) {
	ctx := t.Context()
	for round := range 40 {
		owner := newUser(t, s, fmt.Sprint("racer", round))
		var wg sync.WaitGroup
		var delErr error
		createErrs := make([]error, 4)
		wg.Go(func() { delErr = s.DeleteUser(ctx, owner.ID) })
		for i := range createErrs {
			wg.Go(func() {
				u := core.URL{UserID: &owner.ID, ShortCode: fmt.Sprintf("r%d_%d", round, i), OriginalURL: "https://race.test/", IsActive: true}
				ev := core.Event{UserID: &owner.ID, EventType: core.EventCreated, Details: "{}"}
				createErrs[i] = s.CreateURL(ctx, &u, &ev)
			})
		}
		wg.Wait()
		if delErr != nil && !errors.Is(delErr, core.ErrNotFound) {
			t.Fatalf("round %d: DeleteUser racing CreateURL = %v", round, delErr)
		}
		for _, err := range createErrs {
			if err != nil && !errors.Is(err, core.ErrReference) {
				t.Fatalf("round %d: CreateURL racing DeleteUser = %v, want nil or ErrReference", round, err)
			}
		}
		if _, err := s.GetUser(ctx, owner.ID); !errors.Is(err, core.ErrNotFound) {
			t.Fatalf("round %d: user still there after DeleteUser: %v", round, err)
		}
		urls, err := s.ListURLs(ctx, core.URLFilter{UserID: &owner.ID})
		must(t, "ListURLs", err)
		if len(urls) != 0 {
			t.Fatalf("round %d: %d URLs still owned by the deleted user", round, len(urls))
		}
	}
}

// testExplicitIDBound: an explicit id at the top of the id range would
// leave the sequence no room; it is refused and later creates work.
func testExplicitIDBound(t *testing.T, s core.Store) {
	ctx := t.Context()
	at0 := at(1, 0, 0, 0, 0)
	_, err := s.InsertUsers(ctx, []core.User{{ID: core.MaxID, Username: "top", Email: "top@example.com", CreatedAt: at0}})
	wantErr(t, "InsertUsers with id MaxID", err, core.ErrInvalid)
	_, err = s.Import(ctx, core.Import{Users: []core.User{{ID: core.MaxExplicitID + 1, Username: "top", Email: "top@example.com", CreatedAt: at0}}})
	wantErr(t, "Import with an id over MaxExplicitID", err, core.ErrInvalid)
	_, err = s.Import(ctx, core.Import{URLs: []core.URL{{ID: core.MaxID, ShortCode: "top001", OriginalURL: "https://x.test/", IsActive: true, CreatedAt: at0, UpdatedAt: at0}}})
	wantErr(t, "Import of a URL with id MaxID", err, core.ErrInvalid)
	n, err := s.InsertUsers(ctx, []core.User{{ID: core.MaxExplicitID, Username: "high", Email: "high@example.com", CreatedAt: at0}})
	if err != nil || n != 1 {
		t.Fatalf("InsertUsers with id MaxExplicitID = %d, %v, want 1", n, err)
	}
	u := newUser(t, s, "after")
	if u.ID <= core.MaxExplicitID || u.ID > core.MaxID {
		t.Errorf("CreateUser after the import got id %d, want in (%d, %d]", u.ID, core.MaxExplicitID, core.MaxID)
	}
	got, err := s.GetUser(ctx, u.ID)
	if err != nil || got.Username != "after" {
		t.Errorf("GetUser(%d) = %+v, %v", u.ID, got, err)
	}
}

// testGroupedCreatesFailAlone: creates that run together (and so may share
// one transaction) succeed or fail each on its own.
func testGroupedCreatesFailAlone(t *testing.T, s core.Store) {
	ctx := t.Context()
	newURL(t, s, "taken1", nil)
	const n = 24
	errs := make([]error, n)
	urls := make([]core.URL, n)
	evs := make([]core.Event, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			urls[i] = core.URL{ShortCode: fmt.Sprintf("grp%03d", i), OriginalURL: fmt.Sprintf("https://group.test/%d", i), IsActive: true}
			switch i % 3 {
			case 1:
				urls[i].UserID = ptr(int64(4242)) // no such user
			case 2:
				if i == 2 {
					urls[i].ShortCode = "taken1"
				}
			}
			evs[i] = core.Event{EventType: core.EventCreated, Details: "{}"}
			_, errs[i] = s.CreateOrFindURL(ctx, &urls[i], &evs[i])
		})
	}
	wg.Wait()
	for i, err := range errs {
		switch {
		case i%3 == 1:
			wantErr(t, fmt.Sprint("create ", i, " for an unknown user"), err, core.ErrReference)
		case i == 2:
			wantErr(t, "create with a taken code", err, core.ErrConflict)
		default:
			must(t, fmt.Sprint("create ", i), err)
			got, err := s.GetURLByCode(ctx, urls[i].ShortCode)
			must(t, "GetURLByCode", err)
			diff(t, fmt.Sprint("stored link ", i), urls[i], got)
			ev, err := s.GetEvent(ctx, evs[i].ID)
			must(t, "GetEvent", err)
			if ev.URLID == nil || *ev.URLID != urls[i].ID || ev.EventType != core.EventCreated {
				t.Errorf("created event %d of link %d = %+v", evs[i].ID, urls[i].ID, ev)
			}
		}
	}
	_, rows, events := contents(t, s)
	if want := 1 + n - n/3 - 1; len(rows) != want || len(events) != want-1 {
		t.Errorf("%d rows and %d events, want %d and %d", len(rows), len(events), want, want-1)
	}
}

// createConcurrently runs n CreateOrFindURL calls at once, the i-th for
// link(i) with a created event, and returns each call's link, found flag
// and error.
func createConcurrently(ctx context.Context, s core.Store, n int, link func(i int) core.URL) (urls []core.URL, found []bool, errs []error) {
	urls, found, errs = make([]core.URL, n), make([]bool, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			urls[i] = link(i)
			ev := core.Event{EventType: core.EventCreated, Details: "{}"}
			found[i], errs[i] = s.CreateOrFindURL(ctx, &urls[i], &ev)
		})
	}
	wg.Wait()
	return urls, found, errs
}
