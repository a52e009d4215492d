package httpapi

import (
	"context"
	"errors"
	"html"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mileusna/useragent"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/uaclass"
)

// defaultPasswordLimit bounds the password attempts on one protected link
// from one client when rate_limits.password is not set: 10 a minute.
var defaultPasswordLimit = RateLimit{Requests: 10, Per: time.Minute, Burst: 10}

// Password form and Basic challenge answers of a protected link.
var (
	headerBasicChallenge = []string{`Basic realm="curtain", charset="UTF-8"`}
	// passwordCSP is the policy of the form: the base policy, but its
	// post may end on another site, because the right password is
	// answered with a redirect to the target and browsers hold that
	// redirect to the form's form-action too.
	passwordCSP    = []string{strings.Replace(contentSecurityPolicy, "form-action 'self'", "form-action 'self' http: https:", 1)}
	errCrossOrigin = &httpError{status: http.StatusForbidden, message: "Cross-origin form refused"}
)

// visit is what a redirect of a link with a password or rules reads of
// its request (core.Visit), built only for such links.
type visit struct {
	a     *api
	w     http.ResponseWriter
	r     *http.Request
	code  string
	agent *useragent.UserAgent // parsed on first use
}

// redirectVisit retries a redirect the service refused for want of a
// visit (core.ErrVisitRequired): the link has a password or rules.
func (a *api) redirectVisit(w http.ResponseWriter, r *http.Request, code string, src core.ClickSource, record bool) (core.RedirectTarget, core.CacheStatus, error) {
	if src.Visitor == "" {
		// A HEAD records nothing, so it has no click source, but an A/B
		// rule picks by the visitor identity: the same one as its GET
		// (the keyed hash of the address in privacy mode).
		src.Visitor = a.visitorID(a.clientIP.of(r))
	}
	return a.svc.RedirectWith(r.Context(), code, src, record, &visit{a: a, w: w, r: r, code: code})
}

// Password implements core.Visit: the password of HTTP Basic (any user
// name), or the "password" field of the browser form (POST back to the
// same path). A presented password counts as an attempt against the
// password rate limit.
func (v *visit) Password(ctx context.Context) (string, bool, error) {
	var pw string
	var ok bool
	if v.r.Method == http.MethodPost {
		if origin := v.r.Header.Get("Origin"); origin != "" && !v.a.ownOrigin(v.r, origin) {
			return "", false, errCrossOrigin
		}
		form, err := v.a.formValues(v.w, v.r, "password")
		if err != nil {
			return "", false, err
		}
		pw, ok = form["password"]
	} else {
		_, pw, ok = v.r.BasicAuth()
	}
	if !ok {
		return "", false, nil
	}
	if err := v.a.passwordAttempt(v.r, v.code); err != nil {
		return "", false, err
	}
	return pw, true, nil
}

// Agent implements core.Visit with github.com/mileusna/useragent.
func (v *visit) Agent() (device, os, browser string) {
	if v.agent == nil {
		ua := useragent.Parse(v.r.Header.Get("User-Agent"))
		v.agent = &ua
	}
	ua := v.agent
	device = uaclass.DeviceOf(ua)
	browser = strings.ToLower(ua.Name)
	if ua.Name == useragent.MobileSafari {
		browser = "safari"
	}
	return device, strings.ToLower(ua.OS), browser
}

// Languages implements core.Visit: the Accept-Language tags in lower
// case, without those refused with q=0.
func (v *visit) Languages() []string {
	var out []string
	for _, part := range strings.Split(v.r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		if tag == "" || tag == "*" {
			continue
		}
		if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(q, 64); err == nil && f <= 0 {
				continue
			}
		}
		out = append(out, tag)
	}
	return out
}

// Query implements core.Visit, reading the query as every other query
// parameter is read (queryValue).
func (v *visit) Query(name string) (string, bool) {
	return queryValue(v.r.URL.RawQuery, name)
}

// ClientIP implements core.Visit: the address as the access log and the
// rate limits see it (trusted proxies applied).
func (v *visit) ClientIP() netip.Addr {
	a, _ := netip.ParseAddr(v.a.clientIP.of(v.r))
	return a
}

// passwordAttempt counts one password attempt of the client on code
// against the password rate limit (a 429 with Retry-After past it).
func (a *api) passwordAttempt(r *http.Request, code string) error {
	limit := a.opts.RateLimits.Password
	if !limit.enabled() {
		limit = defaultPasswordLimit
	}
	limiter, shared := a.limiter(a.passwordLimiter)
	wait, err := limiter.Allow(r.Context(), "password:"+a.limitClient(r, shared)+":"+code, limit)
	if err != nil {
		// As for the other limits: a limiter that cannot count lets the
		// attempt through (bcrypt still bounds the rate per core).
		a.logRequest(r, slog.LevelWarn, "ratelimit.unavailable", "error", err.Error())
		return nil
	}
	if wait > 0 {
		return &rateLimitedError{retryAfter: wait, password: true}
	}
	return nil
}

// ownOrigin reports whether an Origin header names the host the client
// asked for: the request's Host, or, behind a trusted proxy that forwards
// the public host in X-Forwarded-Host (requestHost), that host (port
// ignored, as for links.domains).
func (a *api) ownOrigin(r *http.Request, origin string) bool {
	if sameOrigin(origin, r.Host) {
		return true
	}
	fwd := a.requestHost(r)
	if fwd == normaliseHost(r.Host) {
		return false // no forwarded host believed
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && normaliseHost(u.Host) == fwd
}

// sameOrigin reports whether an Origin header names host (any scheme:
// TLS may end at a proxy).
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}

// wantsHTML reports whether the client is a browser (it accepts HTML),
// which gets the password form rather than a Basic challenge.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// writePasswordChallenge answers a protected link visited without its
// password (err is core.ErrPasswordRequired or core.ErrPasswordWrong) on
// the route named route: 401 with the password form for a browser, else
// 401 with a Basic challenge and a JSON error.
func writePasswordChallenge(w http.ResponseWriter, r *http.Request, route string, err error) {
	if wantsHTML(r) {
		line := ""
		if errors.Is(err, core.ErrPasswordWrong) {
			line = passwordWrongLine
		}
		writePasswordForm(w, r, route, http.StatusUnauthorized, line)
		return
	}
	w.Header()["Www-Authenticate"] = headerBasicChallenge
	writeJSON(w, http.StatusUnauthorized, errorBody(err.Error()))
}

// writePasswordLimited answers the browser form of a client past the
// password rate limit: the form again, saying how long to wait, with 429
// (Retry-After is set by the caller).
func writePasswordLimited(w http.ResponseWriter, r *http.Request, route, retryAfter string) {
	writePasswordForm(w, r, route, http.StatusTooManyRequests,
		"<p role=alert>Too many attempts, try again in "+waitWords(retryAfter)+".</p>\n")
}

// waitWords puts a Retry-After in seconds into words a person reads:
// seconds up to two minutes, then whole minutes up to two hours, then
// whole hours, rounded up.
func waitWords(retryAfter string) string {
	n, err := strconv.Atoi(retryAfter)
	switch {
	case err != nil:
		return retryAfter + " seconds"
	case n == 1:
		return "1 second"
	case n < 120:
		return strconv.Itoa(n) + " seconds"
	case n < 7200:
		return strconv.Itoa((n+59)/60) + " minutes"
	}
	return strconv.Itoa((n+3599)/3600) + " hours"
}

// writePasswordForm writes the password form page with status and an
// alert line (may be empty) above the form.
func writePasswordForm(w http.ResponseWriter, r *http.Request, route string, status int, line string) {
	w.Header()["Cache-Control"] = []string{"no-store"}
	w.Header()["Content-Security-Policy"] = passwordCSP
	form := passwordPage2
	if route == "redirect.root" {
		// POST /{code} stays the reference's 405 (and would shadow
		// the one-segment routes' 405s): the form of a link opened
		// at the root posts to /r/{code}, which takes it.
		action := html.EscapeString("/r/" + url.PathEscape(strings.TrimPrefix(r.URL.Path, "/")))
		form = strings.Replace(form, "<form method=post", `<form method=post action="`+action+`"`, 1)
	}
	writeHTML(w, status, passwordPage1+line+form)
}

// The password form: no script, no inline style (passwordCSP applies),
// posting to the page's own path (to /r/{code} from a link
// opened at the root).
const (
	passwordPage1 = "<!doctype html>\n<html lang=en>\n<meta charset=utf-8>\n<meta name=viewport content=\"width=device-width\">\n" +
		"<meta name=robots content=noindex>\n<link rel=icon href=/assets/favicon.svg type=image/svg+xml>\n" +
		"<title>Password required</title>\n<h1>This link is protected</h1>\n"
	passwordWrongLine = "<p role=alert>Wrong password, try again.</p>\n"
	passwordPage2     = "<form method=post autocomplete=off>\n<label>Password <input type=password name=password required autofocus></label>\n" +
		"<button type=submit>Continue</button>\n</form>\n"
)
