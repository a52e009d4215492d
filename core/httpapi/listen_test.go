package httpapi

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// plain400 is net/http's own answer to a request it cannot read.
const plain400 = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request"

// serveListen serves h through NewServer on a loopback listener of Listen
// until the test ends, and returns its address.
func serveListen(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(h, DefaultTimeouts)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return ln.Addr().String()
}

// imitator answers /flushed with a body that is net/http's own answer,
// written alone after its header is flushed, and /imitate with net/http's
// own answer byte for byte (no Date, no Content-Length, the connection
// closed after it).
var imitator = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/flushed":
		w.Header().Set("Content-Length", strconv.Itoa(len(plain400)))
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		io.WriteString(w, plain400)
	case "/imitate":
		w.Header()["Date"] = nil
		w.Header()["Content-Length"] = nil
		w.Header().Set("Transfer-Encoding", "identity")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, "400 Bad Request")
	}
})

// TestListenLeavesHandlerAnswers: a handler's answer is never rewritten,
// even when a Write of it is exactly net/http's plain-text answer; the
// server's own answer after it on the same connection is JSON.
func TestListenLeavesHandlerAnswers(t *testing.T) {
	addr := serveListen(t, imitator)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)

	io.WriteString(c, "GET /flushed HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != plain400 {
		t.Errorf("GET /flushed = %d %q, want 200 %q", resp.StatusCode, body, plain400)
	}

	io.WriteString(c, "GET /flushed HTTP/1.1\r\n\r\n") // no Host
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || string(body) != `{"error":"Missing required Host header"}`+"\n" {
		t.Errorf("a request without Host after a kept-alive answer = %d %q, want 400 JSON", resp.StatusCode, body)
	}

	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c2, "GET /imitate HTTP/1.1\r\nHost: x\r\n\r\n")
	if raw, _ := io.ReadAll(c2); string(raw) != plain400 {
		t.Errorf("GET /imitate = %q, want the handler's bytes %q", raw, plain400)
	}
}

// TestListenUnderTLSAndHTTP2: served over TLS with HTTP/2 on a listener of
// Listen, the server answers as usual (Curtain itself serves plain HTTP/1).
func TestListenUnderTLSAndHTTP2(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	ts.Listener.Close()
	ts.Listener = ln
	ts.Config = NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, []byte(`{"proto":"`+r.Proto+`"}`+"\n"))
	}), DefaultTimeouts)
	ts.EnableHTTP2 = true
	ts.StartTLS()
	defer ts.Close()
	resp, err := ts.Client().Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct{ Proto string }
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK || got.Proto != "HTTP/2.0" {
		t.Errorf("GET over TLS = %d %+v %v, want 200 over HTTP/2.0", resp.StatusCode, got, err)
	}
	if !strings.HasPrefix(resp.Proto, "HTTP/2") {
		t.Errorf("client saw %s, want HTTP/2", resp.Proto)
	}
}
