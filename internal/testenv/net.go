package testenv

import (
	"net"
	"strconv"
	"testing"
	"time"
)

// FreePort returns a loopback port nobody listens on; with bus, one whose
// Redis cluster bus port (+10000) is free too.
func FreePort(tb testing.TB, bus bool) int {
	tb.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("find a free port: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if !bus {
			l.Close()
			return port
		}
		if port+10000 > 65535 {
			l.Close()
			continue
		}
		l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		l.Close()
		if err != nil {
			continue
		}
		l2.Close()
		return port
	}
	tb.Fatal("no free port with a free cluster bus port")
	return 0
}

// FreeAddr returns a free loopback address, "127.0.0.1:PORT".
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	return "127.0.0.1:" + strconv.Itoa(FreePort(tb, false))
}

// WaitTCP waits up to 10s for something to accept connections on addr,
// and fails the test otherwise.
func WaitTCP(tb testing.TB, addr string) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("nothing listens on %s", addr)
}
