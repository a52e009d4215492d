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
	for _, tt := range []struct {
		name string
		open storeFactory
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.open, envConfig{shards: 2})
			u := e.url("fresh1", "https://fresh.test/", nil, true)
			path := fmt.Sprintf("/urls/%d/analytics", u.ID)
			for range 4 {
				if r := e.get("/r/fresh1"); r.Status != http.StatusFound {
					t.Fatalf("redirect = %d", r.Status)
				}
			}
			var an struct {
				RedirectCount int64 `json:"redirect_count"`
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
		})
	}
}
