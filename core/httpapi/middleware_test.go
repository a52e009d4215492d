package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/uptrace/bunrouter"
)

// TestRemoteAddr: the access log's remote_addr is the raw X-Forwarded-For
// header when present, else the peer's address without its port (spec
// §9.2, Flask's request.remote_addr).
func TestRemoteAddr(t *testing.T) {
	for _, tt := range []struct {
		peer, xff, want string
	}{
		{"127.0.0.1:38692", "", "127.0.0.1"},
		{"[2001:db8::1]:443", "", "2001:db8::1"},
		{"[::ffff:203.0.113.9]:80", "", "::ffff:203.0.113.9"},
		{"127.0.0.1:38692", "9.9.9.9, 10.0.0.1", "9.9.9.9, 10.0.0.1"},
		{"pipe", "", "pipe"},
		{"", "", ""},
	} {
		r := &http.Request{RemoteAddr: tt.peer, Header: http.Header{}}
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := remoteAddr(r); got != tt.want {
			t.Errorf("remoteAddr(peer %q, X-Forwarded-For %q) = %q, want %q", tt.peer, tt.xff, got, tt.want)
		}
	}
}

// TestWrapLogsFrameworkLine: a handler error or panic that becomes a 500
// logs Flask's own ERROR line "Exception on <path> [<METHOD>]" before
// request.failed (spec §9.2), both with the exception and one request id.
func TestWrapLogsFrameworkLine(t *testing.T) {
	for _, tt := range []struct {
		name      string
		h         bunrouter.HandlerFunc
		exception string
	}{
		{"error", func(http.ResponseWriter, bunrouter.Request) error { return errors.New("disk on fire") }, "disk on fire"},
		{"panic", func(http.ResponseWriter, bunrouter.Request) error { panic("boom") }, "goroutine"},
	} {
		var buf bytes.Buffer
		a := &api{log: slog.New(slog.NewJSONHandler(&buf, nil)), metrics: newMetrics(nil)}
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/users/7", nil)
		_ = a.wrap("/users/:id", "users.update", tt.h)(rec, bunrouter.NewRequest(r))
		if rec.Code != http.StatusInternalServerError {
			t.Errorf("%s: status %d, want 500", tt.name, rec.Code)
		}
		var lines []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("%s: log line %q: %v", tt.name, line, err)
			}
			lines = append(lines, m)
		}
		if len(lines) != 2 || lines[0]["msg"] != "Exception on /users/7 [POST]" || lines[1]["msg"] != "request.failed" {
			t.Fatalf("%s: logged %s, want Exception on /users/7 [POST], then request.failed", tt.name, buf.String())
		}
		for _, l := range lines {
			if l["level"] != "ERROR" || !strings.Contains(fmt.Sprint(l["exception"]), tt.exception) || l["request_id"] != lines[1]["request_id"] {
				t.Errorf("%s: line %v, want ERROR with exception %q and request_id %v", tt.name, l, tt.exception, lines[1]["request_id"])
			}
		}
	}
}
