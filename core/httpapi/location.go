package httpapi

import (
	"strconv"
	"strings"

	"golang.org/x/net/idna"

	"github.com/curtainhq/curtain/core/pycompat"
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
	p, ok := pycompat.URLSplit(s)
	if !ok {
		return "", false
	}
	var b strings.Builder
	netloc, ok := netlocURI(p)
	if !ok {
		return "", false
	}
	path := quote(p.Path, pathSafe)
	if p.Scheme != "" {
		b.WriteString(p.Scheme)
		b.WriteByte(':')
	}
	if netloc != "" || p.Scheme == "http" || p.Scheme == "https" {
		b.WriteString("//")
		b.WriteString(netloc)
		if path != "" && path[0] != '/' {
			b.WriteByte('/')
		}
	}
	b.WriteString(path)
	if p.Query != "" {
		b.WriteByte('?')
		b.WriteString(quote(p.Query, querySafe))
	}
	if p.Fragment != "" {
		b.WriteByte('#')
		b.WriteString(quote(p.Fragment, fragmentSafe))
	}
	uri := b.String()
	for i := 0; i < len(uri); i++ {
		if uri[i] <= ' ' || uri[i] >= 0x7f {
			return "", false // e.g. a space in an ASCII host
		}
	}
	return uri, true
}

// netlocURI rebuilds the authority: userinfo quoted, host lower-cased and
// IDNA-encoded (bracketed when it holds ':'), port normalised.
func netlocURI(p pycompat.SplitResult) (string, bool) {
	userinfo, hostinfo := "", p.Netloc
	hasUserinfo := false
	if i := strings.LastIndexByte(p.Netloc, '@'); i >= 0 {
		userinfo, hostinfo, hasUserinfo = p.Netloc[:i], p.Netloc[i+1:], true
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
		if !pycompat.IsASCII(l) {
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
