package core

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Breakdown periods of GET /urls/{id}/analytics/breakdown.
const (
	Period24h = "24h"
	Period7d  = "7d"
	Period30d = "30d"
	PeriodAll = "all"
)

// Breakdown dimensions: the keys of Breakdown.Dimensions. Device, browser,
// OS, referrer and country (with a GeoIP database, else empty) count human
// visitors; bot counts bots by name; kind
// counts both ("human", "bot").
const (
	DimKind     = "kind"
	DimBot      = "bot"
	DimDevice   = "device"
	DimBrowser  = "browser"
	DimOS       = "os"
	DimReferrer = "referrer"
	DimCountry  = "country"
)

// BreakdownDimensions lists the dimensions a breakdown always reports, in
// the order the API documents them.
var BreakdownDimensions = []string{DimKind, DimBot, DimDevice, DimBrowser, DimOS, DimReferrer, DimCountry}

// BreakdownCount is the number of clicks of one value of one dimension.
type BreakdownCount struct {
	Dimension, Value string
	N                int64
}

// BreakdownHour is the number of human and bot clicks of one hour.
type BreakdownHour struct {
	Hour         time.Time
	Humans, Bots int64
}

// BreakdownStore is implemented by a Store that keeps click breakdowns
// (drivers/bunstore, migration 000110): aggregates kept in the
// transaction that stores the clicks, per URL, hour, dimension and value.
type BreakdownStore interface {
	// ClickBreakdown returns the counts of urlID's clicks from the hour
	// since on (every hour for a zero since), summed per dimension and
	// value, and per hour the human and bot clicks, oldest first.
	ClickBreakdown(ctx context.Context, urlID int64, since time.Time) ([]BreakdownCount, []BreakdownHour, error)
}

// Breakdown is the answer of GET /urls/{id}/analytics/breakdown.
type Breakdown struct {
	URLID     int64
	ShortCode string
	// Period is one of Period24h, Period7d, Period30d, PeriodAll.
	Period string
	// Granularity is "hour" for Period24h, "day" otherwise.
	Granularity string
	// From is the start of the first bucket of the period; nil for
	// PeriodAll.
	From *time.Time
	// Clicks, Humans and Bots count the stored clicks of the period.
	Clicks, Humans, Bots int64
	// UniqueVisitors is the all-time estimate of the click shards'
	// merged HyperLogLog sketches, as GET /urls/{id}/realtime reports it.
	UniqueVisitors int64
	// Dimensions maps each of BreakdownDimensions to its values, most
	// clicks first (then by value).
	Dimensions map[string][]ValueCount
	// Series has one point per hour (24h) or UTC day, oldest first,
	// zeros included; for PeriodAll from the first day with clicks.
	Series []SeriesPoint
}

// ValueCount is one value of a dimension and its clicks.
type ValueCount struct {
	Value string
	N     int64
}

// SeriesPoint is the clicks of one hour or day.
type SeriesPoint struct {
	At           time.Time
	Humans, Bots int64
}

// Breakdown returns the breakdown of a URL's stored clicks over period
// ("" is Period7d). It reads the aggregates the store keeps as clicks are
// stored, so its cost depends on the period and the number of distinct
// values, not on the number of clicks. Clicks still in the shards'
// streams are not in it yet.
func (s *Service) Breakdown(ctx context.Context, id int64, period string) (Breakdown, error) {
	if period == "" {
		period = Period7d
	}
	now := s.clock().UTC()
	var since time.Time
	step, granularity := 24*time.Hour, "day"
	today := now.Truncate(24 * time.Hour)
	switch period {
	case Period24h:
		step, granularity = time.Hour, "hour"
		since = now.Truncate(time.Hour).Add(-23 * time.Hour)
	case Period7d:
		since = today.AddDate(0, 0, -6)
	case Period30d:
		since = today.AddDate(0, 0, -29)
	case PeriodAll:
	default:
		return Breakdown{}, invalid("period", "Query parameter 'period' must be one of 24h, 7d, 30d, all")
	}
	u, err := s.loadURL(ctx, id)
	if err != nil {
		return Breakdown{}, err
	}
	bs, ok := s.store.(BreakdownStore)
	if !ok {
		return Breakdown{}, fmt.Errorf("click breakdown: store %T keeps none: %w", s.store, errors.ErrUnsupported)
	}
	counts, hours, err := bs.ClickBreakdown(ctx, id, since)
	if err != nil {
		return Breakdown{}, fmt.Errorf("click breakdown of url %d: %w", id, err)
	}
	b := Breakdown{URLID: u.ID, ShortCode: u.ShortCode, Period: period, Granularity: granularity,
		Dimensions: make(map[string][]ValueCount, len(BreakdownDimensions))}
	if !since.IsZero() {
		b.From = &since
	}
	for _, d := range BreakdownDimensions {
		b.Dimensions[d] = []ValueCount{}
	}
	for _, c := range counts {
		if _, known := b.Dimensions[c.Dimension]; known {
			b.Dimensions[c.Dimension] = append(b.Dimensions[c.Dimension], ValueCount{Value: c.Value, N: c.N})
		}
	}
	for _, vs := range b.Dimensions {
		slices.SortFunc(vs, func(x, y ValueCount) int { return cmp.Or(cmp.Compare(y.N, x.N), cmp.Compare(x.Value, y.Value)) })
	}
	b.Series = series(hours, since, now, step)
	for _, p := range b.Series {
		b.Humans += p.Humans
		b.Bots += p.Bots
	}
	b.Clicks = b.Humans + b.Bots
	if rt, err := s.Realtime(ctx, id); err == nil {
		b.UniqueVisitors = rt.UniqueVisitors
	}
	return b, nil
}

// series sums hours into buckets of step (an hour or a UTC day) from
// since (or the first hour's bucket for a zero since) to now's bucket.
func series(hours []BreakdownHour, since, now time.Time, step time.Duration) []SeriesPoint {
	if since.IsZero() {
		if len(hours) == 0 {
			return []SeriesPoint{}
		}
		since = hours[0].Hour.UTC().Truncate(step)
	}
	last := now.Truncate(step)
	if last.Before(since) {
		last = since
	}
	out := make([]SeriesPoint, int(last.Sub(since)/step)+1)
	for i := range out {
		out[i].At = since.Add(time.Duration(i) * step)
	}
	for _, h := range hours {
		i := int(h.Hour.UTC().Truncate(step).Sub(since) / step)
		if i < 0 || i >= len(out) {
			continue
		}
		out[i].Humans += h.Humans
		out[i].Bots += h.Bots
	}
	return out
}
