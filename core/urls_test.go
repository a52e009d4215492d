package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/curtainhq/curtain/core/pycompat"
)

// CreateOrFindURL finds the link FindActiveURL finds, or creates one.
func (f *fakeStore) CreateOrFindURL(ctx context.Context, u *URL, created *Event) (bool, error) {
	f.mu.Lock()
	for _, e := range f.urls {
		if e.IsActive && e.OriginalURL == u.OriginalURL && e.KeyID == u.KeyID && !e.HasOptions() {
			f.mu.Unlock()
			*u = e
			return true, nil
		}
	}
	f.mu.Unlock()
	return false, f.CreateURL(ctx, u, created)
}

// TestCreateFoundGivesCodeBack: a create that finds a link to reuse draws
// a code before its store call looks, and gives it back, so that the next
// create uses it and no code is skipped; a code given back while later
// ones are out is drawn before the block goes on.
func TestCreateFoundGivesCodeBack(t *testing.T) {
	ctx := t.Context()
	st := newFakeStore()
	svc := newTestService(st, ServiceConfig{Counter: &fakeCounter{}, CodeBlockSize: 10})
	create := func(original string) (string, bool) {
		t.Helper()
		u, created, err := svc.CreateURL(ctx, CreateURLRequest{OriginalURL: original})
		if err != nil {
			t.Fatalf("create %s: %v", original, err)
		}
		return u.ShortCode, created
	}
	steps := []struct {
		original, code string
		created        bool
	}{
		{"https://a.test/", "000001", true},
		{"https://a.test/", "000001", false},
		{"https://b.test/", "000002", true},
	}
	for _, s := range steps {
		if code, created := create(s.original); code != s.code || created != s.created {
			t.Errorf("create %s = %s (created %v), want %s (created %v)", s.original, code, created, s.code, s.created)
		}
	}
	// A value given back out of order (another create drew after it).
	n, err := svc.nextCodeValue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.nextCodeValue(ctx); err != nil {
		t.Fatal(err)
	}
	svc.codes.putBack(n)
	if code, _ := create("https://c.test/"); code != ShortCode(n) {
		t.Errorf("create after an out-of-order give-back = %s, want %s", code, ShortCode(n))
	}
	if code, _ := create("https://d.test/"); code != ShortCode(n+2) {
		t.Errorf("next create = %s, want %s", code, ShortCode(n+2))
	}
}

// RaiseCodeFloor raises the fake's counter.
func (f *fakeStore) RaiseCodeFloor(ctx context.Context, last int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counter = max(f.counter, last)
	return nil
}

// TestCodeFloorCoversIssuedCodes: codes a process reserved but never used
// (it stopped, or creates failed) stay covered by the store's floor, so a
// counter that restarts empty never hands out a code in use (issue 15).
func TestCodeFloorCoversIssuedCodes(t *testing.T) {
	ctx := t.Context()
	st := newFakeStore()
	ctr := &fakeCounter{}
	// Two processes one after the other, each using one code of its block.
	for i := range 2 {
		svc := newTestService(st, ServiceConfig{Counter: ctr, CodeBlockSize: 100})
		if _, _, err := svc.CreateURL(ctx, CreateURLRequest{OriginalURL: fmt.Sprintf("https://x/%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	// A create that fails validation after drawing its code.
	svc := newTestService(st, ServiceConfig{Counter: ctr, CodeBlockSize: 100})
	if _, _, err := svc.CreateURL(ctx, CreateURLRequest{OriginalURL: "https://x/2", UserID: ptrTo[int64](99)}); err == nil {
		t.Fatal("create for an unknown user succeeded")
	}
	inUse := map[string]bool{}
	for _, u := range st.urls {
		inUse[u.ShortCode] = true
	}
	// The counter restarts empty (a Redis flush); a new process draws a
	// whole block.
	fresh := &fakeCounter{}
	svc = newTestService(st, ServiceConfig{Counter: fresh, CodeBlockSize: 100})
	for i := range 150 {
		u, created, err := svc.CreateURL(ctx, CreateURLRequest{OriginalURL: fmt.Sprintf("https://y/%d", i)})
		if err != nil || !created {
			t.Fatalf("create %d after the restart = %v, %v", i, created, err)
		}
		if inUse[u.ShortCode] {
			t.Fatalf("code %s handed out again after the counter restarted (floors %v)", u.ShortCode, fresh.calls)
		}
	}
	if got := fresh.calls[0].Floor; got < 200 {
		t.Errorf("floor after the restart = %d, want at least 200 (two blocks of 100 issued)", got)
	}
}

// TestStoreDownIsNotCounterDown: with the store down and the counter up,
// a create fails with the store's error and logs nothing about the
// counter. Before, it logged "counter unavailable, reserving codes from
// the store" and tried the store's counter, which failed the same way.
func TestStoreDownIsNotCounterDown(t *testing.T) {
	st := newFakeStore()
	st.floorErr = fmt.Errorf("ping store: %w", ErrUnavailable)
	var logs strings.Builder
	svc := newTestService(st, ServiceConfig{Counter: &fakeCounter{}, CodeBlockSize: 10,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	_, _, err := svc.CreateURL(t.Context(), CreateURLRequest{OriginalURL: "https://x.test/"})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("create with the store down = %v, want ErrUnavailable", err)
	}
	if strings.Contains(logs.String(), "counter") || slices.Contains(st.calls, "ReserveCodes") {
		t.Errorf("the counter was taken for down (store calls %v); log:\n%s", st.calls, logs.String())
	}
}

// TestURLCacheRoundTrip checks that a URL object written to the cache in
// the reference's layout reads back whole, link options included, and
// that a plain link's entry is exactly the reference's.
func TestURLCacheRoundTrip(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	since, until, visits, expired := at.Add(time.Hour), at.Add(48*time.Hour), int64(3), "https://x/expired"
	title := "T"
	owner := int64(7)
	plain := URL{ID: 1, UserID: &owner, ShortCode: "abc123", OriginalURL: "https://x/a", Title: &title, IsActive: true, CreatedAt: at, UpdatedAt: at}
	full := plain
	full.ID, full.ShortCode, full.RedirectStatus = 2, "my-slug", 308
	full.Lifecycle = Lifecycle{ValidSince: &since, ValidUntil: &until, MaxVisits: &visits, ExpiredURL: &expired}
	full.Tags = []string{"news", "sport"}
	// CustomCode is not cached: the cache answers GET /urls/{id}, which
	// does not show it.
	for _, u := range []URL{plain, full} {
		raw := appendURLPython(nil, u)
		v, err := pycompat.ParseJSON(raw)
		if err != nil {
			t.Fatalf("cached %s does not parse: %v", raw, err)
		}
		got, ok := decodeURL(v)
		if !ok {
			t.Fatalf("decodeURL(%s) failed", raw)
		}
		if diff := cmp.Diff(u, got); diff != "" {
			t.Errorf("URL cache round trip of %s (-want +got):\n%s", raw, diff)
		}
	}
	want := `{"id": 1, "user_id": 7, "short_code": "abc123", "original_url": "https://x/a", "title": "T", "is_active": true, "created_at": "2026-01-02T03:04:05", "updated_at": "2026-01-02T03:04:05"}`
	if got := string(appendURLPython(nil, plain)); got != want {
		t.Errorf("cached plain URL = %s, want the reference's %s", got, want)
	}
	// A malformed option makes the entry a miss.
	v, _ := pycompat.ParseJSON([]byte(strings.Replace(string(appendURLPython(nil, full)), `"max_visits": 3`, `"max_visits": "3"`, 1)))
	if _, ok := decodeURL(v); ok {
		t.Error("decodeURL accepted a string max_visits")
	}
}
