package app

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core"
)

// TestOpenStorePostgresErrorNamesStoreOnce: a PostgreSQL server that
// cannot be reached is reported as "open postgres store URL: ping store:
// …", the URL masked; the driver used to add a second "open postgres
// store:" after the host's.
func TestOpenStorePostgresErrorNamesStoreOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: the connection is refused

	url := "postgres://curtain:hunter2@" + addr + "/curtain"
	_, err = OpenStore(t.Context(), config.Store{Driver: "postgres", PostgresURL: config.Secret(url)})
	if err == nil {
		t.Fatalf("OpenStore(%s) with nothing listening: no error", addr)
	}
	msg := err.Error()
	if n := strings.Count(msg, "open postgres store"); n != 1 {
		t.Errorf("OpenStore error says %q %d times, want once:\n%s", "open postgres store", n, msg)
	}
	want := "open postgres store " + config.Secret(url).String() + ": ping store: "
	if !strings.HasPrefix(msg, want) {
		t.Errorf("OpenStore error = %q, want it to start with %q", msg, want)
	}
	if strings.Contains(msg, "hunter2") {
		t.Errorf("OpenStore error shows the password: %s", msg)
	}
	if !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("OpenStore error is not core.ErrUnavailable: %v", err)
	}
}
