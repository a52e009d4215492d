// Package storetest is the conformance suite of [core.Store]. Every store
// implementation runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) core.Store { return openFresh(t) })
//	}
//
// The suite covers every method of the contract, its happy paths and its
// errors (core.ErrNotFound, core.ErrConflict, core.ErrReference,
// core.ErrInvalid), idempotency, transactions, time precision, and an
// import of the reference seed files when they can be found.
package storetest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/curtainhq/curtain/core"
)

// Opener returns a fresh, empty, migrated store for one test and arranges
// (with t.Cleanup) for it to be closed and removed.
type Opener func(t *testing.T) core.Store

// SeedDirEnv names an environment variable that points the suite at the
// reference seed directory (users.csv, urls.csv, events.csv). Without it
// the suite looks for shared/seed-data in the working directory and its
// parents.
const SeedDirEnv = "CURTAIN_SEED_DIR"

// Run runs the conformance suite, one subtest per behaviour, each on a
// fresh store from open.
func Run(t *testing.T, open Opener) {
	t.Helper()
	groups := []struct {
		name  string
		cases []testCase
	}{
		{"Users", userCases},
		{"URLs", urlCases},
		{"Events", eventCases},
		{"Clicks", clickCases},
		{"Breakdown", breakdownCases},
		{"Counter", counterCases},
		{"Import", importCases},
		{"Store", storeCases},
		{"Races", raceCases},
		{"Visits", visitCases},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel() // each case has a fresh store of its own
					c.run(t, open(t))
				})
			}
		})
	}
}

// testCase is one behaviour checked on a fresh store.
type testCase struct {
	name string
	run  func(t *testing.T, s core.Store)
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// at returns a UTC time of 2025-03-0d hh:mm:ss plus micro microseconds.
func at(day, hh, mm, ss, micro int) time.Time {
	return time.Date(2025, 3, day, hh, mm, ss, micro*1000, time.UTC)
}

// wantErr fails t unless err matches target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s error = %v, want %v", what, err, target)
	}
}

// must fails t now if err is not nil.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// diff fails t when got differs from want.
func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// newUser creates a user named name.
func newUser(t *testing.T, s core.Store, name string) core.User {
	t.Helper()
	u := core.User{Username: name, Email: name + "@example.com", CreatedAt: at(1, 12, 0, 0, 0)}
	must(t, "CreateUser", s.CreateUser(t.Context(), &u))
	return u
}

// newURL creates an active URL with code, owned by owner (nil: nobody).
func newURL(t *testing.T, s core.Store, code string, owner *int64) core.URL {
	t.Helper()
	u := core.URL{
		UserID: owner, ShortCode: code, OriginalURL: "https://example.com/" + code,
		Title: ptr("title " + code), IsActive: true,
		CreatedAt: at(2, 8, 0, 0, 0), UpdatedAt: at(2, 8, 0, 0, 0),
	}
	must(t, "CreateURL", s.CreateURL(t.Context(), &u, nil))
	return u
}

// newEvent creates an event of type typ for url at ts.
func newEvent(t *testing.T, s core.Store, url int64, user *int64, typ string, ts time.Time) core.Event {
	t.Helper()
	e := core.Event{URLID: &url, UserID: user, EventType: typ, Timestamp: ts, Details: `{"n":1}`}
	must(t, "CreateEvent", s.CreateEvent(t.Context(), &e))
	return e
}

// contents returns every user, URL and event of s.
func contents(t *testing.T, s core.Store) ([]core.User, []core.URL, []core.Event) {
	t.Helper()
	ctx := t.Context()
	users, err := s.ListUsers(ctx, core.Page{})
	must(t, "ListUsers", err)
	urls, err := s.ListURLs(ctx, core.URLFilter{})
	must(t, "ListURLs", err)
	events, err := s.ListEvents(ctx, core.EventFilter{})
	must(t, "ListEvents", err)
	return users, urls, events
}

// wantFloor fails t unless CodeFloor is want; when says at what point.
func wantFloor(t *testing.T, s core.Store, want int64, when string) {
	t.Helper()
	floor, err := s.CodeFloor(t.Context())
	must(t, "CodeFloor", err)
	if floor != want {
		t.Errorf("CodeFloor %s = %d, want %d", when, floor, want)
	}
}

// eventIDs returns the ids of events.
func eventIDs(events []core.Event) []int64 {
	ids := make([]int64, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	return ids
}

// seedDir finds the reference seed directory, or "" when there is none.
func seedDir() string {
	if dir := os.Getenv(SeedDirEnv); dir != "" {
		return dir
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		cand := filepath.Join(dir, "shared", "seed-data")
		if _, err := os.Stat(filepath.Join(cand, "users.csv")); err == nil {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
