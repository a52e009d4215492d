package httpapi

import (
	"net/http"
	"net/netip"
	"strings"
)

// clientIP finds the address of the client of a request. Without trusted
// proxies it is the socket peer. With them, X-Forwarded-For is read from
// the right while the hop it came through is trusted: the answer is the
// rightmost entry no trusted proxy wrote, so whatever the client put
// further left is ignored (fix of Q18: the first entry is the client's own
// text). The result is always a valid IP address in canonical form, or ""
// when the peer address is not one (never for a TCP listener).
type clientIP struct {
	trusted []netip.Prefix
}

func (c clientIP) of(r *http.Request) string {
	peerText, peer, ok := peerAddr(r.RemoteAddr)
	if !ok {
		return ""
	}
	if len(c.trusted) == 0 || !c.isTrusted(peer) {
		return peerText
	}
	// The peer is a trusted proxy: walk its X-Forwarded-For chain (every
	// header line, in order) from the right.
	client := peer
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		rest := values[i]
		for rest != "" {
			var entry string
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				entry, rest = rest[j+1:], rest[:j]
			} else {
				entry, rest = rest, ""
			}
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			addr, ok := parseForwarded(entry)
			if !ok {
				// A trusted proxy never writes this: stop at the last
				// address we could verify.
				return client.String()
			}
			client = addr
			if !c.isTrusted(addr) {
				return addr.String()
			}
		}
	}
	// Every hop is trusted: the leftmost is the client.
	return client.String()
}

func (c clientIP) isTrusted(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr parses a socket peer "host:port" (Go's RemoteAddr). text is the
// canonical address, a substring of remote when possible so that the
// common case does not allocate.
func peerAddr(remote string) (text string, addr netip.Addr, ok bool) {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		// Not host:port (a test server or unix socket may set anything):
		// accept a bare address.
		a, err := netip.ParseAddr(remote)
		if err != nil {
			return "", netip.Addr{}, false
		}
		a = a.Unmap().WithZone("")
		return a.String(), a, true
	}
	a := ap.Addr()
	host := remote[:strings.LastIndexByte(remote, ':')]
	if a.Is4() {
		return host, a, true
	}
	a = a.Unmap().WithZone("")
	return a.String(), a, true
}

// parseForwarded parses one X-Forwarded-For entry: an IP address,
// optionally bracketed or with a port as some proxies write it.
func parseForwarded(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err2 := netip.ParseAddrPort(s)
		if err2 != nil {
			if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
				a, err = netip.ParseAddr(s[1 : len(s)-1])
			}
			if err != nil {
				return netip.Addr{}, false
			}
		} else {
			a = ap.Addr()
		}
	}
	if a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
