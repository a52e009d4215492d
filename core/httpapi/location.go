package httpapi

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Sets of ASCII bytes kept as they are in each part of a Location (spec
// §4.18, Werkzeug 3's iri_to_uri): letters, digits and "-._~" everywhere,
// plus per part the listed punctuation.
var (
	pathSafe     = asciiSet("%!$&'()*+,/:;=@")
	querySafe    = asciiSet("%!$&'()*+,/:;=?@")
	fragmentSafe = asciiSet("%!#$&'()*+,/:;=?@")
	userinfoSafe = asciiSet("%!$&'()*+,;=")
	// fallbackSafe is used when a stored URL cannot be split at all.
	fallbackSafe = asciiSet("%!#$&'()*+,/:;=?@[]")
)

type byteSet [256]bool

func asciiSet(extra string) *byteSet {
	var s byteSet
	for c := 'a'; c <= 'z'; c++ {
		s[c], s[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		s[c] = true
	}
	for _, c := range "-._~" + extra {
		s[c] = true
	}
	return &s
}

// idnaProfile converts non-ASCII host labels as Python's IDNA 2003 codec
// does in practice: case folded, transitional mapping (ß → ss), punycode.
var idnaProfile = idna.New(idna.MapForLookup(), idna.Transitional(true), idna.StrictDomainName(false))

// location converts a stored URL to the URI sent in Location (spec
// §4.18). An ordinary URL that the conversion would not change is
// returned as is, without allocating.
func location(s string) string {
	if locationUnchanged(s) {
		return s
	}
	if uri, ok := iriToURI(s); ok {
		return uri
	}
	return quote(s, fallbackSafe)
}

// locationUnchanged reports, conservatively, whether iriToURI(s) == s:
// a lower-case http(s) scheme, a lower-case ASCII host with a plain port,
// no userinfo or fragment, a non-empty query if any, and only bytes that
// stay unescaped.
func locationUnchanged(s string) bool {
	var rest string
	switch {
	case strings.HasPrefix(s, "https://"):
		rest = s[len("https://"):]
	case strings.HasPrefix(s, "http://"):
		rest = s[len("http://"):]
	default:
		return false
	}
	end := len(rest)
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !querySafe[c] {
			return false // includes '#', brackets, space, non-ASCII
		}
		if (c == '/' || c == '?') && end == len(rest) {
			end = i
		}
	}
	if strings.HasSuffix(rest, "?") {
		return false // an empty query is dropped
	}
	host, port, hasPort := strings.Cut(rest[:end], ":")
	if host == "" || len(host) > 253 {
		return false
	}
	label := 0
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
			continue
		case (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-':
		default:
			return false // upper case, '@', '%', ...
		}
		label++
		if label > 63 {
			return false
		}
	}
	if label == 0 {
		return false
	}
	if hasPort {
		if port == "" || port[0] == '0' || len(port) > 5 {
			return false
		}
		n, err := strconv.Atoi(port)
		if err != nil || n > 65535 {
			return false
		}
	}
	return true
}

// iriToURI is Werkzeug 3's iri_to_uri over Python's urlsplit. ok is false
// where Python would raise (bad brackets, port, or host label).
func iriToURI(s string) (string, bool) {
	p, ok := splitURL(s)
	if !ok {
		return "", false
	}
	var b strings.Builder
	netloc, ok := p.netlocURI()
	if !ok {
		return "", false
	}
	path := quote(p.path, pathSafe)
	if p.scheme != "" {
		b.WriteString(p.scheme)
		b.WriteByte(':')
	}
	if netloc != "" || p.scheme == "http" || p.scheme == "https" {
		b.WriteString("//")
		b.WriteString(netloc)
		if path != "" && path[0] != '/' {
			b.WriteByte('/')
		}
	}
	b.WriteString(path)
	if p.query != "" {
		b.WriteByte('?')
		b.WriteString(quote(p.query, querySafe))
	}
	if p.fragment != "" {
		b.WriteByte('#')
		b.WriteString(quote(p.fragment, fragmentSafe))
	}
	uri := b.String()
	for i := 0; i < len(uri); i++ {
		if uri[i] <= ' ' || uri[i] >= 0x7f {
			return "", false // e.g. a space in an ASCII host
		}
	}
	return uri, true
}

// urlParts is the result of Python's urlsplit.
type urlParts struct {
	scheme, netloc, path, query, fragment string
	hasNetloc                             bool
}

// splitURL mirrors Python 3's urlsplit: leading C0 controls and spaces are
// dropped, tab/CR/LF removed, the scheme lower-cased.
func splitURL(s string) (urlParts, bool) {
	var p urlParts
	s = strings.TrimLeft(s, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	if strings.ContainsAny(s, "\t\r\n") {
		s = strings.NewReplacer("\t", "", "\r", "", "\n", "").Replace(s)
	}
	if i := strings.IndexByte(s, ':'); i > 0 && isLetter(s[0]) {
		valid := true
		for j := 0; j < i; j++ {
			c := s[j]
			if !isLetter(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.' {
				valid = false
				break
			}
		}
		if valid {
			p.scheme, s = strings.ToLower(s[:i]), s[i+1:]
		}
	}
	if strings.HasPrefix(s, "//") {
		end := len(s)
		if i := strings.IndexAny(s[2:], "/?#"); i >= 0 {
			end = i + 2
		}
		p.netloc, s, p.hasNetloc = s[2:end], s[end:], true
		if strings.Contains(p.netloc, "[") != strings.Contains(p.netloc, "]") {
			return p, false
		}
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s, p.fragment = s[:i], s[i+1:]
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s, p.query = s[:i], s[i+1:]
	}
	p.path = s
	return p, true
}

func isLetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// netlocURI rebuilds the authority: userinfo quoted, host lower-cased and
// IDNA-encoded (bracketed when it holds ':'), port normalised.
func (p urlParts) netlocURI() (string, bool) {
	userinfo, hostinfo := "", p.netloc
	hasUserinfo := false
	if i := strings.LastIndexByte(p.netloc, '@'); i >= 0 {
		userinfo, hostinfo, hasUserinfo = p.netloc[:i], p.netloc[i+1:], true
	}
	var host, port string
	if _, bracketed, ok := strings.Cut(hostinfo, "["); ok {
		var after string
		host, after, _ = strings.Cut(bracketed, "]")
		_, port, _ = strings.Cut(after, ":")
	} else {
		host, port, _ = strings.Cut(hostinfo, ":")
	}
	var b strings.Builder
	if hasUserinfo {
		user, pass, hasPass := strings.Cut(userinfo, ":")
		if user != "" {
			b.WriteString(quote(user, userinfoSafe))
			if hasPass && pass != "" {
				b.WriteByte(':')
				b.WriteString(quote(pass, userinfoSafe))
			}
			b.WriteByte('@')
		}
	}
	if host != "" {
		h, zone, hasZone := strings.Cut(host, "%")
		h = strings.ToLower(h)
		if hasZone {
			h += "%" + zone
		}
		ascii, ok := idnaHost(h)
		if !ok {
			return "", false
		}
		if strings.Contains(ascii, ":") {
			ascii = "[" + ascii + "]"
		}
		b.WriteString(ascii)
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 0 || n > 65535 || port[0] == '+' || port[0] == '-' {
			return "", false
		}
		if n != 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(n))
		}
	}
	return b.String(), true
}

// idnaHost encodes each non-ASCII label with IDNA; ASCII labels must be
// 1..63 bytes long (a trailing dot is allowed), as Python's codec demands.
func idnaHost(host string) (string, bool) {
	host = strings.NewReplacer("\u3002", ".", "\uff0e", ".", "\uff61", ".").Replace(host)
	labels := strings.Split(host, ".")
	for i, l := range labels {
		if l == "" {
			if i == len(labels)-1 && i > 0 {
				continue
			}
			return "", false
		}
		if !isASCIIString(l) {
			enc, err := idnaProfile.ToASCII(l)
			if err != nil || enc == "" {
				return "", false
			}
			l = enc
			labels[i] = l
		}
		if len(l) > 63 {
			return "", false
		}
	}
	return strings.Join(labels, "."), true
}

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// quote percent-encodes, as UTF-8 with upper-case hex, every byte of s
// outside safe, like Python's urllib.parse.quote.
func quote(s string, safe *byteSet) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !safe[s[i]] {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const upperHex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if safe[c] {
			b = append(b, c)
		} else {
			b = append(b, '%', upperHex[c>>4], upperHex[c&0xf])
		}
	}
	return string(b)
}
