package apptest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/httpapi"
	"github.com/curtainhq/curtain/plugins/memory"
)

// badRequest is one hostile or broken request.
type badRequest struct {
	method, path, ct, body string
	status                 int // expected status
}

// badRequests covers bad input of every kind. None may produce a 5xx.
func badRequests() []badRequest {
	const js = "application/json"
	long := strings.Repeat("a", 3000)
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	deepObj := strings.Repeat(`{"a":`, 2000) + "1" + strings.Repeat("}", 2000)
	return []badRequest{
		// POST /urls
		{"POST", "/urls", js, `{"original_url": `, 400},
		{"POST", "/urls", js, `{"original_url":"https://x.io/` + long + `"}`, 400},
		{"POST", "/urls", js, `{"original_url":"javascript:alert(document.cookie)"}`, 400},
		{"POST", "/urls", js, `{"original_url":"JaVaScRiPt://x.io/%0aalert(1)"}`, 400},
		{"POST", "/urls", js, `{"original_url":"vbscript:msgbox"}`, 400},
		{"POST", "/urls", js, `{"original_url":"http://[abc/x"}`, 400},
		{"POST", "/urls", js, `{"original_url":"http://[::1"}`, 400},
		{"POST", "/urls", js, `{"original_url":"http://]"}`, 400},
		{"POST", "/urls", js, `{"original_url":"http://x/\r\n\r\n<html>"}`, 400},
		{"POST", "/urls", js, "{\"original_url\":\"https://x.io/\xff\"}", 400},
		{"POST", "/urls", js, "{\"original_url\":\"https://x.io/\x00\"}", 400},
		{"POST", "/urls", js, "\x00\x00\x00", 400},
		{"POST", "/urls", js, `{"original_url":"https://x.io","user_id":1e400}`, 400},
		{"POST", "/urls", js, `{"original_url":"https://x.io/u","user_id":99999999999999999999999999}`, 400},
		{"POST", "/urls", js, `{"original_url":"https://x.io/u","user_id":-2147483649}`, 400},
		{"POST", "/urls", js, `{"original_url":"https://x.io","title":{"a":1}}`, 400},
		{"POST", "/urls", js, `{"original_url":"https://x.io","title":"` + strings.Repeat("é", 256) + `"}`, 400},
		{"POST", "/urls", js, `{"original_url":"https://x.io","title":"\u0000"}`, 400},
		{"POST", "/urls", js, `{"original_url":["https://x.io"]}`, 400},
		{"POST", "/urls", js, `{"original_url":"\ud800"}`, 400},
		{"POST", "/urls", js, deep, 400},
		{"POST", "/urls", js, deepObj, 400},
		{"POST", "/urls", "application/x-www-form-urlencoded", "original_url=https://x.io", 400},
		{"POST", "/urls", "multipart/form-data; boundary=x", "--x\r\n", 400},
		{"POST", "/urls", "garbage/;;;", `{"original_url":"https://x.io"}`, 400},
		// GET /urls, /users, /events with bad queries
		{"GET", "/urls?user_id=abc", "", "", 400},
		{"GET", "/urls?user_id=%00", "", "", 400},
		{"GET", "/urls?user_id=%FF", "", "", 400},
		{"GET", "/urls?user_id=99999999999999999999", "", "", 200},
		{"GET", "/urls?is_active=%00", "", "", 400},
		{"GET", "/urls?limit=%FF%FE", "", "", 200},
		{"GET", "/urls?limit=-99999999999999999999999", "", "", 200},
		{"GET", "/urls?user_id=1;is_active=true", "", "", 400},
		{"GET", "/urls?%zz=1&user_id=%zz", "", "", 400},
		{"GET", "/users?page=99999999999999999999&per_page=99999999999999999999", "", "", 200},
		{"GET", "/users?page=9223372036854775807&per_page=2", "", "", 200},
		{"GET", "/users?page=%00", "", "", 200},
		{"GET", "/users?per_page=-99999999999999999999", "", "", 400},
		{"GET", "/events?url_id=1e3", "", "", 400},
		{"GET", "/events?event_type=%00", "", "", 200},
		{"GET", "/events?event_type=%FF%FE", "", "", 200},
		{"GET", "/events?event_type=" + long, "", "", 200},
		{"GET", "/events?user_id=-99999999999999999999", "", "", 200},
		// ids
		{"GET", "/users/99999999999999999999", "", "", 404},
		{"GET", "/users/2147483648", "", "", 404},
		{"PUT", "/users/4294967296", js, `{}`, 404},
		{"DELETE", "/users/99999999999999999999", "", "", 404},
		{"GET", "/urls/99999999999999999999", "", "", 404},
		{"PUT", "/urls/99999999999999999999", js, `{}`, 404},
		{"DELETE", "/urls/2147483648", "", "", 404},
		{"GET", "/urls/99999999999999999999/analytics", "", "", 404},
		{"GET", "/urls/2147483648/realtime", "", "", 404},
		{"GET", "/events/99999999999999999999", "", "", 404},
		{"GET", "/urls/%2e%2e/analytics", "", "", 404},
		// codes
		{"GET", "/r/%00", "", "", 404},
		{"GET", "/r/%FF%FE", "", "", 404},
		{"GET", "/r/%C0%80", "", "", 404},
		{"GET", "/r/" + long, "", "", 404},
		{"GET", "/urls/short/%0D%0ASet-Cookie:x", "", "", 404},
		{"GET", "/urls/%00/redirect", "", "", 404},
		{"GET", "/r/a%2Fb", "", "", 404},
		// users
		{"POST", "/users", js, `{"username":"` + long + `","email":"a@b.c"}`, 422},
		{"POST", "/users", js, `{"username":"x","email":"` + long + `@b.c"}`, 422},
		{"POST", "/users", js, `{"username":"\u0000","email":"a@b.c"}`, 422},
		{"POST", "/users", js, "{\"username\":\"\xc3\",\"email\":\"a@b.c\"}", 422},
		{"POST", "/users", js, `{"username":["x"],"email":"a@b.c"}`, 422},
		{"POST", "/users", js, deep, 422},
		{"PUT", "/users/1", js, `{"email":"` + long + `@b.c"}`, 422},
		// events
		{"POST", "/events", js, `{"url_id":1,"event_type":"` + long + `"}`, 400},
		{"POST", "/events", js, `{"url_id":99999999999999999999,"event_type":"x"}`, 404},
		{"POST", "/events", js, `{"url_id":1,"event_type":"x","user_id":2147483648}`, 404},
		{"POST", "/events", js, `{"url_id":1,"event_type":"x","details":` + deepObj + `}`, 400},
		{"POST", "/events", js, `{"url_id":1,"event_type":"x","details":{"a":"\u0000\ud83d\ude00"}}`, 201},
		{"POST", "/events", js, `{"url_id":1,"event_type":"x","details":{"n":1e308,"m":-1e-320}}`, 201},
		{"POST", "/events", js, `{"url_id":1,"event_type":"x","details":{"n":1e309}}`, 400},
		// PUT /urls
		{"PUT", "/urls/1", js, `{"title":"` + long + `"}`, 400},
		{"PUT", "/urls/1", js, `{"\u0000":1}`, 400},
		{"PUT", "/urls/1", js, "{\"title\":\"\xff\"}", 400},
		// bulk
		{"POST", "/users/bulk", "text/csv", "username,email\na,a@b.c\n", 400},
		{"POST", "/users/bulk", "multipart/form-data", "garbage", 400},
		{"POST", "/users/bulk", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"u.csv\"\r\n\r\nid,username,email\n99999999999999999999,a,a@b.c\n\r\n--b--\r\n", 400},
		{"POST", "/users/bulk", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"u.csv\"\r\n\r\nusername,email\n\"unterminated,a@b.c\n\r\n--b--\r\n", 400},
		{"POST", "/users/bulk", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"u.csv\"\r\n\r\nusername,email\n" + long + ",a@b.c\n\r\n--b--\r\n", 400},
		{"POST", "/users/bulk", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"u.csv\"\r\n\r\nusername,email,created_at\na,a@b.c,99999-01-01 00:00:00\n\r\n--b--\r\n", 400},
		// UI
		{"POST", "/shorten-ui", "application/x-www-form-urlencoded", "original_url=https://x.io&user_id=1.5", 400},
		{"POST", "/shorten-ui", "application/x-www-form-urlencoded", "original_url=%FF%00&user_id=%00", 400},
		{"POST", "/shorten-ui", "application/x-www-form-urlencoded", "original_url=https://x.io/ui&user_id=99999999999999999999", 400},
		{"POST", "/shorten-ui", "multipart/form-data", "garbage", 400},
		{"POST", "/shorten-ui", "application/x-www-form-urlencoded", "original_url=javascript%3Aalert(1)", 400},
		// methods and paths
		{"PATCH", "/urls/1", js, `{}`, 405},
		{"TRACE", "/", "", "", 405},
		{"BREW", "/health", "", "", 405},
		{"GET", "/%00", "", "", 404},
		{"GET", "/" + long, "", "", 404},
	}
}

func testNoServerErrors(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{maxUpload: 1 << 20})
	u := e.user("owner")
	e.url("abc123", "https://example.com/1", &u.ID, true)
	for _, br := range badRequests() {
		name := fmt.Sprintf("%s %.60s", br.method, br.path)
		var header []string
		if br.ct != "" {
			header = []string{"Content-Type", br.ct}
		}
		r := e.do(br.method, br.path, br.body, header...)
		if r.Status >= 500 {
			t.Errorf("%s (body %.60q) = %d %s", name, br.body, r.Status, r.Body)
			continue
		}
		if r.Status != br.status {
			t.Errorf("%s (body %.60q) = %d %s, want %d", name, br.body, r.Status, r.Body, br.status)
		}
		checkErrorBody(t, name, br.path, r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	if logs := e.logs.String(); strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("bad input logged errors:\n%s", logs)
	}
}

// checkErrorBody checks that a 4xx answer is a JSON error envelope (or an
// HTML fragment for the UI route).
func checkErrorBody(t *testing.T, name, path string, status int, ct, body string) {
	t.Helper()
	if status < 400 || (status == 405 && body == "") {
		return
	}
	if strings.HasPrefix(path, "/shorten-ui") && status == 400 {
		if !strings.HasPrefix(body, `<div id="message" class="error">`) {
			t.Errorf("%s: fragment %q", name, body)
		}
		return
	}
	if ct != "application/json" || !strings.HasSuffix(body, "}\n") {
		t.Errorf("%s: %d %q %q is not a JSON error", name, status, ct, body)
		return
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Errorf("%s: body %q: %v", name, body, err)
		return
	}
	if _, ok := m["error"].(string); !ok {
		if _, ok := m["errors"].(map[string]any); !ok || status != 422 {
			t.Errorf("%s: body %q has no error", name, body)
		}
	}
}

// FuzzAPI drives arbitrary requests through the handler (in process, over
// SQLite) and checks that none gets a 5xx and every 4xx is a JSON error.
func FuzzAPI(f *testing.F) {
	methods := []string{"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"}
	paths := []string{"/urls", "/urls/1", "/users", "/users/1", "/events", "/events/1", "/r/abc123",
		"/urls/1/analytics", "/users/bulk", "/shorten-ui", "/urls/short/abc123", "/health"}
	cts := []string{"application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=b", ""}
	for _, br := range badRequests() {
		if len(br.body) > 4096 || len(br.path) > 200 {
			continue
		}
		f.Add(uint8(0), uint8(0), uint8(0), br.path, br.body)
	}
	f.Add(uint8(1), uint8(0), uint8(0), "", `{"original_url":"https://x.io","title":"t","user_id":1}`)
	f.Add(uint8(1), uint8(4), uint8(0), "", `{"username":"a","email":"a@b.c"}`)
	f.Add(uint8(1), uint8(8), uint8(3), "", "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"u.csv\"\r\n\r\nusername,email\na,a@b.c\n\r\n--b--\r\n")
	f.Add(uint8(2), uint8(1), uint8(0), "", `{"title":"x","is_active":false}`)
	f.Add(uint8(1), uint8(4), uint8(0), "?x=1", `{"url_id":1,"event_type":"click","details":{"a":[1,2.5e-9]}}`)

	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, m, p, c uint8, suffix, body string) {
		path := paths[int(p)%len(paths)] + suffix
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " #\x00\r\n\t") {
			path = paths[int(p)%len(paths)]
		}
		req := httptest.NewRequestWithContext(t.Context(), methods[int(m)%len(methods)], "http://api.test/", strings.NewReader(body))
		req.URL.Path, req.URL.RawQuery, _ = strings.Cut(path, "?")
		if ct := cts[int(c)%len(cts)]; ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s %q = %d %s", req.Method, path, body, res.StatusCode, b)
		}
		checkErrorBody(t, req.Method+" "+path, path, res.StatusCode, res.Header.Get("Content-Type"), string(b))
	})
}

// fuzzHandler builds one handler over a SQLite store for the whole fuzz
// run, with a user and a URL to act on.
func fuzzHandler(f *testing.F) http.Handler {
	store := openSQLiteTB(f)
	ctx := f.Context()
	u := core.User{Username: "fuzz", Email: "fuzz@example.com", CreatedAt: t0}
	if err := store.CreateUser(ctx, &u); err != nil {
		f.Fatal(err)
	}
	link := core.URL{UserID: &u.ID, ShortCode: "abc123", OriginalURL: "https://example.com/1", IsActive: true, CreatedAt: t0, UpdatedAt: t0}
	if err := store.CreateURL(ctx, &link, nil); err != nil {
		f.Fatal(err)
	}
	svc := core.NewService(store, core.ServiceConfig{Counter: memory.NewCounter(), Cache: memory.NewCache()})
	return httpapi.New(svc, httpapi.Options{InstanceID: "fuzz", MaxUploadBytes: 1 << 20})
}
