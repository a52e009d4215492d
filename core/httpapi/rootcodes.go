package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/uptrace/bunrouter"

	"github.com/curtainhq/curtain/core"
)

// Short links at the root and on several domains (issue 19).
//
// With Options.RootCodes, GET /{code} redirects as GET /r/{code} does: the
// route is registered with the same handler, after every other route, and
// the router prefers a static segment ("/urls", "/health") to the
// parameter, so a code can never shadow a route. core.ReservedCodes keeps
// every first path segment of the route table out of custom codes
// (TestReservedCodesCoverRoutes).
//
// Codes are global: every code resolves on the default host and on every
// configured domain alike. A configured domain changes only what a miss
// answers: instead of the JSON 404, a redirect to its NotFoundURL.

// Domain is one host name short links are served on (links.domains).
type Domain struct {
	// Host is the host name, without port; compared without regard to
	// case.
	Host string
	// NotFoundURL, when set, is where a redirect route on Host that finds
	// no link (unknown, disabled or expired without a target) sends the
	// visitor with a 302; empty: the JSON 404.
	NotFoundURL string
}

// shortLinkPath is the path prefix of the short links the API hands out.
func (a *api) shortLinkPath() string {
	if a.opts.RootCodes {
		return "/"
	}
	return "/r/"
}

// shortLink is the short link of code as the API hands it out (POST
// /shorten-ui, GET /urls/{id}/qr).
func (a *api) shortLink(r *http.Request, code string) string {
	return a.publicBase(r) + a.shortLinkPath() + code
}

// domainTargets maps each configured host (lower case) to its not-found
// target; hosts without one are left out.
func domainTargets(domains []Domain) map[string]string {
	out := map[string]string{}
	for _, d := range domains {
		if d.NotFoundURL != "" {
			out[normaliseHost(d.Host)] = d.NotFoundURL
		}
	}
	return out
}

// normaliseHost strips the port and a final dot of a Host value and
// lower-cases it.
func normaliseHost(h string) string {
	if strings.HasPrefix(h, "[") {
		if end := strings.IndexByte(h, ']'); end > 0 {
			h = h[1:end]
		}
	} else if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.IndexByte(h, ':') == i {
		h = h[:i]
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// requestHost is the host a client asked for: the Host header, or, when
// the socket peer is a trusted proxy, the rightmost X-Forwarded-Host entry
// (the one that proxy wrote).
func (a *api) requestHost(r *http.Request) string {
	host := r.Host
	if len(a.clientIP.trusted) > 0 {
		if _, peer, ok := peerAddr(r.RemoteAddr); ok && a.clientIP.isTrusted(peer) {
			if fwd := forwardedHost(r.Header.Values("X-Forwarded-Host")); fwd != "" {
				host = fwd
			}
		}
	}
	return normaliseHost(host)
}

// forwardedHost is the rightmost non-empty entry of the X-Forwarded-Host
// lines.
func forwardedHost(values []string) string {
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		if j := strings.LastIndexByte(v, ','); j >= 0 {
			v = v[j+1:]
		}
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// onDomains returns h, a redirect handler, answering its misses on a
// configured domain with that domain's not-found target. Without such
// domains it is h itself: the default deployment pays nothing.
func (a *api) onDomains(h bunrouter.HandlerFunc) bunrouter.HandlerFunc {
	if len(a.notFoundTargets) == 0 {
		return h
	}
	return func(w http.ResponseWriter, req bunrouter.Request) error {
		err := h(w, req)
		if err == nil || !errors.Is(err, core.ErrNotFound) {
			return err
		}
		target, ok := a.notFoundTargets[a.requestHost(req.Request)]
		if !ok {
			return err
		}
		w.Header()["Location"] = []string{location(target)}
		w.Header()["Content-Type"] = headerHTML
		w.WriteHeader(http.StatusFound)
		return nil
	}
}
