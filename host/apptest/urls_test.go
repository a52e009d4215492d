package apptest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"

	"github.com/curtainhq/curtain/core"
)

// apiURL is a decoded URL object.
type apiURL struct {
	ID          int64   `json:"id"`
	UserID      *int64  `json:"user_id"`
	ShortCode   string  `json:"short_code"`
	OriginalURL string  `json:"original_url"`
	Title       *string `json:"title"`
	IsActive    bool    `json:"is_active"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`
}

func testURLCreate(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	u := e.user("owner")

	// spec §16 test 41
	r := e.postJSON("/urls", fmt.Sprintf(`{"user_id":%d,"original_url":"https://www.wikipedia.org/","title":"Wikipedia"}`, u.ID))
	r.wantCache(t, "POST /urls", "BYPASS")
	var got apiURL
	r.decode(t, &got)
	want := apiURL{ID: 1, UserID: &u.ID, ShortCode: "000001", OriginalURL: "https://www.wikipedia.org/", Title: ptr("Wikipedia"),
		IsActive: true, CreatedAt: got.CreatedAt, UpdatedAt: got.CreatedAt}
	if r.Status != http.StatusCreated || !cmp.Equal(want, got) {
		t.Errorf("POST /urls = %d %s\n%s", r.Status, r.Body, cmp.Diff(want, got))
	}
	evs := e.events(1)
	if len(evs) != 1 || evs[0].EventType != "created" || evs[0].UserID == nil || *evs[0].UserID != u.ID ||
		evs[0].Details != `{"short_code": "000001", "original_url": "https://www.wikipedia.org/"}` ||
		evs[0].Timestamp.Format(core.TimeLayout) != got.CreatedAt {
		t.Errorf("events of the new URL = %+v, want one created event", evs)
	}

	// spec §16 test 42
	e.postJSON("/urls", `{"user_id":999999,"original_url":"https://x.io/a"}`).
		wantError(t, "unknown user", http.StatusBadRequest, "Field 'user_id' must reference an existing user")

	// spec §16 test 43: an active duplicate is returned as is.
	reuse := e.url("reuse01", "https://reuse.example/", nil, true)
	r = e.postJSON("/urls", fmt.Sprintf(`{"original_url":"https://reuse.example/","title":"Other","user_id":%d}`, u.ID))
	r.want(t, "reuse", http.StatusOK, urlJSON(reuse)+"\n")
	r.wantCache(t, "reuse", "BYPASS")
	if n := len(e.events(reuse.ID)); n != 0 {
		t.Errorf("reuse wrote %d events", n)
	}
	// The reference's database refused a long title only on an insert
	// (Q11): a link to reuse answers first, its title unchanged, also
	// through the form.
	for _, title := range []string{strings.Repeat("t", 256), `a\u0000b`} {
		e.postJSON("/urls", `{"original_url":"https://reuse.example/","title":"`+title+`"}`).
			want(t, "reuse with a title the store refuses", http.StatusOK, urlJSON(reuse)+"\n")
	}
	form := "original_url=https%3A%2F%2Freuse.example%2F&title=" + strings.Repeat("t", 256)
	if r := e.do("POST", "/shorten-ui", form, "Content-Type", "application/x-www-form-urlencoded"); r.Status != http.StatusOK {
		t.Errorf("/shorten-ui reuse with a long title = %d %s", r.Status, r.Body)
	}

	longURL := "https://example.com/" + strings.Repeat("a", 2030) // spec §16 test 84
	tests := []struct {
		name, body, ct, message string
	}{
		{"empty object (test 85)", `{}`, "", "Field 'original_url' is required"},
		{"malformed (test 86)", `{"original_url": `, "", "Field 'original_url' is required"},
		{"not a URL (test 87)", `{"original_url":"not-a-real-url"}`, "", "Field 'original_url' must be a valid http or https URL"},
		{"2050 characters (test 84)", `{"original_url":"` + longURL + `"}`, "", "Field 'original_url' must not exceed 2048 characters"},
		{"3000 characters", `{"original_url":"https://x.io/` + strings.Repeat("b", 3000) + `"}`, "", "Field 'original_url' must not exceed 2048 characters"},
		{"no body", ``, "", "Field 'original_url' is required"},
		{"text/plain body", `{"original_url":"https://x.io"}`, "text/plain", "Field 'original_url' is required"},
		{"falsy array", `[]`, "", "Field 'original_url' is required"},
		{"falsy zero", `0`, "", "Field 'original_url' is required"},
		{"falsy null", `null`, "", "Field 'original_url' is required"},
		{"array", `[1]`, "", "JSON body must be an object"},
		{"string", `"abc"`, "", "JSON body must be an object"},
		{"number", `12`, "", "JSON body must be an object"},
		{"empty string falls to long_url", `{"original_url":""}`, "", "Field 'original_url' is required"},
		{"zero falls to long_url", `{"original_url":0}`, "", "Field 'original_url' is required"},
		{"both empty", `{"original_url":"","long_url":""}`, "", "Field 'original_url' must not be empty"},
		{"blank", `{"original_url":"   "}`, "", "Field 'original_url' must not be empty"},
		{"number URL", `{"original_url":5}`, "", "Field 'original_url' must be a string"},
		{"object URL", `{"original_url":{"a":1}}`, "", "Field 'original_url' must be a string"},
		{"long_url number", `{"original_url":false,"long_url":7}`, "", "Field 'original_url' must be a string"},
		{"title number", `{"original_url":"https://x.io","title":5}`, "", "Field 'title' must be a string"},
		{"title too long", `{"original_url":"https://x.io","title":"` + strings.Repeat("t", 256) + `"}`, "", "Field 'title' must not exceed 255 characters"},
		{"title NUL", `{"original_url":"https://x.io","title":"a\u0000"}`, "", "Field 'title' must not contain NUL characters"},
		{"user_id boolean (Q10)", `{"original_url":"https://x.io","user_id":true}`, "", "Field 'user_id' must be an integer"},
		{"user_id float", `{"original_url":"https://x.io","user_id":1.0}`, "", "Field 'user_id' must be an integer"},
		{"user_id exponent", `{"original_url":"https://x.io","user_id":1e0}`, "", "Field 'user_id' must be an integer"},
		{"user_id string", `{"original_url":"https://x.io","user_id":"1"}`, "", "Field 'user_id' must be an integer"},
		{"user_id huge", `{"original_url":"https://x.io/h","user_id":123456789012345678901234567890}`, "", "Field 'user_id' must reference an existing user"},
		{"user_id above int4", `{"original_url":"https://x.io/h","user_id":2147483648}`, "", "Field 'user_id' must reference an existing user"},
		{"user_id negative", `{"original_url":"https://x.io/h","user_id":-1}`, "", "Field 'user_id' must reference an existing user"},
		{"javascript", `{"original_url":"javascript:alert(1)"}`, "", "Field 'original_url' must be a valid http or https URL"},
		{"data", `{"original_url":"data:text/html,<script>alert(1)</script>"}`, "", "Field 'original_url' must be a valid http or https URL"},
		{"ftp", `{"original_url":"ftp://x.io/"}`, "", "Field 'original_url' must be a valid http or https URL"},
		{"no authority", `{"original_url":"http:///path"}`, "", "Field 'original_url' must be a valid http or https URL"},
		{"tab inside (Q12)", `{"original_url":"https://x.io/a\tb"}`, "", "Field 'original_url' must be a valid http or https URL"},
		{"CRLF inside (Q12)", `{"original_url":"https://x.io/a\r\nSet-Cookie: x=1"}`, "", "Field 'original_url' must be a valid http or https URL"},
		{"NUL inside", `{"original_url":"https://x.io/\u0000"}`, "", "Field 'original_url' must be a valid http or https URL"},
		{"bad IPv6 (Q12)", `{"original_url":"http://[abc/x"}`, "", "Field 'original_url' must be a valid http or https URL"},
		{"bad IPv6 literal", `{"original_url":"http://[zz::1]/"}`, "", "Field 'original_url' must be a valid http or https URL"},
		{"unbalanced bracket", `{"original_url":"http://a]b/"}`, "", "Field 'original_url' must be a valid http or https URL"},
		{"lone surrogate", `{"original_url":"https://x.io/\ud800"}`, "", "JSON body escapes a lone UTF-16 surrogate, which is no character"},
		{"truncated UTF-16", encodeUTF16(`{"original_url":"https://x.io/"}`, false, true) + "{", "", "Field 'original_url' is required"},
	}
	for _, tt := range tests {
		ct := tt.ct
		if ct == "" {
			ct = "application/json"
		}
		e.do("POST", "/urls", tt.body, "Content-Type", ct).wantError(t, tt.name, http.StatusBadRequest, tt.message)
	}

	// Accepted shapes.
	accepted := []struct {
		name, body, ct string
		want           apiURL
	}{
		{"long_url alias", `{"long_url":"https://alias.io/"}`, "", apiURL{OriginalURL: "https://alias.io/"}},
		{"+json type, trimmed, blank title", `{"original_url":"\u00a0 https://trim.io/x \n","title":"  ","user_id":null}`, "application/vnd.api+json; charset=utf-8",
			apiURL{OriginalURL: "https://trim.io/x"}},
		{"title trimmed", `{"original_url":"https://t.io","title":" Ünïcode <b> "}`, "", apiURL{OriginalURL: "https://t.io", Title: ptr("Ünïcode <b>")}},
		{"port only authority", `{"original_url":"https://:80"}`, "", apiURL{OriginalURL: "https://:80"}},
		{"IPv6", `{"original_url":"http://[::1]:8080/x"}`, "", apiURL{OriginalURL: "http://[::1]:8080/x"}},
		{"2048 four-byte characters (Q32)", `{"original_url":"https://x.io/` + strings.Repeat("😀", 2048-len("https://x.io/")) + `"}`, "",
			apiURL{OriginalURL: "https://x.io/" + strings.Repeat("😀", 2048-len("https://x.io/"))}},
		// Python's json.loads reads bytes in the encoding it detects
		// (spec §2.3: the reference parsed the raw body with it).
		{"UTF-8 byte order mark", "\xef\xbb\xbf" + `{"original_url":"https://bom.io/8"}`, "", apiURL{OriginalURL: "https://bom.io/8"}},
		{"UTF-16LE with byte order mark", encodeUTF16(`{"original_url":"https://bom.io/16-ä😀"}`, false, true), "",
			apiURL{OriginalURL: "https://bom.io/16-ä😀"}},
		{"UTF-16BE without byte order mark", encodeUTF16(`{"original_url":"https://bom.io/16be"}`, true, false), "",
			apiURL{OriginalURL: "https://bom.io/16be"}},
		{"UTF-32LE without byte order mark", encodeUTF32LE(`{"original_url":"https://bom.io/32"}`), "", apiURL{OriginalURL: "https://bom.io/32"}},
	}
	for _, tt := range accepted {
		ct := tt.ct
		if ct == "" {
			ct = "application/json"
		}
		r := e.do("POST", "/urls", tt.body, "Content-Type", ct)
		var got apiURL
		r.decode(t, &got)
		if r.Status != http.StatusCreated || got.OriginalURL != tt.want.OriginalURL || !cmp.Equal(got.Title, tt.want.Title) || got.UserID != nil {
			t.Errorf("%s: POST /urls = %d %s", tt.name, r.Status, r.Body)
		}
	}
	// Non-ASCII is escaped in the body.
	r = e.postJSON("/urls", `{"original_url":"https://esc.io/ä","title":"Ünïcode <b> & 'q' 😀"}`)
	if !strings.Contains(r.Body, `"title":"\u00dcn\u00efcode <b> & 'q' \ud83d\ude00"`) || !strings.Contains(r.Body, `"original_url":"https://esc.io/\u00e4"`) {
		t.Errorf("escaping: %s", r.Body)
	}

	// A created URL invalidates the lists (spec §6.3).
	e.get("/urls").wantCache(t, "warm list", "MISS")
	e.get("/urls").wantCache(t, "warm list again", "HIT")
	r = e.postJSON("/urls", `{"original_url":"https://new.io/"}`)
	r.decode(t, &got)
	r = e.get("/urls")
	r.wantCache(t, "list after create", "MISS")
	if !strings.Contains(r.Body, `"original_url":"https://new.io/"`) {
		t.Errorf("list after create lacks the new URL")
	}
}

// encodeUTF16 encodes s in UTF-16, big or little endian, after a byte
// order mark when bom is set.
func encodeUTF16(s string, bigEndian, bom bool) string {
	units := utf16.Encode([]rune(s))
	if bom {
		units = append([]uint16{0xfeff}, units...)
	}
	b := make([]byte, 0, 2*len(units))
	for _, u := range units {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return string(b)
}

// encodeUTF32LE encodes s in UTF-32, little endian, without a byte order
// mark.
func encodeUTF32LE(s string) string {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8), byte(r>>16), byte(r>>24))
	}
	return string(b)
}

// counterFunc is a counter backend defined by a function.
type counterFunc func(ctx context.Context, req core.ReserveRequest) (core.Block, error)

func (f counterFunc) Reserve(ctx context.Context, req core.ReserveRequest) (core.Block, error) {
	return f(ctx, req)
}

func testURLCreateCounter(t *testing.T, newStore storeFactory) {
	// spec §16 test 44: the counter fails, the store hands out the code.
	down := counterFunc(func(context.Context, core.ReserveRequest) (core.Block, error) {
		return core.Block{}, fmt.Errorf("dial redis: %w", core.ErrUnavailable)
	})
	e := newEnv(t, newStore, envConfig{counter: down})
	var got apiURL
	r := e.postJSON("/urls", `{"original_url":"https://a.io/"}`)
	r.decode(t, &got)
	if r.Status != http.StatusCreated || got.ShortCode != "000001" {
		t.Errorf("POST /urls with the counter down = %d %s", r.Status, r.Body)
	}

	// A counter that re-issues taken codes (a seed code, or codes the
	// store's fallback issued) makes creation draw again (fix of Q13).
	var calls int
	replay := counterFunc(func(ctx context.Context, req core.ReserveRequest) (core.Block, error) {
		calls++
		if calls == 1 {
			return core.Block{First: 1, Size: 2}, nil // 000001 and 000002
		}
		return core.Block{First: req.Floor + 1, Size: 5}, nil
	})
	e = newEnv(t, newStore, envConfig{counter: replay})
	e.url("000001", "https://seed.io/1", nil, true)
	e.url("000002", "https://seed.io/2", nil, true)
	r = e.postJSON("/urls", `{"original_url":"https://b.io/"}`)
	r.decode(t, &got)
	if r.Status != http.StatusCreated || got.ShortCode != "000003" {
		t.Errorf("POST /urls over taken codes = %d %s, want code 000003", r.Status, r.Body)
	}

	// A counter stuck on a taken code exhausts the bounded retries.
	stuck := counterFunc(func(context.Context, core.ReserveRequest) (core.Block, error) {
		return core.Block{First: 1, Size: 1}, nil
	})
	e = newEnv(t, newStore, envConfig{counter: stuck})
	e.url("000001", "https://seed.io/1", nil, true)
	e.postJSON("/urls", `{"original_url":"https://d.io/"}`).
		wantError(t, "every code taken", http.StatusBadRequest, "Could not create short URL")

	// spec §16 test 83 over HTTP: with MAX(id) = 2000 the first code is 0000wh.
	e = newEnv(t, newStore, envConfig{})
	urls := make([]core.URL, 2000)
	for i := range urls {
		urls[i] = core.URL{ID: int64(i + 1), ShortCode: fmt.Sprintf("s%05d", i+1), OriginalURL: fmt.Sprintf("https://seed.io/%d", i+1),
			IsActive: true, CreatedAt: t0, UpdatedAt: t0}
	}
	if _, err := e.store.Import(t.Context(), core.Import{URLs: urls}); err != nil {
		t.Fatalf("Import: %v", err)
	}
	r = e.postJSON("/urls", `{"original_url":"https://c.io/"}`)
	r.decode(t, &got)
	if got.ShortCode != "0000wh" || got.ID != 2001 {
		t.Errorf("first code after 2000 seeded URLs = %s (id %d), want 0000wh (2001)", got.ShortCode, got.ID)
	}
}

func testURLList(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	a, b := e.user("a"), e.user("b")
	ua := e.url("aaaaaa", "https://a.io/1", &a.ID, true)
	ub := e.url("bbbbbb", "https://b.io/1", &b.ID, true)
	uc := e.url("cccccc", "https://a.io/2", &a.ID, false)
	list := func(us ...core.URL) string {
		var parts []string
		for _, u := range us {
			parts = append(parts, urlJSON(u))
		}
		return "[" + strings.Join(parts, ",") + "]\n"
	}
	tests := []struct {
		query, body, cache string
	}{
		{fmt.Sprintf("?user_id=%d", a.ID), list(ua, uc), "MISS"}, // spec §16 tests 45, 6
		{fmt.Sprintf("?user_id=%d", a.ID), list(ua, uc), "HIT"},
		{fmt.Sprintf("?user_id=%%20%%2B%d%%20", a.ID), list(ua, uc), "HIT"},
		{"?is_active=true", list(ua, ub), "MISS"},
		{"?is_active=%20FALSE%20", list(uc), "MISS"},
		{fmt.Sprintf("?user_id=%d&is_active=false", a.ID), list(uc), "MISS"},
		{"?limit=2", list(ua, ub), "MISS"},
		{"", list(ua, ub, uc), "HIT"}, // the Q6 bug answered 2 items here
		{"?limit=0", list(ua), "HIT"},
		{"?limit=-5", list(ua), "HIT"},
		{"?limit=abc", list(ua, ub, uc), "HIT"},
		{"?limit=100000", list(ua, ub, uc), "MISS"},
		{"?limit=101", list(ua, ub, uc), "HIT"},
		{"?user_id=999", "[]\n", "MISS"},
		{"?user_id=999", "[]\n", "HIT"},
		{"?user_id=99999999999999999999", "[]\n", "MISS"},
		// order=newest (the dashboard's list): newest first, never cached.
		{"?order=newest&limit=2", list(uc, ub), "BYPASS"},
		{fmt.Sprintf("?order=NEWEST&user_id=%d", a.ID), list(uc, ua), "BYPASS"},
		{"?order=oldest&limit=2", list(ua, ub), "HIT"},
		// Keyset paging and search (the dashboard's list): never cached,
		// so no page is served from the cache of another.
		{"?order=newest&after_id=3&limit=1", list(ub), "BYPASS"},
		{"?after_id=1", list(ub, uc), "BYPASS"},
		{"?after_id=1&limit=1", list(ub), "BYPASS"},
		{fmt.Sprintf("?after_id=%d&user_id=%d", ua.ID, a.ID), list(uc), "BYPASS"},
		{"?q=A.IO", list(ua, uc), "BYPASS"},
		{"?q=bbb", list(ub), "BYPASS"},
		{"?q=a.io&order=newest&after_id=3", list(ua), "BYPASS"},
		{"?q=a.io&is_active=true", list(ua), "BYPASS"},
		{"?q=nothing", "[]\n", "BYPASS"},
		{"?q=%25", "[]\n", "BYPASS"},
		{"?q=" + strings.Repeat("x", 100), "[]\n", "BYPASS"},
		// A blank search is no search: the reference's list, cached.
		{"?q=%20", list(ua, ub, uc), "HIT"},
	}
	for _, tt := range tests {
		r := e.get("/urls" + tt.query)
		r.want(t, "GET /urls"+tt.query, http.StatusOK, tt.body)
		r.wantCache(t, "GET /urls"+tt.query, tt.cache)
	}
	for _, tt := range []struct{ query, message string }{
		{"?user_id=abc", "Query parameter 'user_id' must be an integer"}, // spec §16 test 88
		{"?user_id=", "Query parameter 'user_id' must be an integer"},
		{"?user_id=1.5", "Query parameter 'user_id' must be an integer"},
		{"?is_active=maybe", "Query parameter 'is_active' must be true or false"},
		{"?is_active=", "Query parameter 'is_active' must be true or false"},
		{"?is_active=1", "Query parameter 'is_active' must be true or false"},
		{"?user_id=x&is_active=maybe", "Query parameter 'user_id' must be an integer"},
		{"?order=random", "Query parameter 'order' must be newest or oldest"},
		{"?after_id=", "Query parameter 'after_id' must be an integer"},
		{"?after_id=x", "Query parameter 'after_id' must be an integer"},
		{"?q=" + strings.Repeat("x", 101), "Query parameter 'q' must be at most 100 characters, none of them a control character"},
		{"?q=a%00b", "Query parameter 'q' must be at most 100 characters, none of them a control character"},
	} {
		e.get("/urls"+tt.query).wantError(t, "GET /urls"+tt.query, http.StatusBadRequest, tt.message)
	}
}

func testURLGet(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	owner := e.user("o")
	u := e.url("getme1", "https://get.io/", &owner.ID, false)
	u.Title = nil
	path := fmt.Sprintf("/urls/%d", u.ID)
	// spec §16 tests 46 and 5; inactive URLs are returned.
	first := e.get(path)
	first.want(t, "first GET", http.StatusOK, urlJSON(u)+"\n")
	first.wantCache(t, "first GET", "MISS")
	second := e.get(path)
	second.want(t, "second GET", http.StatusOK, first.Body)
	second.wantCache(t, "second GET", "HIT")
	e.get("/urls/999").wantError(t, "unknown", http.StatusNotFound, "URL not found")
	e.get("/urls/999").wantError(t, "unknown again (not cached)", http.StatusNotFound, "URL not found")
	// A cached entry written by the reference (Python layout) is served.
	raw := `{"id": 77, "user_id": null, "short_code": "ref077", "original_url": "https://ref.io/\u00e4", "title": "T", "is_active": true, "created_at": "2025-01-02T03:04:05", "updated_at": "2025-01-02T03:04:06"}`
	if err := e.cache.Set(t.Context(), []core.CacheEntry{{Key: "cache:url:77", Value: []byte(raw), TTL: time.Minute}}); err != nil {
		t.Fatal(err)
	}
	r := e.get("/urls/77")
	r.want(t, "reference entry", http.StatusOK, `{"created_at":"2025-01-02T03:04:05","id":77,"is_active":true,"original_url":"https://ref.io/\u00e4","short_code":"ref077","title":"T","updated_at":"2025-01-02T03:04:06","user_id":null}`+"\n")
	r.wantCache(t, "reference entry", "HIT")
	// A cached value that is not a URL is a miss, not a 500.
	e.cache.Set(t.Context(), []core.CacheEntry{{Key: "cache:url:" + fmt.Sprint(u.ID), Value: []byte(`{"id": "x"}`), TTL: time.Minute}})
	r = e.get(path)
	r.want(t, "corrupt entry", http.StatusOK, urlJSON(u)+"\n")
	r.wantCache(t, "corrupt entry", "MISS")
}

func testURLUpdate(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	owner := e.user("o")
	u := e.url("upd001", "https://upd.io/", &owner.ID, true)
	e.event(u.ID, &owner.ID, "created", t0, `{}`)
	path := fmt.Sprintf("/urls/%d", u.ID)

	// spec §16 test 8: warm detail, user list and analytics.
	for _, p := range []string{path, fmt.Sprintf("/urls?user_id=%d", owner.ID), path + "/analytics", "/r/upd001"} {
		e.get(p).wantCache(t, "warm "+p, "MISS")
		e.get(p).wantCache(t, "warm "+p, "HIT")
	}
	// spec §16 test 47
	r := e.putJSON(path, `{"title":"Updated Title","is_active":false}`)
	r.wantCache(t, "PUT", "BYPASS")
	var got apiURL
	r.decode(t, &got)
	if r.Status != http.StatusOK || got.Title == nil || *got.Title != "Updated Title" || got.IsActive ||
		got.ID != u.ID || got.ShortCode != u.ShortCode || got.OriginalURL != u.OriginalURL || *got.UserID != owner.ID ||
		got.CreatedAt != "2026-01-01T00:00:00" || got.UpdatedAt == "2026-01-01T00:00:00" {
		t.Errorf("PUT = %d %s", r.Status, r.Body)
	}
	evs := e.events(u.ID)
	if last := evs[len(evs)-1]; last.EventType != "updated" || last.Details != `{"title": "Updated Title", "is_active": false}` {
		t.Errorf("last event = %+v, want the updated event", last)
	}
	for _, p := range []string{path, fmt.Sprintf("/urls?user_id=%d", owner.ID), path + "/analytics"} {
		e.get(p).wantCache(t, "after PUT "+p, "MISS")
	}
	// spec §16 test 93: the redirect entry is gone and the code inactive.
	e.get("/r/upd001").wantError(t, "redirect after deactivation", http.StatusNotFound, "URL not found")

	n := len(e.events(u.ID))
	e.putJSON(path, `{}`).want(t, "PUT {}", http.StatusOK, e.get(path).Body)
	if len(e.events(u.ID)) != n {
		t.Error("PUT {} wrote an event")
	}
	tests := []struct{ name, body, message string }{
		{"is_active string (test 94)", `{"is_active":"false"}`, "Field 'is_active' must be a boolean"},
		{"is_active null", `{"is_active":null}`, "Field 'is_active' must be a boolean"},
		{"is_active number", `{"is_active":0}`, "Field 'is_active' must be a boolean"},
		{"alphabetically first unknown", `{"zeta":1,"alpha":2,"title":"x"}`, "Field 'alpha' cannot be updated"},
		// Issue 19 makes original_url updatable (retargeting); it is
		// validated as on create.
		{"original_url invalid", `{"original_url":"ftp://x.io"}`, "Field 'original_url' must be a valid http or https URL"},
		{"original_url number", `{"original_url":5}`, "Field 'original_url' must be a string"},
		{"short_code", `{"short_code":"x"}`, "Field 'short_code' cannot be updated"},
		{"user_id", `{"user_id":1}`, "Field 'user_id' cannot be updated"},
		{"quote in key", `{"a\"b":1}`, `Field 'a"b' cannot be updated`},
		{"title number", `{"title":5}`, "Field 'title' must be a string"},
		{"title too long", `{"title":"` + strings.Repeat("t", 256) + `"}`, "Field 'title' must not exceed 255 characters"},
		{"no body", ``, "JSON body must be an object"},
		{"array", `[]`, "JSON body must be an object"},
		{"malformed", `{"title":`, "JSON body must be an object"},
	}
	for _, tt := range tests {
		e.putJSON(path, tt.body).wantError(t, tt.name, http.StatusBadRequest, tt.message)
	}
	e.putJSON("/urls/999", `garbage`).wantError(t, "unknown URL before body", http.StatusNotFound, "URL not found")
	// A refused update reads its URL from the store, as the reference
	// does, and leaves the cache as it was: the next read is a miss.
	var fresh apiURL
	e.postJSON("/urls", `{"original_url":"https://upd.io/fresh"}`).decode(t, &fresh)
	freshPath := fmt.Sprintf("/urls/%d", fresh.ID)
	e.putJSON(freshPath, `{"bad":1}`).wantError(t, "refused update", http.StatusBadRequest, "Field 'bad' cannot be updated")
	e.get(freshPath).wantCache(t, "GET after a refused update", "MISS")

	// Blank and null titles clear it; reactivation.
	r = e.putJSON(path, `{"title":"   ","is_active":true}`)
	if !strings.Contains(r.Body, `"title":null`) || !strings.Contains(r.Body, `"is_active":true`) {
		t.Errorf("PUT blank title = %s", r.Body)
	}
	// Deactivating frees the original URL for a new mapping.
	e.putJSON(path, `{"is_active":false}`)
	r = e.postJSON("/urls", `{"original_url":"https://upd.io/"}`)
	if r.Status != http.StatusCreated {
		t.Errorf("POST of a deactivated URL = %d %s, want a new mapping", r.Status, r.Body)
	}
}

func testURLDelete(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	u := e.url("del001", "https://del.io/", nil, true)
	e.event(u.ID, nil, "click", t0, `{}`)
	path := fmt.Sprintf("/urls/%d", u.ID)
	e.get(path).wantCache(t, "warm", "MISS")
	e.get("/r/del001").wantCache(t, "warm redirect", "MISS")
	// spec §16 test 48
	e.do("DELETE", path, "").want(t, "DELETE", http.StatusNoContent, "")
	e.get(path).wantError(t, "after DELETE", http.StatusNotFound, "URL not found")
	e.get("/r/del001").wantError(t, "redirect after DELETE", http.StatusNotFound, "URL not found")
	e.get(path+"/analytics").wantError(t, "analytics after DELETE", http.StatusNotFound, "URL not found")
	if n := len(e.events(u.ID)); n != 0 {
		t.Errorf("%d events left after DELETE", n)
	}
	e.do("DELETE", path, "").wantError(t, "DELETE again", http.StatusNotFound, "URL not found")
}

// failingCache fails every call, like an unreachable cache server.
type failingCache struct{}

func (failingCache) Get(context.Context, []string) (map[string][]byte, error) {
	return nil, core.ErrUnavailable
}
func (failingCache) Set(context.Context, []core.CacheEntry) error { return core.ErrUnavailable }
func (failingCache) Delete(context.Context, []string) error       { return core.ErrUnavailable }

func testCacheDown(t *testing.T, newStore storeFactory) {
	for name, cfg := range map[string]envConfig{"cache down": {cache: failingCache{}}, "no cache": {noCache: true}} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, newStore, cfg)
			u := e.url("cd0001", "https://cd.io/", nil, true)
			for _, p := range []string{fmt.Sprintf("/urls/%d", u.ID), "/urls", fmt.Sprintf("/urls/%d/analytics", u.ID)} {
				for range 2 {
					r := e.get(p)
					if r.Status != http.StatusOK {
						t.Errorf("GET %s = %d", p, r.Status)
					}
					r.wantCache(t, p, "MISS")
				}
			}
			r := e.get("/r/cd0001")
			if r.Status != http.StatusFound {
				t.Errorf("redirect = %d", r.Status)
			}
			r.wantCache(t, "redirect", "MISS")
			e.postJSON("/urls", `{"original_url":"https://cd2.io/"}`).wantCache(t, "POST", "BYPASS")
		})
	}
}

// apiEvent is a decoded event.
type apiEvent struct {
	ID        int64           `json:"id"`
	URLID     *int64          `json:"url_id"`
	UserID    *int64          `json:"user_id"`
	EventType string          `json:"event_type"`
	Timestamp string          `json:"timestamp"`
	Details   json.RawMessage `json:"details"`
}
