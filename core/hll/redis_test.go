package hll

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/curtainhq/curtain/internal/testenv"
)

// respConn is the smallest Redis client the integration test needs, so that
// this package's tests do without a Redis client library.
type respConn struct {
	c net.Conn
	r *bufio.Reader
}

// dialRedis starts a redis-server of the test's own and connects to it.
func dialRedis(t *testing.T) *respConn {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test skipped in -short mode")
	}
	srv := testenv.StartRedis(t, testenv.RedisOptions{})
	c, err := net.DialTimeout("tcp", srv.Addr(), 5*time.Second)
	if err != nil {
		t.Fatalf("connect to redis at %s: %v", srv.Addr(), err)
	}
	t.Cleanup(func() { c.Close() })
	return &respConn{c: c, r: bufio.NewReader(c)}
}

func (rc *respConn) must(t *testing.T, args ...string) any {
	t.Helper()
	v, err := rc.do(args...)
	if err != nil {
		t.Fatalf("redis %s: %v", args[0], err)
	}
	return v
}

func (rc *respConn) do(args ...string) (any, error) {
	if err := rc.c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := rc.c.Write(b.Bytes()); err != nil {
		return nil, err
	}
	return rc.read()
}

// read parses one RESP2 reply: string, int64, []byte (nil for a null bulk
// string) or []any.
func (rc *respConn) read() (any, error) {
	line, err := rc.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty reply line")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return nil, errors.New(line[1:])
	case ':':
		return strconv.ParseInt(line[1:], 10, 64)
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return []byte(nil), err
		}
		buf := make([]byte, n+2)
		if _, err := readFull(rc.r, buf); err != nil {
			return nil, err
		}
		return buf[:n], nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, max(n, 0))
		for range n {
			v, err := rc.read()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown reply %q", line)
}

func readFull(r *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func keyPrefix(t *testing.T) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "test:hll:" + hex.EncodeToString(b[:]) + ":"
}

// pfadd adds elements [from, to) named by name to key in batches, and to r.
func pfadd(t *testing.T, rc *respConn, key string, r Registers, from, to int) {
	t.Helper()
	const batch = 1000
	for lo := from; lo < to; lo += batch {
		args := []string{"PFADD", key}
		for i := lo; i < min(lo+batch, to); i++ {
			e := "visitor-" + strconv.Itoa(i)
			args = append(args, e)
			r.Add([]byte(e))
		}
		rc.must(t, args...)
	}
}

func rawSketch(t *testing.T, rc *respConn, key string) (Registers, []byte) {
	t.Helper()
	raw, ok := rc.must(t, "GET", key).([]byte)
	if !ok || raw == nil {
		t.Fatalf("GET %s returned no string", key)
	}
	r, err := Decode(raw)
	if err != nil {
		t.Fatalf("Decode(GET %s) error: %v", key, err)
	}
	return r, raw
}

func TestAgainstRedis(t *testing.T) {
	rc := dialRedis(t)
	prefix := keyPrefix(t)
	var keys []string
	t.Cleanup(func() {
		if len(keys) > 0 {
			_, _ = rc.do(append([]string{"DEL"}, keys...)...)
		}
	})

	tests := []struct {
		name string
		n    int
	}{
		{"one", 1}, {"ten", 10}, {"thousand", 1000}, {"fifty-thousand", 50000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := prefix + tt.name
			keys = append(keys, key)
			local := New()
			pfadd(t, rc, key, local, 0, tt.n)
			decoded, raw := rawSketch(t, rc, key)
			t.Logf("%d elements: redis encoding %d, %d bytes", tt.n, raw[4], len(raw))
			for i := range decoded {
				if decoded[i] != local[i] {
					t.Fatalf("register %d: redis %d, Go %d", i, decoded[i], local[i])
				}
			}
			want := rc.must(t, "PFCOUNT", key).(int64)
			if got := decoded.Count(); got != uint64(want) {
				t.Errorf("Count() of decoded = %d, PFCOUNT = %d", got, want)
			}
			if got := local.Count(); got != uint64(want) {
				t.Errorf("Count() of local = %d, PFCOUNT = %d", got, want)
			}
		})
	}

	t.Run("merge", func(t *testing.T) {
		a, b, dst := prefix+"merge-a", prefix+"merge-b", prefix+"merge-dst"
		keys = append(keys, a, b, dst)
		la, lb := New(), New()
		pfadd(t, rc, a, la, 0, 30000)
		pfadd(t, rc, b, lb, 20000, 45000)
		rc.must(t, "PFMERGE", dst, a, b)

		ra, _ := rawSketch(t, rc, a)
		rb, _ := rawSketch(t, rc, b)
		Merge(ra, rb)
		merged, _ := rawSketch(t, rc, dst)
		if !bytes.Equal(ra, merged) {
			t.Error("Merge of decoded registers differs from PFMERGE's registers")
		}
		Merge(la, lb)
		if !bytes.Equal(la, merged) {
			t.Error("Merge of Go registers differs from PFMERGE's registers")
		}
		want := rc.must(t, "PFCOUNT", dst).(int64)
		if got := ra.Count(); got != uint64(want) {
			t.Errorf("merged Count() = %d, PFCOUNT = %d", got, want)
		}
		union := rc.must(t, "PFCOUNT", a, b).(int64)
		if got := ra.Count(); got != uint64(union) {
			t.Errorf("merged Count() = %d, PFCOUNT a b = %d", got, union)
		}
	})
}
