package bunstore

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/curtainhq/curtain/core"
)

// refusingServer accepts PostgreSQL connections and answers each startup
// message with a FATAL error of SQLSTATE state, as a server does for a
// database altered with ALLOW_CONNECTIONS false (55000). It returns the
// server's address.
func refusingServer(t *testing.T, state string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var n [4]byte
				if _, err := io.ReadFull(c, n[:]); err != nil {
					return
				}
				if _, err := io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(n[:]))-4); err != nil {
					return
				}
				body := []byte("SFATAL\x00VFATAL\x00C" + state + "\x00Mdatabase \"x\" is not currently accepting connections\x00\x00")
				msg := append([]byte{'E', 0, 0, 0, 0}, body...)
				binary.BigEndian.PutUint32(msg[1:], uint32(4+len(body)))
				c.Write(msg)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestKindConnectRefused: a connection the server refuses is
// core.ErrUnavailable (a redirect or API call answers 503, not 500), even
// with a SQLSTATE that means nothing of the kind after a connection was
// made (55000, object_not_in_prerequisite_state: the database does not
// accept connections for now).
func TestKindConnectRefused(t *testing.T) {
	addr := refusingServer(t, "55000")
	_, err := pgconn.Connect(t.Context(), "postgres://u@"+addr+"/x?sslmode=disable&connect_timeout=5")
	if err == nil {
		t.Fatal("connected to a server that refuses every connection")
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); !ok {
		t.Fatalf("error %T %v is not a pgconn.ConnectError", err, err)
	}
	if got := kind(err); got != core.ErrUnavailable {
		t.Errorf("kind(%v) = %v, want %v", err, got, core.ErrUnavailable)
	}
	if w := wrapf(err, "get url %q", "abc123"); !errors.Is(w, core.ErrUnavailable) {
		t.Errorf("wrapf(%v) does not wrap core.ErrUnavailable", w)
	}
}
