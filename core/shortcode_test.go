package core

import "testing"

func TestShortCode(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "000000"}, {1, "000001"}, {9, "000009"}, {10, "00000a"},
		{35, "00000z"}, {36, "00000A"}, {61, "00000Z"}, {62, "000010"},
		{2001, "0000wh"}, {2002, "0000wi"}, {3843, "0000ZZ"},
		{238328, "001000"}, {56800235583, "ZZZZZZ"}, {56800235584, "1000000"},
	}
	for _, tt := range tests {
		if got := ShortCode(tt.n); got != tt.want {
			t.Errorf("ShortCode(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
	for n, want := range map[int64]string{0: "0", 1: "1", 61: "Z", 62: "10", 2001: "wh"} {
		if got := Base62(n); got != want {
			t.Errorf("Base62(%d) = %q, want %q", n, got, want)
		}
	}
}
