package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/uaclass"
)

var breakdownCases = []testCase{
	{"CountsEachDimension", testBreakdownDimensions},
	{"ReplaysAndDeletedURLs", testBreakdownReplays},
	{"ManyCombinations", testBreakdownCombinations},
}

// Sample user agents and referrers of the breakdown cases.
const (
	uaChrome    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	uaIPhone    = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
	uaGooglebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	refNews     = "https://news.example.com/item?id=1"
)

// breakdownStore returns s as a core.BreakdownStore, or skips t.
func breakdownStore(t *testing.T, s core.Store) core.BreakdownStore {
	t.Helper()
	bs, ok := s.(core.BreakdownStore)
	if !ok {
		t.Skipf("store %T keeps no breakdown", s)
	}
	return bs
}

// visitor returns a click of url with the headers of a visitor.
func visitor(id string, url int64, ts time.Time, ua, ref, country string) core.ClickEvent {
	c := click(id, "brk001", url, "shard0", ts)
	c.UserAgent, c.Referrer, c.Country = ua, ref, country
	return c
}

// breakdownOf returns url's breakdown since since as dimension → value
// → clicks, and its hours as "hour humans/bots" lines.
func breakdownOf(t *testing.T, bs core.BreakdownStore, url int64, since time.Time) (map[string]map[string]int64, []string) {
	t.Helper()
	counts, hours, err := bs.ClickBreakdown(t.Context(), url, since)
	must(t, "ClickBreakdown", err)
	dims := map[string]map[string]int64{}
	for _, c := range counts {
		if dims[c.Dimension] == nil {
			dims[c.Dimension] = map[string]int64{}
		}
		if _, twice := dims[c.Dimension][c.Value]; twice {
			t.Errorf("ClickBreakdown returns %s=%s twice", c.Dimension, c.Value)
		}
		dims[c.Dimension][c.Value] += c.N
	}
	var series []string
	for _, h := range hours {
		series = append(series, fmt.Sprintf("%s %d/%d", h.Hour.UTC().Format(time.DateTime), h.Humans, h.Bots))
	}
	return dims, series
}

func testBreakdownDimensions(t *testing.T, s core.Store) {
	bs := breakdownStore(t, s)
	ctx := t.Context()
	u := newURL(t, s, "brk001", nil)
	other := newURL(t, s, "brk002", nil)
	_, err := s.InsertClicks(ctx, []core.ClickEvent{
		visitor("a", u.ID, at(10, 9, 5, 0, 0), uaChrome, refNews, "NZ"),
		visitor("b", u.ID, at(10, 9, 59, 59, 999999), uaChrome, refNews, "NZ"),
		visitor("c", u.ID, at(10, 9, 30, 0, 0), uaIPhone, "", ""),
		visitor("d", u.ID, at(10, 9, 31, 0, 0), uaGooglebot, refNews, "FR"),
		visitor("e", u.ID, at(10, 11, 0, 0, 0), uaIPhone, "not a url", "FR"),
		visitor("f", other.ID, at(10, 9, 0, 0, 0), uaChrome, "", "NZ"),
	})
	must(t, "InsertClicks", err)
	// A second batch adds to the same hours and combinations.
	_, err = s.InsertClicks(ctx, []core.ClickEvent{
		visitor("g", u.ID, at(10, 9, 6, 0, 0), uaChrome, refNews, "NZ"),
		visitor("h", u.ID, at(10, 11, 1, 0, 0), uaGooglebot, "", ""),
	})
	must(t, "InsertClicks", err)

	dims, series := breakdownOf(t, bs, u.ID, time.Time{})
	diff(t, "breakdown", map[string]map[string]int64{
		core.DimKind:     {"human": 5, "bot": 2},
		core.DimBot:      {"Googlebot": 2},
		core.DimDevice:   {"desktop": 3, "mobile": 2},
		core.DimBrowser:  {"Chrome": 3, "Safari": 2},
		core.DimOS:       {"Windows": 3, "iOS": 2},
		core.DimReferrer: {"news.example.com": 3, "direct": 1, "unknown": 1},
		core.DimCountry:  {"NZ": 3, "FR": 1},
	}, dims)
	diff(t, "series", []string{"2025-03-10 09:00:00 4/1", "2025-03-10 11:00:00 1/1"}, series)

	dims, series = breakdownOf(t, bs, u.ID, at(10, 10, 0, 0, 0))
	diff(t, "breakdown since 10:00", map[string]map[string]int64{
		core.DimKind: {"human": 1, "bot": 1}, core.DimBot: {"Googlebot": 1}, core.DimDevice: {"mobile": 1},
		core.DimBrowser: {"Safari": 1}, core.DimOS: {"iOS": 1}, core.DimReferrer: {"unknown": 1}, core.DimCountry: {"FR": 1},
	}, dims)
	diff(t, "series since 10:00", []string{"2025-03-10 11:00:00 1/1"}, series)

	dims, _ = breakdownOf(t, bs, other.ID, time.Time{})
	diff(t, "other url's countries", map[string]int64{"NZ": 1}, dims[core.DimCountry])
}

func testBreakdownReplays(t *testing.T, s core.Store) {
	bs := breakdownStore(t, s)
	ctx := t.Context()
	u := newURL(t, s, "brk001", nil)
	gone := newURL(t, s, "brk002", nil)
	batch := []core.ClickEvent{
		visitor("a", u.ID, at(10, 9, 0, 0, 0), uaChrome, refNews, ""),
		visitor("b", u.ID, at(10, 9, 1, 0, 0), uaChrome, refNews, ""),
		visitor("c", gone.ID, at(10, 9, 2, 0, 0), uaChrome, refNews, ""),
	}
	_, err := s.InsertClicks(ctx, batch)
	must(t, "InsertClicks", err)
	want, wantSeries := breakdownOf(t, bs, u.ID, time.Time{})
	diff(t, "kinds", map[string]int64{"human": 2}, want[core.DimKind])

	must(t, "DeleteURL", s.DeleteURL(ctx, gone.ID))
	n, err := s.InsertClicks(ctx, append(batch, visitor("d", gone.ID, at(10, 9, 3, 0, 0), uaChrome, "", "")))
	must(t, "InsertClicks replay", err)
	if n != 0 {
		t.Errorf("InsertClicks replay = %d, want 0", n)
	}
	got, gotSeries := breakdownOf(t, bs, u.ID, time.Time{})
	diff(t, "breakdown after a replay", want, got)
	diff(t, "series after a replay", wantSeries, gotSeries)
	got, gotSeries = breakdownOf(t, bs, gone.ID, time.Time{})
	if len(got) != 0 || len(gotSeries) != 0 {
		t.Errorf("breakdown of a deleted url = %v %v, want none", got, gotSeries)
	}
}

func testBreakdownCombinations(t *testing.T, s core.Store) {
	bs := breakdownStore(t, s)
	ctx := t.Context()
	u := newURL(t, s, "brk001", nil)
	uas := []string{uaChrome, uaIPhone, uaGooglebot, ""}
	refs := []string{refNews, "", "https://other.example.org/"}
	countries := []string{"NZ", "FR", ""}
	want := map[string]map[string]int64{}
	count := func(dim, value string) {
		if value == "" {
			return
		}
		if want[dim] == nil {
			want[dim] = map[string]int64{}
		}
		want[dim][value]++
	}
	var batch []core.ClickEvent
	for i := range 360 {
		ua, ref, country := uas[i%len(uas)], refs[i%7%len(refs)], countries[i%5%len(countries)]
		batch = append(batch, visitor(fmt.Sprint("c", i), u.ID, at(10, i%3, i%60, 0, i), ua, ref, country))
		c := uaclass.Classify(ua, ref)
		if c.Bot != "" {
			count(core.DimKind, "bot")
			count(core.DimBot, c.Bot)
			continue
		}
		count(core.DimKind, "human")
		count(core.DimDevice, c.Device)
		count(core.DimBrowser, c.Browser)
		count(core.DimOS, c.OS)
		count(core.DimReferrer, c.ReferrerHost)
		count(core.DimCountry, country)
	}
	// In two batches, the second adding to the combinations of the first.
	for _, part := range [][]core.ClickEvent{batch[:100], batch[100:]} {
		n, err := s.InsertClicks(ctx, part)
		must(t, "InsertClicks", err)
		if n != len(part) {
			t.Fatalf("InsertClicks = %d, want %d", n, len(part))
		}
	}
	dims, series := breakdownOf(t, bs, u.ID, time.Time{})
	diff(t, "breakdown", want, dims)
	diff(t, "series", []string{"2025-03-10 00:00:00 90/30", "2025-03-10 01:00:00 90/30", "2025-03-10 02:00:00 90/30"}, series)
}
