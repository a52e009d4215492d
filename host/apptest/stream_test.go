package apptest_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/httpapi"
	"github.com/curtainhq/curtain/plugins/memory"
)

// seedLists imports users users and events events (all of one URL, the
// even ones owned by user 1) with explicit ids.
func seedLists(t testing.TB, store core.Store, users, events int) {
	t.Helper()
	var batch core.Import
	for i := 1; i <= users; i++ {
		batch.Users = append(batch.Users, core.User{ID: int64(i), Username: fmt.Sprintf("user%05d", i),
			Email: fmt.Sprintf("user%05d@example.com", i), CreatedAt: t0})
	}
	owner := int64(1)
	batch.URLs = []core.URL{{ID: 1, ShortCode: "list01", OriginalURL: "https://example.com/list", IsActive: true, CreatedAt: t0, UpdatedAt: t0}}
	for i := 1; i <= events; i++ {
		ev := core.Event{ID: int64(i), URLID: ptr(int64(1)), EventType: "redirect", Timestamp: t0.Add(time.Duration(i) * time.Second),
			Details: fmt.Sprintf(`{"ip": "198.51.100.%d", "short_code": "list01", "source": "seed"}`, i%250)}
		if i%2 == 0 {
			ev.UserID = &owner
		}
		batch.Events = append(batch.Events, ev)
	}
	if _, err := store.Import(t.Context(), batch); err != nil {
		t.Fatalf("import: %v", err)
	}
}

// testLargeLists: the unpaginated lists, written chunk by chunk, keep the
// reference's exact shape across many chunks.
func testLargeLists(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	const n = 2*core.ListChunk + 3
	seedLists(t, e.store, n, n)
	var users, events, owned []string
	for i := 1; i <= n; i++ {
		users = append(users, userJSON(int64(i), fmt.Sprintf("user%05d", i), fmt.Sprintf("user%05d@example.com", i), "2026-01-01T00:00:00"))
		user := "null"
		if i%2 == 0 {
			user = "1"
		}
		ev := fmt.Sprintf(`{"details":{"ip":"198.51.100.%d","short_code":"list01","source":"seed"},"event_type":"redirect","id":%d,"timestamp":"%s","url_id":1,"user_id":%s}`,
			i%250, i, t0.Add(time.Duration(i)*time.Second).Format("2006-01-02T15:04:05"), user)
		events = append(events, ev)
		if i%2 == 0 {
			owned = append(owned, ev)
		}
	}
	e.get("/users").want(t, "GET /users", http.StatusOK, "["+strings.Join(users, ",")+"]\n")
	e.get("/events").want(t, "GET /events", http.StatusOK, "["+strings.Join(events, ",")+"]\n")
	e.get("/events?user_id=1").want(t, "GET /events?user_id=1", http.StatusOK, "["+strings.Join(owned, ",")+"]\n")
	e.get("/users?page=2&per_page=2").want(t, "a page of users", http.StatusOK, "["+users[2]+","+users[3]+"]\n")
	e.get("/events?user_id=x").wantError(t, "bad filter", http.StatusBadRequest, "Query parameter 'user_id' must be an integer")
	if r := e.do("HEAD", "/events", ""); r.Status != http.StatusOK || r.Body != "" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("HEAD /events = %d %q %q", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
}

// timedServer serves the API over store on a loopback port through
// httpapi.NewServer and httpapi.Listen, as `curtain serve` does, with
// short timeouts. Each connection's kernel send buffer is kept small, so
// that a client that does not read stalls the server after a few
// kilobytes.
func timedServer(t *testing.T, store core.Store, timeouts httpapi.Timeouts) (addr string, closed *atomic.Int64) {
	t.Helper()
	svc := core.NewService(store, core.ServiceConfig{Counter: memory.NewCounter(), Cache: memory.NewCache()})
	srv := httpapi.NewServer(httpapi.New(svc, httpapi.Options{WriteTimeout: timeouts.Write}), timeouts)
	closed = new(atomic.Int64)
	connState := srv.ConnState
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		connState(c, s)
		if s == http.StateNew {
			_ = c.(interface{ SetWriteBuffer(int) error }).SetWriteBuffer(16 << 10)
		}
		if s == http.StateClosed {
			closed.Add(1)
		}
	}
	ln, err := httpapi.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return ln.Addr().String(), closed
}

// TestSlowBodyIsCutOff: a request body sent a byte at a time is cut off at
// the read timeout, and nothing is created from it.
func TestSlowBodyIsCutOff(t *testing.T) {
	store := openSQLiteTB(t)
	addr, _ := timedServer(t, store, httpapi.Timeouts{ReadHeader: time.Second, Read: 300 * time.Millisecond, Write: 5 * time.Second, Idle: time.Second})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"original_url":"https://example.com/slow-body-` + strings.Repeat("x", 150) + `"}`
	fmt.Fprintf(conn, "POST /urls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	var sent atomic.Int64
	go func() {
		for i := 0; i < len(body); i++ {
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				return
			}
			sent.Add(1)
			time.Sleep(50 * time.Millisecond)
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	answer, _ := io.ReadAll(conn) // until the server closes the connection
	if n := sent.Load(); n >= int64(len(body)) {
		t.Fatalf("the whole slow body (%d bytes) was read", n)
	}
	if len(answer) > 0 && !strings.HasPrefix(string(answer), "HTTP/1.1 4") {
		t.Errorf("answer to a cut-off body: %q", answer)
	}
	urls, err := store.ListURLs(t.Context(), core.URLFilter{})
	if err != nil || len(urls) != 0 {
		t.Errorf("a cut-off body created %d URLs (%v)", len(urls), err)
	}
	t.Logf("cut off after %d of %d body bytes; answer %.40q", sent.Load(), len(body), answer)
}

// TestClientsThatNeverRead: 20 clients that ask for a large GET /events
// and never read are cut off by the write timeout, and while they stall
// the process holds a bounded amount of memory (the list is streamed in
// chunks, not built whole).
func TestClientsThatNeverRead(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 10k events")
	}
	store := openSQLiteTB(t)
	const events, clients = 10_000, 20
	seedLists(t, store, 1, events)
	addr, closed := timedServer(t, store, httpapi.Timeouts{ReadHeader: time.Second, Read: time.Second, Write: time.Second, Idle: time.Second})

	// One full read, for the size of the answer.
	resp, err := http.Get("http://" + addr + "/events")
	if err != nil {
		t.Fatal(err)
	}
	full, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !strings.HasSuffix(string(full), "}]\n") {
		t.Fatalf("GET /events by a reading client = %d, %d bytes, %v", resp.StatusCode, len(full), err)
	}
	closedBefore := closed.Load()

	// The live heap, measured right after a collection.
	live := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	base := live()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			if h := live(); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})

	conns := make([]*net.TCPConn, clients)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c.(*net.TCPConn)
		defer c.Close()
		_ = conns[i].SetReadBuffer(4096)
		fmt.Fprintf(c, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	// Nobody reads; wait for the server to give up on every connection.
	deadline := time.Now().Add(3 * time.Minute)
	for closed.Load()-closedBefore < clients && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	sampler.Wait()
	if got := closed.Load() - closedBefore; got < clients {
		t.Fatalf("the server closed %d of %d connections that never read", got, clients)
	}
	// What each client could still read: never the whole answer.
	var readers sync.WaitGroup
	for i, c := range conns {
		readers.Go(func() {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if got, _ := io.Copy(io.Discard, c); got >= int64(len(full)) {
				t.Errorf("client %d received the whole answer (%d bytes) without reading", i, got)
			}
		})
	}
	readers.Wait()
	growth := int64(peak.Load()) - int64(base)
	t.Logf("answer %d bytes; live heap %.1f MiB before, peak %.1f MiB while %d clients stalled (growth %.1f MiB)",
		len(full), float64(base)/(1<<20), float64(peak.Load())/(1<<20), clients, float64(growth)/(1<<20))
	// Built in memory, each stalled request held its rows and its encoded
	// answer (several times len(full)); streamed, a chunk each.
	if limit := int64(len(full)) * clients / 2; growth > limit {
		t.Errorf("heap grew by %d MiB while %d clients stalled, want under %d MiB", growth>>20, clients, limit>>20)
	}
}

// TestCutOffBodyAnswers408: a body that the read timeout cuts off is
// answered 408 {"error":"Request timeout"} on every route that reads one,
// not as a request without a body (a misleading "Field ... is required",
// or a bodiless 499 once the cut-off connection cancels the request), and
// nothing is written from it.
func TestCutOffBodyAnswers408(t *testing.T) {
	eachStore(t, func(t *testing.T, open storeFactory) {
		store := open(t)
		seed := core.Import{
			Users: []core.User{{ID: 1, Username: "owner", Email: "owner@example.com", CreatedAt: t0}},
			URLs:  []core.URL{{ID: 1, ShortCode: "cut001", OriginalURL: "https://example.com/cut", IsActive: true, CreatedAt: t0, UpdatedAt: t0}},
		}
		if _, err := store.Import(t.Context(), seed); err != nil {
			t.Fatal(err)
		}
		addr, _ := timedServer(t, store, httpapi.Timeouts{ReadHeader: time.Second, Read: 300 * time.Millisecond, Write: 5 * time.Second, Idle: time.Second})
		const multipart = "multipart/form-data; boundary=B"
		for _, c := range []struct{ method, path, contentType, partial string }{
			{"POST", "/urls", "application/json", `{"original_url":"https://example.com/new"`},
			{"PUT", "/urls/1", "application/json", `{"title":"new title"`},
			{"POST", "/users", "application/json", `{"username":"new","email":"new@example.com"`},
			{"PUT", "/users/1", "application/json", `{"username":"renamed"`},
			{"POST", "/events", "application/json", `{"url_id":1,"event_type":"click"`},
			{"POST", "/shorten-ui", "application/x-www-form-urlencoded", "original_url=https%3A%2F%2Fexample.com%2Fui"},
			{"POST", "/users/bulk", multipart, "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"u.csv\"\r\n\r\nusername,email\nbulk,bulk@example.com\n"},
			{"POST", "/users/bulk", multipart, "--B\r\nContent-Disposition: form-da"},
		} {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			// The declared length is never sent: the read timeout cuts the body off.
			fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
				c.method, c.path, c.contentType, len(c.partial)+100, c.partial)
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Errorf("%s %s: no answer: %v", c.method, c.path, err)
				conn.Close()
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			conn.Close()
			if resp.StatusCode != http.StatusRequestTimeout || resp.Header.Get("Content-Type") != "application/json" ||
				string(body) != "{\"error\":\"Request timeout\"}\n" {
				t.Errorf("%s %s: %d %q %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		}
		u, err := store.GetURL(t.Context(), 1)
		if err != nil || u.Title != nil {
			t.Errorf("URL 1 after cut-off updates: %+v, %v", u, err)
		}
		users, err := store.ListUsers(t.Context(), core.Page{})
		if err != nil || len(users) != 1 || users[0].Username != "owner" {
			t.Errorf("users after cut-off writes: %+v, %v", users, err)
		}
	})
}
