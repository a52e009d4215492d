package core

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// msgHostBlocked answers a link whose target host is on the blocklist; %s
// is the field.
const msgHostBlocked = "Field '%s' points to a host that is not allowed"

// hostBlocklist holds the hosts (lowercase, no trailing dot) that new
// links may not point to; each entry also blocks its subdomains.
type hostBlocklist []string

// NormaliseBlockedHosts checks and normalises the entries of
// links.blocked_hosts: host names or IP addresses, without scheme, port
// or path.
func NormaliseBlockedHosts(hosts []string) ([]string, error) {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		n := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
		n = strings.TrimSuffix(strings.TrimPrefix(n, "["), "]")
		if n == "" || strings.ContainsAny(n, "/?#@ \t") || (strings.Contains(n, ":") && strings.Count(n, ":") < 2) {
			return nil, fmt.Errorf("%q is not a host name or IP address (no scheme, port or path)", h)
		}
		out = append(out, n)
	}
	return out, nil
}

// newHostBlocklist returns the blocklist of the normalised entries hosts,
// an IP address in its canonical form (127.1 is 127.0.0.1,
// ::ffff:7f00:1 is 127.0.0.1), as browserHost writes a target's host.
func newHostBlocklist(hosts []string) hostBlocklist {
	if len(hosts) == 0 {
		return nil
	}
	b := make(hostBlocklist, len(hosts))
	for i, h := range hosts {
		b[i] = h
		if c, ok := browserHost(h); ok && c != "" {
			b[i] = c
		}
	}
	return b
}

// blocks reports whether the host of target (a valid http or https URL)
// is listed or below a listed host, as a browser reads the host (see
// browserHost); a host a browser would read differently from what the
// link shows, or not at all, is blocked too.
func (b hostBlocklist) blocks(target string) bool {
	if len(b) == 0 {
		return false
	}
	u, err := url.Parse(target)
	if err != nil {
		return true // validation accepted it, but we cannot tell its host
	}
	host, ok := browserHost(u.Hostname())
	if !ok {
		return true
	}
	for _, blocked := range b {
		if host == blocked || strings.HasSuffix(host, "."+blocked) {
			return true
		}
	}
	return false
}

// browserHost returns host (a URL's host, unescaped and without brackets)
// as a browser connects to it: in lower case without a trailing dot, and
// an IP address in canonical form whatever its spelling. A host that ends
// in a number is an IPv4 address in the WHATWG URL standard's forms
// (2130706433, 0x7f.1, 0177.0.0.1 and 127.1 are all 127.0.0.1); an
// IPv4-mapped IPv6 address is its IPv4 address. ok is false for a host
// whose spelling the redirect would change into another ASCII host (a
// character IDNA maps to ASCII or drops, such as fullwidth letters, soft
// hyphens or an ideographic full stop, see idnaFolded), for one with a
// character unknown to Go's Unicode tables (see assigned), and for a host
// that a browser cannot read as an address (256.1.1.1, a bad IPv6
// literal).
func browserHost(host string) (string, bool) {
	for _, r := range host {
		if r >= 0x80 && (unicode.Is(idnaFolded, r) || !assigned(r)) {
			return "", false
		}
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" {
		return "", true
	}
	if strings.Contains(host, ":") {
		a, err := netip.ParseAddr(host)
		if err != nil {
			return "", false
		}
		return a.WithZone("").Unmap().String(), true
	}
	last := host[strings.LastIndexByte(host, '.')+1:]
	if _, ok := ipv4Part(last); !ok && strings.Trim(last, "0123456789") != "" {
		return host, true // a domain name
	}
	a, ok := parseIPv4(host)
	if !ok {
		return "", false
	}
	return a.String(), true
}

// assigned reports whether r is a character of the Unicode version Go
// knows. The redirect leaves a host with a character its IDNA tables do
// not know percent-encoded, and a browser with newer tables may fold it
// into ASCII (Unicode 16's outlined letters U+1CCD6… are A…Z).
func assigned(r rune) bool {
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z,
		unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

// parseIPv4 reads host as the WHATWG URL standard's IPv4 parser does: 1 to
// 4 dot-separated numbers, each decimal, octal (leading 0) or hex (0x);
// the last fills the remaining bytes.
func parseIPv4(host string) (netip.Addr, bool) {
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var ip uint64
	for i, p := range parts {
		n, ok := ipv4Part(p)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 255 {
				return netip.Addr{}, false
			}
			ip = ip<<8 | n
			continue
		}
		rest := uint(5 - len(parts))
		if n >= 1<<(8*rest) {
			return netip.Addr{}, false
		}
		ip = ip<<(8*rest) | n
	}
	return netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}), true
}

// ipv4Part parses one part of an IPv4 host: decimal, octal with a leading
// 0, or hex after 0x (possibly empty, which is 0).
func ipv4Part(p string) (uint64, bool) {
	base := 10
	switch {
	case p == "":
		return 0, false
	case len(p) >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'):
		p, base = p[2:], 16
	case len(p) >= 2 && p[0] == '0':
		p, base = p[1:], 8
	}
	if p = strings.TrimLeft(p, "0"); p == "" {
		return 0, true
	}
	if len(p) > 12 {
		return 0, false // beyond any IPv4 address, in any base
	}
	n, err := strconv.ParseUint(p, base, 64)
	return n, err == nil
}

// idnaFolded holds the non-ASCII characters that the IDNA mapping of the
// redirect's Location (core/httpapi: UTS 46 mapping, transitional, no
// STD3 rules) turns into ASCII or drops: ﬀ is ff, ｅ is e, U+00AD
// disappears, U+3002 is a dot. TestIDNAFoldedMatchesIDNA regenerates it
// from golang.org/x/net/idna.
var idnaFolded = &unicode.RangeTable{
	R16: []unicode.Range16{
		{0x00A0, 0x00A0, 1},
		{0x00AA, 0x00AA, 1},
		{0x00AD, 0x00AD, 1},
		{0x00B2, 0x00B3, 1},
		{0x00B9, 0x00BA, 1},
		{0x00DF, 0x00DF, 1},
		{0x0132, 0x0133, 1},
		{0x017F, 0x017F, 1},
		{0x01C7, 0x01CC, 1},
		{0x01F1, 0x01F3, 1},
		{0x02B0, 0x02B0, 1},
		{0x02B2, 0x02B3, 1},
		{0x02B7, 0x02B8, 1},
		{0x02E1, 0x02E3, 1},
		{0x034F, 0x034F, 1},
		{0x037E, 0x037E, 1},
		{0x180B, 0x180D, 1},
		{0x180F, 0x180F, 1},
		{0x1D2C, 0x1D2C, 1},
		{0x1D2E, 0x1D2E, 1},
		{0x1D30, 0x1D31, 1},
		{0x1D33, 0x1D3A, 1},
		{0x1D3C, 0x1D3C, 1},
		{0x1D3E, 0x1D43, 1},
		{0x1D47, 0x1D49, 1},
		{0x1D4D, 0x1D4D, 1},
		{0x1D4F, 0x1D50, 1},
		{0x1D52, 0x1D52, 1},
		{0x1D56, 0x1D58, 1},
		{0x1D5B, 0x1D5B, 1},
		{0x1D62, 0x1D65, 1},
		{0x1D9C, 0x1D9C, 1},
		{0x1DA0, 0x1DA0, 1},
		{0x1DBB, 0x1DBB, 1},
		{0x1E9E, 0x1E9E, 1},
		{0x1FEF, 0x1FEF, 1},
		{0x2000, 0x200D, 1},
		{0x202F, 0x202F, 1},
		{0x203C, 0x203C, 1},
		{0x2047, 0x2049, 1},
		{0x205F, 0x2060, 1},
		{0x2064, 0x2064, 1},
		{0x2070, 0x2071, 1},
		{0x2074, 0x207A, 1},
		{0x207C, 0x208A, 1},
		{0x208C, 0x208E, 1},
		{0x2090, 0x2093, 1},
		{0x2095, 0x209C, 1},
		{0x20A8, 0x20A8, 1},
		{0x2100, 0x2102, 1},
		{0x2105, 0x2106, 1},
		{0x210A, 0x210E, 1},
		{0x2110, 0x2113, 1},
		{0x2115, 0x2116, 1},
		{0x2119, 0x211D, 1},
		{0x2120, 0x2122, 1},
		{0x2124, 0x2124, 1},
		{0x2128, 0x2128, 1},
		{0x212A, 0x212A, 1},
		{0x212C, 0x212D, 1},
		{0x212F, 0x2131, 1},
		{0x2133, 0x2134, 1},
		{0x2139, 0x2139, 1},
		{0x213B, 0x213B, 1},
		{0x2145, 0x2149, 1},
		{0x2160, 0x217F, 1},
		{0x2460, 0x2487, 1},
		{0x249C, 0x24EA, 1},
		{0x2A74, 0x2A76, 1},
		{0x2C7C, 0x2C7D, 1},
		{0x3000, 0x3000, 1},
		{0x3002, 0x3002, 1},
		{0x3250, 0x325F, 1},
		{0x32B1, 0x32BF, 1},
		{0x32CC, 0x32CF, 1},
		{0x3371, 0x337A, 1},
		{0x3380, 0x3381, 1},
		{0x3383, 0x338B, 1},
		{0x338E, 0x3394, 1},
		{0x3396, 0x339A, 1},
		{0x339C, 0x33A6, 1},
		{0x33A9, 0x33AD, 1},
		{0x33B0, 0x33B1, 1},
		{0x33B3, 0x33B5, 1},
		{0x33B7, 0x33BB, 1},
		{0x33BD, 0x33BF, 1},
		{0x33C3, 0x33C5, 1},
		{0x33C8, 0x33D7, 1},
		{0x33D9, 0x33DD, 1},
		{0x33FF, 0x33FF, 1},
		{0xA7F2, 0xA7F4, 1},
		{0xFB00, 0xFB06, 1},
		{0xFB29, 0xFB29, 1},
		{0xFE00, 0xFE10, 1},
		{0xFE13, 0xFE16, 1},
		{0xFE33, 0xFE38, 1},
		{0xFE47, 0xFE48, 1},
		{0xFE4D, 0xFE50, 1},
		{0xFE54, 0xFE57, 1},
		{0xFE59, 0xFE5C, 1},
		{0xFE5F, 0xFE66, 1},
		{0xFE68, 0xFE6B, 1},
		{0xFEFF, 0xFEFF, 1},
		{0xFF01, 0xFF5E, 1},
		{0xFF61, 0xFF61, 1},
	},
	R32: []unicode.Range32{
		{0x107A5, 0x107A5, 1},
		{0x1BCA0, 0x1BCA3, 1},
		{0x1D400, 0x1D454, 1},
		{0x1D456, 0x1D49C, 1},
		{0x1D49E, 0x1D49F, 1},
		{0x1D4A2, 0x1D4A2, 1},
		{0x1D4A5, 0x1D4A6, 1},
		{0x1D4A9, 0x1D4AC, 1},
		{0x1D4AE, 0x1D4B9, 1},
		{0x1D4BB, 0x1D4BB, 1},
		{0x1D4BD, 0x1D4C3, 1},
		{0x1D4C5, 0x1D505, 1},
		{0x1D507, 0x1D50A, 1},
		{0x1D50D, 0x1D514, 1},
		{0x1D516, 0x1D51C, 1},
		{0x1D51E, 0x1D539, 1},
		{0x1D53B, 0x1D53E, 1},
		{0x1D540, 0x1D544, 1},
		{0x1D546, 0x1D546, 1},
		{0x1D54A, 0x1D550, 1},
		{0x1D552, 0x1D6A3, 1},
		{0x1D7CE, 0x1D7FF, 1},
		{0x1F101, 0x1F10A, 1},
		{0x1F110, 0x1F129, 1},
		{0x1F12B, 0x1F12E, 1},
		{0x1F130, 0x1F14F, 1},
		{0x1F16A, 0x1F16C, 1},
		{0x1F190, 0x1F190, 1},
		{0x1FBF0, 0x1FBF9, 1},
		{0xE0100, 0xE01EF, 1},
	},
	LatinOffset: 6,
}
