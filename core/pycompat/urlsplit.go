package pycompat

import (
	"net/netip"
	"strings"
)

// SplitResult is what Python's urllib.parse.urlsplit returns.
type SplitResult struct {
	// Scheme is lower-cased; "" when s has none.
	Scheme   string
	Netloc   string
	Path     string
	Query    string
	Fragment string
	// HasNetloc reports a "//" authority, which may be empty.
	HasNetloc bool
}

// leadingStripped are the characters urlsplit drops from the start of a
// URL: the C0 controls and space (WHATWG's "C0 control or space").
const leadingStripped = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f" +
	"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "

// URLSplit mirrors Python 3's urllib.parse.urlsplit: leading C0 controls
// and spaces are dropped, tab, CR and LF removed anywhere, the scheme
// recognised (a letter, then letters, digits, "+", "-", ".") and
// lower-cased, the authority cut at the first "/", "?" or "#". ok is false
// where Python raises: an authority with a "[" but no "]" or the reverse.
// The bracketed host itself is checked by ValidBracketedNetloc.
func URLSplit(s string) (p SplitResult, ok bool) {
	s = strings.TrimLeft(s, leadingStripped)
	if strings.ContainsAny(s, "\t\r\n") {
		s = strings.NewReplacer("\t", "", "\r", "", "\n", "").Replace(s)
	}
	if i := strings.IndexByte(s, ':'); i > 0 && validScheme(s[:i]) {
		p.Scheme, s = strings.ToLower(s[:i]), s[i+1:]
	}
	if strings.HasPrefix(s, "//") {
		end := len(s)
		if i := strings.IndexAny(s[2:], "/?#"); i >= 0 {
			end = i + 2
		}
		p.Netloc, s, p.HasNetloc = s[2:end], s[end:], true
		if strings.Contains(p.Netloc, "[") != strings.Contains(p.Netloc, "]") {
			return p, false
		}
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s, p.Fragment = s[:i], s[i+1:]
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s, p.Query = s[:i], s[i+1:]
	}
	p.Path = s
	return p, true
}

// validScheme reports whether s is a URL scheme as urlsplit accepts it.
func validScheme(s string) bool {
	if s == "" || !isASCIILetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isASCIILetter(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// ValidBracketedNetloc mirrors Python's _check_bracketed_netloc, which
// urlsplit applies to an authority holding brackets: after the userinfo,
// a bracket may only open the host, only a port may follow the closing
// bracket, and the bracketed text must be an IPv6 address or an IPvFuture
// literal (v<hex>.<text>).
func ValidBracketedNetloc(netloc string) bool {
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
		hexPart, tail, ok := strings.Cut(host[1:], ".")
		if !ok || hexPart == "" || tail == "" {
			return false
		}
		for i := 0; i < len(hexPart); i++ {
			if !IsHexDigit(hexPart[i]) {
				return false
			}
		}
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Is6()
}
