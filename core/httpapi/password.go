package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/curtainhq/curtain/core"
)

// defaultPasswordLimit bounds the password attempts on one protected link
// from one client when rate_limits.password is not set: 10 a minute.
var defaultPasswordLimit = RateLimit{Requests: 10, Per: time.Minute, Burst: 10}

// Password form and Basic challenge answers of a protected link.
var (
	headerBasicChallenge = []string{`Basic realm="curtain", charset="UTF-8"`}
	errCrossOrigin       = &httpError{status: http.StatusForbidden, message: "Cross-origin form refused"}
)

// presented is the password a request presents for a protected link: the
// password of HTTP Basic (any user name) or the "password" field of the
// browser form (POST back to the same path).
type presented struct {
	password string
	ok       bool
}

// Password implements core.Credentials.
func (p presented) Password(context.Context) (string, bool, error) { return p.password, p.ok, nil }

// redirectProtected retries a redirect the service refused for want of a
// password: with the password the request presents, once the client is
// within its attempts on this link. Called only for protected links, so
// an open link pays nothing for the feature.
func (a *api) redirectProtected(w http.ResponseWriter, r *http.Request, code, who string, record bool) (core.RedirectTarget, core.CacheStatus, error) {
	var p presented
	if r.Method == http.MethodPost {
		if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r.Host) {
			return core.RedirectTarget{}, core.CacheNone, errCrossOrigin
		}
		form, err := a.formValues(w, r, "password")
		if err != nil {
			return core.RedirectTarget{}, core.CacheNone, err
		}
		p.password, p.ok = form["password"]
	} else if _, pw, ok := r.BasicAuth(); ok {
		p = presented{password: pw, ok: true}
	}
	if !p.ok {
		return core.RedirectTarget{}, core.CacheNone, core.ErrPasswordRequired
	}
	if err := a.passwordAttempt(r, code); err != nil {
		return core.RedirectTarget{}, core.CacheNone, err
	}
	return a.svc.RedirectWith(r.Context(), code, who, record, p)
}

// passwordAttempt counts one password attempt of the client on code
// against the password rate limit (a 429 with Retry-After past it).
func (a *api) passwordAttempt(r *http.Request, code string) error {
	limit := a.opts.RateLimits.Password
	if !limit.enabled() {
		limit = defaultPasswordLimit
	}
	limiter := a.opts.RateLimits.Shared
	if limiter == nil {
		limiter = a.passwordLimiter
	}
	wait, err := limiter.Allow(r.Context(), "password:"+a.clientIP.of(r)+":"+code, limit)
	if err != nil {
		// As for the other limits: a limiter that cannot count lets the
		// attempt through (bcrypt still bounds the rate per core).
		a.logRequest(r, slog.LevelWarn, "ratelimit.unavailable", "error", err.Error())
		return nil
	}
	if wait > 0 {
		return &rateLimitedError{retryAfter: wait}
	}
	return nil
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
// password (err is core.ErrPasswordRequired or core.ErrPasswordWrong):
// 401 with the password form for a browser, else 401 with a Basic
// challenge and a JSON error.
func writePasswordChallenge(w http.ResponseWriter, r *http.Request, err error) {
	if wantsHTML(r) {
		h := w.Header()
		h["Cache-Control"] = []string{"no-store"}
		page := passwordPage1
		if errors.Is(err, core.ErrPasswordWrong) {
			page += passwordWrongLine
		}
		writeHTML(w, http.StatusUnauthorized, page+passwordPage2)
		return
	}
	w.Header()["Www-Authenticate"] = headerBasicChallenge
	writeJSON(w, http.StatusUnauthorized, errorBody(err.Error()))
}

// The password form: no script, no inline style (the CSP of every HTML
// page applies), posting to the page's own path.
const (
	passwordPage1 = "<!doctype html>\n<html lang=en>\n<meta charset=utf-8>\n<meta name=viewport content=\"width=device-width\">\n" +
		"<meta name=robots content=noindex>\n<title>Password required</title>\n<h1>This link is protected</h1>\n"
	passwordWrongLine = "<p role=alert>Wrong password, try again.</p>\n"
	passwordPage2     = "<form method=post autocomplete=off>\n<label>Password <input type=password name=password required autofocus></label>\n" +
		"<button type=submit>Continue</button>\n</form>\n"
)
