package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core/hll"
	"github.com/google/go-cmp/cmp"
)

// fakeStore keeps URLs and users in memory; methods the tests do not use
// panic through the embedded nil interface.
type fakeStore struct {
	Store
	mu       sync.Mutex
	urls     []URL
	users    map[int64]User
	events   []Event
	clicks   []ClickEvent
	taken    map[string]bool // codes that collide on insert
	counter  int64
	calls    []string
	createFn func(u *URL) error
	floorErr error // what CodeFloor fails with
}

func newFakeStore() *fakeStore {
	return &fakeStore{users: map[int64]User{}, taken: map[string]bool{}}
}

func (f *fakeStore) call(name string) {
	f.mu.Lock()
	f.calls = append(f.calls, name)
	f.mu.Unlock()
}

func (f *fakeStore) CreateURL(ctx context.Context, u *URL, created *Event) error {
	f.call("CreateURL")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.createFn != nil {
		if err := f.createFn(u); err != nil {
			return err
		}
	}
	if f.taken[u.ShortCode] {
		return fmt.Errorf("insert url: %w", ErrConflict)
	}
	if u.UserID != nil {
		if _, ok := f.users[*u.UserID]; !ok {
			return fmt.Errorf("insert url: %w", ErrReference)
		}
	}
	u.ID = int64(len(f.urls) + 1)
	f.taken[u.ShortCode] = true
	f.urls = append(f.urls, *u)
	if created != nil {
		created.URLID = &u.ID
		f.events = append(f.events, *created)
	}
	return nil
}

func (f *fakeStore) GetURL(ctx context.Context, id int64) (URL, error) {
	f.call("GetURL")
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.urls {
		if u.ID == id {
			return u, nil
		}
	}
	return URL{}, ErrNotFound
}

func (f *fakeStore) GetURLByCode(ctx context.Context, code string) (URL, error) {
	f.call("GetURLByCode")
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.urls {
		if u.ShortCode == code {
			return u, nil
		}
	}
	return URL{}, ErrNotFound
}

func (f *fakeStore) FindActiveURL(ctx context.Context, original string, keyID int64) (URL, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.urls {
		if u.OriginalURL == original && u.IsActive && u.KeyID == keyID && !u.HasOptions() {
			return u, nil
		}
	}
	return URL{}, ErrNotFound
}

func (f *fakeStore) ListURLs(ctx context.Context, flt URLFilter) ([]URL, error) {
	f.call("ListURLs")
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []URL
	for _, u := range f.urls {
		if flt.UserID != nil && (u.UserID == nil || *u.UserID != *flt.UserID) {
			continue
		}
		if flt.IsActive != nil && u.IsActive != *flt.IsActive {
			continue
		}
		if flt.Limit > 0 && len(out) == flt.Limit {
			break
		}
		out = append(out, u)
	}
	return out, nil
}

func (f *fakeStore) ReserveCodes(ctx context.Context, n int64) (int64, error) {
	f.call("ReserveCodes")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counter = max(f.counter, int64(len(f.urls)))
	first := f.counter + 1
	f.counter += n
	return first, nil
}

func (f *fakeStore) CodeFloor(ctx context.Context) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.floorErr != nil {
		return 0, f.floorErr
	}
	return max(f.counter, int64(len(f.urls))), nil
}

func (f *fakeStore) GetUser(ctx context.Context, id int64) (User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[id]
	if !ok {
		return User{}, ErrNotFound
	}
	return u, nil
}

func (f *fakeStore) DeleteUser(ctx context.Context, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.users, id)
	for i := range f.urls {
		if f.urls[i].UserID != nil && *f.urls[i].UserID == id {
			f.urls[i].UserID = nil
		}
	}
	return nil
}

func (f *fakeStore) InsertUsers(ctx context.Context, users []User) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range users {
		f.users[u.ID] = u
	}
	return len(users), nil
}

func (f *fakeStore) InsertClicks(ctx context.Context, clicks []ClickEvent) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clicks = append(f.clicks, clicks...)
	return len(clicks), nil
}

// fakeCache is a map cache that records every call.
type fakeCache struct {
	mu      sync.Mutex
	vals    map[string][]byte
	deletes [][]string
	fail    error
}

func newFakeCache() *fakeCache { return &fakeCache{vals: map[string][]byte{}} }

func (c *fakeCache) Get(ctx context.Context, keys []string) (map[string][]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return nil, c.fail
	}
	out := map[string][]byte{}
	for _, k := range keys {
		if v, ok := c.vals[k]; ok {
			out[k] = v
		}
	}
	return out, nil
}

func (c *fakeCache) Set(ctx context.Context, entries []CacheEntry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	for _, e := range entries {
		c.vals[e.Key] = e.Value
	}
	return nil
}

func (c *fakeCache) Delete(ctx context.Context, keys []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deletes = append(c.deletes, keys)
	for _, k := range keys {
		delete(c.vals, k)
	}
	return c.fail
}

// fakeCounter hands out blocks from next, or fails with err.
type fakeCounter struct {
	mu    sync.Mutex
	next  int64
	err   error
	calls []ReserveRequest
}

func (c *fakeCounter) Reserve(ctx context.Context, req ReserveRequest) (Block, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, req)
	if c.err != nil {
		return Block{}, c.err
	}
	c.next = max(c.next, req.Floor)
	b := Block{First: c.next + 1, Size: req.Size}
	c.next += req.Size
	return b, nil
}

func ptrTo[T any](v T) *T { return &v }

var fixedNow = time.Date(2026, 4, 4, 14, 30, 0, 123456789, time.UTC)

func newTestService(store Store, cfg ServiceConfig) *Service {
	cfg.Now = func() time.Time { return fixedNow }
	return NewService(store, cfg)
}

func TestCreateURLUsesCounterBlocks(t *testing.T) {
	ctx := t.Context()
	st := newFakeStore()
	ctr := &fakeCounter{}
	svc := newTestService(st, ServiceConfig{Counter: ctr, CodeBlockSize: 3})
	var codes []string
	for i := range 4 {
		u, created, err := svc.CreateURL(ctx, CreateURLRequest{OriginalURL: fmt.Sprintf("https://x/%d", i)})
		if err != nil || !created {
			t.Fatalf("CreateURL %d = %v, %v", i, created, err)
		}
		codes = append(codes, u.ShortCode)
	}
	if diff := cmp.Diff([]string{"000001", "000002", "000003", "000004"}, codes); diff != "" {
		t.Errorf("codes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]ReserveRequest{{Size: 3, Floor: 0}, {Size: 3, Floor: 3}}, ctr.calls); diff != "" {
		t.Errorf("Reserve calls (-want +got):\n%s", diff)
	}
}

func TestCreateURLCounterFloor(t *testing.T) {
	// Spec §16 test 83: with MAX(id) = 2000 the first code is 0000wh.
	st := newFakeStore()
	for i := range 2000 {
		st.urls = append(st.urls, URL{ID: int64(i + 1), ShortCode: fmt.Sprintf("seed%d", i)})
	}
	svc := newTestService(st, ServiceConfig{Counter: &fakeCounter{}})
	u, _, err := svc.CreateURL(t.Context(), CreateURLRequest{OriginalURL: "https://x/new"})
	if err != nil || u.ShortCode != "0000wh" {
		t.Errorf("CreateURL = %q, %v; want 0000wh", u.ShortCode, err)
	}
}

func TestCreateURLSkipsReservedCodes(t *testing.T) {
	// The counter's next values spell "Health" and "HEALTH": reserved
	// words in any case, which would shadow GET /health at the root.
	value := func(code string) int64 {
		var n int64
		for _, c := range code {
			n = n*62 + int64(strings.IndexRune(codeAlphabet, c))
		}
		return n
	}
	svc := newTestService(newFakeStore(), ServiceConfig{Counter: &fakeCounter{next: value("Health") - 1}, CodeBlockSize: 4})
	u, _, err := svc.CreateURL(t.Context(), CreateURLRequest{OriginalURL: "https://x/new"})
	if err != nil || u.ShortCode != "Healti" {
		t.Errorf("CreateURL = %q, %v; want Healti, the value after Health", u.ShortCode, err)
	}
}

func TestCreateURLCounterFallback(t *testing.T) {
	for _, tt := range []struct {
		name    string
		counter Counter
	}{
		{"no counter", nil},
		{"counter down", &fakeCounter{err: fmt.Errorf("dial: %w", ErrUnavailable)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := newFakeStore()
			svc := newTestService(st, ServiceConfig{Counter: tt.counter})
			u, created, err := svc.CreateURL(t.Context(), CreateURLRequest{OriginalURL: "https://x"})
			if err != nil || !created || u.ShortCode != "000001" {
				t.Errorf("CreateURL = %q, %v, %v; want 000001 created", u.ShortCode, created, err)
			}
			if !slices.Contains(st.calls, "ReserveCodes") {
				t.Errorf("store calls %v lack ReserveCodes", st.calls)
			}
		})
	}
}

// TestCreateURLCounterDownReservesBlocks: while the counter is down, the
// store hands out a block at a time, not one value per create.
func TestCreateURLCounterDownReservesBlocks(t *testing.T) {
	st := newFakeStore()
	svc := newTestService(st, ServiceConfig{Counter: &fakeCounter{err: ErrUnavailable}, CodeBlockSize: 3})
	var codes []string
	for i := range 4 {
		u, created, err := svc.CreateURL(t.Context(), CreateURLRequest{OriginalURL: fmt.Sprintf("https://x/%d", i)})
		if err != nil || !created {
			t.Fatalf("CreateURL %d = %v, %v", i, created, err)
		}
		codes = append(codes, u.ShortCode)
	}
	reserves := 0
	for _, c := range st.calls {
		if c == "ReserveCodes" {
			reserves++
		}
	}
	if want := []string{"000001", "000002", "000003", "000004"}; !slices.Equal(codes, want) || reserves != 2 {
		t.Errorf("codes %v with %d store reservations, want %v with 2 (blocks of 3)", codes, reserves, want)
	}
}

func TestCreateURLRetriesTakenCodes(t *testing.T) {
	st := newFakeStore()
	st.taken["000001"], st.taken["000002"] = true, true
	svc := newTestService(st, ServiceConfig{Counter: &fakeCounter{}})
	u, created, err := svc.CreateURL(t.Context(), CreateURLRequest{OriginalURL: "https://x"})
	if err != nil || !created || u.ShortCode != "000003" {
		t.Errorf("CreateURL = %q, %v, %v; want 000003 created", u.ShortCode, created, err)
	}
}

func TestCreateURLGivesUpAfterBoundedAttempts(t *testing.T) {
	st := newFakeStore()
	st.createFn = func(u *URL) error { return ErrConflict }
	svc := newTestService(st, ServiceConfig{Counter: &fakeCounter{}})
	_, _, err := svc.CreateURL(t.Context(), CreateURLRequest{OriginalURL: "https://x"})
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Message != "Could not create short URL" {
		t.Fatalf("CreateURL error = %v; want Could not create short URL", err)
	}
	if n := strings.Count(strings.Join(st.calls, ","), "CreateURL"); n != maxCodeAttempts {
		t.Errorf("CreateURL attempts = %d, want %d", n, maxCodeAttempts)
	}
}

func TestCreateURLInvalidatesInOneCall(t *testing.T) {
	st := newFakeStore()
	st.users[7] = User{ID: 7}
	cache := newFakeCache()
	svc := newTestService(st, ServiceConfig{Cache: cache})
	u, _, err := svc.CreateURL(t.Context(), CreateURLRequest{OriginalURL: "https://x", UserID: ptrTo[int64](7), Title: ptrTo("  T  ")})
	if err != nil {
		t.Fatal(err)
	}
	if u.Title == nil || *u.Title != "T" {
		t.Errorf("title = %v, want trimmed T", u.Title)
	}
	want := [][]string{{
		"cache:url:1", "cache:url:redirect:000001", "cache:analytics:url:1",
		"cache:url:list", "cache:url:list:limit:500",
		"cache:url:list:is_active:true", "cache:url:list:is_active:true:limit:500",
		"cache:url:list:is_active:false", "cache:url:list:is_active:false:limit:500",
		"cache:url:list:user:7", "cache:url:list:user:7:limit:500",
		"cache:url:list:user:7:is_active:true", "cache:url:list:user:7:is_active:true:limit:500",
		"cache:url:list:user:7:is_active:false", "cache:url:list:user:7:is_active:false:limit:500",
	}}
	if diff := cmp.Diff(want, cache.deletes); diff != "" {
		t.Errorf("Delete calls (-want +got):\n%s", diff)
	}
	wantEvent := Event{URLID: &u.ID, UserID: u.UserID, EventType: "created", Timestamp: fixedNow.Truncate(time.Microsecond),
		Details: `{"short_code": "000001", "original_url": "https://x"}`}
	if diff := cmp.Diff([]Event{wantEvent}, st.events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// TestCreateURLDomainRules checks the rules the service applies to every
// decoded request, JSON or form (the decoding cases are in core/httpapi).
func TestCreateURLDomainRules(t *testing.T) {
	tests := []struct {
		name string
		req  CreateURLRequest
		want string // error message, or "" for success
	}{
		{"ok trimmed", CreateURLRequest{OriginalURL: "  https://x/a  ", Title: ptrTo(" t ")}, ""},
		{"huge user", CreateURLRequest{OriginalURL: "https://x/c", UserID: ptrTo[int64](math.MaxInt64)}, "Field 'user_id' must reference an existing user"},
		{"unknown user", CreateURLRequest{OriginalURL: "https://x/d", UserID: ptrTo[int64](5)}, "Field 'user_id' must reference an existing user"},
		{"javascript", CreateURLRequest{OriginalURL: "javascript:alert(1)"}, "Field 'original_url' must be a valid http or https URL"},
		{"blank", CreateURLRequest{OriginalURL: "   "}, "Field 'original_url' must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newTestService(newFakeStore(), ServiceConfig{})
			u, _, err := svc.CreateURL(t.Context(), tt.req)
			if tt.want == "" {
				if err != nil || strings.TrimSpace(u.OriginalURL) != u.OriginalURL {
					t.Errorf("CreateURL = %+v, %v", u, err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Errorf("CreateURL error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestListURLsCacheServesLimits(t *testing.T) {
	st := newFakeStore()
	for i := range 150 {
		st.urls = append(st.urls, URL{ID: int64(i + 1), ShortCode: fmt.Sprint(i), IsActive: true})
	}
	cache := newFakeCache()
	svc := newTestService(st, ServiceConfig{Cache: cache})
	n := func(v int64) *int64 { return &v }
	tests := []struct {
		limit  *int64
		n      int
		status CacheStatus
	}{
		{n(2), 2, CacheMiss}, // fills the default-limit entry
		{nil, 100, CacheHit}, // the Q6 bug would answer 2 items here
		{n(50), 50, CacheHit},
		{nil, 100, CacheHit}, // "abc": decoded as absent
		{n(0), 1, CacheHit},
		{n(300), 150, CacheMiss},
		{n(100000), 150, CacheHit},
	}
	for _, tt := range tests {
		urls, status, err := svc.ListURLs(t.Context(), ListURLsRequest{Limit: tt.limit})
		if err != nil || len(urls) != tt.n || status != tt.status {
			t.Errorf("ListURLs(limit %v) = %d urls, %v, %v; want %d, %v", tt.limit, len(urls), status, err, tt.n, tt.status)
		}
	}
	if _, ok := cache.vals["cache:url:list"]; !ok {
		t.Error("default list not cached under the spec key")
	}
}

func TestDeleteUserInvalidatesOwnedURLs(t *testing.T) {
	st := newFakeStore()
	owner := int64(3)
	st.users[3] = User{ID: 3}
	st.urls = []URL{{ID: 1, UserID: &owner, ShortCode: "a"}, {ID: 2, ShortCode: "b"}, {ID: 5, UserID: &owner, ShortCode: "c"}}
	cache := newFakeCache()
	svc := newTestService(st, ServiceConfig{Cache: cache})
	if err := svc.DeleteUser(t.Context(), 3); err != nil {
		t.Fatal(err)
	}
	if len(cache.deletes) != 1 {
		t.Fatalf("Delete calls = %d, want 1", len(cache.deletes))
	}
	got := cache.deletes[0]
	for _, k := range []string{"cache:url:1", "cache:url:5", "cache:url:list", "cache:url:list:user:3", "cache:url:list:user:3:is_active:true:limit:500"} {
		if !slices.Contains(got, k) {
			t.Errorf("invalidated keys %v lack %q", got, k)
		}
	}
	if slices.Contains(got, "cache:url:2") {
		t.Errorf("invalidated keys %v include another user's URL", got)
	}
}

func TestRedirectCacheLayout(t *testing.T) {
	st := newFakeStore()
	st.urls = []URL{{ID: 1, ShortCode: "d5DnL5", OriginalURL: "https://hackstack.io/jade/uplink/1", IsActive: true}}
	cache := newFakeCache()
	svc := newTestService(st, ServiceConfig{Cache: cache})
	ctx := t.Context()
	_, status, err := svc.Redirect(ctx, "d5DnL5", ClickSource{Visitor: "1.2.3.4"}, true)
	if err != nil || status != CacheMiss {
		t.Fatalf("first Redirect = %v, %v", status, err)
	}
	want := `{"original_url": "https://hackstack.io/jade/uplink/1", "url_id": 1}`
	if got := string(cache.vals["cache:url:redirect:d5DnL5"]); got != want {
		t.Errorf("cached value = %s, want %s", got, want)
	}
	tgt, status, err := svc.Redirect(ctx, "d5DnL5", ClickSource{Visitor: "1.2.3.4"}, false)
	if err != nil || status != CacheHit || tgt.OriginalURL != "https://hackstack.io/jade/uplink/1" || tgt.URLID != 1 {
		t.Errorf("second Redirect = %+v, %v, %v", tgt, status, err)
	}
	// Without a recorder the click of the first (recorded) redirect is
	// stored synchronously; the second was not recorded.
	if len(st.clicks) != 1 || st.clicks[0].Visitor != "1.2.3.4" || len(st.clicks[0].ID) != 32 || st.clicks[0].URLID != 1 {
		t.Errorf("stored clicks = %+v", st.clicks)
	}
}

func TestEncodeRedirectRoundTrip(t *testing.T) {
	for _, tgt := range []RedirectTarget{
		{OriginalURL: "https://x/a", URLID: 12},
		{OriginalURL: "https://x/\"q\"", URLID: 3, linkStatus: 301},
	} {
		raw := encodeRedirect(tgt)
		if got, ok := decodeRedirect(raw); !ok || got != tgt {
			t.Errorf("decodeRedirect(encodeRedirect(%+v)) = %+v, %v (%s)", tgt, got, ok, raw)
		}
	}
	// A plain link keeps the reference's layout (spec Appendix B).
	if got := string(encodeRedirect(RedirectTarget{OriginalURL: "https://x", URLID: 7})); got != `{"original_url": "https://x", "url_id": 7}` {
		t.Errorf("encodeRedirect of a plain link = %s", got)
	}
}

func TestDecodeRedirect(t *testing.T) {
	tests := []struct {
		raw  string
		want RedirectTarget
		ok   bool
	}{
		{`{"original_url": "https://x/a", "url_id": 12}`, RedirectTarget{OriginalURL: "https://x/a", URLID: 12}, true},
		{`{"original_url": "https://x/\u00e4", "url_id": 3}`, RedirectTarget{OriginalURL: "https://x/ä", URLID: 3}, true},
		{`{"url_id":4,"original_url":"https://y"}`, RedirectTarget{OriginalURL: "https://y", URLID: 4}, true},
		{`{"original_url": "https://x", "url_id": "4"}`, RedirectTarget{}, false},
		{`{"original_url": "https://x"}`, RedirectTarget{}, false},
		{`garbage`, RedirectTarget{}, false},
		{`{"original_url": "https://x", "url_id": 99999999999999999999}`, RedirectTarget{}, false},
		// A link's own redirect status (issue 19) follows the reference's
		// members.
		{`{"original_url": "https://x", "url_id": 5, "redirect_status": 308}`, RedirectTarget{OriginalURL: "https://x", URLID: 5, linkStatus: 308}, true},
		{`{"original_url": "https://x", "url_id": 5, "redirect_status": 303}`, RedirectTarget{}, false},
		{`{"original_url": "https://x", "url_id": 5, "redirect_status": "301"}`, RedirectTarget{}, false},
	}
	for _, tt := range tests {
		got, ok := decodeRedirect([]byte(tt.raw))
		if got != tt.want || ok != tt.ok {
			t.Errorf("decodeRedirect(%s) = %+v, %v; want %+v, %v", tt.raw, got, ok, tt.want, tt.ok)
		}
	}
}

func TestRedirectRejectsImplausibleCodes(t *testing.T) {
	svc := newTestService(newFakeStore(), ServiceConfig{})
	for _, code := range []string{"", "a\x00b", "\xff", strings.Repeat("a", 17)} {
		if _, _, err := svc.Redirect(t.Context(), code, ClickSource{Visitor: ""}, true); !errors.Is(err, ErrURLNotFound) {
			t.Errorf("Redirect(%q) error = %v, want ErrURLNotFound", code, err)
		}
	}
}

func TestAnalyticsCacheRoundTrip(t *testing.T) {
	latest := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	a := Analytics{URLID: 1, ShortCode: "abc123", OriginalURL: "https://example.com/1", TotalEvents: 3,
		EventCounts: map[string]int64{"updated": 2, "created": 1}, LatestEventAt: &latest}
	raw := encodeAnalytics(a)
	want := `{"url_id": 1, "short_code": "abc123", "original_url": "https://example.com/1", "total_events": 3, "click_count": 0, "redirect_count": 0, "event_counts": {"created": 1, "updated": 2}, "latest_event_at": "2026-01-01T02:00:00"}`
	if string(raw) != want {
		t.Errorf("encodeAnalytics = %s\nwant %s", raw, want)
	}
	got, ok := decodeAnalytics(raw)
	if !ok {
		t.Fatal("decodeAnalytics failed")
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if _, ok := decodeAnalytics([]byte(`{"url_id": 1}`)); ok {
		t.Error("decodeAnalytics accepted an entry lacking fields")
	}
}

// fakeShard serves fixed stats or an error.
type fakeShard struct {
	ClickShard
	stats ShardStats
	err   error
}

func (f fakeShard) Stats(ctx context.Context, req StatsRequest) (ShardStats, error) {
	return f.stats, f.err
}

type shardList []NamedShard

func (s shardList) Shards() []NamedShard { return s }

func TestRealtimeMergesShards(t *testing.T) {
	st := newFakeStore()
	st.urls = []URL{{ID: 1, ShortCode: "abc123", IsActive: true}}
	sketch := func(from, to int) []byte {
		r := hll.New()
		for i := from; i < to; i++ {
			r.Add(fmt.Appendf(nil, "visitor-%d", i))
		}
		return r
	}
	hourly := func(v int64) []int64 {
		h := make([]int64, RealtimeHours)
		for i := range h {
			h[i] = v
		}
		return h
	}
	shards := shardList{
		{Name: "shard0", Shard: fakeShard{stats: ShardStats{Total: 5, Hourly: hourly(1), Visitors: sketch(0, 10), Pending: 2, PendingLatest: time.Date(2026, 4, 4, 14, 20, 0, 0, time.UTC)}}},
		{Name: "shard1", Shard: fakeShard{stats: ShardStats{Total: 7, Hourly: hourly(2), Visitors: sketch(5, 15), Pending: 1, PendingLatest: time.Date(2026, 4, 4, 14, 30, 5, 0, time.UTC)}}},
		{Name: "shard2", Shard: fakeShard{err: ErrUnavailable}},
	}
	svc := newTestService(st, ServiceConfig{Shards: shards})
	rt, err := svc.Realtime(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	// Summing per-shard estimates would give 20; the union has 15.
	if rt.TotalClicks != 12 || rt.UniqueVisitors != 15 || len(rt.Hourly) != RealtimeHours {
		t.Errorf("Realtime = total %d, unique %d, %d hours; want 12, 15, 72", rt.TotalClicks, rt.UniqueVisitors, len(rt.Hourly))
	}
	last := rt.Hourly[RealtimeHours-1]
	label := func(h time.Time) string { return h.UTC().Format(HourLayout) }
	if label(last.Hour) != "2026-04-04:14" || last.Clicks != 3 || label(rt.Hourly[0].Hour) != "2026-04-01:15" {
		t.Errorf("hours run %s..%s (last %d clicks)", label(rt.Hourly[0].Hour), label(last.Hour), last.Clicks)
	}
	if got, latest := svc.pendingClicks(t.Context(), "abc123"); got != 3 || !latest.Equal(time.Date(2026, 4, 4, 14, 30, 5, 0, time.UTC)) {
		t.Errorf("pendingClicks = %d, %v; want 3, the newer shard's 14:30:05", got, latest)
	}
}

func TestImportUsersErrors(t *testing.T) {
	long := strings.Repeat("u", 121)
	tests := []struct {
		name string
		rows []UserImportRow
		want string
	}{
		{"missing email", []UserImportRow{{Line: 2, Username: "bob"}}, "CSV rows must include username and email"},
		{"bad id", []UserImportRow{{Line: 2, Username: "bob", Email: "b@x.io", ID: ptrTo[int64](0)}}, "CSV line 2: id must be a non-zero integer between -2147483648 and 1073741823"},
		{"huge id", []UserImportRow{{Line: 2, Username: "bob", Email: "b@x.io", ID: ptrTo[int64](4294967296)}}, "CSV line 2: id must be a non-zero integer between -2147483648 and 1073741823"},
		{"long username", []UserImportRow{{Line: 2, Username: long, Email: "b@x.io"}}, "CSV line 2: username must not exceed 120 characters"},
		{"bad created_at", []UserImportRow{{Line: 2, Username: "bob", Email: "b@x.io", BadCreatedAt: true}}, "CSV line 2: created_at must be a time like 2006-01-02 15:04:05"},
		// The reference refused a row without an email before its
		// database refused a long username of an earlier row (spec §4.6).
		{"missing email after long username", []UserImportRow{{Line: 2, Username: long, Email: "b@x.io"}, {Line: 3, Username: "ann"}}, "CSV rows must include username and email"},
		{"missing email before bad created_at", []UserImportRow{{Line: 2, Username: "bob", Email: " "}, {Line: 3, Username: "ann", Email: "a@x.io", BadCreatedAt: true}}, "CSV rows must include username and email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newTestService(newFakeStore(), ServiceConfig{})
			_, err := svc.ImportUsers(t.Context(), tt.rows)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Message != tt.want {
				t.Errorf("ImportUsers error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestImportUsersStoresRows(t *testing.T) {
	st := newFakeStore()
	svc := newTestService(st, ServiceConfig{})
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	n, err := svc.ImportUsers(t.Context(), []UserImportRow{
		{Line: 2, ID: ptrTo[int64](5), Username: " bob ", Email: "b@x.io", CreatedAt: &at},
		{Line: 3, Username: "ann", Email: "a@x.io"},
	})
	if err != nil || n != 2 {
		t.Fatalf("ImportUsers = %d, %v", n, err)
	}
	want := User{ID: 5, Username: "bob", Email: "b@x.io", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if diff := cmp.Diff(want, st.users[5]); diff != "" {
		t.Errorf("user 5 (-want +got):\n%s", diff)
	}
	if u := st.users[0]; u.Username != "ann" || !u.CreatedAt.Equal(fixedNow.Truncate(time.Microsecond)) {
		t.Errorf("user without id = %+v", u)
	}
}

// refusingRecorder refuses every click, as a batcher whose queue stayed
// full for its bounded wait does.
type refusingRecorder struct{ calls int }

func (r *refusingRecorder) Record(context.Context, Click) error {
	r.calls++
	return fmt.Errorf("queue click: queue full: %w", ErrUnavailable)
}

func TestRedirectRefusedClickIsNotStoredSynchronously(t *testing.T) {
	st := newFakeStore()
	st.urls = []URL{{ID: 1, ShortCode: "d5DnL5", OriginalURL: "https://example.com/1", IsActive: true}}
	rec := &refusingRecorder{}
	svc := newTestService(st, ServiceConfig{Clicks: rec})
	for range 3 {
		if _, _, err := svc.Redirect(t.Context(), "d5DnL5", ClickSource{Visitor: "1.2.3.4"}, true); err != nil {
			t.Fatalf("Redirect with a refusing recorder = %v, want the target", err)
		}
	}
	if rec.calls != 3 {
		t.Errorf("recorder got %d clicks, want 3", rec.calls)
	}
	if len(st.clicks) != 0 {
		t.Errorf("store got %d clicks from the redirect path, want none (no synchronous fallback)", len(st.clicks))
	}
}

// acknowledgingRecorder is a recorder in the durable mode that could not
// store its click.
type acknowledgingRecorder struct{ refusingRecorder }

func (*acknowledgingRecorder) AcknowledgesClicks() bool { return true }

func TestRedirectDurableClickNotStoredFails(t *testing.T) {
	st := newFakeStore()
	st.urls = []URL{{ID: 1, ShortCode: "d5DnL5", OriginalURL: "https://example.com/1", IsActive: true}}
	svc := newTestService(st, ServiceConfig{Clicks: &acknowledgingRecorder{}})
	if _, _, err := svc.Redirect(t.Context(), "d5DnL5", ClickSource{Visitor: "1.2.3.4"}, true); !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrClickNotStored) {
		t.Errorf("Redirect with an unacknowledged durable click = %v, want ErrUnavailable (503, no 302) and ErrClickNotStored (not counted as the store's)", err)
	}
	// HEAD records nothing, so it is not refused.
	if _, _, err := svc.Redirect(t.Context(), "d5DnL5", ClickSource{Visitor: "1.2.3.4"}, false); err != nil {
		t.Errorf("Redirect without recording = %v, want the target", err)
	}
}

// waitingRecorder is a recorder in the durable mode whose clicks are
// never acknowledged: Record waits until its context ends.
type waitingRecorder struct{}

func (waitingRecorder) Record(ctx context.Context, _ Click) error {
	<-ctx.Done()
	return fmt.Errorf("store click: %w", ctx.Err())
}

func (waitingRecorder) AcknowledgesClicks() bool { return true }

// TestRedirectDurableClientGone: a client that goes away while its click
// waits for the durable commit is no refused redirect: the error says the
// request was cancelled (the API's 499, no 503 counted) and nothing is
// logged; a deadline that ends the wait is a refusal, logged.
func TestRedirectDurableClientGone(t *testing.T) {
	st := newFakeStore()
	st.urls = []URL{{ID: 1, ShortCode: "d5DnL5", OriginalURL: "https://example.com/1", IsActive: true}}
	var logs strings.Builder
	svc := NewService(st, ServiceConfig{Clicks: waitingRecorder{}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := svc.Redirect(ctx, "d5DnL5", ClickSource{Visitor: "1.2.3.4"}, true)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
		t.Errorf("Redirect of a client gone = %v, want context.Canceled and not ErrUnavailable", err)
	}
	if logs.Len() != 0 {
		t.Errorf("a client gone logged %q, want nothing", logs.String())
	}

	ctx, cancel = context.WithTimeout(t.Context(), time.Millisecond)
	defer cancel()
	if _, _, err := svc.Redirect(ctx, "d5DnL5", ClickSource{Visitor: "1.2.3.4"}, true); !errors.Is(err, ErrClickNotStored) {
		t.Errorf("Redirect past its deadline = %v, want ErrClickNotStored", err)
	}
	if !strings.Contains(logs.String(), "redirects refused") {
		t.Errorf("a redirect refused at its deadline logged %q, want the refusal", logs.String())
	}
}

// urlDeleter is a fakeStore whose DeleteURL succeeds.
type urlDeleter struct{ *fakeStore }

func (urlDeleter) DeleteURL(context.Context, int64) error { return nil }

// deletingShard records the codes it is asked to delete.
type deletingShard struct {
	ClickShard
	deleted []string
	err     error
}

func (s *deletingShard) Delete(_ context.Context, codes []string) error {
	s.deleted = append(s.deleted, codes...)
	return s.err
}

// TestDeleteURLDeletesClickKeys: deleting a URL asks every shard that can
// to forget its code (fix of Q34), and a shard that cannot or fails does
// not fail the delete.
func TestDeleteURLDeletesClickKeys(t *testing.T) {
	st := newFakeStore()
	st.urls = []URL{{ID: 7, ShortCode: "gone01", OriginalURL: "https://example.com/", IsActive: true}}
	a, b := &deletingShard{}, &deletingShard{err: fmt.Errorf("delete: %w", ErrUnavailable)}
	old := &streamShard{pending: map[string]int64{}} // no Delete
	svc := newTestService(urlDeleter{st}, ServiceConfig{Shards: shardList{{Name: "shard0", Shard: a}, {Name: "shard1", Shard: b}, {Name: "shard2", Shard: old}}})
	if err := svc.DeleteURL(t.Context(), 7); err != nil {
		t.Fatalf("DeleteURL = %v", err)
	}
	for i, s := range []*deletingShard{a, b} {
		if diff := cmp.Diff([]string{"gone01"}, s.deleted); diff != "" {
			t.Errorf("shard%d deleted (-want +got):\n%s", i, diff)
		}
	}
}

// TestOutageWarningsArePaced: while the cache or a shard is down, the
// warnings about failed invalidations and shard figures, which every
// request would make, come at most once a second, each saying how many
// failures it stands for.
func TestOutageWarningsArePaced(t *testing.T) {
	st := newFakeStore()
	st.urls = []URL{{ID: 1, ShortCode: "abc123", IsActive: true}}
	now := fixedNow
	var logs strings.Builder
	svc := NewService(st, ServiceConfig{
		Cache:  &fakeCache{vals: map[string][]byte{}, fail: ErrUnavailable},
		Shards: shardList{{Name: "shard0", Shard: fakeShard{err: ErrUnavailable}}},
		Now:    func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	for second := range 2 {
		for range 20 {
			svc.invalidateChanged(t.Context(), []string{"cache:url:1"})
			if _, err := svc.Realtime(t.Context(), 1); err != nil {
				t.Fatal(err)
			}
		}
		for _, msg := range []string{"cache invalidation failed", "shard stats unavailable"} {
			if n := strings.Count(logs.String(), msg); n != second+1 {
				t.Errorf("after %d s, %q logged %d times, want %d", second+1, msg, n, second+1)
			}
		}
		now = now.Add(time.Second)
	}
	// The second line of each stands for the 20 failures since the first.
	if n := strings.Count(logs.String(), "failures=20"); n != 2 {
		t.Errorf("%d lines say failures=20, want 2; log:\n%s", n, logs.String())
	}
}
