package apptest_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzPath sends GET, HEAD and DELETE requests with arbitrary paths (raw
// bytes, escapes, dot segments, huge integers) through the router: none
// panics or gets a 5xx, and every 4xx is a JSON error.
func FuzzPath(f *testing.F) {
	for _, p := range []string{"/urls/1", "/urls/%31", "/urls/1/analytics", "/r/abc123", "/urls/short/abc123",
		"/urls/abc123/redirect", "/users/99999999999999999999", "/events/-1", "/a/../urls/1", "//urls", "/urls/1/",
		"/assets/../web/index.html", "/static/x", "/urls/\u0661", "/r/%00", "/health/ready", "/"} {
		f.Add(uint8(0), p)
	}
	methods := []string{http.MethodGet, http.MethodHead, http.MethodDelete}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, m uint8, path string) {
		req := httptest.NewRequestWithContext(t.Context(), methods[int(m)%len(methods)], "http://api.test/", nil)
		// Set the decoded path directly, as the server sees it after
		// net/http parsed any request line.
		req.URL.Path, req.URL.RawPath = path, ""
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 500 {
			t.Fatalf("%s %q = %d %s", req.Method, path, res.StatusCode, b)
		}
		if req.Method != http.MethodHead {
			checkErrorBody(t, req.Method+" "+path, path, res.StatusCode, res.Header.Get("Content-Type"), string(b))
		}
	})
}

// FuzzBulkUsersCSV uploads arbitrary CSV files to POST /users/bulk (the
// bulk importer): none panics or gets a 5xx; a refused file is a JSON
// error.
func FuzzBulkUsersCSV(f *testing.F) {
	for _, s := range []string{
		"username,email\nbob,bob@example.com\n",
		"id,username,email,created_at\n7,c,c@x.io,2025-01-02 03:04:05\n",
		"username,email\n\"un,closed,x@y\n",
		"username,email,created_at\na,a@b.c,yesterday\n",
		"id,username,email\n2147483647,max,max@x.io\n",
		"\xff\xfe,\n",
		"username\n",
		"",
	} {
		f.Add(s)
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, csv string) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, err := mw.CreateFormFile("file", "users.csv")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write([]byte(csv))
		_ = mw.Close()
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "http://api.test/users/bulk", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		res := rec.Result()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 500 {
			t.Fatalf("bulk import of %q = %d %s", csv, res.StatusCode, b)
		}
		checkErrorBody(t, "POST /users/bulk", "/users/bulk", res.StatusCode, res.Header.Get("Content-Type"), string(b))
	})
}
