package apptest_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestAnalyticsAfterRedirects is issue 12's check through the HTTP API,
// with memory click shards behind the host's batcher: four redirects, then
// analytics shows redirect_count >= 4 within 5 s. The first look comes
// at once, while the clicks may still be queued; a response that missed
// them must not be served from the cache afterwards. (core's
// TestAnalyticsSeeClicksJustMade holds the clicks queued on purpose.)
func TestAnalyticsAfterRedirects(t *testing.T) {
	eachStore(t, func(t *testing.T, open storeFactory) {
		e := newEnv(t, open, envConfig{shards: 2})
		u := e.url("fresh1", "https://fresh.test/", nil, true)
		e.event(u.ID, nil, "created", t0, "{}")
		path := fmt.Sprintf("/urls/%d/analytics", u.ID)
		before := time.Now().UTC().Truncate(time.Second)
		for range 4 {
			if r := e.get("/r/fresh1"); r.Status != http.StatusFound {
				t.Fatalf("redirect = %d", r.Status)
			}
		}
		var an struct {
			RedirectCount int64  `json:"redirect_count"`
			LatestEventAt string `json:"latest_event_at"`
		}
		e.get(path).decode(t, &an)
		deadline := time.Now().Add(5 * time.Second)
		for an.RedirectCount < 4 {
			if time.Now().After(deadline) {
				t.Fatalf("analytics 5 s after four redirects: redirect_count %d", an.RedirectCount)
			}
			time.Sleep(10 * time.Millisecond)
			e.get(path).decode(t, &an)
		}
		// The clicks are still in the shards (no consumer runs here):
		// the last event is the last of them, not the created event.
		if latest, err := time.Parse("2006-01-02T15:04:05", an.LatestEventAt); err != nil || latest.Before(before) {
			t.Errorf("latest_event_at = %q with four clicks pending, want one from %s on", an.LatestEventAt, before.Format(time.DateTime))
		}
	})
}
