package apptest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// testSecurityHeaders: HTML answers carry a CSP, frame denial, nosniff and
// a referrer policy; JSON answers carry nosniff (issue 15).
func testSecurityHeaders(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	e.url("sec001", "https://example.com/sec", nil, true)
	html := map[string]result{
		"GET /":                  e.get("/"),
		"GET /r/sec001":          e.get("/r/sec001"),
		"HEAD /r/sec001":         e.do("HEAD", "/r/sec001", ""),
		"POST /shorten-ui":       e.do("POST", "/shorten-ui", "original_url=https://ui.io/x", "Content-Type", "application/x-www-form-urlencoded"),
		"POST /shorten-ui (400)": e.do("POST", "/shorten-ui", "original_url=nope", "Content-Type", "application/x-www-form-urlencoded"),
	}
	for what, r := range html {
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%s Content-Type = %q", what, r.Header.Get("Content-Type"))
		}
		csp := r.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s CSP %q lacks %q", what, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "*") {
			t.Errorf("%s CSP %q allows inline code or any origin", what, csp)
		}
		for h, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
			"Referrer-Policy": "strict-origin-when-cross-origin"} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("%s %s = %q, want %q", what, h, got, want)
			}
		}
	}
	// The dashboard loads its script and style from /assets: its policy
	// allows the same origin and no inline code at all.
	csp := html["GET /"].Header.Get("Content-Security-Policy")
	if strings.Contains(csp, "'sha256-") || !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "style-src 'self'") {
		t.Errorf("UI CSP %q, want same-origin scripts and styles and no inline hash", csp)
	}
	if csp := html["GET /r/sec001"].Header.Get("Content-Security-Policy"); strings.Contains(csp, "sha256") {
		t.Errorf("redirect page CSP %q allows inline code", csp)
	}
	for what, r := range map[string]result{
		"GET /urls":       e.get("/urls"),
		"GET /urls/1":     e.get("/urls/1"),
		"GET /health":     e.get("/health"),
		"404":             e.get("/nope"),
		"405":             e.do("PUT", "/health", ""),
		"POST /urls 400":  e.postJSON("/urls", `{}`),
		"POST /users 201": e.postJSON("/users", `{"username":"sec","email":"sec@example.com"}`),
	} {
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s Content-Type = %q", what, ct)
		}
		if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s X-Content-Type-Options = %q, want nosniff", what, got)
		}
		if r.Header.Get("Content-Security-Policy") != "" || r.Header.Get("X-Frame-Options") != "" {
			t.Errorf("%s: HTML headers on JSON", what)
		}
	}
	// The Prometheus route is served outside the route table, and is an
	// answer of the API all the same.
	for _, method := range []string{"GET", "HEAD"} {
		if got := e.do(method, "/metrics", "").Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s /metrics X-Content-Type-Options = %q, want nosniff", method, got)
		}
	}
}

// testPublicBaseURL: with http.public_base_url set, /shorten-ui links use
// it whatever Host the client sent.
func testPublicBaseURL(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{publicBase: "https://cur.tn/"})
	form := url.Values{"original_url": {"https://ui.io/base"}}.Encode()
	r := e.do("POST", "/shorten-ui", form, "Content-Type", "application/x-www-form-urlencoded", "Host", "attacker.example")
	if r.Status != http.StatusCreated || !strings.Contains(r.Body, `href="https://cur.tn/r/000001"`) ||
		!strings.Contains(r.Body, `href="https://cur.tn/urls/1"`) || strings.Contains(r.Body, "attacker") {
		t.Errorf("shorten-ui with a public base URL = %d %s", r.Status, r.Body)
	}
}

// testBlockedHosts: links.blocked_hosts refuses new links to a listed
// host and its subdomains, through both create routes; other hosts and
// existing links are unaffected.
func testBlockedHosts(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{blocked: []string{"evil.example", "192.0.2.66"}})
	const msg = "Field 'original_url' points to a host that is not allowed"
	for _, target := range []string{
		"https://evil.example/login", "http://EVIL.example./x", "https://www.evil.example", "https://user@evil.example:8443/",
		"http://192.0.2.66/", "https://evil.example%2F@evil.example/", "https://%65vil.example/", `http://evil.example\\@good.com/`,
		// Spellings the Location or a browser turns back into a blocked host.
		"http://ｅｖｉｌ.example/", "http://evil\u3002example/", "http://ev\u00adil.example/", "http://3221226050/",
		"http://0xc0.0.2.66/", "http://192.0.578/", "http://[::ffff:192.0.2.66]/",
	} {
		e.postJSON("/urls", `{"original_url":"`+target+`"}`).wantError(t, "POST /urls "+target, http.StatusBadRequest, msg)
	}
	r := e.do("POST", "/shorten-ui", url.Values{"original_url": {"https://a.evil.example/"}}.Encode(),
		"Content-Type", "application/x-www-form-urlencoded")
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "not allowed") {
		t.Errorf("shorten-ui to a blocked host = %d %s", r.Status, r.Body)
	}
	for _, target := range []string{"https://notevil.example/", "https://evil.example.org/", "https://example.com/?u=evil.example"} {
		if r := e.postJSON("/urls", `{"original_url":"`+target+`"}`); r.Status != http.StatusCreated {
			t.Errorf("POST /urls %s = %d %s, want 201", target, r.Status, r.Body)
		}
	}
	// Only http and https were ever accepted.
	for _, target := range []string{"javascript:alert(1)", "ftp://example.com/", "data:text/html,x", "file:///etc/passwd"} {
		e.postJSON("/urls", `{"original_url":"`+target+`"}`).wantError(t, "POST /urls "+target, http.StatusBadRequest,
			"Field 'original_url' must be a valid http or https URL")
	}
}
