package httpapi

import "testing"

// TestWaitWords: the password form past its limit says how long to wait
// in the unit a person reads, not "1 seconds" or "3600 seconds".
func TestWaitWords(t *testing.T) {
	for in, want := range map[string]string{
		"1": "1 second", "6": "6 seconds", "119": "119 seconds", "120": "2 minutes",
		"121": "3 minutes", "3600": "60 minutes", "7199": "120 minutes", "7200": "2 hours", "86400": "24 hours",
	} {
		if got := waitWords(in); got != want {
			t.Errorf("waitWords(%q) = %q, want %q", in, got, want)
		}
	}
}
