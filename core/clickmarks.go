package core

import "sync/atomic"

// markSlots is how many slots of URL ids clickMarks keeps.
const markSlots = 4096

// clickMarks remembers, per slot of URL ids, the order in which this
// instance last served a click and last read analytics it cached, so that
// an analytics response cached before a click the instance served since
// is computed again rather than served for the cache's 120 s (a user who
// looks, clicks and looks again sees the click). Two URLs sharing a slot
// only cost a recomputation. Clicks served by other instances are not
// seen: there the cached response stands until it expires or an event
// invalidates it.
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
