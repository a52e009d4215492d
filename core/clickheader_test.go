package core

import "testing"

func TestClickHeader(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"Mozilla/5.0", 512, "Mozilla/5.0"},
		{"bad\xffbyte", 512, "bad\uFFFDbyte"},
		{"abcdef", 4, "abcd"},
		{"aé", 2, "a"},
	} {
		if got := clickHeader(tc.in, tc.max); got != tc.want {
			t.Errorf("clickHeader(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}
