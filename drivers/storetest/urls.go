package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/curtainhq/curtain/core"
)

var urlCases = []testCase{
	{"CreateWithEventAndGet", testCreateURL},
	{"CreateWithoutEvent", func(t *testing.T, s core.Store) {
		u := newURL(t, s, "abc123", nil)
		events, err := s.ListEvents(t.Context(), core.EventFilter{})
		must(t, "ListEvents", err)
		if len(events) != 0 || u.ID != 1 {
			t.Errorf("after CreateURL(nil event): id %d, %d events, want id 1 and no events", u.ID, len(events))
		}
	}},
	{"CreateTakenCodeConflicts", testCreateURLConflict},
	{"CreateUnknownUserIsReference", testCreateURLUnknownUser},
	{"CreateEventFailureRollsBack", testCreateURLEventRollback},
	{"Missing", testURLMissing},
	{"FindActive", testFindActiveURL},
	{"FindActiveLongMultibyte", testFindActiveLongURL},
	{"FindInactive", testFindInactiveURL},
	{"List", testListURLs},
	{"ListTags", testListURLsByTag},
	{"ListAfter", testListURLsAfter},
	{"ListSearch", testListURLsSearch},
	{"Update", testUpdateURL},
	{"UpdateEventFailureRollsBack", testUpdateURLRollback},
	{"Delete", testDeleteURL},
	{"IDsByCode", testURLIDsByCode},
	{"ConcurrentCreates", testConcurrentCreateURL},
}

func testCreateURL(t *testing.T, s core.Store) {
	ctx := t.Context()
	owner := newUser(t, s, "alice")
	u := core.URL{
		UserID: &owner.ID, ShortCode: "d5DnL5", OriginalURL: "https://hackstack.io/jade/uplink/1",
		Title: ptr("Ops review river"), IsActive: true,
		CreatedAt: at(4, 15, 7, 51, 123456), UpdatedAt: at(4, 15, 7, 51, 123456),
	}
	created := core.Event{
		UserID: &owner.ID, EventType: core.EventCreated, Timestamp: u.CreatedAt,
		Details: `{"short_code": "d5DnL5", "original_url": "https://hackstack.io/jade/uplink/1"}`,
	}
	must(t, "CreateURL", s.CreateURL(ctx, &u, &created))
	if u.ID != 1 {
		t.Errorf("URL id = %d, want 1", u.ID)
	}
	if created.ID != 1 || created.URLID == nil || *created.URLID != u.ID {
		t.Errorf("created event id %d url %v, want id 1 for url %d", created.ID, created.URLID, u.ID)
	}
	got, err := s.GetURL(ctx, u.ID)
	must(t, "GetURL", err)
	diff(t, "GetURL", u, got)
	byCode, err := s.GetURLByCode(ctx, "d5DnL5")
	must(t, "GetURLByCode", err)
	diff(t, "GetURLByCode", u, byCode)
	ev, err := s.GetEvent(ctx, created.ID)
	must(t, "GetEvent", err)
	diff(t, "created event", created, ev)

	// A URL without title or owner, and codes differing only in case.
	bare := core.URL{ShortCode: "D5DNL5", OriginalURL: "https://x.test/", CreatedAt: at(4, 0, 0, 0, 0)}
	must(t, "CreateURL", s.CreateURL(ctx, &bare, nil))
	bare.UpdatedAt = bare.CreatedAt // a zero UpdatedAt defaults to CreatedAt
	got, err = s.GetURL(ctx, bare.ID)
	must(t, "GetURL", err)
	diff(t, "bare URL", bare, got)
	if _, err := s.GetURLByCode(ctx, "d5dnl5"); err == nil {
		t.Errorf("GetURLByCode(%q) found a URL; codes are case-sensitive", "d5dnl5")
	}
}

func testCreateURLConflict(t *testing.T, s core.Store) {
	ctx := t.Context()
	first := newURL(t, s, "taken1", nil)
	dup := core.URL{ShortCode: "taken1", OriginalURL: "https://other.test/", IsActive: true, CreatedAt: at(2, 0, 0, 0, 0)}
	created := core.Event{EventType: core.EventCreated, Timestamp: at(2, 0, 0, 0, 0), Details: "{}"}
	err := s.CreateURL(ctx, &dup, &created)
	wantErr(t, "CreateURL with a taken code", err, core.ErrConflict)
	_, urls, events := contents(t, s)
	if len(urls) != 1 || len(events) != 0 {
		t.Errorf("after a conflict: %d urls, %d events, want 1 and 0", len(urls), len(events))
	}
	// The failed insert does not break later ones.
	next := newURL(t, s, "free01", nil)
	if next.ID <= first.ID {
		t.Errorf("next URL id %d, want above %d", next.ID, first.ID)
	}
}

func testCreateURLUnknownUser(t *testing.T, s core.Store) {
	ctx := t.Context()
	u := core.URL{UserID: ptr[int64](77), ShortCode: "nouser", OriginalURL: "https://x.test/", IsActive: true}
	err := s.CreateURL(ctx, &u, nil)
	wantErr(t, "CreateURL for user 77", err, core.ErrReference)
	urls, err := s.ListURLs(ctx, core.URLFilter{})
	must(t, "ListURLs", err)
	if len(urls) != 0 {
		t.Errorf("ListURLs = %d urls after a failed create, want 0", len(urls))
	}
}

func testCreateURLEventRollback(t *testing.T, s core.Store) {
	ctx := t.Context()
	u := core.URL{ShortCode: "atomic", OriginalURL: "https://x.test/", IsActive: true}
	created := core.Event{UserID: ptr[int64](77), EventType: core.EventCreated, Details: "{}"}
	err := s.CreateURL(ctx, &u, &created)
	wantErr(t, "CreateURL with an event of user 77", err, core.ErrReference)
	_, err = s.GetURLByCode(ctx, "atomic")
	wantErr(t, "GetURLByCode after a rolled-back create", err, core.ErrNotFound)
}

func testURLMissing(t *testing.T, s core.Store) {
	ctx := t.Context()
	newURL(t, s, "exists", nil)
	_, err := s.GetURL(ctx, 99)
	wantErr(t, "GetURL(99)", err, core.ErrNotFound)
	_, err = s.GetURLByCode(ctx, "nope00")
	wantErr(t, "GetURLByCode(nope00)", err, core.ErrNotFound)
	_, err = s.FindActiveURL(ctx, "https://example.com/nope", 0)
	wantErr(t, "FindActiveURL", err, core.ErrNotFound)
	err = s.UpdateURL(ctx, core.URL{ID: 99, IsActive: true}, nil)
	wantErr(t, "UpdateURL(99)", err, core.ErrNotFound)
	err = s.UpdateURL(ctx, core.URL{ID: 99, IsActive: true}, &core.Event{EventType: core.EventUpdated, Details: "{}"})
	wantErr(t, "UpdateURL(99) with event", err, core.ErrNotFound)
	err = s.DeleteURL(ctx, 99)
	wantErr(t, "DeleteURL(99)", err, core.ErrNotFound)
	events, err := s.ListEvents(ctx, core.EventFilter{})
	must(t, "ListEvents", err)
	if len(events) != 0 {
		t.Errorf("%d events after updates of a missing URL, want 0", len(events))
	}
}

func testFindActiveURL(t *testing.T, s core.Store) {
	ctx := t.Context()
	const original = "https://same.test/page"
	mk := func(code string, active bool) core.URL {
		u := core.URL{ShortCode: code, OriginalURL: original, IsActive: active, CreatedAt: at(2, 0, 0, 0, 0)}
		must(t, "CreateURL", s.CreateURL(ctx, &u, nil))
		return u
	}
	slug := core.URL{ShortCode: "my-slug", CustomCode: true, OriginalURL: original, IsActive: true, CreatedAt: at(2, 0, 0, 0, 0)}
	must(t, "CreateURL with a custom code", s.CreateURL(ctx, &slug, nil))
	// A password and rules (issue 19) are options too, and round-trip.
	guarded := core.URL{ShortCode: "guard1", OriginalURL: original, IsActive: true, CreatedAt: at(2, 0, 0, 0, 0),
		PasswordHash: "$2a$04$abcdefghijklmnopqrstuv",
		Rules: []core.Rule{
			{Name: "ios", When: core.Conditions{OS: []string{"ios"}, Query: map[string]string{"a": "b"}}, Target: "https://ios.test/"},
			{Targets: []core.WeightedURL{{URL: "https://a.test/", Weight: 1}, {URL: "https://b.test/", Weight: 2}}},
		}}
	must(t, "CreateURL with a password and rules", s.CreateURL(ctx, &guarded, nil))
	back, err := s.GetURL(ctx, guarded.ID)
	must(t, "GetURL of the guarded link", err)
	diff(t, "GetURL of the guarded link", guarded, back)
	mk("inact1", false)
	first := mk("activ1", true)
	mk("activ2", true)
	status := core.URL{ShortCode: "st301x", RedirectStatus: 301, OriginalURL: original, IsActive: true, CreatedAt: at(2, 0, 0, 0, 0)}
	must(t, "CreateURL with a redirect status", s.CreateURL(ctx, &status, nil))
	since, until, visits, expired := at(3, 0, 0, 0, 0), at(4, 0, 0, 0, 0), int64(10), "https://expired.test/"
	bounded := core.URL{ShortCode: "bound1", OriginalURL: original, IsActive: true, CreatedAt: at(2, 0, 0, 0, 0),
		Lifecycle: core.Lifecycle{ValidSince: &since, ValidUntil: &until, MaxVisits: &visits, ExpiredURL: &expired}}
	must(t, "CreateURL with lifecycle bounds", s.CreateURL(ctx, &bounded, nil))
	back, err = s.GetURL(ctx, bounded.ID)
	must(t, "GetURL of the bounded link", err)
	diff(t, "GetURL of the bounded link", bounded, back)
	back, err = s.GetURL(ctx, status.ID)
	must(t, "GetURL of the redirect status", err)
	diff(t, "GetURL of the redirect status", status, back)
	back, err = s.GetURL(ctx, slug.ID)
	must(t, "GetURL of the custom code", err)
	diff(t, "GetURL of the custom code", slug, back)
	got, err := s.FindActiveURL(ctx, original, 0)
	must(t, "FindActiveURL", err)
	diff(t, "FindActiveURL", first, got)
	_, err = s.FindActiveURL(ctx, original+"/", 0)
	wantErr(t, "FindActiveURL of a different URL", err, core.ErrNotFound)
	_, err = s.FindActiveURL(ctx, strings.ToUpper(original), 0)
	wantErr(t, "FindActiveURL is exact", err, core.ErrNotFound)
}

// testFindInactiveURL: FindInactiveURL finds the lowest inactive link to
// exactly the URL that has no options and no owner (user or API key), as
// ImportURL stores an inactive link.
func testFindInactiveURL(t *testing.T, s core.Store) {
	ctx := t.Context()
	const original = "https://same.test/gone"
	owner := newUser(t, s, "olga")
	mk := func(u core.URL) core.URL {
		t.Helper()
		u.OriginalURL, u.CreatedAt, u.UpdatedAt = original, at(2, 0, 0, 0, 0), at(2, 0, 0, 0, 0)
		must(t, "CreateURL "+u.ShortCode, s.CreateURL(ctx, &u, nil))
		return u
	}
	_, err := s.FindInactiveURL(ctx, original)
	wantErr(t, "FindInactiveURL without links", err, core.ErrNotFound)
	mk(core.URL{ShortCode: "actv01", IsActive: true})
	mk(core.URL{ShortCode: "owned1", UserID: &owner.ID})
	mk(core.URL{ShortCode: "slug-1", CustomCode: true})
	mk(core.URL{ShortCode: "st3011", RedirectStatus: 301})
	keyed := mk(core.URL{ShortCode: "keyed1"})
	if ks, ok := s.(core.KeyStore); ok {
		k := core.APIKey{Name: "bot", Hash: "h-inactive", Scopes: []string{core.ScopeWrite}, CreatedAt: at(1, 0, 0, 0, 0)}
		must(t, "CreateAPIKey", ks.CreateAPIKey(ctx, &k))
		must(t, "SetURLOwner", ks.SetURLOwner(ctx, keyed.ID, k.ID))
	}
	_, err = s.FindInactiveURL(ctx, original)
	if _, ok := s.(core.KeyStore); ok {
		wantErr(t, "FindInactiveURL of owned links and links with options", err, core.ErrNotFound)
	}
	first := mk(core.URL{ShortCode: "inact1"})
	mk(core.URL{ShortCode: "inact2"})
	got, err := s.FindInactiveURL(ctx, original)
	must(t, "FindInactiveURL", err)
	diff(t, "FindInactiveURL", first, got)
	_, err = s.FindInactiveURL(ctx, original+"/")
	wantErr(t, "FindInactiveURL of a different URL", err, core.ErrNotFound)
}

func testFindActiveLongURL(t *testing.T, s core.Store) {
	ctx := t.Context()
	// 2,040 characters, over 6,000 bytes: too big for a b-tree index row.
	long := "https://x.test/" + strings.Repeat("€", 2025)
	u := core.URL{ShortCode: "long01", OriginalURL: long, IsActive: true, CreatedAt: at(2, 0, 0, 0, 0)}
	must(t, "CreateURL with a long multibyte URL", s.CreateURL(ctx, &u, nil))
	got, err := s.FindActiveURL(ctx, long, 0)
	must(t, "FindActiveURL", err)
	diff(t, "FindActiveURL", u, got)
}

func testListURLs(t *testing.T, s core.Store) {
	ctx := t.Context()
	a := newUser(t, s, "alice")
	b := newUser(t, s, "bob")
	mk := func(code string, owner *int64, active bool) {
		u := core.URL{UserID: owner, ShortCode: code, OriginalURL: "https://x.test/" + code, IsActive: active, CreatedAt: at(2, 0, 0, 0, 0)}
		must(t, "CreateURL", s.CreateURL(ctx, &u, nil))
	}
	mk("url001", &a.ID, true)  // 1
	mk("url002", &b.ID, true)  // 2
	mk("url003", &a.ID, false) // 3
	mk("url004", nil, true)    // 4
	mk("url005", &a.ID, true)  // 5
	tests := []struct {
		f    core.URLFilter
		want []int64
	}{
		{core.URLFilter{}, []int64{1, 2, 3, 4, 5}},
		{core.URLFilter{UserID: &a.ID}, []int64{1, 3, 5}},
		{core.URLFilter{IsActive: ptr(true)}, []int64{1, 2, 4, 5}},
		{core.URLFilter{IsActive: ptr(false)}, []int64{3}},
		{core.URLFilter{UserID: &a.ID, IsActive: ptr(true)}, []int64{1, 5}},
		{core.URLFilter{UserID: &a.ID, IsActive: ptr(true), Limit: 1}, []int64{1}},
		{core.URLFilter{Limit: 3}, []int64{1, 2, 3}},
		{core.URLFilter{UserID: ptr[int64](99)}, []int64{}},
	}
	for _, tt := range tests {
		urls, err := s.ListURLs(ctx, tt.f)
		must(t, "ListURLs", err)
		ids := []int64{}
		for _, u := range urls {
			ids = append(ids, u.ID)
		}
		diff(t, fmt.Sprintf("ListURLs(user %v, active %v, limit %d)", deref(tt.f.UserID), deref(tt.f.IsActive), tt.f.Limit), tt.want, ids)
	}
}

func testListURLsByTag(t *testing.T, s core.Store) {
	ctx := t.Context()
	mk := func(code string, tags ...string) int64 {
		u := core.URL{ShortCode: code, OriginalURL: "https://tags.test/" + code, IsActive: true, CreatedAt: at(2, 0, 0, 0, 0), Tags: tags}
		must(t, "CreateURL", s.CreateURL(ctx, &u, nil))
		back, err := s.GetURL(ctx, u.ID)
		must(t, "GetURL", err)
		diff(t, "tags of "+code, u.Tags, back.Tags)
		return u.ID
	}
	none := mk("none01")
	news := mk("news01", "news")
	both := mk("both01", "news", "sport")
	sport := mk("sprt01", "sport")
	under := mk("undr01", "a_b") // "_" must not match any character
	mk("axb001", "axb")
	tests := []struct {
		name string
		f    core.URLFilter
		want []int64
	}{
		{"any", core.URLFilter{Tags: []string{"news", "sport"}}, []int64{news, both, sport}},
		{"all", core.URLFilter{Tags: []string{"news", "sport"}, AllTags: true}, []int64{both}},
		{"exclude", core.URLFilter{ExcludeTags: []string{"news"}}, []int64{none, sport, under, under + 1}},
		{"any but excluded", core.URLFilter{Tags: []string{"sport"}, ExcludeTags: []string{"news"}}, []int64{sport}},
		{"underscore is literal", core.URLFilter{Tags: []string{"a_b"}}, []int64{under}},
		{"no prefix match", core.URLFilter{Tags: []string{"new"}}, []int64{}},
	}
	for _, tt := range tests {
		urls, err := s.ListURLs(ctx, tt.f)
		must(t, "ListURLs "+tt.name, err)
		ids := []int64{}
		for _, u := range urls {
			ids = append(ids, u.ID)
		}
		diff(t, "ListURLs "+tt.name, tt.want, ids)
	}
}

// listIDs lists the ids of the links f selects.
func listIDs(t *testing.T, s core.Store, what string, f core.URLFilter) []int64 {
	t.Helper()
	urls, err := s.ListURLs(t.Context(), f)
	must(t, "ListURLs "+what, err)
	ids := []int64{}
	for _, u := range urls {
		ids = append(ids, u.ID)
	}
	return ids
}

// testListURLsAfter: AfterID pages by id in the list's order, with the
// other filters.
func testListURLsAfter(t *testing.T, s core.Store) {
	for i := range 5 {
		u := core.URL{ShortCode: fmt.Sprintf("aftr%02d", i), OriginalURL: "https://after.test/", IsActive: i != 2, CreatedAt: at(2, 0, 0, 0, 0)}
		must(t, "CreateURL", s.CreateURL(t.Context(), &u, nil))
	}
	tests := []struct {
		name string
		f    core.URLFilter
		want []int64
	}{
		{"oldest", core.URLFilter{AfterID: ptr[int64](2), Limit: 2}, []int64{3, 4}},
		{"oldest to the end", core.URLFilter{AfterID: ptr[int64](4)}, []int64{5}},
		{"newest", core.URLFilter{AfterID: ptr[int64](4), Newest: true, Limit: 2}, []int64{3, 2}},
		{"newest to the end", core.URLFilter{AfterID: ptr[int64](1), Newest: true}, []int64{}},
		{"with a filter", core.URLFilter{AfterID: ptr[int64](4), Newest: true, IsActive: ptr(true)}, []int64{2, 1}},
		{"before every id", core.URLFilter{AfterID: ptr[int64](-7), Limit: 1}, []int64{1}},
	}
	for _, tt := range tests {
		diff(t, "ListURLs "+tt.name, tt.want, listIDs(t, s, tt.name, tt.f))
	}
}

// testListURLsSearch: Search finds a substring of the code, title or
// original URL, ignoring case and taking LIKE's wildcards literally; a
// password-protected link's original URL is searched only for a reader
// who may see it (an admin, or the key that owns the link, its
// replacement after a rotation included), never for anyone else.
func testListURLsSearch(t *testing.T, s core.Store) {
	ctx := t.Context()
	mk := func(code, original, title, password string) int64 {
		t.Helper()
		u := core.URL{ShortCode: code, OriginalURL: original, IsActive: true, CreatedAt: at(2, 0, 0, 0, 0), PasswordHash: password}
		if title != "" {
			u.Title = ptr(title)
		}
		must(t, "CreateURL", s.CreateURL(ctx, &u, nil))
		return u.ID
	}
	open := mk("Open01", "https://Docs.example/Guide", "Team Handbook", "")
	other := mk("othr01", "https://other.example/100%_done", "", "")
	locked := mk("lock01", "https://hidden.example/plan", "Roadmap", "hash")
	mine := mk("mine01", "https://hidden.example/mine", "", "hash")
	type searchCase struct {
		name   string
		search string
		reader core.TargetAccess
		want   []int64
	}
	tests := []searchCase{
		{"code, any case", "OPEN0", core.TargetAccess{}, []int64{open}},
		{"title, any case", "handbook", core.TargetAccess{}, []int64{open}},
		{"original URL, any case", "docs.EXAMPLE/guide", core.TargetAccess{}, []int64{open}},
		{"wildcards are literal", "0%_d", core.TargetAccess{}, []int64{other}},
		{"underscore is literal", "_", core.TargetAccess{}, []int64{other}},
		{"backslash is literal", `\`, core.TargetAccess{}, []int64{}},
		{"a protected link by its title", "roadmap", core.TargetAccess{}, []int64{locked}},
		{"a protected link by its code", "lock", core.TargetAccess{}, []int64{locked}},
		{"a hidden target is not searched", "hidden.example", core.TargetAccess{}, []int64{}},
		{"an admin searches every target", "hidden.example", core.TargetAccess{All: true}, []int64{locked, mine}},
		{"no match", "nothing", core.TargetAccess{All: true}, []int64{}},
	}
	check := func(tests ...searchCase) {
		t.Helper()
		for _, tt := range tests {
			got := listIDs(t, s, tt.name, core.URLFilter{Search: tt.search, Reader: tt.reader})
			diff(t, fmt.Sprintf("ListURLs %s (search %q)", tt.name, tt.search), tt.want, got)
		}
	}
	check(tests...)
	if ks, ok := s.(core.KeyStore); ok {
		k := core.APIKey{Name: "owner", Hash: "h-search", Scopes: []string{core.ScopeWrite}, CreatedAt: at(1, 0, 0, 0, 0)}
		must(t, "CreateAPIKey", ks.CreateAPIKey(ctx, &k))
		must(t, "SetURLOwner", ks.SetURLOwner(ctx, mine, k.ID))
		o := core.APIKey{Name: "other", Hash: "h-search-other", Scopes: []string{core.ScopeWrite}, CreatedAt: at(1, 0, 0, 0, 0)}
		must(t, "CreateAPIKey", ks.CreateAPIKey(ctx, &o))
		check(searchCase{"the owner searches its target", "hidden.example", core.TargetAccess{Owner: k.ID}, []int64{mine}},
			searchCase{"another key does not", "hidden.example", core.TargetAccess{Owner: o.ID}, []int64{}})
		next := core.APIKey{Name: "owner", Hash: "h-search-next", Scopes: []string{core.ScopeWrite}, CreatedAt: at(1, 0, 0, 0, 0)}
		must(t, "RotateAPIKey", ks.RotateAPIKey(ctx, k.ID, &next))
		check(searchCase{"the replacement searches its target", "example/mine", core.TargetAccess{Owner: next.ID}, []int64{mine}},
			searchCase{"the replaced key no longer", "example/mine", core.TargetAccess{Owner: k.ID}, []int64{}})
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func testUpdateURL(t *testing.T, s core.Store) {
	ctx := t.Context()
	owner := newUser(t, s, "alice")
	u := newURL(t, s, "upd001", &owner.ID)
	other := newURL(t, s, "upd002", nil)
	changed := u
	changed.Title = nil
	changed.IsActive = false
	changed.UpdatedAt = at(5, 10, 0, 0, 42)
	// UpdateURL stores the original URL too (retargeting, issue 19).
	changed.OriginalURL = "https://other.test/"
	// Fields UpdateURL does not store.
	changed.ShortCode, changed.UserID, changed.CreatedAt = "zzzzzz", nil, at(9, 0, 0, 0, 0)
	updated := core.Event{
		UserID: &owner.ID, EventType: core.EventUpdated, Timestamp: changed.UpdatedAt,
		Details: `{"title": null, "is_active": false}`,
	}
	must(t, "UpdateURL", s.UpdateURL(ctx, changed, &updated))
	want := u
	want.Title, want.IsActive, want.UpdatedAt, want.OriginalURL = nil, false, changed.UpdatedAt, changed.OriginalURL
	got, err := s.GetURL(ctx, u.ID)
	must(t, "GetURL", err)
	diff(t, "updated URL", want, got)
	gotOther, err := s.GetURL(ctx, other.ID)
	must(t, "GetURL", err)
	diff(t, "other URL", other, gotOther)

	if updated.ID == 0 || updated.URLID == nil || *updated.URLID != u.ID {
		t.Fatalf("updated event = %+v, want an id and URLID %d", updated, u.ID)
	}
	ev, err := s.GetEvent(ctx, updated.ID)
	must(t, "GetEvent", err)
	diff(t, "updated event", updated, ev)

	// Without an event, nothing is inserted.
	want.Title = ptr("again")
	must(t, "UpdateURL", s.UpdateURL(ctx, want, nil))
	events, err := s.ListEvents(ctx, core.EventFilter{URLID: &u.ID})
	must(t, "ListEvents", err)
	if len(events) != 1 {
		t.Errorf("%d events after two updates (one with event), want 1", len(events))
	}
}

func testUpdateURLRollback(t *testing.T, s core.Store) {
	ctx := t.Context()
	u := newURL(t, s, "upd001", nil)
	changed := u
	changed.IsActive = false
	bad := core.Event{UserID: ptr[int64](77), EventType: core.EventUpdated, Details: "{}"}
	err := s.UpdateURL(ctx, changed, &bad)
	wantErr(t, "UpdateURL with an event of user 77", err, core.ErrReference)
	got, err := s.GetURL(ctx, u.ID)
	must(t, "GetURL", err)
	diff(t, "URL after a rolled-back update", u, got)
}

func testDeleteURL(t *testing.T, s core.Store) {
	ctx := t.Context()
	u := newURL(t, s, "del001", nil)
	keep := newURL(t, s, "del002", nil)
	newEvent(t, s, u.ID, nil, core.EventClick, at(3, 0, 0, 0, 0))
	newEvent(t, s, u.ID, nil, core.EventRedirect, at(3, 0, 0, 0, 0))
	kept := newEvent(t, s, keep.ID, nil, core.EventClick, at(3, 0, 0, 0, 0))
	_, err := s.InsertClicks(ctx, []core.ClickEvent{{Click: core.Click{ID: "c1", Code: "del001", At: at(3, 0, 0, 0, 0), URLID: u.ID}}})
	must(t, "InsertClicks", err)

	must(t, "DeleteURL", s.DeleteURL(ctx, u.ID))
	_, err = s.GetURL(ctx, u.ID)
	wantErr(t, "GetURL of deleted URL", err, core.ErrNotFound)
	events, err := s.ListEvents(ctx, core.EventFilter{})
	must(t, "ListEvents", err)
	diff(t, "remaining events", []core.Event{kept}, events)
	wantErr(t, "DeleteURL again", s.DeleteURL(ctx, u.ID), core.ErrNotFound)

	// The short code is free again.
	again := newURL(t, s, "del001", nil)
	if again.ID <= keep.ID {
		t.Errorf("re-created URL id %d, want above %d", again.ID, keep.ID)
	}
}

func testURLIDsByCode(t *testing.T, s core.Store) {
	ctx := t.Context()
	got, err := s.URLIDsByCode(ctx, nil)
	must(t, "URLIDsByCode(nil)", err)
	diff(t, "URLIDsByCode(nil)", map[string]int64{}, got)

	// More codes than one IN list holds.
	var batch core.Import
	var codes []string
	want := map[string]int64{}
	for i := range 1500 {
		id := int64(i + 1)
		code := core.ShortCode(id * 7)
		batch.URLs = append(batch.URLs, core.URL{ID: id, ShortCode: code, OriginalURL: "https://x.test/" + code, IsActive: i%2 == 0, CreatedAt: at(2, 0, 0, 0, 0), UpdatedAt: at(2, 0, 0, 0, 0)})
		codes = append(codes, code, code+"x")
		want[code] = id
	}
	_, err = s.Import(ctx, batch)
	must(t, "Import", err)
	got, err = s.URLIDsByCode(ctx, codes)
	must(t, "URLIDsByCode", err)
	diff(t, "URLIDsByCode", want, got)

	got, err = s.URLIDsByCode(ctx, []string{"missing", core.ShortCode(14), core.ShortCode(14)})
	must(t, "URLIDsByCode", err)
	diff(t, "URLIDsByCode with duplicates", map[string]int64{core.ShortCode(14): 2}, got)
}

func testConcurrentCreateURL(t *testing.T, s core.Store) {
	ctx := t.Context()
	const workers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				u := core.URL{ShortCode: fmt.Sprintf("c%d_%d", w, i), OriginalURL: "https://x.test/", IsActive: true}
				ev := core.Event{EventType: core.EventCreated, Details: "{}"}
				errs <- s.CreateURL(ctx, &u, &ev)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, "concurrent CreateURL", err)
	}
	_, urls, events := contents(t, s)
	if len(urls) != workers*each || len(events) != workers*each {
		t.Errorf("%d urls and %d events, want %d of each", len(urls), len(events), workers*each)
	}
}
