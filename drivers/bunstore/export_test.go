package bunstore

import (
	"testing"
	"time"
)

// SetGroupTimeout shortens the deadline of a group commit of creates for
// one test.
func SetGroupTimeout(tb testing.TB, d time.Duration) {
	old := groupTimeout
	groupTimeout = d
	tb.Cleanup(func() { groupTimeout = old })
}
