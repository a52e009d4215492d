package pycompat

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// IsSpace reports whether Python's str.isspace holds for r: the Unicode
// White_Space characters plus the information separators U+001C..U+001F.
func IsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// Strip removes leading and trailing whitespace as Python's str.strip()
// with no argument does.
func Strip(s string) string { return strings.TrimFunc(s, IsSpace) }

// IsASCII reports whether every byte of s is ASCII, as Python's
// str.isascii does for the decoded text.
func IsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// IsHexDigit reports whether c is an ASCII hexadecimal digit, in either
// case.
func IsHexDigit(c byte) bool {
	return (c >= '0' && c <= '9') || ((c|0x20) >= 'a' && (c|0x20) <= 'f')
}

// isASCIILetter reports whether c is an ASCII letter.
func isASCIILetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// ParseInt parses s with the semantics of Python's int(s): surrounding
// whitespace, one leading sign, Unicode decimal digits and single
// underscores between digits are accepted; anything else, including the
// empty string, is not an integer (ok false). overflow reports an integer
// outside the int64 range; n is then saturated (math.MaxInt64 or
// math.MinInt64) so that callers can clamp it.
func ParseInt(s string) (n int64, ok, overflow bool) {
	s = Strip(s)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return 0, false, false
	}
	var u uint64
	prevDigit := false
	for _, r := range s {
		if r == '_' {
			if !prevDigit {
				return 0, false, false
			}
			prevDigit = false
			continue
		}
		d, isDigit := decimalValue(r)
		if !isDigit {
			return 0, false, false
		}
		prevDigit = true
		if !overflow {
			if u > (1<<63)/10 {
				overflow = true
			} else {
				u = u*10 + uint64(d)
				if u > 1<<63 {
					overflow = true
				}
			}
		}
	}
	if !prevDigit {
		return 0, false, false // trailing underscore
	}
	if overflow || (!neg && u > 1<<63-1) {
		if neg {
			return math.MinInt64, true, true
		}
		return math.MaxInt64, true, true
	}
	if neg {
		return -int64(u), true, false
	}
	return int64(u), true, false
}

// decimalValue returns the value of a Unicode decimal digit (category Nd).
// Every run of decimal digits in Unicode starts at a zero and is a
// multiple of ten long, which the tests check against the tables.
func decimalValue(r rune) (int, bool) {
	if r >= '0' && r <= '9' {
		return int(r - '0'), true
	}
	if r < utf8.RuneSelf {
		return 0, false
	}
	for _, rg := range unicode.Nd.R16 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10, true
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10, true
		}
	}
	return 0, false
}
