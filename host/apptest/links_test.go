package apptest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/host"
	"github.com/curtainhq/curtain/plugins/memory"
)

// The link options of issue 19 through the HTTP API; each runs on both
// stores from runLinksSuite.

func TestLinksSQLite(t *testing.T) { runLinksSuite(t, openSQLite) }

func TestLinksPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("PostgreSQL integration test")
	}
	runLinksSuite(t, openPostgres)
}

func runLinksSuite(t *testing.T, newStore storeFactory) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, storeFactory)
	}{
		{"CustomCode", testCustomCode},
		{"Retarget", testRetarget},
		{"RedirectStatus", testRedirectStatus},
		{"Lifecycle", testLifecycle},
		{"Tags", testTags},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore) })
	}
}

// referenceURLKeys are the members of a URL object in the reference's
// shape (spec §4.12): a link without options shows exactly these.
var referenceURLKeys = []string{"created_at", "id", "is_active", "original_url", "short_code", "title", "updated_at", "user_id"}

// urlKeysOf returns the member names of a URL object body.
func urlKeysOf(t *testing.T, body string) []string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func testCustomCode(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	const target = "https://slug.example/page"

	r := e.postJSON("/urls", `{"original_url":"`+target+`","short_code":"my-Link_1"}`)
	var slug apiURL
	r.decode(t, &slug)
	if r.Status != http.StatusCreated || slug.ShortCode != "my-Link_1" || slug.OriginalURL != target {
		t.Fatalf("POST /urls with short_code = %d %s", r.Status, r.Body)
	}
	if got := urlKeysOf(t, r.Body); !slices.Equal(got, referenceURLKeys) {
		t.Errorf("custom-code URL object keys = %v, want the reference's %v", got, referenceURLKeys)
	}
	if r := e.get("/r/my-Link_1"); r.Status != http.StatusFound || r.Header.Get("Location") != target {
		t.Errorf("GET /r/my-Link_1 = %d, Location %q", r.Status, r.Header.Get("Location"))
	}
	// Codes are case-sensitive: another case is another link, and the
	// redirect of an unknown case is a 404.
	e.get("/r/my-link_1").wantError(t, "GET /r/my-link_1", http.StatusNotFound, "URL not found")
	if r := e.postJSON("/urls", `{"original_url":"`+target+`","short_code":"MY-LINK_1"}`); r.Status != http.StatusCreated {
		t.Errorf("POST /urls short_code in another case = %d %s, want 201", r.Status, r.Body)
	}

	t.Run("taken", func(t *testing.T) {
		e.postJSON("/urls", `{"original_url":"https://other.example/","short_code":"my-Link_1"}`).
			wantError(t, "POST /urls taken short_code", http.StatusBadRequest, "Field 'short_code' is already in use")
	})

	t.Run("never reused by find-if-exists", func(t *testing.T) {
		// A plain create of the same URL gets a new generated code, not
		// the slug; a second plain create reuses that plain link.
		r := e.postJSON("/urls", `{"original_url":"`+target+`"}`)
		var plain apiURL
		r.decode(t, &plain)
		if r.Status != http.StatusCreated || plain.ShortCode == "my-Link_1" || plain.ShortCode == "MY-LINK_1" {
			t.Fatalf("plain POST after a slug = %d %s, want a new generated link", r.Status, r.Body)
		}
		r = e.postJSON("/urls", `{"original_url":"`+target+`"}`)
		var again apiURL
		r.decode(t, &again)
		if r.Status != http.StatusOK || again.ID != plain.ID {
			t.Errorf("second plain POST = %d %s, want 200 with link %d", r.Status, r.Body, plain.ID)
		}
		// A create with a slug never answers with an existing link.
		r = e.postJSON("/urls", `{"original_url":"`+target+`","short_code":"third"}`)
		if r.Status != http.StatusCreated {
			t.Errorf("slug POST of a known URL = %d %s, want 201", r.Status, r.Body)
		}
	})

	t.Run("rules", func(t *testing.T) {
		tests := []struct{ name, body, msg string }{
			{"too short", `{"original_url":"https://x.example/","short_code":"ab"}`, "Field 'short_code' must be 3 to 16 characters long"},
			{"too long", `{"original_url":"https://x.example/","short_code":"` + strings.Repeat("a", 17) + `"}`, "Field 'short_code' must be 3 to 16 characters long"},
			{"slash", `{"original_url":"https://x.example/","short_code":"a/b/c"}`, "Field 'short_code' may only contain letters, digits, '-' and '_'"},
			{"non-ASCII", `{"original_url":"https://x.example/","short_code":"caf\u00e9"}`, "Field 'short_code' may only contain letters, digits, '-' and '_'"},
			{"reserved", `{"original_url":"https://x.example/","short_code":"URLS"}`, "Field 'short_code' is a reserved word"},
			{"reserved health", `{"original_url":"https://x.example/","short_code":"health"}`, "Field 'short_code' is a reserved word"},
			{"number", `{"original_url":"https://x.example/","short_code":123}`, "Field 'short_code' must be a string"},
			{"bad URL first", `{"original_url":"ftp://x.example/","short_code":"ab"}`, "Field 'original_url' must be a valid http or https URL"},
		}
		for _, tt := range tests {
			e.postJSON("/urls", tt.body).wantError(t, tt.name, http.StatusBadRequest, tt.msg)
		}
	})

	t.Run("generated codes skip a slug", func(t *testing.T) {
		// A slug that looks like the next generated code takes it; the
		// generator draws another.
		f := newEnv(t, newStore, envConfig{})
		r := f.postJSON("/urls", `{"original_url":"https://gen.example/1","short_code":"000001"}`)
		if r.Status != http.StatusCreated {
			t.Fatalf("slug 000001 = %d %s", r.Status, r.Body)
		}
		r = f.postJSON("/urls", `{"original_url":"https://gen.example/2"}`)
		var u apiURL
		r.decode(t, &u)
		if r.Status != http.StatusCreated || u.ShortCode == "000001" {
			t.Errorf("generated create after slug 000001 = %d %s", r.Status, r.Body)
		}
	})
}

func testRetarget(t *testing.T, newStore storeFactory) {
	// Two instances over one store and one cache plugin, each with its
	// own near-cache, as two `curtain serve` behind nginx.
	st := newStore(t)
	shared := memory.NewCache()
	same := func(*testing.T) core.Store { return st }
	near := func() core.Cache {
		c := host.NewNearCache(shared, host.NearCacheConfig{TTL: time.Minute, WatchedTTL: time.Minute})
		t.Cleanup(func() { c.Close() })
		return c
	}
	a := newEnv(t, same, envConfig{cache: near()})
	b := newEnv(t, same, envConfig{cache: near()})

	r := a.postJSON("/urls", `{"original_url":"https://old.example/","title":"T"}`)
	var u apiURL
	r.decode(t, &u)
	path := "/r/" + u.ShortCode
	for _, e := range []*env{a, b, a, b} { // fill both near-caches and the plugin
		if r := e.get(path); r.Header.Get("Location") != "https://old.example/" {
			t.Fatalf("GET %s before = %d %q", path, r.Status, r.Header.Get("Location"))
		}
	}
	if r := b.get(fmt.Sprintf("/urls/%d", u.ID)); r.Header.Get("X-Cache") == "" {
		t.Fatalf("GET /urls/%d = %d without X-Cache", u.ID, r.Status)
	}

	r = a.putJSON(fmt.Sprintf("/urls/%d", u.ID), `{"original_url":"  https://new.example/path  "}`)
	var got apiURL
	r.decode(t, &got)
	if r.Status != http.StatusOK || got.OriginalURL != "https://new.example/path" || got.ShortCode != u.ShortCode || got.Title == nil || *got.Title != "T" {
		t.Fatalf("PUT original_url = %d %s", r.Status, r.Body)
	}
	for i, e := range []*env{a, b} {
		if r := e.get(path); r.Status != http.StatusFound || r.Header.Get("Location") != "https://new.example/path" {
			t.Errorf("instance %d: GET %s after retarget = %d Location %q, want the new target", i, path, r.Status, r.Header.Get("Location"))
		}
		var shown apiURL
		e.get(fmt.Sprintf("/urls/%d", u.ID)).decode(t, &shown)
		if shown.OriginalURL != "https://new.example/path" {
			t.Errorf("instance %d: GET /urls/%d after retarget shows %q", i, u.ID, shown.OriginalURL)
		}
	}
	if last := lastUpdated(t, a.events(u.ID)); last.Details != `{"title": "T", "is_active": true, "original_url": "https://new.example/path"}` {
		t.Errorf("updated event details = %s", last.Details)
	}
	// The old target is no longer this link's: a create of it makes a
	// new link rather than finding the retargeted one.
	r = a.postJSON("/urls", `{"original_url":"https://old.example/"}`)
	var fresh apiURL
	r.decode(t, &fresh)
	if r.Status != http.StatusCreated || fresh.ID == u.ID {
		t.Errorf("POST of the old target after retarget = %d %s, want a new link", r.Status, r.Body)
	}
	// A title-only update leaves the updated event in the reference's shape.
	a.putJSON(fmt.Sprintf("/urls/%d", u.ID), `{"title":"U"}`)
	if last := lastUpdated(t, a.events(u.ID)); last.Details != `{"title": "U", "is_active": true}` {
		t.Errorf("title-only updated event details = %s", last.Details)
	}
	// Sending the link's own target again retargets nothing.
	a.putJSON(fmt.Sprintf("/urls/%d", u.ID), `{"title":"V","original_url":"https://new.example/path"}`)
	if last := lastUpdated(t, a.events(u.ID)); last.Details != `{"title": "V", "is_active": true}` {
		t.Errorf("updated event details of a PUT of the same target = %s", last.Details)
	}
	a.putJSON(fmt.Sprintf("/urls/%d", u.ID), `{"original_url":"javascript:alert(1)"}`).
		wantError(t, "PUT invalid original_url", http.StatusBadRequest, "Field 'original_url' must be a valid http or https URL")
}

// lastUpdated returns the last updated event of evs.
func lastUpdated(t *testing.T, evs []core.Event) core.Event {
	t.Helper()
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].EventType == core.EventUpdated {
			return evs[i]
		}
	}
	t.Fatalf("no updated event among %d", len(evs))
	return core.Event{}
}

// redirectOf fetches a redirect twice (a store read, then the cache) and
// checks both answer the same status and Cache-Control.
func redirectOf(t *testing.T, e *env, code string) (status int, cacheControl string) {
	t.Helper()
	first := e.get("/r/" + code)
	second := e.get("/r/" + code)
	if first.Status != second.Status || first.Header.Get("Cache-Control") != second.Header.Get("Cache-Control") {
		t.Errorf("GET /r/%s: %d %q, then from the cache %d %q", code, first.Status, first.Header.Get("Cache-Control"),
			second.Status, second.Header.Get("Cache-Control"))
	}
	if second.Header.Get("X-Cache") != "HIT" {
		t.Errorf("second GET /r/%s X-Cache = %q, want HIT", code, second.Header.Get("X-Cache"))
	}
	return first.Status, first.Header.Get("Cache-Control")
}

func testRedirectStatus(t *testing.T, newStore storeFactory) {
	t.Run("per link", func(t *testing.T) {
		e := newEnv(t, newStore, envConfig{})
		r := e.postJSON("/urls", `{"original_url":"https://status.example/","redirect_status":301}`)
		var u struct {
			apiURL
			RedirectStatus int `json:"redirect_status"`
		}
		r.decode(t, &u)
		if r.Status != http.StatusCreated || u.RedirectStatus != 301 {
			t.Fatalf("POST with redirect_status = %d %s", r.Status, r.Body)
		}
		if st, cc := redirectOf(t, e, u.ShortCode); st != 301 || cc != "" {
			t.Errorf("redirect of a 301 link = %d %q, want 301 without Cache-Control (no max age set)", st, cc)
		}
		if r := e.do("HEAD", "/r/"+u.ShortCode, ""); r.Status != 301 {
			t.Errorf("HEAD of a 301 link = %d", r.Status)
		}
		// The option survives the URL cache.
		for range 2 {
			if r := e.get(fmt.Sprintf("/urls/%d", u.ID)); !strings.Contains(r.Body, `"redirect_status":301`) {
				t.Errorf("GET /urls/%d = %s, want redirect_status 301", u.ID, r.Body)
			}
		}
		// A plain link keeps the reference's status and shape, and is not
		// the link with options.
		r = e.postJSON("/urls", `{"original_url":"https://status.example/"}`)
		var plain apiURL
		r.decode(t, &plain)
		if r.Status != http.StatusCreated || plain.ID == u.ID {
			t.Fatalf("plain POST of the same URL = %d %s, want a new link", r.Status, r.Body)
		}
		if got := urlKeysOf(t, r.Body); !slices.Equal(got, referenceURLKeys) {
			t.Errorf("plain URL object keys = %v", got)
		}
		if st, _ := redirectOf(t, e, plain.ShortCode); st != http.StatusFound {
			t.Errorf("redirect of a plain link = %d, want 302", st)
		}

		path := fmt.Sprintf("/urls/%d", u.ID)
		if r := e.putJSON(path, `{"redirect_status":307}`); r.Status != http.StatusOK || !strings.Contains(r.Body, `"redirect_status":307`) {
			t.Errorf("PUT redirect_status 307 = %d %s", r.Status, r.Body)
		}
		if st, _ := redirectOf(t, e, u.ShortCode); st != http.StatusTemporaryRedirect {
			t.Errorf("redirect after PUT 307 = %d", st)
		}
		r = e.putJSON(path, `{"redirect_status":null}`)
		if r.Status != http.StatusOK || strings.Contains(r.Body, "redirect_status") {
			t.Errorf("PUT redirect_status null = %d %s, want the reference's shape", r.Status, r.Body)
		}
		if st, _ := redirectOf(t, e, u.ShortCode); st != http.StatusFound {
			t.Errorf("redirect after PUT null = %d, want the default 302", st)
		}

		for _, tt := range []struct{ method, path, body, msg string }{
			{"POST", "/urls", `{"original_url":"https://x.example/","redirect_status":303}`, "Field 'redirect_status' must be 301, 302, 307 or 308"},
			{"POST", "/urls", `{"original_url":"https://x.example/","redirect_status":"301"}`, "Field 'redirect_status' must be an integer"},
			{"POST", "/urls", `{"original_url":"https://x.example/","redirect_status":99999999999999999999}`, "Field 'redirect_status' must be 301, 302, 307 or 308"},
			{"PUT", path, `{"redirect_status":200}`, "Field 'redirect_status' must be 301, 302, 307 or 308"},
			{"PUT", path, `{"redirect_status":true}`, "Field 'redirect_status' must be an integer"},
		} {
			e.do(tt.method, tt.path, tt.body, "Content-Type", "application/json").
				wantError(t, tt.method+" "+tt.body, http.StatusBadRequest, tt.msg)
		}
	})

	t.Run("deployment default and max age", func(t *testing.T) {
		e := newEnv(t, newStore, envConfig{redirectStatus: 308, permanentMaxAge: time.Hour})
		var plain, temp apiURL
		e.postJSON("/urls", `{"original_url":"https://default.example/"}`).decode(t, &plain)
		e.postJSON("/urls", `{"original_url":"https://default.example/","redirect_status":302}`).decode(t, &temp)
		if st, cc := redirectOf(t, e, plain.ShortCode); st != http.StatusPermanentRedirect || cc != "max-age=3600" {
			t.Errorf("plain link under a 308 default = %d %q, want 308 max-age=3600", st, cc)
		}
		if st, cc := redirectOf(t, e, temp.ShortCode); st != http.StatusFound || cc != "" {
			t.Errorf("302 link under a 308 default = %d %q, want 302 without Cache-Control", st, cc)
		}
	})
}

// person is the User-Agent of a person's browser: visits of a link with a
// visit limit that use one up (a crawler's or a link preview's do not).
var person = []string{"User-Agent", firefoxLinuxUA}

// slackbotUA is Slack's link-preview fetcher.
const slackbotUA = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"

// previewUAs are bots that fetch a link pasted into a chat or a post
// (Slack, Apple's Messages, Discord, Telegram, WhatsApp) and a crawler:
// none uses up a visit of a limited link.
var previewUAs = []string{
	slackbotUA,
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
	"Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
	"TelegramBot (like TwitterBot)",
	"WhatsApp/2.23.20.0",
	uaGooglebot,
}

func testLifecycle(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	create := func(body string) apiURL {
		t.Helper()
		r := e.postJSON("/urls", body)
		var u apiURL
		r.decode(t, &u)
		if r.Status != http.StatusCreated {
			t.Fatalf("POST /urls %s = %d %s", body, r.Status, r.Body)
		}
		return u
	}

	t.Run("window", func(t *testing.T) {
		past := create(`{"original_url":"https://life.example/past","valid_until":"2020-01-01T00:00:00"}`)
		e.get("/r/"+past.ShortCode).wantError(t, "GET past link", http.StatusNotFound, "URL not found")
		future := create(`{"original_url":"https://life.example/future","valid_since":"2999-01-01T00:00:00Z","expired_url":"https://life.example/soon"}`)
		for range 2 { // the store, then the cache
			if r := e.get("/r/" + future.ShortCode); r.Status != http.StatusFound || r.Header.Get("Location") != "https://life.example/soon" {
				t.Errorf("GET future link = %d %q, want 302 to its expired_url", r.Status, r.Header.Get("Location"))
			}
		}
		open := create(`{"original_url":"https://life.example/open","valid_since":"2020-01-01T00:00:00","valid_until":"2999-01-01T00:00:00"}`)
		if r := e.get("/r/" + open.ShortCode); r.Status != http.StatusFound || r.Header.Get("Location") != "https://life.example/open" {
			t.Errorf("GET link inside its window = %d %q", r.Status, r.Header.Get("Location"))
		}
		// The object shows the bounds, in key order, only when set.
		r := e.get(fmt.Sprintf("/urls/%d", future.ID))
		if !strings.Contains(r.Body, `{"created_at":"`) || !strings.Contains(r.Body, `","expired_url":"https://life.example/soon","id":`) ||
			!strings.HasSuffix(strings.TrimSpace(r.Body), `,"valid_since":"2999-01-01T00:00:00"}`) {
			t.Errorf("GET /urls/%d = %s", future.ID, r.Body)
		}
		// Renewing the link (clearing valid_until) makes it redirect again.
		if r := e.putJSON(fmt.Sprintf("/urls/%d", past.ID), `{"valid_until":null}`); r.Status != http.StatusOK || strings.Contains(r.Body, "valid_until") {
			t.Fatalf("PUT valid_until null = %d %s", r.Status, r.Body)
		}
		if r := e.get("/r/" + past.ShortCode); r.Status != http.StatusFound || r.Header.Get("Location") != "https://life.example/past" {
			t.Errorf("GET renewed link = %d %q", r.Status, r.Header.Get("Location"))
		}
	})

	t.Run("max visits", func(t *testing.T) {
		u := create(`{"original_url":"https://life.example/twice","max_visits":2,"expired_url":"https://life.example/gone"}`)
		for i, want := range []string{"https://life.example/twice", "https://life.example/twice", "https://life.example/gone", "https://life.example/gone"} {
			if r := e.get("/r/"+u.ShortCode, person...); r.Header.Get("Location") != want {
				t.Errorf("visit %d = %d %q, want %q", i+1, r.Status, r.Header.Get("Location"), want)
			}
		}
		var an struct {
			RedirectCount int64 `json:"redirect_count"`
		}
		e.get(fmt.Sprintf("/urls/%d/analytics", u.ID)).decode(t, &an)
		if an.RedirectCount != 2 {
			t.Errorf("redirect_count = %d, want 2 (visits after exhaustion are not the link's redirects)", an.RedirectCount)
		}
	})

	t.Run("max visits at once", func(t *testing.T) {
		// 30 visitors at once of a link good for 3 visits: exactly 3 get
		// its target, on any store. A HEAD first uses up none.
		u := create(`{"original_url":"https://life.example/three","max_visits":3}`)
		if r := e.do("HEAD", "/r/"+u.ShortCode, ""); r.Status != http.StatusFound {
			t.Fatalf("HEAD of a fresh limited link = %d", r.Status)
		}
		var wg sync.WaitGroup
		var served, gone atomic.Int64
		for range 30 {
			wg.Go(func() {
				switch r := e.get("/r/"+u.ShortCode, person...); r.Status {
				case http.StatusFound:
					served.Add(1)
				case http.StatusNotFound:
					gone.Add(1)
				default:
					t.Errorf("visit = %d %s", r.Status, r.Body)
				}
			})
		}
		wg.Wait()
		if served.Load() != 3 || gone.Load() != 27 {
			t.Errorf("30 visits at once of a 3-visit link: %d redirected, %d not found; want 3 and 27", served.Load(), gone.Load())
		}
		if r := e.do("HEAD", "/r/"+u.ShortCode, ""); r.Status != http.StatusNotFound {
			t.Errorf("HEAD of an exhausted link = %d, want 404 (its target stays hidden)", r.Status)
		}
		// Raising the limit grants the difference.
		if r := e.putJSON(fmt.Sprintf("/urls/%d", u.ID), `{"max_visits":4}`); r.Status != http.StatusOK {
			t.Fatalf("PUT max_visits 4 = %d %s", r.Status, r.Body)
		}
		for i, want := range []int{http.StatusFound, http.StatusNotFound} {
			if r := e.get("/r/"+u.ShortCode, person...); r.Status != want {
				t.Errorf("visit %d after raising the limit to 4 = %d, want %d", i+1, r.Status, want)
			}
		}
	})

	t.Run("max visits and bots", func(t *testing.T) {
		// A one-time link pasted into a chat: the app's preview fetcher
		// comes first and is redirected, uses up no visit, and is
		// counted as a bot; the person it was sent to then gets the
		// target, and nobody after them.
		e := newEnv(t, newStore, envConfig{shards: 1})
		var u apiURL
		if r := e.postJSON("/urls", `{"original_url":"https://life.example/once","max_visits":1,"expired_url":"https://life.example/used"}`); r.Status != http.StatusCreated {
			t.Fatalf("POST /urls = %d %s", r.Status, r.Body)
		} else {
			r.decode(t, &u)
		}
		for _, ua := range previewUAs {
			if r := e.get("/r/"+u.ShortCode, "User-Agent", ua); r.Header.Get("Location") != "https://life.example/once" {
				t.Errorf("bot %q before the person = %d %q, want the target", ua, r.Status, r.Header.Get("Location"))
			}
		}
		for i, want := range []string{"https://life.example/once", "https://life.example/used", "https://life.example/used"} {
			if r := e.get("/r/"+u.ShortCode, person...); r.Header.Get("Location") != want {
				t.Errorf("person's visit %d = %d %q, want %q", i+1, r.Status, r.Header.Get("Location"), want)
			}
		}
		// An exhausted link gives a bot the expired answer, as a person.
		if r := e.get("/r/"+u.ShortCode, "User-Agent", slackbotUA); r.Header.Get("Location") != "https://life.example/used" {
			t.Errorf("bot after the person = %d %q, want the expired target", r.Status, r.Header.Get("Location"))
		}
		bots := int64(len(previewUAs))
		e.waitClicks(u.ShortCode, bots+1)
		e.drainStreams()
		var b breakdownJSON
		e.get(fmt.Sprintf("/urls/%d/analytics/breakdown", u.ID)).decode(t, &b)
		wantCounts(t, b, "kind", map[string]int64{"human": 1, "bot": bots})
		if n := len(b.Dimensions["bot"]); n != len(previewUAs) {
			t.Errorf("bot = %v, want each of the %d bots", b.Dimensions["bot"], len(previewUAs))
		}

		// A command-line client or an HTTP library is run by someone:
		// its visit uses one up, as a person's does.
		var c apiURL
		e.postJSON("/urls", `{"original_url":"https://life.example/tool","max_visits":1,"expired_url":"https://life.example/used"}`).decode(t, &c)
		for i, want := range []string{"https://life.example/tool", "https://life.example/used"} {
			if r := e.get("/r/"+c.ShortCode, "User-Agent", "curl/8.5.0"); r.Header.Get("Location") != want {
				t.Errorf("curl's visit %d = %d %q, want %q", i+1, r.Status, r.Header.Get("Location"), want)
			}
		}

		// A limit set on a link already visited counts every redirect
		// so far, bots' included: stored clicks do not tell a crawler
		// from a tool someone ran.
		var v apiURL
		e.postJSON("/urls", `{"original_url":"https://life.example/later","expired_url":"https://life.example/used"}`).decode(t, &v)
		for _, h := range [][]string{{"User-Agent", slackbotUA}, {"User-Agent", uaGooglebot}, person} {
			if r := e.get("/r/"+v.ShortCode, h...); r.Status != http.StatusFound {
				t.Fatalf("visit before the limit = %d %s", r.Status, r.Body)
			}
		}
		e.waitClicks(v.ShortCode, 3)
		e.drainStreams()
		if r := e.putJSON(fmt.Sprintf("/urls/%d", v.ID), `{"max_visits":4}`); r.Status != http.StatusOK {
			t.Fatalf("PUT max_visits 4 = %d %s", r.Status, r.Body)
		}
		for i, want := range []string{"https://life.example/later", "https://life.example/used"} {
			if r := e.get("/r/"+v.ShortCode, person...); r.Header.Get("Location") != want {
				t.Errorf("person's visit %d after a limit of 4 was set on a link with 3 redirects = %d %q, want %q", i+1, r.Status, r.Header.Get("Location"), want)
			}
		}
	})

	t.Run("deployment expired URL", func(t *testing.T) {
		f := newEnv(t, newStore, envConfig{expiredURL: "https://cur.example/expired"})
		r := f.postJSON("/urls", `{"original_url":"https://life.example/d","valid_until":"2020-01-01T00:00:00"}`)
		var u apiURL
		r.decode(t, &u)
		if r := f.get("/r/" + u.ShortCode); r.Status != http.StatusFound || r.Header.Get("Location") != "https://cur.example/expired" {
			t.Errorf("expired link under a deployment expired_url = %d %q", r.Status, r.Header.Get("Location"))
		}
	})

	t.Run("rules", func(t *testing.T) {
		id := create(`{"original_url":"https://life.example/rules","valid_since":"2020-01-01T00:00:00"}`).ID
		path := fmt.Sprintf("/urls/%d", id)
		for _, tt := range []struct{ method, path, body, msg string }{
			{"POST", "/urls", `{"original_url":"https://x.example/","valid_since":"2030-01-01T00:00:00","valid_until":"2029-01-01T00:00:00"}`, "Field 'valid_until' must be after 'valid_since'"},
			{"POST", "/urls", `{"original_url":"https://x.example/","valid_since":"yesterday"}`, "Field 'valid_since' must be a time like 2026-01-02T03:04:05"},
			{"POST", "/urls", `{"original_url":"https://x.example/","valid_until":1700000000}`, "Field 'valid_until' must be a time like 2026-01-02T03:04:05"},
			// Years the API cannot write with four digits, or PostgreSQL
			// cannot hold (year 0): refused on every store, never a 500.
			{"POST", "/urls", `{"original_url":"https://x.example/","valid_until":"0001-01-01T00:00:00+05:00"}`, "Field 'valid_until' must be between 0001-01-01T00:00:00 and 9999-12-31T23:59:59 (UTC)"},
			{"POST", "/urls", `{"original_url":"https://x.example/","valid_since":"0000-06-01T00:00:00Z"}`, "Field 'valid_since' must be between 0001-01-01T00:00:00 and 9999-12-31T23:59:59 (UTC)"},
			{"POST", "/urls", `{"original_url":"https://x.example/","valid_until":"9999-12-31T23:59:59-05:00"}`, "Field 'valid_until' must be between 0001-01-01T00:00:00 and 9999-12-31T23:59:59 (UTC)"},
			{"PUT", path, `{"valid_until":"0000-12-31T23:59:59Z"}`, "Field 'valid_until' must be between 0001-01-01T00:00:00 and 9999-12-31T23:59:59 (UTC)"},
			{"POST", "/urls", `{"original_url":"https://x.example/","max_visits":0}`, "Field 'max_visits' must be a positive integer"},
			{"POST", "/urls", `{"original_url":"https://x.example/","max_visits":"5"}`, "Field 'max_visits' must be an integer"},
			// Beyond int64: refused, not taken as the largest limit.
			{"POST", "/urls", `{"original_url":"https://x.example/","max_visits":99999999999999999999}`, "Field 'max_visits' must be at most 9223372036854775807"},
			{"PUT", path, `{"max_visits":9223372036854775808}`, "Field 'max_visits' must be at most 9223372036854775807"},
			{"POST", "/urls", `{"original_url":"https://x.example/","max_visits":-99999999999999999999}`, "Field 'max_visits' must be a positive integer"},
			{"POST", "/urls", `{"original_url":"https://x.example/","expired_url":"ftp://x.example/"}`, "Field 'expired_url' must be a valid http or https URL"},
			{"POST", "/urls", `{"original_url":"https://x.example/","expired_url":7}`, "Field 'expired_url' must be a string"},
			// An update is checked against the bounds the link keeps.
			{"PUT", path, `{"valid_until":"2019-01-01T00:00:00"}`, "Field 'valid_until' must be after 'valid_since'"},
		} {
			e.do(tt.method, tt.path, tt.body, "Content-Type", "application/json").
				wantError(t, tt.method+" "+tt.body, http.StatusBadRequest, tt.msg)
		}
	})
}

func testTags(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	create := func(body string) apiURL {
		t.Helper()
		r := e.postJSON("/urls", body)
		var u apiURL
		r.decode(t, &u)
		if r.Status != http.StatusCreated {
			t.Fatalf("POST /urls %s = %d %s", body, r.Status, r.Body)
		}
		return u
	}
	news := create(`{"original_url":"https://tags.example/1","tags":[" News ","sport","news"]}`)
	sport := create(`{"original_url":"https://tags.example/2","tags":["sport"]}`)
	plain := create(`{"original_url":"https://tags.example/3"}`)

	r := e.get(fmt.Sprintf("/urls/%d", news.ID))
	if !strings.Contains(r.Body, `,"short_code":"`+news.ShortCode+`","tags":["news","sport"],"title":null,`) {
		t.Errorf("GET tagged URL = %s, want tags normalised, sorted, between short_code and title", r.Body)
	}
	// Served again from the URL cache.
	if r := e.get(fmt.Sprintf("/urls/%d", news.ID)); r.Header.Get("X-Cache") != "HIT" || !strings.Contains(r.Body, `"tags":["news","sport"]`) {
		t.Errorf("cached tagged URL = %s %s", r.Header.Get("X-Cache"), r.Body)
	}
	if got := urlKeysOf(t, e.get(fmt.Sprintf("/urls/%d", plain.ID)).Body); !slices.Equal(got, referenceURLKeys) {
		t.Errorf("untagged URL keys = %v", got)
	}

	ids := func(query string) []int64 {
		t.Helper()
		r := e.get("/urls?" + query)
		if r.Status != http.StatusOK {
			t.Fatalf("GET /urls?%s = %d %s", query, r.Status, r.Body)
		}
		if r.Header.Get("X-Cache") != "BYPASS" {
			t.Errorf("GET /urls?%s X-Cache = %q, want BYPASS (tag lists are not cached)", query, r.Header.Get("X-Cache"))
		}
		var urls []apiURL
		r.decode(t, &urls)
		out := []int64{}
		for _, u := range urls {
			out = append(out, u.ID)
		}
		return out
	}
	for _, tt := range []struct {
		query string
		want  []int64
	}{
		{"tags=news,sport", []int64{news.ID, sport.ID}},
		{"tags=NEWS,sport&tags_match=all", []int64{news.ID}},
		{"tags=sport&exclude_tags=news", []int64{sport.ID}},
		{"exclude_tags=sport", []int64{plain.ID}},
		{"tags=sport&limit=1", []int64{news.ID}},
	} {
		if got := ids(tt.query); !slices.Equal(got, tt.want) {
			t.Errorf("GET /urls?%s = %v, want %v", tt.query, got, tt.want)
		}
	}

	// PUT replaces the tags; null clears them.
	if r := e.putJSON(fmt.Sprintf("/urls/%d", sport.ID), `{"tags":["news"]}`); r.Status != http.StatusOK || !strings.Contains(r.Body, `"tags":["news"]`) {
		t.Errorf("PUT tags = %d %s", r.Status, r.Body)
	}
	if got := ids("tags=news"); !slices.Equal(got, []int64{news.ID, sport.ID}) {
		t.Errorf("after PUT, tags=news lists %v", got)
	}
	if r := e.putJSON(fmt.Sprintf("/urls/%d", sport.ID), `{"tags":null}`); r.Status != http.StatusOK || strings.Contains(r.Body, `"tags":`) {
		t.Errorf("PUT tags null = %d %s", r.Status, r.Body)
	}

	for _, tt := range []struct{ method, path, body, msg string }{
		{"POST", "/urls", `{"original_url":"https://x.example/","tags":"news"}`, "Field 'tags' must be a list of strings"},
		{"POST", "/urls", `{"original_url":"https://x.example/","tags":[1]}`, "Field 'tags' must be a list of strings"},
		{"POST", "/urls", `{"original_url":"https://x.example/","tags":["a b"]}`, "Field 'tags' must hold at most 10 tags of 1 to 32 letters, digits, '-' or '_'"},
		{"POST", "/urls", `{"original_url":"https://x.example/","tags":["1","2","3","4","5","6","7","8","9","10","11"]}`, "Field 'tags' must hold at most 10 tags of 1 to 32 letters, digits, '-' or '_'"},
		{"GET", "/urls?tags=a%20b", ``, "Query parameter 'tags' must list at most 10 tags of 1 to 32 letters, digits, '-' or '_'"},
		{"GET", "/urls?tags=1,2,3,4,5,6,7,8,9,10,11", ``, "Query parameter 'tags' must list at most 10 tags of 1 to 32 letters, digits, '-' or '_'"},
		{"GET", "/urls?exclude_tags=1,2,3,4,5,6,7,8,9,10,11", ``, "Query parameter 'exclude_tags' must list at most 10 tags of 1 to 32 letters, digits, '-' or '_'"},
		{"GET", "/urls?tags=a&tags_match=some", ``, "Query parameter 'tags_match' must be any or all"},
	} {
		e.do(tt.method, tt.path, tt.body, "Content-Type", "application/json").
			wantError(t, tt.method+" "+tt.path+" "+tt.body, http.StatusBadRequest, tt.msg)
	}
}
