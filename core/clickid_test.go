package core

import (
	"strconv"
	"testing"
	"time"
)

// TestClickIDsSortByTime: ids are 32 hex digits, start with the click's
// time in milliseconds, sort in time order across milliseconds, and do not
// repeat within one millisecond.
func TestClickIDsSortByTime(t *testing.T) {
	at := time.Date(2026, 12, 6, 1, 2, 3, 456_000_000, time.UTC)
	seen := map[string]bool{}
	prev := ""
	for i := range 2000 {
		when := at.Add(time.Duration(i/100) * time.Millisecond)
		id := newClickID(when)
		if len(id) != 32 {
			t.Fatalf("id %q has %d digits, want 32", id, len(id))
		}
		if _, err := strconv.ParseUint(id[:16], 16, 64); err != nil {
			t.Fatalf("id %q is not hex: %v", id, err)
		}
		if _, err := strconv.ParseUint(id[16:], 16, 64); err != nil {
			t.Fatalf("id %q is not hex: %v", id, err)
		}
		ms, _ := strconv.ParseInt(id[:12], 16, 64)
		if ms != when.UnixMilli() {
			t.Fatalf("id %q starts with %d, want the time %d", id, ms, when.UnixMilli())
		}
		if seen[id] {
			t.Fatalf("id %q repeated", id)
		}
		seen[id] = true
		if i%100 == 0 && id < prev {
			t.Errorf("id %q of a later millisecond sorts before %q", id, prev)
		}
		prev = id
	}
}
