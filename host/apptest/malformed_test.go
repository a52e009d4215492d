package apptest_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/httpapi"
	"github.com/curtainhq/curtain/plugins/memory"
)

// apiServer serves the API over a SQLite store through
// httpapi.NewServer on a loopback port of listen until the test ends.
func apiServer(t *testing.T, listen func(addr string) (net.Listener, error)) string {
	t.Helper()
	svc := core.NewService(openSQLiteTB(t), core.ServiceConfig{Counter: memory.NewCounter(), Cache: memory.NewCache()})
	srv := httpapi.NewServer(httpapi.New(svc, httpapi.Options{}), httpapi.DefaultTimeouts)
	ln, err := listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return ln.Addr().String()
}

// plainListen is net.Listen on TCP.
func plainListen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }

// wantJSONError reads one answer from r and fails the test unless it is
// status with the JSON body {"error": message}, a matching Content-Length
// and Connection: close, and the server then closes the connection.
func wantJSONError(t *testing.T, what string, r *bufio.Reader, status int, message string) {
	t.Helper()
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Errorf("%s: reading the answer: %v", what, err)
		return
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("%s: reading the body: %v", what, err)
	}
	var got struct {
		Error *string `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil || got.Error == nil || *got.Error != message || !bytes.HasSuffix(body, []byte("}\n")) {
		t.Errorf("%s: body %q, want {\"error\":%q} and a newline", what, body, message)
	}
	if resp.StatusCode != status {
		t.Errorf("%s: status %d, want %d", what, resp.StatusCode, status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
		t.Errorf("%s: Content-Length %q for a body of %d bytes", what, cl, len(body))
	}
	if !resp.Close {
		t.Errorf("%s: the answer does not close the connection (Connection: %q)", what, resp.Header.Get("Connection"))
	}
	if rest, _ := io.ReadAll(r); len(rest) > 0 {
		t.Errorf("%s: %q after the answer", what, rest)
	}
}

// TestMalformedRequestsAnswerJSON: a request net/http cannot read gets the
// API's JSON error with net/http's status, where net/http answered in
// plain text.
func TestMalformedRequestsAnswerJSON(t *testing.T) {
	addr := apiServer(t, httpapi.Listen)
	for _, tt := range []struct {
		name, request string
		status        int
		message       string
	}{
		{"header over MaxHeaderBytes", "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", http.DefaultMaxHeaderBytes+8<<10) + "\r\n\r\n",
			http.StatusRequestHeaderFieldsTooLarge, "Request header fields too large"},
		{"header name with a space", "GET /health HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n", http.StatusBadRequest, "Invalid header name"},
		{"control character in a header", "GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", http.StatusBadRequest, "Malformed HTTP request"},
		{"malformed Host", "GET /health HTTP/1.1\r\nHost: a b\r\n\r\n", http.StatusBadRequest, "Malformed Host header"},
		{"missing Host", "GET /health HTTP/1.1\r\n\r\n", http.StatusBadRequest, "Missing required Host header"},
		{"invalid method", "G@T /health HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusBadRequest, "Malformed HTTP request"},
		{"malformed request line", "GET\r\nHost: x\r\n\r\n", http.StatusBadRequest, "Malformed HTTP request"},
		{"malformed HTTP version", "GET /health HTTX/1.1\r\nHost: x\r\n\r\n", http.StatusBadRequest, "Malformed HTTP request"},
		{"HTTP/2.0 request line", "GET /health HTTP/2.0\r\nHost: x\r\n\r\n", http.StatusHTTPVersionNotSupported, "Unsupported HTTP version"},
		{"HTTP/9.9", "GET /health HTTP/9.9\r\nHost: x\r\n\r\n", http.StatusHTTPVersionNotSupported, "Unsupported HTTP version"},
		{"unsupported Transfer-Encoding", "POST /urls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip\r\n\r\n",
			http.StatusNotImplemented, "Unsupported transfer encoding"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			// The server may answer before it has read the whole request.
			go io.WriteString(c, tt.request)
			wantJSONError(t, tt.name, bufio.NewReader(c), tt.status, tt.message)
		})
	}
}

// TestMalformedAfterKeptAliveAnswers: on one kept-alive connection the
// API's answers are byte for byte those of the same API on a plain
// listener (the Date header aside); a malformed request after them gets
// its JSON error.
func TestMalformedAfterKeptAliveAnswers(t *testing.T) {
	addr, plainAddr := apiServer(t, httpapi.Listen), apiServer(t, plainListen)
	requests := []string{
		"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /urls HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /urls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
		"GET /r/nowhere HTTP/1.1\r\nHost: x\r\n\r\n",
		"DELETE /health HTTP/1.1\r\nHost: x\r\n\r\n",
		"HEAD /users HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /users/abc HTTP/1.1\r\nHost: x\r\n\r\n",
	}
	date := regexp.MustCompile(`\r\nDate: [^\r]*`)
	transcript := func(addr string) (string, *bufio.Reader) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(20 * time.Second))
		var raw bytes.Buffer
		r := bufio.NewReader(io.TeeReader(c, &raw))
		for _, req := range requests {
			io.WriteString(c, req)
			resp, err := http.ReadResponse(r, &http.Request{Method: strings.Fields(req)[0]})
			if err != nil {
				t.Fatalf("%q: %v", req, err)
			}
			io.Copy(io.Discard, resp.Body)
			if resp.Close {
				t.Fatalf("%q: the server closed the connection", req)
			}
		}
		io.WriteString(c, "GET /health HTTP/1.1\r\nHost: x\r\nX-Bad Name: y\r\n\r\n")
		return date.ReplaceAllString(raw.String(), "\r\nDate: *"), r
	}
	got, r := transcript(addr)
	want, _ := transcript(plainAddr)
	if got != want {
		t.Errorf("answers on a listener of httpapi.Listen:\n%s\nwant those of a plain listener:\n%s", got, want)
	}
	if !strings.Contains(got, `{"error":"Not found"}`) || !strings.Contains(got, `{"error":"Method not allowed"}`) {
		t.Errorf("the transcript misses the expected answers:\n%s", got)
	}
	wantJSONError(t, "a malformed request after kept-alive answers", r, http.StatusBadRequest, "Invalid header name")
}
