package httpapi

import (
	"net/http"
	"testing"
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
