package httpapi

import (
	"log/slog"
	"net/http"
	"time"
)

// streamFlushBytes is how much of a streamed list is encoded before it is
// written.
const streamFlushBytes = 32 << 10

// listWriter writes a JSON array incrementally, in exactly the shape
// appendList gives it, so that the unpaginated lists (GET /users, GET
// /events) never hold the whole answer in memory. Each write gets its own
// deadline (Options.WriteTimeout): a client that keeps reading may take a
// long list, one that stops reading is cut off.
type listWriter[T any] struct {
	w        http.ResponseWriter
	enc      func([]byte, T) []byte
	timeout  time.Duration
	buf      *buffer
	started  bool
	n        int
	writeErr error
}

func newListWriter[T any](w http.ResponseWriter, enc func([]byte, T) []byte, timeout time.Duration) *listWriter[T] {
	return &listWriter[T]{w: w, enc: enc, timeout: timeout}
}

// chunk encodes items and writes them out in pieces of about
// streamFlushBytes. The first call sends the header.
func (l *listWriter[T]) chunk(items []T) error {
	if !l.started {
		l.started = true
		l.buf = getBuffer()
		l.w.Header()["Content-Type"] = headerJSON
		l.w.WriteHeader(http.StatusOK)
		l.buf.b = append(l.buf.b, '[')
	}
	for i := range items {
		if l.n > 0 {
			l.buf.b = append(l.buf.b, ',')
		}
		l.n++
		l.buf.b = l.enc(l.buf.b, items[i])
		if len(l.buf.b) >= streamFlushBytes {
			if err := l.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l *listWriter[T]) flush() error {
	if l.timeout > 0 {
		_ = http.NewResponseController(l.w).SetWriteDeadline(time.Now().Add(l.timeout))
	}
	_, err := l.w.Write(l.buf.b)
	l.buf.b = l.buf.b[:0]
	if err != nil {
		l.writeErr = err
	}
	return err
}

// end finishes the list after the producer returned err. Before anything
// was written, err is returned for the usual error answer. After, a
// client that stopped reading ends the request quietly, and a failed read
// of the store aborts the connection so that the client sees a broken
// answer rather than a short list.
func (l *listWriter[T]) end(a *api, r *http.Request, err error) error {
	if !l.started {
		return err
	}
	defer putBuffer(l.buf)
	switch {
	case l.writeErr != nil:
		return nil
	case err != nil:
		a.logRequest(r, slog.LevelError, "request.failed", "exception", err.Error(), "rows_written", l.n)
		panic(http.ErrAbortHandler)
	}
	l.buf.b = append(l.buf.b, "]\n"...)
	_ = l.flush()
	return nil
}
