package apptest_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/httpapi"
)

// Password-protected links (issue 19) through the HTTP API, on both
// stores.

func TestPasswordLinksSQLite(t *testing.T) { runPasswordSuite(t, openSQLite) }

func TestPasswordLinksPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("PostgreSQL integration test")
	}
	runPasswordSuite(t, openPostgres)
}

func runPasswordSuite(t *testing.T, newStore storeFactory) {
	t.Run("Protect", func(t *testing.T) { testPasswordProtect(t, newStore) })
	t.Run("Update", func(t *testing.T) { testPasswordUpdate(t, newStore) })
	t.Run("RateLimit", func(t *testing.T) { testPasswordRateLimit(t, newStore) })
	t.Run("VisitLimit", func(t *testing.T) { testPasswordVisitLimit(t, newStore) })
	t.Run("BehindProxy", func(t *testing.T) { testPasswordBehindProxy(t, newStore) })
	t.Run("LongerPassword", func(t *testing.T) { testPasswordLonger(t, newStore) })
}

// testPasswordLonger: bcrypt reads only a password's first 72 bytes, so a
// longer one that starts with a link's 72-byte password is a wrong password
// (no link can have it: passwords are at most 72 bytes), not the right one.
func testPasswordLonger(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	pw := strings.Repeat("p", core.MaxPasswordLen)
	e.postJSON("/urls", `{"original_url":"https://example.com/long-pw","short_code":"longpw","password":"`+pw+`"}`)
	if r := e.get("/r/longpw", "Authorization", basic("", pw)); r.Status != http.StatusFound {
		t.Fatalf("GET with the 72-byte password = %d %s", r.Status, r.Body)
	}
	for _, longer := range []string{pw + "x", pw + strings.Repeat("p", 1000)} {
		e.get("/r/longpw", "Authorization", basic("", longer)).wantError(t, "GET with a longer password", http.StatusUnauthorized, "Wrong password")
		r := e.do("POST", "/r/longpw", "password="+longer, "Content-Type", "application/x-www-form-urlencoded")
		r.wantError(t, "form with a longer password", http.StatusUnauthorized, "Wrong password")
	}
}

// testPasswordBehindProxy: behind a trusted proxy that forwards the public
// host in X-Forwarded-Host (and sends its own Host), the browser's form,
// whose Origin is the public host, is the link's own form; a peer that is
// not trusted cannot claim a host that way.
func testPasswordBehindProxy(t *testing.T, newStore storeFactory) {
	form := func(e *env, code string) result {
		return e.do("POST", "/r/"+code, "password=letmein", "Content-Type", "application/x-www-form-urlencoded",
			"Host", "curtain.internal:5000", "X-Forwarded-Host", "sho.rt", "Origin", "https://sho.rt")
	}
	e := newEnv(t, newStore, envConfig{trusted: []string{"127.0.0.1/32", "::1/128"}})
	e.postJSON("/urls", `{"original_url":"https://example.com/behind","short_code":"proxied","password":"letmein"}`)
	if r := form(e, "proxied"); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "https://example.com/behind" {
		t.Errorf("form through a trusted proxy = %d %s, want 303 to the target", r.Status, r.Body)
	}
	direct := newEnv(t, newStore, envConfig{})
	direct.postJSON("/urls", `{"original_url":"https://example.com/behind","short_code":"proxied","password":"letmein"}`)
	form(direct, "proxied").wantError(t, "form with a forwarded host from an untrusted peer", http.StatusForbidden, "Cross-origin form refused")
}

// protectedURLKeys are the members of a protected link's URL object: the
// reference's and password_protected, never the password or its hash.
var protectedURLKeys = []string{"created_at", "id", "is_active", "original_url", "password_protected", "short_code", "title", "updated_at", "user_id"}

func testPasswordProtect(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{shards: 1})
	const target = "https://secret.example/doc"
	r := e.postJSON("/urls", `{"original_url":"`+target+`","password":"open sesame"}`)
	var u apiURL
	r.decode(t, &u)
	if r.Status != http.StatusCreated {
		t.Fatalf("POST /urls with password = %d %s", r.Status, r.Body)
	}
	if got := urlKeysOf(t, r.Body); !slices.Equal(got, protectedURLKeys) || !strings.Contains(r.Body, `"password_protected":true`) {
		t.Errorf("protected URL object = %s, want keys %v", r.Body, protectedURLKeys)
	}
	if strings.Contains(r.Body, "sesame") || strings.Contains(r.Body, "$2") {
		t.Errorf("the URL object leaks the password or its hash: %s", r.Body)
	}
	for i := range 2 { // a miss, then the cached object
		if r := e.get("/urls/" + strconv.FormatInt(u.ID, 10)); !slices.Equal(urlKeysOf(t, r.Body), protectedURLKeys) || strings.Contains(r.Body, "$2") {
			t.Errorf("GET /urls/{id} #%d = %s", i, r.Body)
		}
	}
	// Find-if-exists never answers a plain create with the protected link.
	if r := e.postJSON("/urls", `{"original_url":"`+target+`"}`); r.Status != http.StatusCreated || strings.Contains(r.Body, u.ShortCode) {
		t.Errorf("plain POST of a protected link's URL = %d %s, want a new link", r.Status, r.Body)
	}

	path := "/r/" + u.ShortCode
	// A tool without credentials, then with a wrong password: 401 with a
	// Basic challenge; twice each, so the second is a cache hit.
	for range 2 {
		r := e.get(path)
		r.wantError(t, "GET without password", http.StatusUnauthorized, "Password required")
		if got := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Basic ") {
			t.Errorf("WWW-Authenticate = %q, want a Basic challenge", got)
		}
		r = e.get(path, "Authorization", basic("anyone", "wrong"))
		r.wantError(t, "GET with a wrong password", http.StatusUnauthorized, "Wrong password")
	}
	// A browser gets the form, with the HTML security headers.
	r = e.get(path, "Accept", "text/html,application/xhtml+xml")
	if r.Status != http.StatusUnauthorized || !strings.Contains(r.Body, "<form method=post") || !strings.Contains(r.Body, `name=password`) {
		t.Errorf("browser GET = %d %s, want the password form", r.Status, r.Body)
	}
	if r.Header.Get("WWW-Authenticate") != "" || r.Header.Get("Content-Security-Policy") == "" || r.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("browser form headers = %v", r.Header)
	}
	// Wrong form password: the form again, saying so.
	r = e.do("POST", path, "password=nope", "Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html")
	if r.Status != http.StatusUnauthorized || !strings.Contains(r.Body, "Wrong password") {
		t.Errorf("wrong form password = %d %s", r.Status, r.Body)
	}
	// A form posted from another origin is refused.
	r = e.do("POST", path, "password="+url.QueryEscape("open sesame"), "Content-Type", "application/x-www-form-urlencoded", "Origin", "https://evil.example")
	r.wantError(t, "cross-origin form", http.StatusForbidden, "Cross-origin form refused")

	// The right password: Basic (any user) redirects; the form answers
	// 303 so that the browser follows with a GET.
	r = e.get(path, "Authorization", basic("", "open sesame"))
	if r.Status != http.StatusFound || r.Header.Get("Location") != target {
		t.Errorf("GET with the password = %d, Location %q", r.Status, r.Header.Get("Location"))
	}
	r = e.do("POST", "/urls/short/"+u.ShortCode, "password="+url.QueryEscape("open sesame"), "Content-Type", "application/x-www-form-urlencoded", "Origin", e.srv.URL)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != target {
		t.Errorf("form with the password = %d, Location %q", r.Status, r.Header.Get("Location"))
	}
	// Only the two visits that passed the password are clicks.
	e.waitClicks(u.ShortCode, 2)
	st, err := e.shards[0].Stats(t.Context(), core.StatsRequest{Code: u.ShortCode})
	if err != nil || st.Total != 2 {
		t.Errorf("clicks of the protected link = %+v, %v; want 2", st, err)
	}

	// Validation.
	e.postJSON("/urls", `{"original_url":"https://x.example","password":""}`).
		wantError(t, "empty password", http.StatusBadRequest, "Field 'password' must be 1 to 72 bytes long")
	e.postJSON("/urls", `{"original_url":"https://x.example","password":"`+strings.Repeat("p", 73)+`"}`).
		wantError(t, "long password", http.StatusBadRequest, "Field 'password' must be 1 to 72 bytes long")
	e.postJSON("/urls", `{"original_url":"https://x.example","password":5}`).
		wantError(t, "password not a string", http.StatusBadRequest, "Field 'password' must be a string")
	// A null password is no password: a plain link.
	r = e.postJSON("/urls", `{"original_url":"https://plain.example","password":null}`)
	if !slices.Equal(urlKeysOf(t, r.Body), referenceURLKeys) {
		t.Errorf("POST with a null password = %d %s", r.Status, r.Body)
	}
	// On a link without a password POST stays the reference's 405 and
	// records nothing.
	var plain apiURL
	r.decode(t, &plain)
	for _, path := range []string{"/r/", "/urls/short/"} {
		e.do("POST", path+plain.ShortCode, "password=x", "Content-Type", "application/x-www-form-urlencoded").
			wantError(t, "POST "+path+" of an open link", http.StatusMethodNotAllowed, "Method not allowed")
	}
	if st, err := e.shards[0].Stats(t.Context(), core.StatsRequest{Code: plain.ShortCode}); err != nil || st.Total != 0 {
		t.Errorf("clicks of the open link after POSTs = %+v, %v; want 0", st, err)
	}
}

func testPasswordUpdate(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	const target = "https://update.example/"
	var u apiURL
	e.postJSON("/urls", `{"original_url":"`+target+`"}`).decode(t, &u)
	path := "/r/" + u.ShortCode
	if r := e.get(path); r.Status != http.StatusFound {
		t.Fatalf("open link = %d", r.Status)
	}
	// Protecting a link takes effect at once (the cached target is
	// forgotten).
	r := e.putJSON("/urls/"+strconv.FormatInt(u.ID, 10), `{"password":"first"}`)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"password_protected":true`) {
		t.Fatalf("PUT password = %d %s", r.Status, r.Body)
	}
	e.get(path).wantError(t, "after PUT password", http.StatusUnauthorized, "Password required")
	// A protected link is no longer reused by find-if-exists.
	if r := e.postJSON("/urls", `{"original_url":"`+target+`"}`); r.Status != http.StatusCreated {
		t.Errorf("plain POST of a now-protected link's URL = %d %s, want 201", r.Status, r.Body)
	}
	// Changing it: the old password no longer opens the link.
	e.putJSON("/urls/"+strconv.FormatInt(u.ID, 10), `{"password":"second"}`)
	e.get(path, "Authorization", basic("u", "first")).wantError(t, "old password", http.StatusUnauthorized, "Wrong password")
	if r := e.get(path, "Authorization", basic("u", "second")); r.Status != http.StatusFound {
		t.Errorf("new password = %d %s", r.Status, r.Body)
	}
	// null removes it: the reference's shape again.
	r = e.putJSON("/urls/"+strconv.FormatInt(u.ID, 10), `{"password":null}`)
	if !slices.Equal(urlKeysOf(t, r.Body), referenceURLKeys) {
		t.Errorf("PUT password null = %d %s", r.Status, r.Body)
	}
	if r := e.get(path); r.Status != http.StatusFound || r.Header.Get("Location") != target {
		t.Errorf("after removing the password = %d %s", r.Status, r.Body)
	}
	e.putJSON("/urls/"+strconv.FormatInt(u.ID, 10), `{"password":[]}`).
		wantError(t, "PUT password not a string", http.StatusBadRequest, "Field 'password' must be a string")
}

// testPasswordVisitLimit: a protected link with max_visits uses a visit
// only once the password is right, and once exhausted sends visitors to
// its expired target without asking for the password.
func testPasswordVisitLimit(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	var u apiURL
	e.postJSON("/urls", `{"original_url":"https://once.example/","password":"pw","max_visits":1,"expired_url":"https://once.example/gone"}`).decode(t, &u)
	path := "/r/" + u.ShortCode
	e.get(path, person...).wantError(t, "no password", http.StatusUnauthorized, "Password required")
	e.get(path, "Authorization", basic("u", "bad"), person[0], person[1]).wantError(t, "wrong password", http.StatusUnauthorized, "Wrong password")
	// A bot with the password (a preview fetcher given the link with its
	// credentials) is redirected but uses up no visit either.
	if r := e.get(path, "Authorization", basic("u", "pw"), "User-Agent", slackbotUA); r.Status != http.StatusFound || r.Header.Get("Location") != "https://once.example/" {
		t.Fatalf("bot with the right password = %d %q, want the link", r.Status, r.Header.Get("Location"))
	}
	if r := e.get(path, "Authorization", basic("u", "pw"), person[0], person[1]); r.Status != http.StatusFound || r.Header.Get("Location") != "https://once.example/" {
		t.Fatalf("right password after two refusals and a bot = %d %q, want the link (refusals and bots use no visit)", r.Status, r.Header.Get("Location"))
	}
	for _, h := range [][]string{person, {"Authorization", basic("u", "pw"), person[0], person[1]}} {
		if r := e.get(path, h...); r.Status != http.StatusFound || r.Header.Get("Location") != "https://once.example/gone" {
			t.Errorf("exhausted protected link (headers %q) = %d %q, want the expired target without a password prompt", h, r.Status, r.Header.Get("Location"))
		}
	}
	// A form shown before the link ran out and posted after it: the
	// browser is sent to the expired target, not told 405.
	r := e.do("POST", path, "password=pw", "Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html")
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "https://once.example/gone" {
		t.Errorf("form posted to the exhausted link = %d %q %s, want 303 to the expired target", r.Status, r.Header.Get("Location"), r.Body)
	}
}

func testPasswordRateLimit(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{rateLimits: httpapi.RateLimits{
		Password: httpapi.RateLimit{Requests: 1, Per: time.Hour, Burst: 3},
	}})
	var a, b apiURL
	e.postJSON("/urls", `{"original_url":"https://a.example","password":"pw-a"}`).decode(t, &a)
	e.postJSON("/urls", `{"original_url":"https://b.example","password":"pw-b"}`).decode(t, &b)
	for i := range 3 {
		e.get("/r/"+a.ShortCode, "Authorization", basic("", "guess")).wantError(t, "attempt "+strconv.Itoa(i), http.StatusUnauthorized, "Wrong password")
	}
	// The fourth attempt, even the right password, waits.
	r := e.get("/r/"+a.ShortCode, "Authorization", basic("", "pw-a"))
	r.wantError(t, "attempt past the limit", http.StatusTooManyRequests, "Too many requests")
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// A browser's form past the limit gets the form again, saying how
	// long to wait, not a JSON error.
	r = e.do("POST", "/r/"+a.ShortCode, "password=pw-a", "Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html")
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || !strings.Contains(r.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(r.Body, "Too many attempts, try again in 60 minutes.") || !strings.Contains(r.Body, "<form method=post") {
		t.Errorf("browser form past the limit = %d %q %s", r.Status, r.Header, r.Body)
	}
	// Visits without a password are not attempts, and other links keep
	// their own count.
	e.get("/r/"+a.ShortCode).wantError(t, "no password", http.StatusUnauthorized, "Password required")
	if r := e.get("/r/"+b.ShortCode, "Authorization", basic("", "pw-b")); r.Status != http.StatusFound {
		t.Errorf("another link = %d %s", r.Status, r.Body)
	}
}

// basic returns an HTTP Basic Authorization value.
func basic(user, password string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, password)
	return req.Header.Get("Authorization")
}
