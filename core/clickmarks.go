package core

import (
	"context"
	"sync/atomic"
	"time"
)

// markSlots is how many slots of URL ids clickMarks keeps.
const markSlots = 4096

// clickMarks remembers, per slot of URL ids, the order in which this
// instance last served a click and last read analytics it cached, so that
// an analytics response cached before a click the instance served since
// is computed again rather than served for the cache's 120 s (a user who
// looks, clicks and looks again sees the click). Two URLs sharing a slot
// only cost a recomputation. Clicks served by other instances reach this
// one through the shared cache: clickedURLs deletes their analytics.
type clickMarks struct {
	seq     atomic.Int64 // orders the marks
	clicked [markSlots]atomic.Int64
	cached  [markSlots]atomic.Int64
}

func markSlot(urlID int64) int { return int(uint64(urlID) % markSlots) }

// click notes a click of urlID served now.
func (m *clickMarks) click(urlID int64) { m.clicked[markSlot(urlID)].Store(m.seq.Add(1)) }

// reading returns the mark of an analytics read starting now, for cache.
func (m *clickMarks) reading() int64 { return m.seq.Add(1) }

// cache notes that urlID's analytics were cached from a read that
// started at mark from.
func (m *clickMarks) cache(urlID, from int64) { m.cached[markSlot(urlID)].Store(from) }

// behind reports whether this instance served a click of urlID's slot
// after its cached analytics were read (or since its start, when it did
// not cache them itself).
func (m *clickMarks) behind(urlID int64) bool {
	i := markSlot(urlID)
	return m.clicked[i].Load() > m.cached[i].Load()
}

// clickGather is how long the URLs clicked on this instance are gathered
// before their cached analytics are deleted, in one cache call.
const clickGather = 250 * time.Millisecond

// noteClicked schedules the delete of urlID's cached analytics: once the
// clicks reached the shards (settleClicks), at most clickGather after the
// click, and once more staleFillWindow later. In a shared cache that
// reaches every instance: clickMarks makes this instance's own next read
// exact at once, and this makes every other instance's exact within
// clickGather, instead of serving a response cached before the click for
// its 120 s. A busy link costs one key of one delete per clickGather,
// whatever its click rate.
func (s *Service) noteClicked(urlID int64) {
	if s.cache != nil {
		s.clicked.add(urlID)
	}
}

// forgetClickedAnalytics deletes the cached analytics of the URLs ids,
// after the clicks queued so far reached the shards, so that no instance
// computes them again without the clicks.
func (s *Service) forgetClickedAnalytics(ids []int64) {
	ctx := context.Background()
	s.settleClicks(ctx) // unsettled clicks are still counted by the late delete
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = analyticsKey(id)
	}
	s.invalidateChanged(ctx, keys)
}
