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

// ClickBreakdown implements core.BreakdownStore from
// curtain_click_breakdown, which the events' insert trigger keeps
// (migration 000110): two indexed range reads of one URL's rows, whose
// number depends on the hours of the period and the distinct values, not
// on the number of clicks.
func (s *Store) ClickBreakdown(ctx context.Context, urlID int64, since time.Time) ([]core.BreakdownCount, []core.BreakdownHour, error) {
	from := "0001-01-01 00:00:00"
	if !since.IsZero() {
		from = since.UTC().Format(hourLayout)
	}
	var sums []struct {
		Dimension string `bun:"dimension"`
		Value     string `bun:"value"`
		N         int64  `bun:"n"`
	}
	err := s.db.NewSelect().Table("curtain_click_breakdown").ColumnExpr("dimension, value, sum(n) AS n").
		Where("url_id = ? AND hour >= ? AND dimension <> ?", urlID, from, core.DimKind).
		GroupExpr("dimension, value").Scan(ctx, &sums)
	if err != nil {
		return nil, nil, wrapf(err, "click breakdown of url %d", urlID)
	}
	counts := make([]core.BreakdownCount, 0, len(sums)+2)
	for _, c := range sums {
		counts = append(counts, core.BreakdownCount{Dimension: c.Dimension, Value: c.Value, N: c.N})
	}

	var kinds []struct {
		Hour  stamp  `bun:"hour"`
		Value string `bun:"value"`
		N     int64  `bun:"n"`
	}
	err = s.db.NewSelect().Table("curtain_click_breakdown").Column("hour", "value", "n").
		Where("url_id = ? AND hour >= ? AND dimension = ?", urlID, from, core.DimKind).
		OrderExpr("hour").Scan(ctx, &kinds)
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
		if k.Value == "bot" {
			h.Bots += k.N
		} else {
			h.Humans += k.N
		}
		counts = append(counts, core.BreakdownCount{Dimension: core.DimKind, Value: k.Value, N: k.N})
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
