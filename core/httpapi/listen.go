package httpapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
)

// serverErrors are net/http's plain-text answers, each with the message
// of its JSON answer. net/http's status line adds ": detail" when there
// is one, and its body repeats the status line unless body is given.
var serverErrors = []struct {
	code                  int
	detail, body, message string
}{
	{code: http.StatusRequestHeaderFieldsTooLarge, message: "Request header fields too large"},
	{code: http.StatusNotImplemented, body: "Unsupported transfer encoding", message: "Unsupported transfer encoding"},
	{code: http.StatusBadRequest, message: "Malformed HTTP request"},
	{code: http.StatusBadRequest, detail: "missing required Host header", message: "Missing required Host header"},
	{code: http.StatusBadRequest, detail: "malformed Host header", message: "Malformed Host header"},
	{code: http.StatusBadRequest, detail: "invalid header name", message: "Invalid header name"},
	{code: http.StatusBadRequest, detail: "invalid header value", message: "Invalid header value"},
	{code: http.StatusHTTPVersionNotSupported, detail: "unsupported protocol version", message: "Unsupported HTTP version"},
}

// jsonAnswers maps each plain-text answer to its JSON answer, and
// minPlain and maxPlain bound the plain-text answers' lengths, so that a
// Write of another length costs two comparisons.
var jsonAnswers, minPlain, maxPlain = func() (m map[string][]byte, lo, hi int) {
	m = make(map[string][]byte, len(serverErrors))
	for _, e := range serverErrors {
		status := strconv.Itoa(e.code) + " " + http.StatusText(e.code)
		plain := status
		if e.detail != "" {
			plain += ": " + e.detail
		}
		body := e.body
		if body == "" {
			body = plain
		}
		plain = "HTTP/1.1 " + plain + "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n" + body
		jsonBody := errorBody(e.message)
		m[plain] = fmt.Appendf(nil, "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
			status, len(jsonBody), jsonBody)
		if lo == 0 || len(plain) < lo {
			lo = len(plain)
		}
		hi = max(hi, len(plain))
	}
	return m, lo, hi
}()

// Listen announces on the TCP address addr for a server built by
// NewServer, whose own answers to requests it cannot read are then JSON
// errors ({"error": "..."}, Content-Type application/json) with net/http's
// status: 431 "Request header fields too large", 501 "Unsupported
// transfer encoding", 505 "Unsupported HTTP version", and 400 "Malformed
// HTTP request", "Missing required Host header", "Malformed Host header",
// "Invalid header name" or "Invalid header value". Every other byte,
// deadline and method of the connection passes through unchanged.
// Curtain serves plain HTTP (TLS ends at a proxy); under TLS the
// server's answers are encrypted before they reach the connection and
// stay plain text.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return listener{ln.(*net.TCPListener)}, nil
}

type listener struct{ *net.TCPListener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.AcceptTCP()
	if err != nil {
		return nil, err
	}
	return &conn{TCPConn: c}, nil
}

// conn is an accepted connection that writes the JSON answer in place of
// net/http's plain-text one. net/http answers a request it cannot read
// itself, before any handler runs, with no hook to change the answer: it
// writes it with one fmt.Fprintf straight on the connection (see
// (*conn).serve in net/http's server.go), then closes the connection. A
// handler's answer goes through the server's buffered writer instead.
type conn struct {
	*net.TCPConn
	// answering is set while a handler answers on the connection, from
	// the handler's start until the server turns the connection idle
	// (NewServer's hooks). A handler's Write is never rewritten: one that
	// flushes its header and then writes a plain-text answer's bytes as
	// its body would otherwise match.
	answering atomic.Bool
}

func (c *conn) Write(p []byte) (int, error) {
	if len(p) < minPlain || len(p) > maxPlain || c.answering.Load() {
		return c.TCPConn.Write(p)
	}
	answer, ok := jsonAnswers[string(p)]
	if !ok {
		return c.TCPConn.Write(p)
	}
	if _, err := c.TCPConn.Write(answer); err != nil {
		return 0, err
	}
	return len(p), nil
}

// connKey is the request context's key of its *conn (withConn).
type connKey struct{}

// withConn is the server's ConnContext: it makes a connection of Listen
// known to markAnswering.
func withConn(ctx context.Context, c net.Conn) context.Context {
	if c, ok := c.(*conn); ok {
		return context.WithValue(ctx, connKey{}, c)
	}
	return ctx
}

// markAnswering marks the request's connection as answering before h
// writes anything on it.
func markAnswering(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(connKey{}).(*conn); ok {
			c.answering.Store(true)
		}
		h.ServeHTTP(w, r)
	})
}

// connIdle is the server's ConnState: the server turns a connection idle
// once its last answer is written whole.
func connIdle(c net.Conn, s http.ConnState) {
	if c, ok := c.(*conn); ok && s == http.StateIdle {
		c.answering.Store(false)
	}
}
