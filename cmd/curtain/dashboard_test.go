package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The browser tests drive the dashboard of a real `curtain serve` (the
// embedded default: SQLite and the memory plugins as processes) in
// headless Chromium. They save a screenshot of each page under
// browserArtifacts and check each page with axe-core.

// chromiumPath finds Chromium: $CURTAIN_TEST_CHROMIUM, or Debian's
// chromium on the PATH.
func chromiumPath() string {
	if p := os.Getenv("CURTAIN_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browserArtifacts is where the screenshots go: $CURTAIN_TEST_ARTIFACTS,
// or browser-artifacts/ beside this file (ignored by git).
func browserArtifacts(t *testing.T) string {
	dir := os.Getenv("CURTAIN_TEST_ARTIFACTS")
	if dir == "" {
		dir = "browser-artifacts"
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is one headless Chromium tab.
type browser struct {
	t   *testing.T
	ctx context.Context
	dir string // screenshots
	axe string // the axe-core source

	answersMu sync.Mutex
	answers   []cannedAnswer // see answer
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if testing.Short() {
			t.Skip("no Chromium; browser tests skipped with -short")
		}
		t.Fatal("no Chromium found: install Debian's chromium (apt-get install chromium; .ci/run does) or set CURTAIN_TEST_CHROMIUM")
	}
	axe, err := os.ReadFile("testdata/axe/axe.min.js")
	if err != nil {
		t.Fatal(err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx, dir: browserArtifacts(t), axe: string(axe)}
	// The first run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	b.watchPages()
	return b
}

// watchPages fails the test, when it ends, if a page threw an uncaught
// exception, wrote an error to the console or the browser's log, or sent
// (or tried to send) a request anywhere but the loopback server:
// everything the pages use is bundled.
func (b *browser) watchPages() {
	b.t.Helper()
	var (
		mu       sync.Mutex
		problems []string
	)
	note := func(p string) {
		mu.Lock()
		problems = append(problems, p)
		mu.Unlock()
	}
	err := chromedp.Listen(b.ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			what := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				what += " " + e.ExceptionDetails.Exception.Description
			}
			note("uncaught exception: " + what)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				note("console.error: " + strings.Join(args, " "))
			}
		case *log.EventEntryAdded:
			// A refused resource (a 400 of a validation, a 404 of a
			// missing link) is the page working; a blocked request (the
			// Content-Security-Policy) or a script error is not.
			if e.Entry.Level == log.EntryLevelError && e.Entry.Source != log.EntrySourceNetwork {
				note(string(e.Entry.Source) + ": " + e.Entry.Text)
			}
		case *network.EventRequestWillBeSent:
			u, err := url.Parse(e.Request.URL)
			if err != nil || (u.Scheme != "data" && u.Scheme != "blob" && u.Hostname() != "127.0.0.1") {
				note("request outside the test server: " + e.Request.URL)
			}
		}
	})
	if err != nil {
		b.t.Fatalf("watch the pages: %v", err)
	}
	b.t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			b.t.Errorf("browser: %s", p)
		}
	})
}

// do runs actions with a bound, failing the test on error.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// wait polls a JavaScript condition until it holds.
func (b *browser) wait(what, cond string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(25*time.Second))); err != nil {
		html, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("main").innerText`))
		b.t.Fatalf("waiting for %s (%s): %v\npage text:\n%s", what, cond, err, html)
	}
}

// eval evaluates a JavaScript expression into T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// screenshot saves the whole page as name.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	b.save(name, chromedp.FullScreenshot(100))
}

// save writes the PNG a screenshot action takes as name.png.
func (b *browser) save(name string, shot chromedp.Action[[]byte]) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, shot)
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", path)
}

// axeViolation is one serious or critical axe-core finding.
type axeViolation struct {
	ID, Impact, Help string
	Nodes            []string
}

// checkAccessibility runs axe-core (WCAG 2.x A and AA rules and best
// practices, and label-content-name-mismatch, the check of WCAG 2.5.3
// "label in name" that axe leaves off by default) on the current page and
// fails on serious or critical violations.
func (b *browser) checkAccessibility(page string) {
	b.t.Helper()
	if eval[bool](b, `typeof window.axe === "undefined"`) {
		eval[chromedp.Void](b, b.axe)
	}
	found := eval[[]axeViolation](b, `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
		rules: {"label-content-name-mismatch": {enabled: true}}})
		.then(r => r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
		.map(v => ({ID: v.id, Impact: v.impact, Help: v.help, Nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))})))`)
	for _, v := range found {
		b.t.Errorf("%s: axe %s (%s): %s at %v", page, v.ID, v.Impact, v.Help, v.Nodes)
	}
}

// TestDashboard creates a link through the page, follows it, watches the
// count and the chart update, searches, pages and toggles the list, and
// visits the health and docs pages, on a desktop and a phone-sized screen.
func TestDashboard(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; skipped with -short")
	}
	var landed atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		landed.Add(1)
		fmt.Fprintln(w, "landed")
	}))
	defer target.Close()
	srv := startServer(t, t.TempDir())
	b := newBrowser(t)

	// Create a link through the form, with the keyboard.
	b.do("open the dashboard", chromedp.Navigate(srv.base+"/"), chromedp.WaitVisible(chromedp.ID("original_url")))
	b.wait("the empty list", `document.getElementById("list-summary").textContent === "0 links"`)
	b.do("fill the form",
		chromedp.SendKeys(chromedp.ID("original_url"), target.URL+"/landing"),
		chromedp.SendKeys(chromedp.ID("title"), "Browser test landing page"),
		chromedp.SendKeys(chromedp.ID("title"), "\r"), // Enter submits
	)
	b.wait("the success message", `document.querySelector("#message.success") !== null`)
	b.wait("the new link in the list", `document.querySelectorAll("#link-list li").length === 1`)
	code := eval[string](b, `document.querySelector("#link-list li").dataset.code`)
	if msg := eval[string](b, `document.getElementById("message").textContent`); !strings.Contains(msg, "/r/"+code) {
		t.Errorf("success message = %q, want the short link /r/%s", msg, code)
	}
	b.screenshot("1-links-created")
	b.checkAccessibility("links page")

	// The link's page before any click.
	b.do("open the link", chromedp.Click(chromedp.CSS("#link-list li a.link-code")))
	b.wait("the link view", `location.hash === "#/links/1" && document.getElementById("stat-clicks").textContent === "0"`)
	b.wait("72 hourly bars", `document.querySelectorAll("#chart rect.bar").length === 72`)
	b.wait("the QR code image", `document.getElementById("link-qr").complete && document.getElementById("link-qr").naturalWidth === 128`)
	b.do("copy the short link", chromedp.Click(chromedp.ID("link-copy")))
	b.wait("the copy announced", fmt.Sprintf(`document.getElementById("status").textContent.includes(%q)`, srv.base+"/r/"+code))
	t.Logf("copy: %s", eval[string](b, `document.getElementById("status").textContent`))

	// Follow the short link three times, as a visitor would.
	for i := range 3 {
		resp, err := http.Get(srv.base + "/r/" + code)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || landed.Load() != int64(i+1) {
			t.Fatalf("follow /r/%s: %d, target reached %d times", code, resp.StatusCode, landed.Load())
		}
	}
	// The page refreshes itself: count, chart and events update.
	b.wait("3 clicks", `document.getElementById("stat-clicks").textContent === "3"`)
	b.wait("the chart's current hour", `[...document.querySelectorAll("#chart rect.bar")].reduce((n, r) => n + Number(r.dataset.clicks), 0) === 3 &&
		Number(document.querySelectorAll("#chart rect.bar")[71].dataset.clicks) === 3`)
	b.wait("1 unique visitor", `document.getElementById("stat-visitors").textContent === "1"`)
	b.wait("3 stored redirect events", `[...document.querySelectorAll("#events-table tbody tr td:nth-child(2)")].filter(td => td.textContent === "redirect").length === 3`)
	b.wait("the durable totals", `document.getElementById("stat-redirects").textContent === "3" && document.getElementById("stat-events").textContent === "4"`)
	b.screenshot("2-link-detail")
	b.checkAccessibility("link page")

	// More links, for search and paging.
	for i := range 24 {
		resp, body := srv.do(t, "POST", "/urls", fmt.Sprintf(`{"original_url":"%s/page-%d","title":"Filler %d"}`, target.URL, i, i))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST /urls = %d %s", resp.StatusCode, body)
		}
	}
	b.do("back to the list", chromedp.Click(chromedp.CSS(`nav a[data-nav="links"]`)))
	b.wait("the first page", `document.querySelectorAll("#link-list li").length === 20 && document.getElementById("page-info").textContent === "Page 1" &&
		document.getElementById("list-summary").textContent === "Links 1–20, newest first" && !document.getElementById("next-page").disabled`)
	b.do("next page", chromedp.Click(chromedp.ID("next-page")))
	b.wait("the second page", `document.querySelectorAll("#link-list li").length === 5 && document.getElementById("page-info").textContent === "Page 2" &&
		document.getElementById("list-summary").textContent === "Links 21–25, newest first"`)
	if f := eval[string](b, `document.activeElement.id || document.activeElement.tagName`); f != "prev-page" {
		t.Errorf("on the last page, the focus is on %s, want Previous (Next, which had it, is disabled)", f)
	}
	b.do("search", chromedp.SendKeys(chromedp.ID("search"), "landing"))
	b.wait("one match", `document.querySelectorAll("#link-list li").length === 1 && document.getElementById("list-summary").textContent === "1 matching link"`)
	b.screenshot("3-links-search")

	// Toggle with the keyboard: focus the button, press Enter.
	toggle := fmt.Sprintf(`#link-list li[data-code=%q] button[aria-pressed]`, code)
	b.do("deactivate", chromedp.Focus(chromedp.CSS(toggle)), chromedp.KeyEvent("\r"))
	b.wait("inactive", fmt.Sprintf(`document.querySelector(%q).getAttribute("aria-pressed") === "false"`, toggle))
	if !eval[bool](b, fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, toggle)) {
		t.Errorf("after the toggle, the focus is on %s, want the toggle", eval[string](b, `document.activeElement.outerHTML.slice(0, 80)`))
	}
	b.checkAccessibility("links page with an inactive link")
	if resp, body := srv.do(t, "GET", "/r/"+code, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /r/%s after deactivating = %d %s, want 404", code, resp.StatusCode, body)
	}
	var u struct {
		IsActive bool `json:"is_active"`
	}
	_, body := srv.do(t, "GET", "/urls/1", "")
	if err := json.Unmarshal([]byte(body), &u); err != nil || u.IsActive {
		t.Errorf("GET /urls/1 after deactivating = %s", body)
	}
	b.do("reactivate", chromedp.Click(chromedp.CSS(toggle)))
	b.wait("active", fmt.Sprintf(`document.querySelector(%q).getAttribute("aria-pressed") === "true"`, toggle))
	if resp, _ := srv.do(t, "GET", "/r/"+code, ""); resp.StatusCode != http.StatusFound {
		t.Errorf("GET /r/%s after reactivating = %d, want 302", code, resp.StatusCode)
	}
	b.do("show inactive only", chromedp.Clear(chromedp.ID("search")), chromedp.SetValue(chromedp.ID("filter-active"), "false"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("filter-active").dispatchEvent(new Event("change"))`))
	b.wait("no inactive links", `document.getElementById("list-summary").textContent === "0 matching links"`)

	// System health: the store and each plugin.
	b.do("open health", chromedp.Click(chromedp.CSS(`nav a[data-nav="health"]`)))
	b.wait("every dependency up", `(() => {
		const rows = [...document.querySelectorAll("#health-table tbody tr")];
		const names = rows.map(r => r.dataset.name).sort().join(",");
		return names === "cache,counter,shard0,store" && rows.every(r => r.querySelector(".badge").textContent === "up");
	})()`)
	if s := eval[string](b, `document.getElementById("health-summary").textContent`); !strings.HasPrefix(s, "ready") {
		t.Errorf("health summary = %q", s)
	}
	b.screenshot("4-health")
	b.checkAccessibility("health page")

	// The API reference.
	b.do("open the docs", chromedp.Navigate(srv.base+"/docs"))
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	// The served document: without root codes it leaves out GET /{code}.
	resp, err := http.Get(srv.base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil || len(doc.Paths) == 0 {
		t.Fatalf("GET /openapi.json: %v, %d paths", err, len(doc.Paths))
	}
	ops := 0
	for _, item := range doc.Paths {
		ops += len(item)
	}
	b.wait("every operation rendered", fmt.Sprintf(`document.querySelectorAll("#operations section.card").length === %d`, ops))
	b.save("5-docs", chromedp.CaptureScreenshot()) // the top of the page; the whole is very long
	b.screenshot("5-docs-full")
	b.checkAccessibility("docs page")

	// A phone-sized screen: nothing wider than the viewport.
	b.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Navigate(srv.base+"/#/"))
	b.wait("the list on a phone", `document.querySelectorAll("#link-list li").length === 20`)
	if w := eval[[]int](b, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > w[1] {
		t.Errorf("links page on a phone is %dpx wide in a %dpx viewport", w[0], w[1])
	}
	b.screenshot("6-phone-links")
	b.checkAccessibility("links page on a phone")
	b.do("phone link view", chromedp.Navigate(srv.base+"/#/links/1"))
	// Three clicks, and one more from the check after reactivating.
	b.wait("the link on a phone", `document.getElementById("stat-clicks").textContent === "4"`)
	if w := eval[[]int](b, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > w[1] {
		t.Errorf("link page on a phone is %dpx wide in a %dpx viewport", w[0], w[1])
	}
	b.screenshot("7-phone-link")

	// A link that is gone: nothing of the one shown before stays, nor its
	// controls (its Deactivate button once acted on the last link shown).
	b.do("a missing link", chromedp.Navigate(srv.base+"/#/links/999999"))
	b.wait("not found, the details hidden", `document.getElementById("link-title").textContent === "Link not found" &&
		document.getElementById("link-details").hidden && document.getElementById("link-toggle").offsetParent === null`)

	// An address whose id has a leading zero, as the API accepts it.
	b.do("a link id with a leading zero", chromedp.Navigate(srv.base+"/#/links/01"))
	b.wait("the link", `document.getElementById("link-title").textContent === "Browser test landing page" &&
		!document.getElementById("link-details").hidden && document.getElementById("stat-clicks").textContent === "4"`)

	// Health and the API reference on a phone: no sideways page, and every
	// scrolling region reachable with the keyboard.
	for _, p := range []struct{ name, path, ready string }{
		{"health page on a phone", "/#/health", `document.querySelectorAll("#health-table tbody tr").length === 4`},
		{"docs page on a phone", "/docs", fmt.Sprintf(`document.querySelectorAll("#operations section.card").length === %d`, ops)},
	} {
		b.do(p.name, chromedp.Navigate(srv.base+p.path))
		b.wait(p.name, p.ready)
		if w := eval[[]int](b, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > w[1] {
			t.Errorf("%s is %dpx wide in a %dpx viewport", p.name, w[0], w[1])
		}
		b.checkAccessibility(p.name)
	}
	// The page names its icon, so browsers do not ask for /favicon.ico (a
	// 404 in the console on every load).
	if st := eval[int](b, `fetch(document.querySelector('link[rel="icon"]').href).then(r => r.status)`); st != http.StatusOK {
		t.Errorf("the page's icon answers %d", st)
	}
}

// TestDashboardAPIKey: with auth.require_api_key on, the dashboard still
// lists links (reads are open), asks for a key when a write is refused,
// keeps the key in sessionStorage only (not localStorage, not a cookie, not
// in another tab), and creates and toggles links with it.
func TestDashboardAPIKey(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; skipped with -short")
	}
	dir := t.TempDir()
	secret := browserKey(t, dir)
	srv := startServer(t, dir, "CURTAIN_AUTH__REQUIRE_API_KEY=true")
	b := newBrowser(t)

	b.do("open the dashboard", chromedp.Navigate(srv.base+"/"), chromedp.WaitVisible(chromedp.ID("original_url")))
	b.wait("the empty list", `document.getElementById("list-summary").textContent === "0 links"`)
	if eval[bool](b, `sessionStorage.getItem("curtain.apiKey") !== null`) {
		t.Fatal("a key is stored before one was asked for")
	}

	// A create without a key is refused, and the page asks for one.
	b.do("create without a key",
		chromedp.SendKeys(chromedp.ID("original_url"), "https://example.com/with-key"),
		chromedp.SendKeys(chromedp.ID("original_url"), "\r"),
	)
	b.wait("the key prompt", `!document.getElementById("view-key").hidden && document.activeElement.id === "api-key"`)
	if resp, body := srv.do(t, "GET", "/urls", ""); resp.StatusCode != http.StatusOK || strings.Contains(body, "with-key") {
		t.Fatalf("GET /urls after the refused create = %d %s, want no link", resp.StatusCode, body)
	}
	b.screenshot("8-api-key-prompt")
	b.checkAccessibility("API key prompt")
	if !eval[bool](b, `document.getElementById("key-reason").hidden`) {
		t.Error("the first prompt gives a reason, though no key was sent")
	}

	// A wrong key is refused with the server's reason, and the page asks
	// again.
	b.do("enter a wrong key", chromedp.SendKeys(chromedp.ID("api-key"), "ck_"+strings.Repeat("0", 64)), chromedp.SendKeys(chromedp.ID("api-key"), "\r"))
	b.do("create with the wrong key",
		chromedp.Clear(chromedp.ID("original_url")),
		chromedp.SendKeys(chromedp.ID("original_url"), "https://example.com/with-key"),
		chromedp.SendKeys(chromedp.ID("original_url"), "\r"),
	)
	b.wait("the prompt with the reason", `!document.getElementById("view-key").hidden &&
		document.getElementById("key-reason").textContent === "The server refused the key: Invalid API key."`)

	// The key, typed in, is kept for this tab only.
	b.do("enter the key", chromedp.SendKeys(chromedp.ID("api-key"), secret), chromedp.SendKeys(chromedp.ID("api-key"), "\r"))
	b.wait("the links view again", `document.getElementById("view-key").hidden && !document.getElementById("view-links").hidden`)
	if f := eval[string](b, `document.activeElement.id || document.activeElement.tagName`); f != "main" {
		t.Errorf("after the key, the focus is on %s, want the page's main content (the prompt that had it is hidden)", f)
	}
	if got := eval[string](b, `sessionStorage.getItem("curtain.apiKey") || ""`); got != secret {
		t.Errorf("sessionStorage holds %q, want the key", got)
	}
	if n := eval[int](b, `localStorage.length`); n != 0 {
		t.Errorf("localStorage holds %d items, want none", n)
	}
	if c := eval[string](b, `document.cookie`); c != "" {
		t.Errorf("document.cookie = %q, want no cookie", c)
	}

	// With the key, the page creates and toggles links.
	b.do("create with the key",
		chromedp.Clear(chromedp.ID("original_url")),
		chromedp.SendKeys(chromedp.ID("original_url"), "https://example.com/with-key"),
		chromedp.SendKeys(chromedp.ID("original_url"), "\r"),
	)
	b.wait("the success message", `document.querySelector("#message.success") !== null`)
	b.wait("the new link in the list", `document.querySelectorAll("#link-list li").length === 1`)
	toggle := `#link-list li button[aria-pressed]`
	b.do("deactivate with the key", chromedp.Click(chromedp.CSS(toggle)))
	b.wait("inactive", fmt.Sprintf(`document.querySelector(%q).getAttribute("aria-pressed") === "false"`, toggle))
	if !eval[bool](b, `document.getElementById("view-key").hidden`) {
		t.Error("the page asked for a key again although it has one")
	}
	b.screenshot("9-api-key-in-use")

	// Another tab of the same browser has no key: it was never persisted.
	tab, cancel := chromedp.NewContext(b.ctx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(tab, 30*time.Second)
	defer cancelTimeout()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.base+"/"), chromedp.WaitVisible(chromedp.ID("original_url"))); err != nil {
		t.Fatalf("open a second tab: %v", err)
	}
	other, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`sessionStorage.getItem("curtain.apiKey") === null && localStorage.length === 0`))
	if err != nil {
		t.Fatal(err)
	}
	if !other {
		t.Error("a second tab sees the key; it must stay in the tab it was entered in")
	}
}

// answer makes the page's requests whose URL contains part get status,
// ctype and body without reaching the server, as from a failing server
// or a proxy in front of it, from now until the test ends. A part that
// starts with a method and a space ("DELETE /urls/2") answers only
// requests of that method.
func (b *browser) answer(part string, status int, ctype, body string) {
	b.t.Helper()
	method, path, ok := strings.Cut(part, " ")
	if !ok {
		method, path = "", part
	}
	b.answersMu.Lock()
	first := b.answers == nil
	b.answers = append(b.answers, cannedAnswer{method, path, status, ctype, body})
	var patterns []*fetch.RequestPattern
	for _, a := range b.answers {
		patterns = append(patterns, &fetch.RequestPattern{URLPattern: "*" + a.part + "*"})
	}
	b.answersMu.Unlock()
	if first {
		paused := chromedp.Events(b.ctx, fetch.RequestPaused)
		go func() {
			for ev, err := range paused {
				if err != nil {
					return
				}
				b.answersMu.Lock()
				var found *cannedAnswer
				for i, a := range b.answers {
					if strings.Contains(ev.Request.URL, a.part) && (a.method == "" || a.method == ev.Request.Method) {
						found = &b.answers[i]
					}
				}
				b.answersMu.Unlock()
				if found == nil {
					chromedp.Call(b.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
					continue
				}
				chromedp.Call(b.ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
					RequestID:       ev.RequestID,
					ResponseCode:    int64(found.status),
					ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: found.ctype}},
					Body:            []byte(found.body),
				})
			}
		}()
	}
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: patterns}); err != nil {
		b.t.Fatalf("intercept %s: %v", part, err)
	}
}

// cannedAnswer is the response answer gives.
type cannedAnswer struct {
	method      string // "" for any
	part        string
	status      int
	ctype, body string
}

// TestDashboardErrorStates: when the server (or a proxy in front of it)
// answers an error, the pages say so and show nothing older in its
// place: the link view never shows the figures or events of the link
// shown before, and the health page never keeps an earlier "up".
func TestDashboardErrorStates(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; skipped with -short")
	}
	srv := startServer(t, t.TempDir())
	var codes []string
	for _, u := range []string{"https://example.com/first", "https://example.com/second"} {
		resp, body := srv.do(t, "POST", "/urls", `{"original_url":"`+u+`"}`)
		var created struct {
			ShortCode string `json:"short_code"`
		}
		if resp.StatusCode != http.StatusCreated || json.Unmarshal([]byte(body), &created) != nil {
			t.Fatalf("POST /urls = %d %s", resp.StatusCode, body)
		}
		codes = append(codes, created.ShortCode)
	}
	for range 2 {
		if resp, body := srv.do(t, "GET", "/r/"+codes[0], ""); resp.StatusCode != http.StatusFound {
			t.Fatalf("GET /r/%s = %d %s", codes[0], resp.StatusCode, body)
		}
	}
	b := newBrowser(t)

	// The first link, whole.
	b.do("open the first link", chromedp.Navigate(srv.base+"/#/links/1"))
	b.wait("its clicks and events", `document.getElementById("stat-clicks").textContent === "2" &&
		document.querySelector("#events-table tbody").textContent.includes(`+fmt.Sprintf("%q", codes[0])+`)`)

	// The second link's figures, events and breakdown fail.
	const unavailable = `{"error":"Service unavailable"}`
	for _, part := range []string{"/urls/2/realtime", "/urls/2/analytics", "/events?url_id=2&"} {
		b.answer(part, http.StatusServiceUnavailable, "application/json", unavailable)
	}
	b.do("open the second link", chromedp.Evaluate[chromedp.Void](`location.hash = "#/links/2"`))
	b.wait("the failures reported", `!document.getElementById("link-errors").hidden`)
	got := eval[map[string]string](b, `({
		title: document.getElementById("link-title").textContent,
		stats: ["clicks", "visitors", "redirects", "events"].map(k => document.getElementById("stat-" + k).textContent).join(","),
		chart: document.getElementById("chart").textContent,
		events: document.querySelector("#events-table tbody").textContent,
		breakdown: document.getElementById("breakdown").textContent,
		errors: document.getElementById("link-errors").textContent,
	})`)
	if got["title"] != "Link "+codes[1] {
		t.Errorf("title = %q, want the second link's", got["title"])
	}
	if got["stats"] != "–,–,–,–" {
		t.Errorf("figures of a link whose analytics fail = %q, want none (–)", got["stats"])
	}
	if strings.Contains(got["events"], codes[0]) || !strings.Contains(got["events"], "Service unavailable") {
		t.Errorf("events of a link whose events fail = %q, want the failure and not the first link's events", got["events"])
	}
	if !strings.Contains(got["chart"], "Service unavailable") || !strings.Contains(got["breakdown"], "Service unavailable") {
		t.Errorf("chart = %q, breakdown = %q; want the failure", got["chart"], got["breakdown"])
	}
	if !strings.Contains(got["errors"], "Could not load the real-time clicks: Service unavailable.") {
		t.Errorf("the page's note = %q", got["errors"])
	}
	b.screenshot("10-link-unavailable")
	b.checkAccessibility("link page with failures")

	// A create the server refuses with a JSON error (over a rate limit)
	// shows the server's reason.
	b.answer("/shorten-ui", http.StatusTooManyRequests, "application/json", `{"error":"Too many requests"}`)
	b.do("create over the limit", chromedp.Navigate(srv.base+"/#/"), chromedp.WaitVisible(chromedp.ID("original_url")),
		chromedp.SendKeys(chromedp.ID("original_url"), "https://example.com/third\r"))
	b.wait("the refusal", `document.querySelector("#message.error") !== null`)
	if msg := eval[string](b, `document.getElementById("message").textContent`); msg != "Too many requests" {
		t.Errorf("message after a refused create = %q, want the server's reason", msg)
	}

	// Health: up, then a proxy's 503 page in place of the report.
	b.do("open health", chromedp.Evaluate[chromedp.Void](`location.hash = "#/health"`))
	b.wait("every dependency up", `document.querySelectorAll("#health-table tbody .badge.up").length === 4`)
	b.answer("/health/ready", http.StatusServiceUnavailable, "text/html", "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>")
	b.wait("the failure reported", `document.getElementById("health-summary").textContent.startsWith("Could not reach the server")`)
	if n := eval[int](b, `document.querySelectorAll("#health-table tbody tr").length`); n != 0 {
		t.Errorf("the health table keeps %d rows of an earlier answer", n)
	}

	// A stopping instance (http.shutdown_delay) has words of its own.
	b.answer("/health/ready", http.StatusServiceUnavailable, "application/json", `{"checks":[],"instance":"web-1","status":"shutting_down"}`)
	b.wait("shutting down", `document.getElementById("health-summary").textContent.includes("Shutting down:")`)
	if s := eval[string](b, `document.getElementById("health-summary").textContent`); s != "shutting down Shutting down: this instance is stopping and takes no new work; a load balancer sends requests to the other instances. Instance web-1." {
		t.Errorf("health summary while shutting down = %q", s)
	}
	b.screenshot("12-health-shutting-down")

	// The list shown, then a reload of it that fails: no link of the old
	// list stays under the error, nor a pager over them.
	b.do("back to the list", chromedp.Evaluate[chromedp.Void](`location.hash = "#/"`))
	b.wait("the list", `document.querySelectorAll("#link-list li").length === 2`)
	b.answer("/urls?order=newest", http.StatusServiceUnavailable, "application/json", unavailable)
	b.do("reload the list", chromedp.Evaluate[chromedp.Void](`location.hash = "#/health"`))
	b.wait("the health page", `!document.getElementById("view-health").hidden`)
	b.do("the list again", chromedp.Evaluate[chromedp.Void](`location.hash = "#/"`))
	b.wait("the failure reported", `document.getElementById("list-summary").textContent === "Could not load links: Service unavailable"`)
	list := eval[map[string]any](b, `({rows: document.querySelectorAll("#link-list li").length,
		pager: document.getElementById("page-info").textContent,
		prev: document.getElementById("prev-page").disabled, next: document.getElementById("next-page").disabled})`)
	if list["rows"] != float64(0) || list["pager"] != "" || list["prev"] != true || list["next"] != true {
		t.Errorf("after a failed reload the list shows %v, want no link, no page and both pager buttons disabled", list)
	}
	b.screenshot("13-links-unavailable")
	b.checkAccessibility("links page whose list failed")
}

// TestDashboardUntrustedText: a link's title and URL are the creator's
// text. Markup in them is shown as text, never run, and a long word in
// them (a title of 255 letters, a URL of 2,048 characters) wraps instead
// of widening the page, on a phone and on a desktop.
func TestDashboardUntrustedText(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; skipped with -short")
	}
	srv := startServer(t, t.TempDir())
	title := `<img src=x onerror="window.pwned=1">Ünïcødé 日本語 🎉 ` + strings.Repeat("W", 200)
	long := "https://example.com/" + strings.Repeat("a", 2048-len("https://example.com/"))
	body, err := json.Marshal(map[string]string{"original_url": long, "title": title})
	if err != nil {
		t.Fatal(err)
	}
	srv.createLinks(t, string(body))
	b := newBrowser(t)
	for _, size := range [][2]int64{{390, 844}, {1280, 900}} {
		b.do("viewport", chromedp.EmulateViewport(size[0], size[1]))
		for _, p := range []struct{ name, hash, ready, text string }{
			{"links page", "#/", `document.querySelectorAll("#link-list li").length === 1`, `document.querySelector("#link-list .link-title").textContent`},
			{"link page", "#/links/1", `document.getElementById("stat-clicks").textContent === "0"`, `document.getElementById("link-title").textContent`},
		} {
			name := fmt.Sprintf("%s at %dpx", p.name, size[0])
			b.do(name, chromedp.Navigate(srv.base+"/"+p.hash))
			b.wait(name, p.ready)
			if got := eval[string](b, p.text); got != title {
				t.Errorf("%s shows the title as %q, want it as text", name, got)
			}
			if eval[bool](b, `document.querySelector("main img:not(#link-qr)") !== null || window.pwned === 1`) {
				t.Errorf("%s made an element of the title's markup", name)
			}
			if w := eval[[]int](b, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > w[1] {
				wide := eval[string](b, `[...document.querySelectorAll("main *")].filter(e => !e.closest(".chart") && (e.getBoundingClientRect().right > window.innerWidth || (getComputedStyle(e).overflowX === "visible" && e.scrollWidth > e.clientWidth + 1))).map(e => e.tagName + (e.id ? "#" + e.id : "") + (e.className ? "." + e.className : "")).slice(0, 5).join(" ")`)
				t.Errorf("%s is %dpx wide in a %dpx viewport: %s", name, w[0], w[1], wide)
			}
		}
	}
	b.screenshot("11-long-title")
}

// TestDashboardEditAndDelete edits a link's target, title and bounds on
// its page (the server's refusal shown, the field it names focused), and
// deletes it after a confirmation that Cancel backs out of, and that
// shows the server's reason when the delete is refused.
func TestDashboardEditAndDelete(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; skipped with -short")
	}
	srv := startServer(t, t.TempDir())
	srv.createLinks(t,
		`{"original_url":"https://example.com/old","title":"Old title","valid_until":"2030-01-02T03:04:05"}`,
		`{"original_url":"https://example.com/kept"}`)
	b := newBrowser(t)
	b.do("open the link", chromedp.Navigate(srv.base+"/#/links/1"))
	b.wait("the form filled in", `document.getElementById("edit-url").value === "https://example.com/old" &&
		document.getElementById("edit-title").value === "Old title" &&
		document.getElementById("edit-until").value.startsWith("2030-01-02T03:04:05") &&
		document.getElementById("edit-max").value === ""`)

	// A target the server refuses: its reason, and the field focused.
	b.do("a bad target",
		clearField("edit-url"),
		chromedp.SendKeys(chromedp.ID("edit-url"), "ftp://example.com/file"),
		chromedp.Focus(chromedp.ID("edit-save")), chromedp.KeyEvent("\r"))
	b.wait("the refusal", `document.querySelector("#edit-message.error") !== null`)
	if msg := eval[string](b, `document.getElementById("edit-message").textContent`); msg != "Could not save: Field 'original_url' must be a valid http or https URL" {
		t.Errorf("message after a refused edit = %q, want the server's reason", msg)
	}
	if f := eval[string](b, `document.activeElement.id + " " + document.activeElement.getAttribute("aria-invalid")`); f != "edit-url true" {
		t.Errorf("after the refusal the focus is on %q, want the target field, marked invalid", f)
	}
	b.checkAccessibility("link page with a refused edit")

	// New target, title and bounds, with the keyboard (Enter submits).
	b.do("edit",
		clearField("edit-url"),
		chromedp.SendKeys(chromedp.ID("edit-url"), "https://example.com/new"),
		clearField("edit-title"),
		chromedp.SendKeys(chromedp.ID("edit-title"), "New title"),
		chromedp.SendKeys(chromedp.ID("edit-max"), "5"),
		clearField("edit-until"),
		chromedp.SendKeys(chromedp.ID("edit-title"), "\r"))
	b.wait("saved", `document.getElementById("edit-message").textContent === "Saved the changes to 000001." &&
		document.getElementById("link-title").textContent === "New title"`)
	b.screenshot("14-link-edited")
	var u struct {
		OriginalURL string  `json:"original_url"`
		Title       *string `json:"title"`
		MaxVisits   *int64  `json:"max_visits"`
		ValidUntil  *string `json:"valid_until"`
	}
	if _, body := srv.do(t, "GET", "/urls/1", ""); json.Unmarshal([]byte(body), &u) != nil ||
		u.OriginalURL != "https://example.com/new" || u.Title == nil || *u.Title != "New title" ||
		u.MaxVisits == nil || *u.MaxVisits != 5 || u.ValidUntil != nil {
		t.Errorf("GET /urls/1 after the edit = %s", body)
	}
	if resp, _ := srv.do(t, "GET", "/r/000001", ""); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://example.com/new" {
		t.Errorf("GET /r/000001 after the edit = %d to %q, want 302 to the new target", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Delete, with the keyboard (the page's figures, drawn meanwhile,
	// move the buttons): Cancel backs out, the focus back on the button.
	b.do("ask to delete", chromedp.Focus(chromedp.ID("link-delete")), chromedp.KeyEvent("\r"))
	b.wait("the confirmation", `!document.getElementById("delete-confirm").hidden && document.activeElement.id === "delete-no"`)
	if q := eval[string](b, `document.getElementById("delete-question").textContent`); q != "Delete 000001 (https://example.com/new) for good?" {
		t.Errorf("confirmation = %q", q)
	}
	b.checkAccessibility("link page asking to delete")
	b.do("cancel", chromedp.KeyEvent("\r"))
	b.wait("no confirmation", `document.getElementById("delete-confirm").hidden && document.activeElement.id === "link-delete"`)
	if resp, _ := srv.do(t, "GET", "/urls/1", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /urls/1 after Cancel = %d, want the link kept", resp.StatusCode)
	}

	// Confirmed: the link is gone and the page is back on the list.
	b.do("delete", chromedp.Focus(chromedp.ID("link-delete")), chromedp.KeyEvent("\r"))
	b.wait("the confirmation", `!document.getElementById("delete-confirm").hidden`)
	b.do("confirm", chromedp.Focus(chromedp.ID("delete-yes")), chromedp.KeyEvent("\r"))
	b.wait("the list without it", `location.hash === "#/" && document.querySelectorAll("#link-list li").length === 1 &&
		document.querySelector("#link-list li").dataset.code === "000002"`)
	if resp, body := srv.do(t, "GET", "/urls/1", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /urls/1 after the delete = %d %s, want 404", resp.StatusCode, body)
	}
	if resp, _ := srv.do(t, "GET", "/r/000001", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /r/000001 after the delete = %d, want 404", resp.StatusCode)
	}

	// A delete the server refuses shows its reason; the link stays.
	b.answer("DELETE /urls/2", http.StatusServiceUnavailable, "application/json", `{"error":"Service unavailable"}`)
	b.do("open the other link", chromedp.Evaluate[chromedp.Void](`location.hash = "#/links/2"`))
	b.wait("its page", `document.getElementById("edit-url").value === "https://example.com/kept" && document.getElementById("delete-confirm").hidden`)
	b.do("delete it", chromedp.Focus(chromedp.ID("link-delete")), chromedp.KeyEvent("\r"))
	b.wait("the confirmation", `!document.getElementById("delete-confirm").hidden`)
	b.do("confirm", chromedp.Focus(chromedp.ID("delete-yes")), chromedp.KeyEvent("\r"))
	b.wait("the refusal", `!document.getElementById("delete-error").hidden`)
	if msg := eval[string](b, `document.getElementById("delete-error").textContent`); msg != "Could not delete 000002: Service unavailable" {
		t.Errorf("message after a refused delete = %q", msg)
	}
	if h := eval[string](b, `location.hash`); h != "#/links/2" {
		t.Errorf("after a refused delete the page is at %q, want the link's", h)
	}
	b.screenshot("15-link-delete-refused")
}

// clearField empties an input the page filled in, as a person selecting
// its text and deleting it would (chromedp.Clear resets only the value
// attribute, which a value set by script hides).
func clearField(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = ""; e.dispatchEvent(new Event("input", {bubbles: true})); })()`, id))
}

// TestDashboardProtectedLink: the dashboard, which reads the API without
// a key here, shows no target of a password-protected link (the API
// gives it null): the list and the link's page say the target is hidden,
// search still works, and the link's events show their targets null.
// Before, both pages showed the target to anyone.
func TestDashboardProtectedLink(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; skipped with -short")
	}
	srv := startServer(t, t.TempDir())
	srv.createLinks(t, `{"original_url":"https://secret.example/a","password":"pw","title":"Locked",`+
		`"expired_url":"https://secret.example/gone","rules":[{"when":{"os":["ios"]},"target":"https://secret.example/ios"}]}`)
	b := newBrowser(t)
	b.do("open the dashboard", chromedp.Navigate(srv.base+"/"), chromedp.WaitVisible(chromedp.ID("original_url")))
	b.wait("the hidden target in the list", `document.querySelector("#link-list li .link-url") !== null &&
		document.querySelector("#link-list li .link-url").textContent === "Target hidden: password-protected link"`)
	b.do("search", chromedp.SendKeys(chromedp.ID("search"), "lock"))
	b.wait("the link found by its title", `document.querySelectorAll("#link-list li").length === 1 &&
		document.getElementById("list-summary").textContent === "1 matching link"`)
	b.do("open the link", chromedp.Navigate(srv.base+"/#/links/1"))
	b.wait("the link's page", `document.getElementById("link-title").textContent === "Locked" &&
		document.querySelector("#events-table tbody tr") !== null`)
	if got := eval[string](b, `document.getElementById("link-target").textContent`); got != "Target hidden: password-protected link (an API key that may change it shows the target)" {
		t.Errorf("link target = %q", got)
	}
	if got := eval[string](b, `document.querySelector("#events-table tbody").textContent`); !strings.Contains(got, `"original_url":null`) {
		t.Errorf("events = %q, want the created event's original_url null", got)
	}
	if eval[bool](b, `document.getElementById("edit-url").required`) || eval[string](b, `document.getElementById("edit-url").value`) != "" {
		t.Error("the edit form requires or shows the hidden target")
	}
	if text := eval[string](b, `document.documentElement.outerHTML`); strings.Contains(text, "secret.example") {
		t.Errorf("the link's page shows a target:\n%s", text)
	}
	b.checkAccessibility("protected link page")
}

// TestDashboardLinkState: a link past its valid_until, or before its
// valid_since, answers no redirect; the list and the link's page say so
// instead of showing it "active" and "Redirects to" its target, as they
// did before.
func TestDashboardLinkState(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; skipped with -short")
	}
	srv := startServer(t, t.TempDir())
	srv.createLinks(t,
		`{"original_url":"https://example.com/expired","valid_until":"2020-01-02T03:04:05"}`,
		`{"original_url":"https://example.com/later","valid_since":"2099-01-02T03:04:05"}`,
		`{"original_url":"https://example.com/open","valid_until":"2099-01-02T03:04:05"}`,
		`{"original_url":"https://example.com/off"}`,
		`{"original_url":"https://example.com/locked","password":"pw","valid_until":"2020-01-02T03:04:05"}`)
	if resp, text := srv.do(t, "PUT", "/urls/4", `{"is_active":false}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT /urls/4 = %d %s", resp.StatusCode, text)
	}
	b := newBrowser(t)
	b.do("open the dashboard", chromedp.Navigate(srv.base+"/"))
	b.wait("the list", `document.querySelectorAll("#link-list li").length === 5`)
	badges := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll("#link-list li")].map(li => [li.dataset.code, li.querySelector(".badge").textContent]))`)
	want := map[string]string{"000001": "expired", "000002": "not yet valid", "000003": "active", "000004": "inactive", "000005": "expired"}
	for code, w := range want {
		if badges[code] != w {
			t.Errorf("the list shows %s as %q, want %q", code, badges[code], w)
		}
	}
	b.checkAccessibility("links page with expired links")

	// The filter says what it selects, the Active toggle of each link
	// (is_active), and agrees with it: links with Active on include the
	// expired and not yet valid ones, each with its badge. Before, the
	// filter offered "active only" and listed links badged expired.
	b.do("show links with Active on", chromedp.SetValue(chromedp.ID("filter-active"), "true"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("filter-active").dispatchEvent(new Event("change"))`))
	b.wait("the links with Active on", `document.querySelectorAll("#link-list li").length === 4`)
	shown := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll("#link-list li")].map(li =>
		[li.dataset.code, li.querySelector(".badge").textContent + " " + li.querySelector("button[aria-pressed]").getAttribute("aria-pressed")]))`)
	want = map[string]string{"000001": "expired true", "000002": "not yet valid true", "000003": "active true", "000005": "expired true"}
	if fmt.Sprint(shown) != fmt.Sprint(want) {
		t.Errorf("with Active on the list shows %v, want %v", shown, want)
	}
	for value, label := range map[string]string{"true": "links with Active on", "false": "links with Active off"} {
		got := eval[string](b, fmt.Sprintf(`document.querySelector('#filter-active option[value=%q]').textContent`, value))
		if got != label {
			t.Errorf("the filter's option %s reads %q, want %q (it selects by the Active toggle, not by the badge)", value, got, label)
		}
	}
	b.do("show links with Active off", chromedp.SetValue(chromedp.ID("filter-active"), "false"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("filter-active").dispatchEvent(new Event("change"))`))
	b.wait("the link with Active off", `document.querySelectorAll("#link-list li").length === 1 &&
		document.querySelector("#link-list li .badge").textContent === "inactive"`)
	b.checkAccessibility("links page filtered")
	for id, w := range map[int]string{
		1: "Expired on 2020-01-02 03:04:05 UTC: visits are no longer sent to https://example.com/expired",
		2: "Valid from 2099-01-02 03:04:05 UTC: until then visits are not sent to https://example.com/later",
		3: "Redirects to https://example.com/open",
		4: "Inactive: visits are not sent to https://example.com/off",
		5: "Expired on 2020-01-02 03:04:05 UTC: visits are no longer sent to its hidden target (an API key that may change it shows the target)",
	} {
		b.do("open the link", chromedp.Navigate(fmt.Sprintf("%s/#/links/%d", srv.base, id)))
		b.wait("its page", fmt.Sprintf(`document.title.startsWith("00000%d") && document.getElementById("stat-clicks").textContent === "0"`, id))
		if got := eval[string](b, `document.getElementById("link-target").textContent`); got != w {
			t.Errorf("link %d's page says %q, want %q", id, got, w)
		}
	}
	for _, code := range []string{"000001", "000002", "000004"} {
		if resp, _ := srv.do(t, "GET", "/r/"+code, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /r/%s = %d, want 404 as the page says", code, resp.StatusCode)
		}
	}
}

// TestDashboardCreateRefused: a create the server refuses names a field
// (Field 'user_id' …); that field is marked invalid and takes the focus,
// as in the edit form, rather than the focus staying where Enter was
// pressed.
func TestDashboardCreateRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; skipped with -short")
	}
	srv := startServer(t, t.TempDir())
	b := newBrowser(t)
	b.do("open the dashboard", chromedp.Navigate(srv.base+"/"), chromedp.WaitVisible(chromedp.ID("original_url")))
	b.wait("the empty list", `document.getElementById("list-summary").textContent === "0 links"`)
	for _, c := range []struct{ url, user, field, msg string }{
		{"javascript:alert(1)", "", "original_url", "Field 'original_url' must be a valid http or https URL"},
		{"https://example.com/a", "99999", "user_id", "Field 'user_id' must reference an existing user"},
	} {
		b.do("a refused create",
			clearField("original_url"), clearField("user_id"),
			chromedp.SendKeys(chromedp.ID("original_url"), c.url),
			chromedp.SendKeys(chromedp.ID("user_id"), c.user),
			chromedp.SendKeys(chromedp.ID("title"), "\r"))
		b.wait("the refusal", fmt.Sprintf(`document.getElementById("message").textContent === %q`, c.msg))
		if f := eval[string](b, `document.activeElement.id + " " + document.activeElement.getAttribute("aria-invalid")`); f != c.field+" true" {
			t.Errorf("after %q the focus is on %q, want %s marked invalid", c.msg, f, c.field)
		}
		b.checkAccessibility("links page with a refused create")
	}
	b.do("a create", clearField("user_id"), chromedp.SendKeys(chromedp.ID("title"), "\r"))
	b.wait("the link", `document.querySelector("#message.success") !== null && document.querySelectorAll("#link-list li").length === 1`)
	if n := eval[int](b, `document.querySelectorAll("#shorten [aria-invalid]").length`); n != 0 {
		t.Errorf("%d fields stay marked invalid after the create", n)
	}
}

// TestDashboardCreateWithOptions: the create form's "More options" (a
// custom code, tags, a password, valid until, max visits) go to POST
// /urls, which stores them. A refusal (a taken code) shows the server's
// reason, opens the options and focuses the field it names, keeping what
// was typed; a create closes the options it emptied. Before, the form had
// none of these fields.
func TestDashboardCreateWithOptions(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; skipped with -short")
	}
	srv := startServer(t, t.TempDir())
	srv.createLinks(t, `{"original_url":"https://example.com/first","short_code":"taken"}`)
	b := newBrowser(t)
	b.do("open the dashboard", chromedp.Navigate(srv.base+"/"), chromedp.WaitVisible(chromedp.ID("original_url")))
	b.wait("the list", `document.getElementById("list-summary").textContent === "1 link"`)
	if eval[bool](b, `document.getElementById("more-options").open`) {
		t.Error("the options are open before they are asked for")
	}

	// The options open with the keyboard; a taken code, the options
	// closed again before Enter.
	b.do("open the options", chromedp.SendKeys(chromedp.ID("original_url"), "https://example.com/sale"),
		chromedp.Focus(chromedp.CSS("#more-options summary")), chromedp.KeyEvent("\r"))
	b.wait("the options open", `document.getElementById("more-options").open`)
	b.do("a taken code",
		chromedp.SendKeys(chromedp.ID("short_code"), "taken"),
		chromedp.SendKeys(chromedp.ID("tags"), "News, team"),
		chromedp.SendKeys(chromedp.ID("password"), "s3cret"),
		chromedp.SendKeys(chromedp.ID("max_visits"), "3"),
		chromedp.SetValue(chromedp.ID("valid_until"), "2099-01-02T03:04:05"),
		chromedp.Focus(chromedp.CSS("#more-options summary")), chromedp.KeyEvent("\r"),
		chromedp.SendKeys(chromedp.ID("title"), "Sale\r"))
	b.wait("the refusal", `document.querySelector("#message.error") !== null`)
	if msg := eval[string](b, `document.getElementById("message").textContent`); msg != "Field 'short_code' is already in use" {
		t.Errorf("message after a taken code = %q, want the server's reason", msg)
	}
	if f := eval[string](b, `document.activeElement.id + " " + document.activeElement.getAttribute("aria-invalid") + " " + document.getElementById("more-options").open`); f != "short_code true true" {
		t.Errorf("after the refusal the focus is on %q, want the code field, marked invalid, in the options open", f)
	}
	kept := eval[string](b, `["original_url", "title", "short_code", "tags", "password", "max_visits", "valid_until"].map(id => document.getElementById(id).value).join(" | ")`)
	if want := "https://example.com/sale | Sale | taken | News, team | s3cret | 3 | 2099-01-02T03:04:05"; kept != want {
		t.Errorf("after the refusal the form holds %q, want %q", kept, want)
	}
	b.checkAccessibility("links page with the options refused")
	b.screenshot("17-create-options-refused")

	// The browser's own check of a field (a date typed in part) shows
	// that field, closed options or not; nothing is sent.
	b.do("half a date, the options closed", clearField("valid_until"), chromedp.Focus(chromedp.ID("valid_until")), chromedp.KeyEvent("0102"),
		chromedp.Focus(chromedp.CSS("#more-options summary")), chromedp.KeyEvent("\r"),
		chromedp.SendKeys(chromedp.ID("title"), "\r"))
	b.wait("the date field shown", `document.getElementById("more-options").open && document.activeElement.id === "valid_until"`)
	b.do("the whole date", chromedp.SetValue(chromedp.ID("valid_until"), "2099-01-02T03:04:05"))

	// Another code: created with every option, shown, and listed.
	b.do("another code", clearField("short_code"), chromedp.SendKeys(chromedp.ID("short_code"), "spring-sale\r"))
	b.wait("the link", `document.querySelector("#message.success") !== null &&
		document.querySelector('#link-list li[data-code="spring-sale"]') !== null`)
	if msg := eval[string](b, `document.getElementById("message").textContent`); !strings.Contains(msg, "Short URL ready!") || !strings.Contains(msg, srv.base+"/r/spring-sale") {
		t.Errorf("message after the create = %q, want the short link", msg)
	}
	if left := eval[string](b, `[...document.querySelectorAll("#shorten input")].map(i => i.value).join("")`); left != "" {
		t.Errorf("the form still holds %q after the create", left)
	}
	if n := eval[int](b, `document.querySelectorAll("#shorten [aria-invalid]").length`); n != 0 {
		t.Errorf("%d fields stay marked invalid after the create", n)
	}
	if eval[bool](b, `document.getElementById("more-options").open`) {
		t.Error("the emptied options stay open after the create")
	}
	b.checkAccessibility("links page with a link created with options")
	var u struct {
		ShortCode         string   `json:"short_code"`
		Title             string   `json:"title"`
		Tags              []string `json:"tags"`
		PasswordProtected bool     `json:"password_protected"`
		MaxVisits         int64    `json:"max_visits"`
		ValidUntil        string   `json:"valid_until"`
	}
	if _, body := srv.do(t, "GET", "/urls/2", ""); json.Unmarshal([]byte(body), &u) != nil ||
		u.ShortCode != "spring-sale" || u.Title != "Sale" || fmt.Sprint(u.Tags) != "[news team]" ||
		!u.PasswordProtected || u.MaxVisits != 3 || u.ValidUntil != "2099-01-02T03:04:05" {
		t.Errorf("GET /urls/2 = %s, want the options typed in", body)
	}
	if resp, body := srv.do(t, "GET", "/r/spring-sale", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /r/spring-sale = %d %s, want 401 (the password)", resp.StatusCode, body)
	}
}

// TestDashboardLeaveKeyPrompt: a person without a key, shown the key
// prompt after a refused create, goes back to the list with the Links
// item of the menu. Before, that item named the address already shown
// (#/), so it did nothing and the prompt stayed.
func TestDashboardLeaveKeyPrompt(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; skipped with -short")
	}
	srv := startServer(t, t.TempDir(), "CURTAIN_AUTH__REQUIRE_API_KEY=true")
	b := newBrowser(t)
	b.do("open the dashboard", chromedp.Navigate(srv.base+"/#/"), chromedp.WaitVisible(chromedp.ID("original_url")))
	b.wait("the empty list", `document.getElementById("list-summary").textContent === "0 links"`)
	b.do("create without a key", chromedp.SendKeys(chromedp.ID("original_url"), "https://example.com/no-key\r"))
	b.wait("the key prompt", `!document.getElementById("view-key").hidden && document.activeElement.id === "api-key"`)
	b.do("back to the list", chromedp.Focus(chromedp.CSS(`nav a[data-nav="links"]`)), chromedp.KeyEvent("\r"))
	b.wait("the list", `document.getElementById("view-key").hidden && !document.getElementById("view-links").hidden &&
		document.querySelector('nav a[data-nav="links"]').getAttribute("aria-current") === "page"`)
	if h := eval[string](b, `location.hash`); h != "#/" {
		t.Errorf("the address is %q, want #/", h)
	}
}

// TestDashboardManyLinks: with more links than one GET /urls answers
// (500), the oldest link is still found by its title and its code (the
// API searches, as the person types, pausing) and reached by paging, 20
// links a page. Before, the page read the newest 500 links once and
// searched and paged those only, so the oldest could not be seen.
func TestDashboardManyLinks(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; skipped with -short")
	}
	srv := startServer(t, t.TempDir())
	const total = 621
	for i := range total {
		body := fmt.Sprintf(`{"original_url":"https://example.com/filler-%d","title":"Filler %d"}`, i, i)
		if i == 0 {
			body = `{"original_url":"https://example.com/oldest","title":"Needle in the haystack"}`
		}
		srv.createLinks(t, body)
	}
	b := newBrowser(t)
	b.do("open the dashboard", chromedp.Navigate(srv.base+"/"), chromedp.WaitVisible(chromedp.ID("original_url")))
	b.wait("the first page", `document.querySelectorAll("#link-list li").length === 20 &&
		document.getElementById("list-summary").textContent === "Links 1–20, newest first" &&
		document.querySelector("#link-list li a").getAttribute("href") === "#/links/621"`)
	if text := eval[string](b, `document.getElementById("view-links").innerText`); strings.Contains(text, "500") {
		t.Errorf("the list speaks of 500 links:\n%s", text)
	}

	// Search by the title, then by the code, as a person types.
	searched := `performance.getEntriesByType("resource").filter(e => e.name.includes("/urls?") && e.name.includes("q=")).length`
	b.do("search by title", chromedp.SendKeys(chromedp.ID("search"), "NEEDLE"))
	b.wait("the oldest link found", `document.querySelectorAll("#link-list li").length === 1 &&
		document.querySelector("#link-list li").dataset.code === "000001" &&
		document.getElementById("list-summary").textContent === "1 matching link" && document.getElementById("next-page").disabled`)
	if n := eval[int](b, searched); n >= len("NEEDLE") {
		t.Errorf("typing %d letters sent %d searches, want fewer (the search waits for a pause)", len("NEEDLE"), n)
	}
	b.checkAccessibility("links page searched")
	b.do("search by code", chromedp.Clear(chromedp.ID("search")), clearField("search"), chromedp.SendKeys(chromedp.ID("search"), "000001"))
	b.wait("the oldest link found by its code", `document.querySelectorAll("#link-list li").length === 1 &&
		document.querySelector("#link-list li").dataset.code === "000001" && document.getElementById("search").value === "000001"`)
	b.do("search for many", clearField("search"), chromedp.SendKeys(chromedp.ID("search"), "filler"))
	b.wait("matching pages", `document.getElementById("list-summary").textContent === "Matching links 1–20, newest first"`)

	// Page to the end with the keyboard: the last page holds the oldest.
	b.do("no search", clearField("search"))
	b.wait("the first page again", `document.getElementById("list-summary").textContent === "Links 1–20, newest first"`)
	b.do("focus Next", chromedp.Focus(chromedp.ID("next-page")))
	for page := 2; page <= 32; page++ {
		b.do("next page", chromedp.KeyEvent("\r"))
		b.wait(fmt.Sprintf("page %d", page), fmt.Sprintf(`document.getElementById("page-info").textContent === "Page %d"`, page))
	}
	b.wait("the last page", `document.querySelectorAll("#link-list li").length === 1 &&
		document.querySelector("#link-list li").dataset.code === "000001" &&
		document.getElementById("list-summary").textContent === "Link 621, newest first" && document.getElementById("next-page").disabled`)
	if f := eval[string](b, `document.activeElement.id`); f != "prev-page" {
		t.Errorf("on the last page the focus is on %q, want Previous (Next, which had it, is disabled)", f)
	}
	b.do("previous page", chromedp.KeyEvent("\r"))
	b.wait("the page before", `document.getElementById("page-info").textContent === "Page 31" &&
		document.querySelectorAll("#link-list li").length === 20 && document.querySelector("#link-list li a").getAttribute("href") === "#/links/21"`)
	b.checkAccessibility("links page 31")
}

// createLinks posts each body to POST /urls and fails the test unless
// the link is created.
func (s *server) createLinks(t *testing.T, bodies ...string) {
	t.Helper()
	for _, body := range bodies {
		if resp, text := s.do(t, "POST", "/urls", body); resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST /urls = %d %s", resp.StatusCode, text)
		}
	}
}

// browserKey creates a write key named browser with curtain keys create
// in dir and returns its secret.
func browserKey(t *testing.T, dir string) string {
	t.Helper()
	for _, line := range strings.Split(runCurtain(t, dir, nil, "keys", "create", "browser", "write"), "\n") {
		if strings.HasPrefix(line, "ck_") {
			return strings.TrimSpace(line)
		}
	}
	t.Fatal("keys create printed no key")
	return ""
}

// TestDashboardKeyMessageGoes: with auth.require_api_key on, a create
// and an edit refused for want of a key say "API key required"; once a
// key is typed into the prompt, neither message stays on the page (they
// did: the create form's message stayed under the form, the edit form's
// under the link, as if the key had been refused too).
func TestDashboardKeyMessageGoes(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; skipped with -short")
	}
	dir := t.TempDir()
	secret := browserKey(t, dir)
	srv := startServer(t, dir, "CURTAIN_AUTH__REQUIRE_API_KEY=true")
	b := newBrowser(t)
	const required = "API key required"
	b.do("open the dashboard", chromedp.Navigate(srv.base+"/"), chromedp.WaitVisible(chromedp.ID("original_url")))
	b.wait("the empty list", `document.getElementById("list-summary").textContent === "0 links"`)
	b.do("create without a key", chromedp.SendKeys(chromedp.ID("original_url"), "https://example.com/needs-key\r"))
	b.wait("the key prompt", `!document.getElementById("view-key").hidden && document.activeElement.id === "api-key"`)
	b.do("enter the key", chromedp.SendKeys(chromedp.ID("api-key"), secret+"\r"))
	b.wait("the links view again", `document.getElementById("view-key").hidden && !document.getElementById("view-links").hidden`)
	if text := eval[string](b, `document.getElementById("view-links").innerText`); strings.Contains(text, required) {
		t.Errorf("after the key was accepted the links page still says %q:\n%s", required, text)
	}
	b.do("create with the key", chromedp.SendKeys(chromedp.ID("original_url"), "\r"))
	b.wait("the link", `document.querySelector("#message.success") !== null && document.querySelectorAll("#link-list li").length === 1`)

	// An edit refused for want of a key, in a new tab's session.
	b.do("forget the key", chromedp.Evaluate[chromedp.Void](`sessionStorage.clear(); location.hash = "#/links/1"`))
	b.wait("the link's page", `document.getElementById("edit-url").value === "https://example.com/needs-key"`)
	b.do("edit without a key", chromedp.SendKeys(chromedp.ID("edit-title"), "Renamed\r"))
	b.wait("the key prompt", `!document.getElementById("view-key").hidden && document.activeElement.id === "api-key"`)
	b.do("enter the key", chromedp.SendKeys(chromedp.ID("api-key"), secret+"\r"))
	b.wait("the link's page again", `document.getElementById("view-key").hidden && !document.getElementById("view-link").hidden &&
		document.getElementById("link-title").textContent === "Link 000001"`)
	if text := eval[string](b, `document.getElementById("view-link").innerText`); strings.Contains(text, required) {
		t.Errorf("after the key was accepted the link's page still says %q:\n%s", required, text)
	}
	b.checkAccessibility("link page after the key")
}

// TestPasswordForm follows a password-protected link in the browser, as
// a visitor would: the form, a wrong password, the right one landing on
// the target (on another site), and the message past the rate limit.
// Before, the page's Content-Security-Policy (form-action 'self')
// blocked the redirect to the target, so the right password led nowhere.
func TestPasswordForm(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; skipped with -short")
	}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "landed")
	}))
	defer target.Close()
	srv := startServer(t, t.TempDir(), "CURTAIN_RATE_LIMITS__PASSWORD__REQUESTS=3", "CURTAIN_RATE_LIMITS__PASSWORD__BURST=3")
	for _, path := range []string{"/secret", "/guarded"} {
		srv.createLinks(t, fmt.Sprintf(`{"original_url":"%s%s","password":"right pw"}`, target.URL, path))
	}
	b := newBrowser(t)
	b.do("open the short link", chromedp.Navigate(srv.base+"/r/000001"))
	b.waitNavigated("the form, the focus in its field", `document.activeElement.name === "password" && document.title === "Password required"`)
	b.screenshot("16-password-form")
	b.checkAccessibility("password form")
	if !eval[bool](b, `document.querySelector('link[rel="icon"]') !== null`) {
		t.Error("the form names no icon: browsers ask for /favicon.ico, a 404")
	}

	b.submitPassword("a wrong password", "wrong")
	b.waitNavigated("the refusal", `document.querySelector("[role=alert]") !== null && document.activeElement.name === "password"`)
	if msg := eval[string](b, `document.querySelector("[role=alert]").textContent`); msg != "Wrong password, try again." {
		t.Errorf("after a wrong password the page says %q", msg)
	}
	b.checkAccessibility("password form after a wrong password")
	b.submitPassword("the right password", "right pw")
	b.waitNavigated("the target", fmt.Sprintf(`location.href === %q && document.body.textContent.trim() === "landed"`, target.URL+"/secret"))

	// Past the limit (3 attempts on a link), even the right password
	// gets the form again, saying how long to wait.
	b.do("open the other link", chromedp.Navigate(srv.base+"/r/000002"))
	for i := range 3 {
		b.waitNavigated("the form", `document.activeElement.name === "password"`)
		b.submitPassword(fmt.Sprintf("wrong password %d", i+1), "wrong")
		b.waitNavigated("the refusal", `document.querySelector("[role=alert]") !== null`)
	}
	b.submitPassword("the right password, too late", "right pw")
	b.waitNavigated("the limit", `/^Too many attempts, try again in \d+ seconds?\.$/.test(document.querySelector("[role=alert]")?.textContent)`)
	b.checkAccessibility("password form past the limit")
}

// submitPassword types a password into the form and posts it. The page
// it leaves is marked first, so that waitNavigated does not take that
// page, which may already show an alert, for the answer.
func (b *browser) submitPassword(what, password string) {
	b.t.Helper()
	b.do(what, chromedp.Evaluate[chromedp.Void](`window.curtainLeft = true; undefined`),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password+"\r"))
}

// waitNavigated is wait across a form's post: the page may be replaced
// while the condition is polled, which ends a poll in progress, so the
// condition is evaluated again until it holds on the page that stays,
// never on one submitPassword left.
func (b *browser) waitNavigated(what, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(25 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		var ok bool
		ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`!window.curtainLeft && (`+cond+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	b.t.Fatalf("waiting for %s (%s): last error %v\npage text:\n%s", what, cond, err, text)
}
