package bunstore

import (
	"context"
	"time"

	"github.com/curtainhq/curtain/core"
)

// hourLayout is how ClickBreakdown writes an hour for comparison with
// curtain_click_breakdown.hour (a timestamp on PostgreSQL, text of this
// form on SQLite, where the trigger writes it with strftime).
const hourLayout = "2006-01-02 15:00:00"

// combination is the sum of one combination of values of a URL's clicks
// over the hours of a period: a row of curtain_click_breakdown (migration
// 000120) without its hour. An empty value is a dimension the row does not
// count.
type combination struct {
	Bot      string `bun:"bot"`
	Device   string `bun:"device"`
	Browser  string `bun:"browser"`
	OS       string `bun:"os"`
	Referrer string `bun:"referrer"`
	Country  string `bun:"country"`
	N        int64  `bun:"n"`
}

// counts appends to counts one count per dimension c counts, except kind.
func (c combination) counts(counts []core.BreakdownCount) []core.BreakdownCount {
	for _, d := range [...]struct{ dim, value string }{
		{core.DimBot, c.Bot}, {core.DimDevice, c.Device}, {core.DimBrowser, c.Browser},
		{core.DimOS, c.OS}, {core.DimReferrer, c.Referrer}, {core.DimCountry, c.Country},
	} {
		if d.value != "" {
			counts = append(counts, core.BreakdownCount{Dimension: d.dim, Value: d.value, N: c.N})
		}
	}
	return counts
}

// ClickBreakdown implements core.BreakdownStore from
// curtain_click_breakdown, which the events' insert trigger keeps
// (migrations 000110 and 000120): two indexed range reads of one URL's
// rows, one row per hour and combination of values, whose number depends
// on the hours of the period and the distinct combinations, not on the
// number of clicks. Each dimension is summed over the combinations; kind
// comes with the hourly series.
func (s *Store) ClickBreakdown(ctx context.Context, urlID int64, since time.Time) ([]core.BreakdownCount, []core.BreakdownHour, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	from := "0001-01-01 00:00:00"
	if !since.IsZero() {
		from = since.UTC().Format(hourLayout)
	}
	var combos []combination
	err := s.db.NewSelect().Table("curtain_click_breakdown").
		ColumnExpr("bot, device, browser, os, referrer, country, sum(n) AS n").
		Where("url_id = ? AND hour >= ?", urlID, from).
		GroupExpr("bot, device, browser, os, referrer, country").Scan(ctx, &combos)
	if err != nil {
		return nil, nil, wrapf(err, "click breakdown of url %d", urlID)
	}
	counts := make([]core.BreakdownCount, 0, 4*len(combos)+2)
	for _, c := range combos {
		counts = c.counts(counts)
	}

	var kinds []struct {
		Hour stamp  `bun:"hour"`
		Kind string `bun:"kind"`
		N    int64  `bun:"n"`
	}
	err = s.db.NewSelect().Table("curtain_click_breakdown").ColumnExpr("hour, kind, sum(n) AS n").
		Where("url_id = ? AND hour >= ? AND kind <> ''", urlID, from).
		GroupExpr("hour, kind").OrderExpr("hour").Scan(ctx, &kinds)
	if err != nil {
		return nil, nil, wrapf(err, "click series of url %d", urlID)
	}
	var hours []core.BreakdownHour
	for _, k := range kinds {
		t := k.Hour.Time()
		if len(hours) == 0 || !hours[len(hours)-1].Hour.Equal(t) {
			hours = append(hours, core.BreakdownHour{Hour: t})
		}
		h := &hours[len(hours)-1]
		if k.Kind == "bot" {
			h.Bots += k.N
		} else {
			h.Humans += k.N
		}
		counts = append(counts, core.BreakdownCount{Dimension: core.DimKind, Value: k.Kind, N: k.N})
	}
	return mergeCounts(counts), hours, nil
}

// mergeCounts sums the counts of equal dimension and value.
func mergeCounts(counts []core.BreakdownCount) []core.BreakdownCount {
	type key struct{ d, v string }
	at := make(map[key]int, len(counts))
	out := counts[:0]
	for _, c := range counts {
		k := key{c.Dimension, c.Value}
		if i, ok := at[k]; ok {
			out[i].N += c.N
			continue
		}
		at[k] = len(out)
		out = append(out, c)
	}
	return out
}
