package apptest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/curtainhq/curtain/core"
)

func TestAPISQLite(t *testing.T) {
	t.Parallel()
	runAPISuite(t, openSQLite)
}

func TestAPIPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("PostgreSQL integration suite; skipped with -short")
	}
	t.Parallel()
	runAPISuite(t, openPostgres)
}

// runAPISuite runs every API test against stores from newStore.
func runAPISuite(t *testing.T, newStore storeFactory) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, storeFactory)
	}{
		{"Routing", testRouting},
		{"Health", testHealth},
		{"Ready", testReady},
		{"DebugFail", testDebugFail},
		{"Metrics", testMetrics},
		{"AccessLog", testAccessLog},
		{"ErrorMapping", testErrorMapping},
		{"DegradedLogPaced", testDegradedLogPaced},
		{"UsersList", testUsersList},
		{"UsersCreate", testUsersCreate},
		{"UsersUpdate", testUsersUpdate},
		{"UsersDelete", testUsersDelete},
		{"UsersBulk", testUsersBulk},
		{"URLCreate", testURLCreate},
		{"URLCreateCounter", testURLCreateCounter},
		{"URLList", testURLList},
		{"URLGet", testURLGet},
		{"URLUpdate", testURLUpdate},
		{"URLDelete", testURLDelete},
		{"CacheDown", testCacheDown},
		{"Redirect", testRedirect},
		{"Clicks", testClicks},
		{"VisitorIdentity", testVisitorIdentity},
		{"SecurityHeaders", testSecurityHeaders},
		{"PublicBaseURL", testPublicBaseURL},
		{"BlockedHosts", testBlockedHosts},
		{"RateLimits", testRateLimits},
		{"APIKeys", testAPIKeys},
		{"APIKeyRotation", testAPIKeyRotation},
		{"AccessLogKey", testAccessLogKey},
		{"KeyRateLimit", testKeyRateLimit},
		{"ProtectedReads", testProtectedReads},
		{"ProtectedReadsKeysOff", testProtectedReadsKeysOff},
		{"ProtectedSearch", testProtectedSearch},
		{"Events", testEvents},
		{"LargeLists", testLargeLists},
		{"EventsCreate", testEventsCreate},
		{"Analytics", testAnalytics},
		{"UI", testUI},
		{"BodyLimits", testBodyLimits},
		{"JSONLimits", testJSONLimits},
		{"NoServerErrors", testNoServerErrors},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each test has its own store (a file or a schema)
			tc.fn(t, newStore)
		})
	}
}

const methodNotAllowed = `{"error":"Method not allowed"}` + "\n"

func testRouting(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	e.url("abc123", "https://example.com/1", nil, true)
	e.url("redirect", "https://example.com/q33", nil, true)

	t.Run("generic 404", func(t *testing.T) {
		for _, path := range []string{
			"/does-not-exist", "/missing/path", "/users/", "/urls/", "/urls/abc", "/urls/-1", "/urls/1.0",
			"/urls/abc/analytics", "/events/x", "/users/%2B1", "/static/app.js", "/static/", "//users",
			"/users/./1", "/users/../users", "/r/", "/r", "/urls/short/", "/metrics/x",
		} {
			e.get(path).wantError(t, "GET "+path, http.StatusNotFound, "Not found")
		}
		for _, m := range []string{"POST", "PUT", "DELETE", "OPTIONS"} {
			e.do(m, "/urls/abc", "").wantError(t, m+" /urls/abc", http.StatusNotFound, "Not found")
		}
	})

	t.Run("405 with Allow", func(t *testing.T) {
		tests := []struct{ method, path, allow string }{
			{"POST", "/urls/1", "DELETE, GET, HEAD, OPTIONS, PUT"},
			{"PATCH", "/urls/1", "DELETE, GET, HEAD, OPTIONS, PUT"},
			{"GET", "/shorten-ui", "OPTIONS, POST"},
			{"GET", "/users/bulk", "OPTIONS, POST"},
			{"HEAD", "/users/bulk", "OPTIONS, POST"},
			{"DELETE", "/users/bulk", "OPTIONS, POST"},
			{"DELETE", "/events/1", "GET, HEAD, OPTIONS"},
			{"PUT", "/health", "GET, HEAD, OPTIONS"},
			{"POST", "/static/x", "GET, HEAD, OPTIONS"},
			{"DELETE", "/urls/short/abc", "GET, HEAD, OPTIONS, POST"},
			{"PUT", "/users", "GET, HEAD, OPTIONS, POST"},
			{"PROPFIND", "/users", "GET, HEAD, OPTIONS, POST"},
			// Routes below an id or a code, which share one router node.
			{"POST", "/urls/1/analytics", "GET, HEAD, OPTIONS"},
			{"DELETE", "/urls/1/analytics", "GET, HEAD, OPTIONS"},
			{"PUT", "/urls/1/analytics/breakdown", "GET, HEAD, OPTIONS"},
			{"POST", "/urls/1/realtime", "GET, HEAD, OPTIONS"},
			{"PATCH", "/urls/1/qr", "GET, HEAD, OPTIONS"},
			{"PUT", "/urls/abc/redirect", "GET, HEAD, OPTIONS, POST"},
			{"DELETE", "/urls/1/redirect", "GET, HEAD, OPTIONS, POST"},
		}
		for _, tt := range tests {
			r := e.do(tt.method, tt.path, "")
			what := tt.method + " " + tt.path
			if tt.method == "HEAD" {
				r.want(t, what, http.StatusMethodNotAllowed, "")
			} else {
				r.want(t, what, http.StatusMethodNotAllowed, methodNotAllowed)
			}
			if got := r.Header.Get("Allow"); got != tt.allow {
				t.Errorf("%s Allow = %q, want %q", what, got, tt.allow)
			}
		}
	})

	t.Run("OPTIONS", func(t *testing.T) {
		tests := []struct{ path, allow string }{
			{"/urls/1", "DELETE, GET, HEAD, OPTIONS, PUT"},
			{"/urls", "GET, HEAD, OPTIONS, POST"},
			{"/users/bulk", "OPTIONS, POST"},
			{"/r/abc", "GET, HEAD, OPTIONS, POST"},
			{"/health", "GET, HEAD, OPTIONS"},
			{"/metrics", "GET, HEAD, OPTIONS"},
			{"/", "GET, HEAD, OPTIONS"},
		}
		for _, tt := range tests {
			r := e.do("OPTIONS", tt.path, "")
			r.want(t, "OPTIONS "+tt.path, http.StatusOK, "")
			if got := r.Header.Get("Allow"); got != tt.allow {
				t.Errorf("OPTIONS %s Allow = %q, want %q", tt.path, got, tt.allow)
			}
		}
	})

	t.Run("integer segments", func(t *testing.T) {
		body := urlJSON(core.URL{ID: 1, ShortCode: "abc123", OriginalURL: "https://example.com/1", IsActive: true, CreatedAt: t0, UpdatedAt: t0}) + "\n"
		for _, path := range []string{"/urls/1", "/urls/001", "/urls/%31"} {
			e.get(path).want(t, "GET "+path, http.StatusOK, body)
		}
		e.get("/urls/99999999999999999999999").wantError(t, "huge id", http.StatusNotFound, "URL not found")
		e.get("/urls/2147483648").wantError(t, "id above int4", http.StatusNotFound, "URL not found")
	})

	t.Run("HEAD runs GET", func(t *testing.T) {
		r := e.do("HEAD", "/urls/1", "")
		r.want(t, "HEAD /urls/1", http.StatusOK, "")
		r.wantCache(t, "HEAD /urls/1", "HIT")
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("HEAD Content-Type = %q", ct)
		}
	})

	t.Run("short/redirect is the code redirect (Q33)", func(t *testing.T) {
		r := e.get("/urls/short/redirect")
		if r.Status != http.StatusFound || r.Header.Get("Location") != "https://example.com/q33" {
			t.Errorf("GET /urls/short/redirect = %d %q", r.Status, r.Header.Get("Location"))
		}
	})
}

func testHealth(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	e.get("/health").want(t, "GET /health", http.StatusOK, `{"instance":"probe-host","status":"ok"}`+"\n")
	if ct := e.get("/health").Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	// Health does not depend on the store (fix of Q15).
	if err := e.store.Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
	e.get("/health").want(t, "GET /health with the store closed", http.StatusOK, `{"instance":"probe-host","status":"ok"}`+"\n")
	if r := e.get("/metrics"); r.Status != http.StatusOK {
		t.Errorf("GET /metrics with the store closed = %d", r.Status)
	}
}

func testDebugFail(t *testing.T, newStore storeFactory) {
	off := newEnv(t, newStore, envConfig{})
	off.get("/debug/fail").wantError(t, "disabled", http.StatusNotFound, "Not found")
	if logs := off.logs.String(); logs != "" {
		t.Errorf("disabled drill logged %q", logs)
	}
	on := newEnv(t, newStore, envConfig{debug: true})
	on.get("/debug/fail").wantError(t, "enabled", http.StatusInternalServerError, "Internal server error")
	// Flask's own line, then the app's (spec §9.2), for the same request.
	lines := on.logs.lines(t)
	if len(lines) != 2 || lines[0]["message"] != "Exception on /debug/fail [GET]" || lines[0]["level"] != "ERROR" ||
		lines[1]["message"] != "request.failed" || lines[1]["level"] != "ERROR" {
		t.Fatalf("drill logs = %v, want the errors Exception on /debug/fail [GET] and request.failed", lines)
	}
	if lines[0]["exception"] != "debug failure drill" || lines[1]["exception"] != "debug failure drill" || lines[0]["request_id"] != lines[1]["request_id"] {
		t.Errorf("drill logs = %v, want both with the exception and one request_id", lines)
	}
	metrics := on.get("/metrics").Body
	if !strings.Contains(metrics, `http_requests_total{method="GET",path="/debug/fail",status_code="500"} 1`) {
		t.Errorf("the drill's 500 is not counted:\n%s", grep(metrics, "http_requests_total"))
	}
}

func grep(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func testMetrics(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	u := e.url("abc123", "https://example.com/1", nil, true)
	e.get(fmt.Sprintf("/urls/%d", u.ID))
	e.get(fmt.Sprintf("/urls/%d", u.ID))
	e.get("/r/abc123")
	e.get("/r/nope")
	e.get("/no/such/path")
	// A wrong method is counted under the route it names, and a path
	// whose id is not digits under unmatched (spec §2.4), not under the
	// template the router tried.
	e.get("/users/bulk")
	e.do("POST", fmt.Sprintf("/urls/%d/analytics", u.ID), "")
	e.get("/urls/abc")
	e.get("/metrics")
	// Nothing on /metrics is counted (spec §4.2), whatever the method.
	e.do("OPTIONS", "/metrics", "")
	e.do("POST", "/metrics", "")
	r := e.get("/metrics")
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics = %d %q", r.Status, r.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		// spec §16 test 50
		"http_requests_total", "http_request_duration_seconds", "process_cpu_seconds_total", "process_resident_memory_bytes",
		// labels are route templates (fix of Q14)
		`http_requests_total{method="GET",path="/urls/:id",status_code="200"} 2`,
		`http_requests_total{method="GET",path="/r/:code",status_code="302"} 1`,
		`http_requests_total{method="GET",path="/r/:code",status_code="404"} 1`,
		`http_requests_total{method="GET",path="unmatched",status_code="404"} 2`,
		`http_requests_total{method="GET",path="/users/bulk",status_code="405"} 1`,
		`http_requests_total{method="POST",path="/urls/:id/analytics",status_code="405"} 1`,
		`http_request_duration_seconds_bucket{method="GET",path="/urls/:id",le="0.005"}`,
		`http_request_duration_seconds_count{method="GET",path="/urls/:id"} 2`,
	} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("metrics lack %q:\n%s", want, grep(r.Body, "http_"))
		}
	}
	for _, bad := range []string{`path="/metrics"`, `path="/urls/1"`, `path="/r/abc123"`, `instance=`,
		`path="/users/:id",status_code="405"`, `path="/urls/:id",status_code="404"`} {
		if strings.Contains(r.Body, bad) {
			t.Errorf("metrics contain %s:\n%s", bad, grep(r.Body, bad))
		}
	}
}

func testAccessLog(t *testing.T, newStore storeFactory) {
	quiet := newEnv(t, newStore, envConfig{})
	quiet.get("/health")
	quiet.get("/nope")
	if logs := quiet.logs.String(); logs != "" {
		t.Errorf("a healthy service logged %q", logs)
	}

	e := newEnv(t, newStore, envConfig{accessLog: true})
	e.get("/health", "X-Forwarded-For", "9.9.9.9, 10.0.0.1")
	lines := e.logs.lines(t)
	if len(lines) != 1 {
		t.Fatalf("log lines = %v, want 1", lines)
	}
	l := lines[0]
	// spec §16 test 51
	for key, want := range map[string]any{
		"message": "request.complete", "level": "INFO", "component": "http", "method": "GET",
		"path": "/health", "status_code": float64(200), "remote_addr": "9.9.9.9, 10.0.0.1", "endpoint": "system.health",
	} {
		if l[key] != want {
			t.Errorf("log %s = %v, want %v", key, l[key], want)
		}
	}
	if _, ok := l["timestamp"]; !ok {
		t.Error("log line lacks timestamp")
	}
	if _, ok := l["duration_ms"].(float64); !ok {
		t.Errorf("duration_ms = %v, want a number", l["duration_ms"])
	}
	e.get("/nope")
	e.get("/metrics")
	e.do("OPTIONS", "/metrics", "")
	e.do("POST", "/metrics", "")
	lines = e.logs.lines(t)
	if len(lines) != 2 {
		t.Fatalf("after a 404 and /metrics: %d lines, want 2 (/metrics is not logged)", len(lines))
	}
	if _, ok := lines[1]["endpoint"]; ok || lines[1]["status_code"] != float64(404) {
		t.Errorf("404 log line = %v, want no endpoint", lines[1])
	}
	// Without X-Forwarded-For, the peer's address without its port.
	if lines[1]["remote_addr"] != "127.0.0.1" {
		t.Errorf("remote_addr without X-Forwarded-For = %v, want 127.0.0.1", lines[1]["remote_addr"])
	}
}

// faultStore injects failures into selected store calls.
type faultStore struct {
	core.Store
	getURL    error
	listUsers func()
	getUser   error
	listURLs  error
}

func (f *faultStore) GetURL(ctx context.Context, id int64) (core.URL, error) {
	if f.getURL != nil {
		return core.URL{}, f.getURL
	}
	return f.Store.GetURL(ctx, id)
}

func (f *faultStore) ListUsers(ctx context.Context, p core.Page) ([]core.User, error) {
	if f.listUsers != nil {
		f.listUsers()
	}
	return f.Store.ListUsers(ctx, p)
}

func (f *faultStore) GetUser(ctx context.Context, id int64) (core.User, error) {
	if f.getUser != nil {
		return core.User{}, f.getUser
	}
	return f.Store.GetUser(ctx, id)
}

func (f *faultStore) ListURLs(ctx context.Context, flt core.URLFilter) ([]core.URL, error) {
	if f.listURLs != nil {
		return nil, f.listURLs
	}
	return f.Store.ListURLs(ctx, flt)
}

// testDegradedLogPaced: while the store is down, request.degraded is
// logged once a second per route, with the number of requests it stands
// for, rather than once per request: an outage fails every request.
func testDegradedLogPaced(t *testing.T, newStore storeFactory) {
	down := fmt.Errorf("dial tcp: %w", core.ErrUnavailable)
	fs := &faultStore{getURL: down, listURLs: down}
	e := newEnv(t, newStore, envConfig{wrapStore: func(s core.Store) core.Store { fs.Store = s; return fs }})
	for i := range 20 {
		e.get(fmt.Sprintf("/urls/%d", i+1)).wantError(t, "store down", http.StatusServiceUnavailable, "Service unavailable")
	}
	e.get("/urls").wantError(t, "store down", http.StatusServiceUnavailable, "Service unavailable")
	lines := map[string]int{} // by route: get one, list
	for _, l := range e.logs.lines(t) {
		if l["message"] != "request.degraded" {
			continue
		}
		route := "get"
		if l["path"] == "/urls" {
			route = "list"
		}
		lines[route]++
		if lines[route] == 1 && fmt.Sprint(l["requests"]) != "1" {
			t.Errorf("first request.degraded of %s: requests = %v, want 1", route, l["requests"])
		}
	}
	// Twenty requests take a few milliseconds: one line, two if they
	// straddled a second.
	if lines["get"] < 1 || lines["get"] > 2 || lines["list"] != 1 {
		t.Errorf("request.degraded lines by route = %v, want 1 (or 2) for 20 gets and 1 for the list", lines)
	}
}

func testErrorMapping(t *testing.T, newStore storeFactory) {
	fs := &faultStore{
		getURL:    fmt.Errorf("get url: dial tcp: %w", core.ErrUnavailable),
		listUsers: func() { panic("boom") },
		getUser:   errors.New("disk on fire"),
		listURLs:  fmt.Errorf("list: %w", core.ErrInvalid),
	}
	e := newEnv(t, newStore, envConfig{wrapStore: func(s core.Store) core.Store { fs.Store = s; return fs }})
	e.get("/urls/1").wantError(t, "store unavailable", http.StatusServiceUnavailable, "Service unavailable")
	e.get("/users").wantError(t, "panic", http.StatusInternalServerError, "Internal server error")
	e.get("/users/1", "X-Request-Id", "req-42").wantError(t, "unknown error", http.StatusInternalServerError, "Internal server error")
	e.get("/urls").wantError(t, "store refused input", http.StatusBadRequest, "Invalid request")

	lines := e.logs.lines(t)
	levels := map[string]string{}
	var frameworkLines []string
	for _, l := range lines {
		if l["path"] == nil {
			frameworkLines = append(frameworkLines, fmt.Sprint(l["level"], " ", l["message"]))
			continue
		}
		levels[fmt.Sprint(l["path"])] = fmt.Sprint(l["level"], " ", l["message"])
	}
	// Each 500 also logs Flask's own line first (spec §9.2).
	if want := []string{"ERROR Exception on /users [GET]", "ERROR Exception on /users/1 [GET]"}; !slices.Equal(frameworkLines, want) {
		t.Errorf("framework lines = %q, want %q", frameworkLines, want)
	}
	want := map[string]string{
		"/urls/1": "WARN request.degraded", "/users": "ERROR request.failed",
		"/users/1": "ERROR request.failed", "/urls": "WARN request.invalid",
	}
	for path, w := range want {
		if levels[path] != w {
			t.Errorf("log for %s = %q, want %q", path, levels[path], w)
		}
	}
	for _, l := range lines {
		switch l["path"] {
		case "/users/1":
			if l["request_id"] != "req-42" || !strings.Contains(fmt.Sprint(l["exception"]), "disk on fire") {
				t.Errorf("500 log = %v, want request_id req-42 and the error", l)
			}
		case "/users":
			if !strings.Contains(fmt.Sprint(l["exception"]), "goroutine") || l["component"] != "http" {
				t.Errorf("panic log = %v, want a stack trace under component http", l)
			}
		}
	}
	if len(lines) != 6 {
		t.Errorf("%d log lines, want exactly one per failure and one more per 500", len(lines))
	}
}
