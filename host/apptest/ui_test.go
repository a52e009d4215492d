package apptest_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func testUI(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	page := e.get("/")
	if page.Status != http.StatusOK || page.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET / = %d %q", page.Status, page.Header.Get("Content-Type"))
	}
	for _, want := range []string{"<title>URL Shortener</title>", `name="original_url"`, `placeholder="https://www.wikipedia.org/"`,
		`name="title"`, `name="user_id"`, `id="message"`, "Shorten", "Processing...", `href="/health"`, `href="/metrics"`} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("UI page lacks %q", want)
		}
	}
	for _, bad := range []string{"unpkg", "http://", "https://cdn", "//cdn"} {
		if strings.Contains(page.Body, bad) {
			t.Errorf("UI page loads from outside: contains %q", bad)
		}
	}
	// Every script, style and link the page loads is served here.
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(page.Body, -1) {
		ref := m[1]
		if !strings.HasPrefix(ref, "/") && !strings.HasPrefix(ref, "#") || strings.HasPrefix(ref, "//") {
			t.Errorf("UI page refers outside the server: %q", ref)
			continue
		}
		if strings.HasPrefix(ref, "/assets/") {
			if r := e.get(ref); r.Status != http.StatusOK || r.Body == "" {
				t.Errorf("GET %s = %d", ref, r.Status)
			}
		}
	}
	for path, ct := range map[string]string{"/assets/app.js": "text/javascript; charset=utf-8", "/assets/app.css": "text/css; charset=utf-8", "/assets/docs.js": "text/javascript; charset=utf-8"} {
		r := e.get(path)
		if r.Status != http.StatusOK || r.Header.Get("Content-Type") != ct || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s = %d %q", path, r.Status, r.Header.Get("Content-Type"))
		}
	}
	for _, path := range []string{"/assets/missing.js", "/assets/index.html", "/assets/docs.html", "/assets/", "/assets/../ui.go"} {
		e.get(path).wantError(t, "GET "+path, http.StatusNotFound, "Not found")
	}

	form := func(vals url.Values, header ...string) result {
		return e.do("POST", "/shorten-ui", vals.Encode(), append([]string{"Content-Type", "application/x-www-form-urlencoded"}, header...)...)
	}
	host := strings.TrimPrefix(e.srv.URL, "http://")
	owner := e.user("owner")

	e.get("/urls").wantCache(t, "warm list", "MISS")
	r := form(url.Values{"original_url": {"  https://ui.io/page  "}, "title": {" <b>T</b> "}, "user_id": {fmt.Sprint(owner.ID)}})
	success := func(code string, id int, base string) string {
		return fmt.Sprintf(`<div id="message" class="success">Short URL ready!<br><br><strong>Redirect:</strong> <a href="%[3]s/r/%[1]s" target="_blank">%[3]s/r/%[1]s</a><br><strong>Payload:</strong> <a href="%[3]s/urls/%[2]d" target="_blank">%[3]s/urls/%[2]d</a></div>`, code, id, base)
	}
	r.want(t, "shorten", http.StatusCreated, success("000001", 1, "http://"+host))
	if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("fragment Content-Type = %q", ct)
	}
	// The same creation as POST /urls (fix of Q5): trimmed, created
	// event, lists invalidated.
	var got apiURL
	e.get("/urls/1").decode(t, &got)
	if got.OriginalURL != "https://ui.io/page" || got.Title == nil || *got.Title != "<b>T</b>" || *got.UserID != owner.ID {
		t.Errorf("created URL = %+v", got)
	}
	if evs := e.events(1); len(evs) != 1 || evs[0].EventType != "created" {
		t.Errorf("events = %+v, want one created event", evs)
	}
	e.get("/urls").wantCache(t, "list after shorten", "MISS")

	// Reuse answers 200; long_url is an alias; a bad Host gives relative
	// links.
	form(url.Values{"original_url": {"https://ui.io/page"}}).want(t, "reuse", http.StatusOK, success("000001", 1, "http://"+host))
	form(url.Values{"long_url": {"https://ui.io/alias"}}, "Host", "bad_host:80").want(t, "bad host", http.StatusCreated, success("000002", 2, ""))
	form(url.Values{"original_url": {"https://ui.io/p3"}}, "Host", "x.io:99999").want(t, "bad port", http.StatusCreated, success("000003", 3, ""))
	form(url.Values{"original_url": {"https://ui.io/p4"}}, "Host", "[::1]:8080").want(t, "IPv6 host", http.StatusCreated, success("000004", 4, "http://[::1]:8080"))

	errFragment := func(msg string) string { return `<div id="message" class="error">` + msg + `</div>` }
	tests := []struct {
		name string
		vals url.Values
		body string
	}{
		{"non-integer user_id (Q5)", url.Values{"original_url": {"https://ui.io/x"}, "user_id": {"abc"}}, errFragment("Field &#39;user_id&#39; must be an integer")},
		{"unknown user", url.Values{"original_url": {"https://ui.io/x"}, "user_id": {"999"}}, errFragment("Field &#39;user_id&#39; must reference an existing user")},
		{"missing URL", url.Values{"title": {"x"}}, errFragment("Field &#39;original_url&#39; is required")},
		{"blank URL", url.Values{"original_url": {"   "}}, errFragment("Field &#39;original_url&#39; must not be empty")},
		{"javascript", url.Values{"original_url": {"javascript:alert(1)"}}, errFragment("Field &#39;original_url&#39; must be a valid http or https URL")},
		{"too long", url.Values{"original_url": {"https://x.io/" + strings.Repeat("a", 2048)}}, errFragment("Field &#39;original_url&#39; must not exceed 2048 characters")},
		{"title too long", url.Values{"original_url": {"https://ui.io/t"}, "title": {strings.Repeat("t", 256)}}, errFragment("Field &#39;title&#39; must not exceed 255 characters")},
	}
	for _, tt := range tests {
		r := form(tt.vals)
		r.want(t, tt.name, http.StatusBadRequest, tt.body)
	}
	// Multipart forms work too; other bodies have no fields.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("original_url", "https://ui.io/multipart")
	mw.Close()
	r = e.do("POST", "/shorten-ui", buf.String(), "Content-Type", mw.FormDataContentType())
	if r.Status != http.StatusCreated {
		t.Errorf("multipart shorten = %d %s", r.Status, r.Body)
	}
	e.do("POST", "/shorten-ui", `{"original_url":"https://ui.io/json"}`, "Content-Type", "application/json").
		want(t, "JSON body", http.StatusBadRequest, errFragment("Field &#39;original_url&#39; is required"))
}

func testBodyLimits(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	big := `{"original_url":"https://x.io/` + strings.Repeat("a", 1<<20) + `"}`
	e.postJSON("/urls", big).wantError(t, "1 MiB JSON", http.StatusRequestEntityTooLarge, "Request body too large")
	// Without a Content-Length the limit still holds.
	chunked := func(what, path, contentType, content string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "POST", e.srv.URL+path, io.MultiReader(strings.NewReader(content)))
		req.Header.Set("Content-Type", contentType)
		req.ContentLength = -1
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || string(body) != errJSON("Request body too large") {
			t.Errorf("chunked %s = %d %s", what, resp.StatusCode, body)
		}
	}
	chunked("oversized body", "/events", "application/json", big)
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("original_url", "https://x.io/"+strings.Repeat("a", 2<<20))
	mw.Close()
	chunked("large multipart form", "/shorten-ui", mw.FormDataContentType(), mp.String())
	upload, ct := multipartBody(t, "file", "big.csv", "username,email\n"+strings.Repeat("a,a@b.c\n", 11<<17))
	chunked("11 MiB upload", "/users/bulk", ct, upload)
	// A large body that is not JSON is never read.
	r := e.do("POST", "/urls", big, "Content-Type", "text/plain")
	r.wantError(t, "large non-JSON body", http.StatusBadRequest, "Field 'original_url' is required")
	form := "original_url=" + strings.Repeat("a", 2<<20)
	e.do("POST", "/shorten-ui", form, "Content-Type", "application/x-www-form-urlencoded").
		wantError(t, "large form", http.StatusRequestEntityTooLarge, "Request body too large")
	e.upload("file", "big.csv", "username,email\n"+strings.Repeat("a,a@b.c\n", 11<<17)).
		wantError(t, "11 MiB upload", http.StatusRequestEntityTooLarge, "Request body too large")
}

// testJSONLimits checks bodies that are valid JSON (or that Python's
// json.loads reads) but beyond the parser's limits: a number too large for
// a float, NaN and Infinity, a lone surrogate, nesting deeper than 512
// levels.
// Each route says so instead of reading no body (which named a missing
// field: "Field 'original_url' is required"); an unknown id still comes
// first on PUT, and a body malformed besides stays "no body" (test 86).
func testJSONLimits(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	link := e.url("lim001", "https://limits.example/", nil, true)
	u := e.user("limits")
	const rangeMsg, deepMsg = "JSON body has a number out of range", "JSON body is nested too deeply"
	const nanMsg = "JSON body has NaN or Infinity, which JSON does not allow"
	const surrogateMsg = "JSON body escapes a lone UTF-16 surrogate, which is no character"
	deep := strings.Repeat("[", 600) + strings.Repeat("]", 600)
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"create, extra member", "POST", "/urls", `{"original_url":"https://x.io/r","x":1e400}`, 400, errJSON(rangeMsg)},
		{"create, user_id", "POST", "/urls", `{"original_url":"https://x.io/r","user_id":-1e400}`, 400, errJSON(rangeMsg)},
		{"create, deep", "POST", "/urls", `{"original_url":"https://x.io/d","x":` + deep + `}`, 400, errJSON(deepMsg)},
		{"create, malformed besides (test 86)", "POST", "/urls", `{"original_url":"https://x.io/r","x":1e400`, 400, errJSON("Field 'original_url' is required")},
		{"update URL", "PUT", fmt.Sprintf("/urls/%d", link.ID), `{"title":"t","max_visits":1e999}`, 400, errJSON(rangeMsg)},
		{"update unknown URL", "PUT", "/urls/999", `{"title":1e400}`, 404, errJSON("URL not found")},
		{"create event", "POST", "/events", fmt.Sprintf(`{"url_id":%d,"event_type":"click","details":{"n":1e400}}`, link.ID), 400, errJSON(rangeMsg)},
		{"create user", "POST", "/users", `{"username":"a","email":"a@b.co","n":1e400}`, 422, `{"errors":{"request":"` + rangeMsg + `"}}` + "\n"},
		{"update user", "PUT", fmt.Sprintf("/users/%d", u.ID), deep, 422, `{"errors":{"request":"` + deepMsg + `"}}` + "\n"},
		{"update unknown user", "PUT", "/users/999", deep, 404, errJSON("User not found")},
		// Python's json.loads reads NaN, Infinity and lone surrogates;
		// Curtain says what it does not store instead of reading no body.
		{"event details NaN", "POST", "/events", fmt.Sprintf(`{"url_id":%d,"event_type":"click","details":{"n":NaN}}`, link.ID), 400, errJSON(nanMsg)},
		{"create, -Infinity", "POST", "/urls", `{"original_url":"https://x.io/i","x":-Infinity}`, 400, errJSON(nanMsg)},
		{"create, lone surrogate", "POST", "/urls", `{"original_url":"https://x.io/\ud800"}`, 400, errJSON(surrogateMsg)},
		{"create user, lone surrogate", "POST", "/users", `{"username":"\udc00","email":"s@b.co"}`, 422, `{"errors":{"request":"` + surrogateMsg + `"}}` + "\n"},
		{"create, NaN malformed besides (test 86)", "POST", "/urls", `{"original_url":"https://x.io/r","x":NaN`, 400, errJSON("Field 'original_url' is required")},
	}
	for _, tt := range tests {
		e.do(tt.method, tt.path, tt.body, "Content-Type", "application/json").want(t, tt.name, tt.status, tt.want)
	}
}
