package pycompat

import (
	"math"
	"testing"
	"unicode"
)

func TestIsSpaceMatchesPython(t *testing.T) {
	// Every code point for which Python 3.11's str.isspace() is true.
	want := []rune{0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
		0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
		0x2028, 0x2029, 0x202f, 0x205f, 0x3000}
	var got []rune
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if IsSpace(r) {
			got = append(got, r)
		}
	}
	if string(got) != string(want) {
		t.Errorf("IsSpace set = %U, want %U", got, want)
	}
}

func TestStrip(t *testing.T) {
	in := "\u00a0\x1c\t https://x \u3000\u0085\n"
	if got := Strip(in); got != "https://x" {
		t.Errorf("Strip(%q) = %q", in, got)
	}
	if got := Strip("\u200bx"); got != "\u200bx" {
		t.Errorf("Trim kept zero-width space out: %q", got)
	}
}

func TestDecimalRunsStartAtZero(t *testing.T) {
	// decimalValue relies on every Nd range being whole runs of ten.
	for _, r := range unicode.Nd.R16 {
		if r.Stride != 1 || (int(r.Hi)-int(r.Lo)+1)%10 != 0 {
			t.Errorf("Nd range %U-%U stride %d is not whole runs of ten", r.Lo, r.Hi, r.Stride)
		}
	}
	for _, r := range unicode.Nd.R32 {
		if r.Stride != 1 || (int(r.Hi)-int(r.Lo)+1)%10 != 0 {
			t.Errorf("Nd range %U-%U stride %d is not whole runs of ten", r.Lo, r.Hi, r.Stride)
		}
	}
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in           string
		n            int64
		ok, overflow bool
	}{
		{"1", 1, true, false},
		{"007", 7, true, false},
		{" \t42\n ", 42, true, false},
		{"+5", 5, true, false},
		{"-5", -5, true, false},
		{"1_000", 1000, true, false},
		{"0_0", 0, true, false},
		{"\u0663\u0664_5", 345, true, false},
		{"\uff11\uff12", 12, true, false},
		{"9223372036854775807", math.MaxInt64, true, false},
		{"-9223372036854775808", math.MinInt64, true, false},
		{"9223372036854775808", math.MaxInt64, true, true},
		{"-99999999999999999999999", math.MinInt64, true, true},
		{"", 0, false, false},
		{"   ", 0, false, false},
		{"+", 0, false, false},
		{"abc", 0, false, false},
		{"1.0", 0, false, false},
		{"1e3", 0, false, false},
		{"_1", 0, false, false},
		{"1_", 0, false, false},
		{"1__0", 0, false, false},
		{"+_1", 0, false, false},
		{"- 1", 0, false, false},
		{"++1", 0, false, false},
		{"0x10", 0, false, false},
		{"\u00b2", 0, false, false}, // superscript two is not a decimal digit
	}
	for _, tt := range tests {
		n, ok, overflow := ParseInt(tt.in)
		if n != tt.n || ok != tt.ok || overflow != tt.overflow {
			t.Errorf("ParseInt(%q) = %d, %v, %v; want %d, %v, %v", tt.in, n, ok, overflow, tt.n, tt.ok, tt.overflow)
		}
	}
}
