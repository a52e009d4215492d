package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParseTrustedProxies parses http.trusted_proxies: CIDRs ("10.0.0.0/8") or
// single addresses ("192.0.2.1"), each entry possibly a comma-separated
// list. An invalid entry is an error naming it.
func ParseTrustedProxies(entries []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, entry := range entries {
		for s := range strings.SplitSeq(entry, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if strings.Contains(s, "/") {
				p, err := netip.ParsePrefix(s)
				if err != nil {
					return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", s)
				}
				out = append(out, p.Masked())
				continue
			}
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%q is neither an IP address nor a CIDR", s)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out, nil
}

// TrustedProxyPrefixes returns http.trusted_proxies parsed, for
// httpapi.Options.TrustedProxies. Validate reports an invalid entry.
func (h HTTP) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	return ParseTrustedProxies(h.TrustedProxies)
}

// debugRoutesEnabled reports whether a value of ENABLE_INCIDENT_DEBUG_ROUTES
// enables the debug routes: "true", "1" or "yes" in any case, surrounding
// spaces ignored. (The reference accepted only "true", Q28.)
func debugRoutesEnabled(value string) bool {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "true", "1", "yes":
		return true
	}
	return false
}
