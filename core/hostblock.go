package core

import (
	"fmt"
	"net/url"
	"strings"
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

// blocks reports whether the host of target (a valid http or https URL)
// is listed or below a listed host.
func (b hostBlocklist) blocks(target string) bool {
	if len(b) == 0 {
		return false
	}
	u, err := url.Parse(target)
	if err != nil {
		return true // validation accepted it, but we cannot tell its host
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	for _, blocked := range b {
		if host == blocked || strings.HasSuffix(host, "."+blocked) {
			return true
		}
	}
	return false
}
