package apptest_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/uptrace/bun"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/geoip"
	"github.com/curtainhq/curtain/internal/testenv"
)

// Sample user agents of the breakdown tests.
const (
	uaChromeWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	uaSafariIPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
	uaGooglebot     = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)

// breakdownJSON is the body of GET /urls/{id}/analytics/breakdown.
type breakdownJSON struct {
	Bots       int64   `json:"bots"`
	Clicks     int64   `json:"clicks"`
	From       *string `json:"from"`
	Humans     int64   `json:"humans"`
	Period     string  `json:"period"`
	Gran       string  `json:"granularity"`
	Unique     int64   `json:"unique_visitors"`
	URLID      int64   `json:"url_id"`
	Dimensions map[string][]struct {
		Clicks int64  `json:"clicks"`
		Value  string `json:"value"`
	} `json:"dimensions"`
	Series []struct {
		At     string `json:"at"`
		Bots   int64  `json:"bots"`
		Humans int64  `json:"humans"`
	} `json:"series"`
}

// counts returns one dimension of b as value → clicks.
func (b breakdownJSON) counts(dim string) map[string]int64 {
	m := map[string]int64{}
	for _, v := range b.Dimensions[dim] {
		m[v.Value] = v.Clicks
	}
	return m
}

// wantCounts fails t unless dimension dim of b is exactly want.
func wantCounts(t *testing.T, b breakdownJSON, dim string, want map[string]int64) {
	t.Helper()
	got := b.counts(dim)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s = %v, want %v", dim, got, want)
	}
}

// visit is one redirect of the breakdown tests.
type visit struct{ addr, ua, ref string }

// redirectAll serves each visit of code through one memory click shard,
// waits until the shard holds total clicks of code, and stores them as
// the stream consumer does.
func redirectAll(t *testing.T, e *env, code string, visits []visit, total int64) {
	t.Helper()
	for _, v := range visits {
		h := []string{"X-Forwarded-For", v.addr, "User-Agent", v.ua}
		if v.ref != "" {
			h = append(h, "Referer", v.ref)
		}
		if r := e.get("/r/"+code, h...); r.Status != http.StatusFound {
			t.Fatalf("GET /r/%s = %d", code, r.Status)
		}
	}
	e.waitClicks(code, total)
	e.drainStreams()
}

var breakdownVisits = []visit{
	{"203.0.113.1", uaChromeWindows, "https://News.Example.com/item?id=1"},
	{"203.0.113.2", uaChromeWindows, "https://news.example.com/"},
	{"203.0.113.3", uaSafariIPhone, ""},
	{"203.0.113.4", uaGooglebot, ""},
}

// TestAnalyticsBreakdown checks on both stores that clicks with a user
// agent and a referrer, through a click shard and the consumer, are
// broken down by device, browser, OS, referrer host and bots, over each
// period with its series, while the reference's analytics keep counting
// every redirect (bots included).
func TestAnalyticsBreakdown(t *testing.T) {
	eachStore(t, func(t *testing.T, open storeFactory) {
		e := newEnv(t, open, envConfig{shards: 1, trusted: []string{"127.0.0.1/32", "::1/128"}})
		u := e.url("brk001", "https://example.com/breakdown", nil, true)
		redirectAll(t, e, "brk001", breakdownVisits, 4)

		var an struct {
			RedirectCount int64 `json:"redirect_count"`
		}
		e.get(fmt.Sprintf("/urls/%d/analytics", u.ID)).decode(t, &an)
		if an.RedirectCount != 4 {
			t.Errorf("redirect_count = %d, want 4 (bots included)", an.RedirectCount)
		}

		var b breakdownJSON
		r := e.get(fmt.Sprintf("/urls/%d/analytics/breakdown?period=24h", u.ID))
		if r.Status != http.StatusOK {
			t.Fatalf("breakdown = %d %s", r.Status, r.Body)
		}
		r.decode(t, &b)
		if b.Clicks != 4 || b.Humans != 3 || b.Bots != 1 || b.Period != "24h" || b.Gran != "hour" || b.URLID != u.ID {
			t.Errorf("breakdown totals = %+v", b)
		}
		if b.Unique != 4 {
			t.Errorf("unique_visitors = %d, want 4", b.Unique)
		}
		wantCounts(t, b, "kind", map[string]int64{"human": 3, "bot": 1})
		wantCounts(t, b, "bot", map[string]int64{"Googlebot": 1})
		wantCounts(t, b, "device", map[string]int64{"desktop": 2, "mobile": 1})
		wantCounts(t, b, "browser", map[string]int64{"Chrome": 2, "Safari": 1})
		wantCounts(t, b, "os", map[string]int64{"Windows": 2, "iOS": 1})
		wantCounts(t, b, "referrer", map[string]int64{"news.example.com": 2, "direct": 1})
		if len(b.Series) != 24 {
			t.Fatalf("24h series has %d points, want 24", len(b.Series))
		}
		var humans, bots int64
		for _, p := range b.Series {
			humans, bots = humans+p.Humans, bots+p.Bots
		}
		if humans != 3 || bots != 1 {
			t.Errorf("series sums to %d humans and %d bots, want 3 and 1", humans, bots)
		}

		for period, points := range map[string]int{"7d": 7, "30d": 30, "all": 1} {
			var d breakdownJSON
			e.get(fmt.Sprintf("/urls/%d/analytics/breakdown?period=%s", u.ID, period)).decode(t, &d)
			if d.Gran != "day" || len(d.Series) != points || d.Clicks != 4 {
				t.Errorf("period %s: granularity %q, %d points, %d clicks; want day, %d, 4", period, d.Gran, len(d.Series), d.Clicks, points)
			}
			if (period == "all") != (d.From == nil) {
				t.Errorf("period %s: from = %v", period, d.From)
			}
		}

		// Case and surrounding spaces aside, as format and order.
		var d breakdownJSON
		e.get(fmt.Sprintf("/urls/%d/analytics/breakdown?period=%%2030D%%20", u.ID)).decode(t, &d)
		if d.Period != "30d" || len(d.Series) != 30 || d.Clicks != 4 {
			t.Errorf("period ' 30D ': period %q, %d points, %d clicks; want 30d, 30, 4", d.Period, len(d.Series), d.Clicks)
		}

		e.get(fmt.Sprintf("/urls/%d/analytics/breakdown?period=1y", u.ID)).
			wantError(t, "period 1y", http.StatusBadRequest, "Query parameter 'period' must be one of 24h, 7d, 30d, all")
		// Read as every other query parameter (spec §2.4): a ';' is
		// part of the value, not a separator that drops it.
		e.get(fmt.Sprintf("/urls/%d/analytics/breakdown?period=24h;x", u.ID)).
			wantError(t, "period 24h;x", http.StatusBadRequest, "Query parameter 'period' must be one of 24h, 7d, 30d, all")
		r = e.get("/urls/999999/analytics/breakdown")
		if r.Status != http.StatusNotFound {
			t.Errorf("unknown url = %d, want 404", r.Status)
		}
	})
}

// TestBreakdownPrivacySwitches checks on both stores that with
// privacy.store_user_agent and privacy.store_referrer off, no user agent
// or referrer is stored, every click counts as a direct visit, and the
// user agents' classes still count: a Googlebot redirect is a bot, the
// browsers are people on their devices.
func TestBreakdownPrivacySwitches(t *testing.T) {
	eachStore(t, func(t *testing.T, open storeFactory) {
		e := newEnv(t, open, envConfig{shards: 1, dropUserAgent: true, dropReferrer: true, trusted: []string{"127.0.0.1/32", "::1/128"}})
		u := e.url("brk002", "https://example.com/private", nil, true)
		redirectAll(t, e, "brk002", breakdownVisits, 4)
		var b breakdownJSON
		e.get(fmt.Sprintf("/urls/%d/analytics/breakdown", u.ID)).decode(t, &b)
		if b.Humans != 3 || b.Bots != 1 {
			t.Errorf("humans %d, bots %d; want 3 and 1", b.Humans, b.Bots)
		}
		wantCounts(t, b, "kind", map[string]int64{"human": 3, "bot": 1})
		wantCounts(t, b, "bot", map[string]int64{"Googlebot": 1})
		wantCounts(t, b, "device", map[string]int64{"desktop": 2, "mobile": 1})
		wantCounts(t, b, "browser", map[string]int64{"Chrome": 2, "Safari": 1})
		wantCounts(t, b, "os", map[string]int64{"Windows": 2, "iOS": 1})
		wantCounts(t, b, "referrer", map[string]int64{"direct": 3})
		var stored, bots int
		err := dbOf(t, e).NewSelect().Table("events").
			Where("url_id = ? AND (user_agent IS NOT NULL OR referrer IS NOT NULL)", u.ID).ColumnExpr("count(*)").Scan(t.Context(), &stored)
		if err != nil || stored != 0 {
			t.Errorf("events with a user agent or referrer = %d (%v), want 0", stored, err)
		}
		err = dbOf(t, e).NewSelect().Table("events").
			Where("url_id = ? AND ua_bot = 'Googlebot' AND user_agent IS NULL", u.ID).ColumnExpr("count(*)").Scan(t.Context(), &bots)
		if err != nil || bots != 1 {
			t.Errorf("events of Googlebot without a user agent = %d (%v), want 1", bots, err)
		}
	})
}

// dbOf returns the bun database of e's store.
func dbOf(t *testing.T, e *env) *bun.DB {
	t.Helper()
	s, ok := e.store.(interface{ DB() *bun.DB })
	if !ok {
		t.Fatalf("store %T has no DB", e.store)
	}
	return s.DB()
}

// TestBreakdownRowsDoNotGrowWithClicks checks on both stores that the
// aggregates a breakdown reads grow with distinct values, not clicks: 40
// more clicks of the same kinds in the same hour add no row to
// curtain_click_breakdown, and a deleted link leaves none.
func TestBreakdownRowsDoNotGrowWithClicks(t *testing.T) {
	eachStore(t, func(t *testing.T, open storeFactory) {
		e := newEnv(t, open, envConfig{shards: 1, trusted: []string{"127.0.0.1/32", "::1/128"}})
		u := e.url("brk003", "https://example.com/many", nil, true)
		rows := func() int {
			var n int
			err := dbOf(t, e).NewSelect().Table("curtain_click_breakdown").Where("url_id = ?", u.ID).ColumnExpr("count(*)").Scan(t.Context(), &n)
			if err != nil {
				t.Fatalf("count breakdown rows: %v", err)
			}
			return n
		}
		redirectAll(t, e, "brk003", breakdownVisits, 4)
		before := rows()
		if before == 0 {
			t.Fatal("no breakdown rows after 4 clicks")
		}
		var more []visit
		for i := range 10 {
			for _, v := range breakdownVisits {
				more = append(more, visit{fmt.Sprintf("198.51.100.%d", i), v.ua, v.ref})
			}
		}
		redirectAll(t, e, "brk003", more, 44)
		// The same values: the same rows, or twice as many if the
		// clock passed into a new hour meanwhile; a row per click
		// would be more than 44.
		if after := rows(); after > 2*before {
			t.Errorf("breakdown rows: %d after 4 clicks, %d after 44 of the same values", before, after)
		}
		var b breakdownJSON
		e.get(fmt.Sprintf("/urls/%d/analytics/breakdown?period=24h", u.ID)).decode(t, &b)
		if b.Clicks != 44 {
			t.Errorf("clicks = %d, want 44", b.Clicks)
		}
		if r := e.do("DELETE", fmt.Sprintf("/urls/%d", u.ID), ""); r.Status != http.StatusNoContent {
			t.Fatalf("DELETE = %d %s", r.Status, r.Body)
		}
		if n := rows(); n != 0 {
			t.Errorf("%d breakdown rows after the link was deleted, want 0", n)
		}
	})
}

// TestBreakdownCountry checks on both stores that with a GeoIP database
// (a small one written here) human clicks are broken down by country,
// also in privacy mode, where the address is hashed only after the
// lookup; bots and unknown addresses are not counted there.
func TestBreakdownCountry(t *testing.T) {
	db, err := geoip.Open(testenv.GeoIPDatabase(t, map[string]string{"203.0.113.0/25": "NZ", "203.0.113.128/25": "FR"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	eachStore(t, func(t *testing.T, open storeFactory) {
		e := newEnv(t, open, envConfig{shards: 1, country: db.Country, visitorKey: []byte("0123456789abcdef-test-key"),
			trusted: []string{"127.0.0.1/32", "::1/128"}})
		u := e.url("brk004", "https://example.com/geo", nil, true)
		redirectAll(t, e, "brk004", []visit{
			{"203.0.113.1", uaChromeWindows, ""},
			{"203.0.113.2", uaSafariIPhone, ""},
			{"203.0.113.200", uaChromeWindows, ""},
			{"198.51.100.1", uaChromeWindows, ""},
			{"203.0.113.3", uaGooglebot, ""},
		}, 5)
		var b breakdownJSON
		e.get(fmt.Sprintf("/urls/%d/analytics/breakdown?period=all", u.ID)).decode(t, &b)
		wantCounts(t, b, "country", map[string]int64{"NZ": 2, "FR": 1})
		wantCounts(t, b, "kind", map[string]int64{"human": 4, "bot": 1})
	})
}

// nopSink is an EventSink that drops what it is told.
type nopSink struct{}

func (nopSink) LinksChanged(context.Context, []core.LinkChange) {}
func (nopSink) ClicksStored(context.Context, []core.ClickEvent) {}

// TestBreakdownWithWebhooks: with webhooks.url set, the service's store is
// wrapped to tell the webhook outbox (core.NotifyingStore); the wrapper
// keeps the store's breakdowns, which once answered 500.
func TestBreakdownWithWebhooks(t *testing.T) {
	eachStore(t, func(t *testing.T, open storeFactory) {
		e := newEnv(t, open, envConfig{shards: 1, trusted: []string{"127.0.0.1/32", "::1/128"},
			wrapStore: func(s core.Store) core.Store { return core.NotifyingStore(s, nopSink{}, nil) }})
		u := e.url("brkhook", "https://example.com/hooked", nil, true)
		redirectAll(t, e, "brkhook", breakdownVisits, 4)
		var b breakdownJSON
		r := e.get(fmt.Sprintf("/urls/%d/analytics/breakdown?period=24h", u.ID))
		if r.Status != http.StatusOK {
			t.Fatalf("breakdown with webhooks = %d %s", r.Status, r.Body)
		}
		if r.decode(t, &b); b.Clicks != 4 {
			t.Errorf("breakdown with webhooks counts %d clicks, want 4", b.Clicks)
		}
	})
}
