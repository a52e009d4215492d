package main

import (
	"io"
	"net"
	"testing"
	"time"
)

// wantJSONServerError sends the listener at addr a request without Host,
// which net/http refuses before any handler runs, and fails the test
// unless the answer is the API's JSON error (it was net/http's plain
// text).
func wantJSONServerError(t *testing.T, addr string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET /health HTTP/1.1\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	const want = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 41\r\nConnection: close\r\n\r\n" +
		`{"error":"Missing required Host header"}` + "\n"
	if got, err := io.ReadAll(c); string(got) != want {
		t.Errorf("a request without Host to %s = %q (%v), want %q", addr, got, err, want)
	}
}
