package core

import (
	"math"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Length limits of the stored columns (spec §3), in Unicode code points.
const (
	MaxUsernameLen    = 120
	MaxEmailLen       = 255
	MaxTitleLen       = 255
	MaxOriginalURLLen = 2048
	MaxEventTypeLen   = 64
	// MaxShortCodeLen is the longest short code the store can hold; longer
	// codes are never found.
	MaxShortCodeLen = 16
)

// Ids are PostgreSQL integers (spec §3: serial, int4). An id outside this
// range cannot exist, so lookups of it report "not found" without asking
// the store and writes referencing it are rejected as unknown references.
const (
	MinID = math.MinInt32
	MaxID = math.MaxInt32
)

// validID reports whether id fits the id columns.
func validID(id int64) bool { return id >= MinID && id <= MaxID }

// UnprocessableError is a validation error reported in the "errors"
// envelope with status 422, as the user routes do (spec §2.6). It matches
// ErrInvalid.
type UnprocessableError struct {
	Field   string
	Message string
}

func (e *UnprocessableError) Error() string { return e.Message }

// Is makes every UnprocessableError match ErrInvalid.
func (e *UnprocessableError) Is(target error) bool { return target == ErrInvalid }

func unprocessable(field, message string) error {
	return &UnprocessableError{Field: field, Message: message}
}

// IsSpace reports whether Python's str.isspace holds for r: the Unicode
// White_Space characters plus the information separators U+001C..U+001F.
func IsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// Trim removes leading and trailing whitespace as Python's str.strip()
// with no argument does.
func Trim(s string) string { return strings.TrimFunc(s, IsSpace) }

// ParseInt parses s with the semantics of Python's int(s): surrounding
// whitespace, one leading sign, Unicode decimal digits and single
// underscores between digits are accepted; anything else, including the
// empty string, is not an integer (ok false). overflow reports an integer
// outside the int64 range; n is then saturated (math.MaxInt64 or
// math.MinInt64) so that callers can clamp it.
func ParseInt(s string) (n int64, ok, overflow bool) {
	s = Trim(s)
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

// hasControl reports whether s contains a control character (C0, DEL or
// C1).
func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// ValidHTTPURL reports whether s (already trimmed) is an http or https URL
// with a non-empty authority, as spec §4.13 step 6 decides it with Python's
// urlsplit, and with two deliberate fixes (Q12): any control character
// makes the URL invalid (the reference silently ignored tab, CR and LF),
// and a bracketed host must be a valid IPv6 address or IPvFuture literal
// (the reference crashed on a malformed one).
func ValidHTTPURL(s string) bool {
	if hasControl(s) {
		return false
	}
	i := strings.IndexByte(s, ':')
	if i <= 0 || !isASCIILetter(s[0]) {
		return false
	}
	for j := 0; j < i; j++ {
		if c := s[j]; !isASCIILetter(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	scheme := strings.ToLower(s[:i])
	if scheme != "http" && scheme != "https" {
		return false
	}
	rest := s[i+1:]
	if !strings.HasPrefix(rest, "//") {
		return false
	}
	netloc := rest[2:]
	if end := strings.IndexAny(netloc, "/?#"); end >= 0 {
		netloc = netloc[:end]
	}
	if netloc == "" {
		return false
	}
	open, close := strings.Contains(netloc, "["), strings.Contains(netloc, "]")
	if open != close {
		return false
	}
	if open {
		return validBracketedNetloc(netloc)
	}
	return true
}

func isASCIILetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// validBracketedNetloc mirrors Python's _check_bracketed_netloc: after the
// userinfo, a bracket may only open the host, only a port may follow the
// closing bracket, and the bracketed text must be an IPv6 address or an
// IPvFuture literal.
func validBracketedNetloc(netloc string) bool {
	hostPort := netloc
	if at := strings.LastIndexByte(netloc, '@'); at >= 0 {
		hostPort = netloc[at+1:]
	}
	before, bracketed, found := strings.Cut(hostPort, "[")
	var host string
	if found {
		if before != "" {
			return false
		}
		var port string
		host, port, _ = strings.Cut(bracketed, "]")
		if port != "" && port[0] != ':' {
			return false
		}
	} else {
		host, _, _ = strings.Cut(hostPort, ":")
	}
	if strings.HasPrefix(host, "v") {
		// IPvFuture: v<hex>.<something>
		hexPart, tail, ok := strings.Cut(host[1:], ".")
		if !ok || hexPart == "" || tail == "" {
			return false
		}
		for i := 0; i < len(hexPart); i++ {
			if !isHex(hexPart[i]) {
				return false
			}
		}
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Is6()
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || ((c|0x20) >= 'a' && (c|0x20) <= 'f')
}

// validEmail applies the reference's loose rule (spec §4.9 step 4): an @,
// and a dot after the last @.
func validEmail(email string) bool {
	at := strings.LastIndexByte(email, '@')
	return at >= 0 && strings.Contains(email[at+1:], ".")
}

// tooLong reports whether s has more than max code points.
func tooLong(s string, max int) bool {
	return len(s) > max && utf8.RuneCountInString(s) > max
}
