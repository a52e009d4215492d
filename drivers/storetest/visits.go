package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/curtainhq/curtain/core"
)

// Cases of the visit limit (max_visits): claims counted in the store.
var visitCases = []testCase{
	{"ClaimsStopAtTheLimitUnderConcurrency", testClaimsUnderConcurrency},
	{"FirstClaimStartsFromTheSeed", testClaimSeed},
	{"PeekCountsNothing", testClaimPeek},
	{"ReleaseGivesAVisitBack", testReleaseVisit},
	{"RaisedLimitGrantsMore", testRaisedLimit},
	{"DeletedLinkIsNotFound", testClaimDeletedLink},
	{"ClearedLimitCountsAfresh", testClearedLimit},
}

// seedOf returns a Seed answering n that counts its calls in calls.
func seedOf(n int64, calls *atomic.Int64) func(context.Context) (int64, error) {
	return func(context.Context) (int64, error) {
		calls.Add(1)
		return n, nil
	}
}

// claim claims one visit of u with limit max and fails t on an error.
func claim(t *testing.T, s core.Store, u core.URL, max int64, peek bool) bool {
	t.Helper()
	var calls atomic.Int64
	ok, err := s.ClaimVisit(t.Context(), core.VisitClaim{URLID: u.ID, Max: max, Peek: peek, Seed: seedOf(0, &calls)})
	must(t, "ClaimVisit", err)
	return ok
}

// testClaimsUnderConcurrency: 40 claims at once of a link with a limit of
// 5 grant exactly 5, and the seed is asked at most once per claimer that
// found no count (every one of them starts it at the same value).
func testClaimsUnderConcurrency(t *testing.T, s core.Store) {
	u := newURL(t, s, "vis001", nil)
	var granted, seeds atomic.Int64
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			ok, err := s.ClaimVisit(t.Context(), core.VisitClaim{URLID: u.ID, Max: 5, Seed: seedOf(0, &seeds)})
			if err != nil {
				t.Errorf("ClaimVisit: %v", err)
			}
			if ok {
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	if got := granted.Load(); got != 5 {
		t.Errorf("%d of 40 concurrent claims granted with a limit of 5, want 5", got)
	}
	if claim(t, s, u, 5, false) {
		t.Error("a claim after the limit was granted")
	}
}

// testClaimSeed: the first claim starts the count at the seed (visits
// made before counting began), and later claims do not ask it again.
func testClaimSeed(t *testing.T, s core.Store) {
	u := newURL(t, s, "vis002", nil)
	var calls atomic.Int64
	for i, want := range []bool{true, true, false} {
		ok, err := s.ClaimVisit(t.Context(), core.VisitClaim{URLID: u.ID, Max: 5, Seed: seedOf(3, &calls)})
		must(t, "ClaimVisit", err)
		if ok != want {
			t.Errorf("claim %d beyond a seed of 3 with a limit of 5 = %v, want %v", i+1, ok, want)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("seed asked %d times, want 1", n)
	}
}

// testClaimPeek: a peek reports whether a visit is left and counts none.
func testClaimPeek(t *testing.T, s core.Store) {
	u := newURL(t, s, "vis003", nil)
	for range 3 {
		if !claim(t, s, u, 1, true) {
			t.Fatal("peek of an unvisited link with a limit of 1 = false, want true")
		}
	}
	if !claim(t, s, u, 1, false) {
		t.Fatal("the first claim after three peeks was refused")
	}
	if claim(t, s, u, 1, true) {
		t.Error("peek of an exhausted link = true, want false")
	}
}

// testReleaseVisit: a released visit can be claimed again.
func testReleaseVisit(t *testing.T, s core.Store) {
	u := newURL(t, s, "vis004", nil)
	if !claim(t, s, u, 1, false) {
		t.Fatal("first claim refused")
	}
	must(t, "ReleaseVisit", s.ReleaseVisit(t.Context(), u.ID))
	if !claim(t, s, u, 1, false) {
		t.Error("claim after a release refused")
	}
	if claim(t, s, u, 1, false) {
		t.Error("second claim beyond the limit granted")
	}
}

// testRaisedLimit: a link whose limit is raised after it was exhausted
// grants the difference.
func testRaisedLimit(t *testing.T, s core.Store) {
	u := newURL(t, s, "vis005", nil)
	claim(t, s, u, 1, false)
	if claim(t, s, u, 1, false) {
		t.Fatal("claim beyond a limit of 1 granted")
	}
	if !claim(t, s, u, 2, false) {
		t.Error("claim with the limit raised to 2 refused")
	}
}

// testClaimDeletedLink: once a link is deleted its count goes with it,
// and a claim reports it missing.
func testClaimDeletedLink(t *testing.T, s core.Store) {
	u := newURL(t, s, "vis006", nil)
	claim(t, s, u, 3, false)
	must(t, "DeleteURL", s.DeleteURL(t.Context(), u.ID))
	var calls atomic.Int64
	_, err := s.ClaimVisit(t.Context(), core.VisitClaim{URLID: u.ID, Max: 3, Seed: seedOf(0, &calls)})
	if err == nil {
		t.Fatal("claim of a deleted link succeeded")
	}
	wantErr(t, "ClaimVisit of a deleted link", err, core.ErrNotFound)
}

// testClearedLimit: visits served while a link had no limit are not
// claimed, so an update that clears the limit forgets the count, and a
// limit set again later starts from the seed (the link's redirect_count
// then), not from the count of the earlier limit.
func testClearedLimit(t *testing.T, s core.Store) {
	u := newURL(t, s, "vis007", nil)
	max := int64(2)
	u.Lifecycle.MaxVisits = &max
	must(t, "UpdateURL", s.UpdateURL(t.Context(), u, nil))
	claim(t, s, u, 2, false)
	claim(t, s, u, 2, false)
	u.Lifecycle.MaxVisits = nil
	must(t, "UpdateURL", s.UpdateURL(t.Context(), u, nil))
	var calls atomic.Int64
	for i, want := range []bool{true, false} {
		ok, err := s.ClaimVisit(t.Context(), core.VisitClaim{URLID: u.ID, Max: 6, Seed: seedOf(5, &calls)})
		must(t, "ClaimVisit", err)
		if ok != want {
			t.Errorf("claim %d with a limit of 6, set again after 5 visits, = %v, want %v", i+1, ok, want)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("seed asked %d times after the limit was cleared, want 1", n)
	}
}
