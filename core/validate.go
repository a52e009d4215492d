package core

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/curtainhq/curtain/core/pycompat"
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
	p, ok := pycompat.URLSplit(s)
	if !ok || (p.Scheme != "http" && p.Scheme != "https") || p.Netloc == "" {
		return false
	}
	return !strings.Contains(p.Netloc, "[") || pycompat.ValidBracketedNetloc(p.Netloc)
}

// validEmail applies the reference's loose rule (spec §4.9 step 4): an @,
// and a dot after the last @.
func validEmail(email string) bool {
	at := strings.LastIndexByte(email, '@')
	return at >= 0 && strings.Contains(email[at+1:], ".")
}

// storableField checks what the reference's database refused with a 500
// (Q11): more than max characters, or a NUL. Every stored text field's
// messages come from here.
func storableField(name, value string, max int) error {
	switch {
	case tooLong(value, max):
		return invalid(name, "Field '%s' must not exceed %d characters", name, max)
	case strings.IndexByte(value, 0) >= 0:
		return invalid(name, "Field '%s' must not contain NUL characters", name)
	}
	return nil
}

// tooLong reports whether s has more than max code points.
func tooLong(s string, max int) bool {
	return len(s) > max && utf8.RuneCountInString(s) > max
}
