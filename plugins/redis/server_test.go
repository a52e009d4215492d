package redis

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// server is a redis-server process owned by one test.
type server struct {
	t    testing.TB
	port int
	args []string
	dir  string
	cmd  *exec.Cmd
	log  *bytes.Buffer
}

// startServer runs a fresh redis-server on a free loopback port, without
// persistence, and stops it when the test ends. extra are more server
// arguments. A missing redis-server fails the test; -short skips it.
func startServer(t testing.TB, extra ...string) *server {
	t.Helper()
	return launch(t, freePort(t, false), extra...)
}

// launch runs a redis-server on port with a directory of its own and
// extra arguments, as startServer describes.
func launch(t testing.TB, port int, extra ...string) *server {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs redis-server")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed: %v", err)
	}
	s := &server{t: t, port: port, dir: t.TempDir()}
	s.args = append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
	}, extra...)
	s.start()
	t.Cleanup(s.stop)
	return s
}

// freePort returns a loopback port nobody listens on; with bus, one whose
// cluster bus port (+10000) is free too.
func freePort(t testing.TB, bus bool) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find a free port: %v", err)
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
	t.Fatal("no free port with a free cluster bus port")
	return 0
}

func (s *server) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// url is the server's redis:// URL for database 0.
func (s *server) url() string { return "redis://" + s.addr() + "/0" }

// start runs the server (again, on the same port) and waits for PING.
func (s *server) start() {
	s.t.Helper()
	s.log = new(bytes.Buffer)
	s.cmd = exec.Command("redis-server", s.args...)
	s.cmd.Dir = s.dir
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	rdb := goredis.NewClient(&goredis.Options{Addr: s.addr(), MaxRetries: -1, DialerRetries: 1})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.stop()
			s.t.Fatalf("redis-server on %s did not answer PING: %v\n%s", s.addr(), err, s.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the server and waits for it to exit.
func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// client returns a plain client for checking raw state.
func (s *server) client() *goredis.Client {
	s.t.Helper()
	rdb := goredis.NewClient(&goredis.Options{Addr: s.addr()})
	s.t.Cleanup(func() { rdb.Close() })
	return rdb
}

// startCluster starts three cluster-mode servers, joins them into a Redis
// Cluster without replicas and waits until it serves every slot.
func startCluster(t testing.TB) []*server {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs redis-server")
	}
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Fatalf("redis-cli is not installed: %v", err)
	}
	var (
		servers []*server
		addrs   []string
	)
	for range 3 {
		// The cluster config file lands in the server's --dir.
		s := launch(t, freePort(t, true),
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000")
		servers = append(servers, s)
		addrs = append(addrs, s.addr())
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.Command("redis-cli", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, s := range servers {
		rdb := s.client()
		for {
			info, err := rdb.ClusterInfo(context.Background()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:3") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster on %s not ok: %v\n%s", s.addr(), err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return servers
}

// configured configures p with s through its JSON settings, as the SDK
// does, and closes it when the test ends.
func configured[P interface {
	Configure(ctx context.Context, settings []byte) error
	Close() error
}](t testing.TB, p P, s Settings) P {
	t.Helper()
	if err := p.Configure(t.Context(), settingsJSONFor(t, s)); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// settingsJSONFor renders plugin settings for a test.
func settingsJSONFor(t testing.TB, s Settings) []byte {
	t.Helper()
	b, err := s.MarshalJSON()
	if err != nil {
		t.Fatalf("marshal settings: %v", err)
	}
	return b
}

// testSettings are settings for s with timeouts loose enough for a busy
// test machine.
func testSettings(s *server, prefix string) Settings {
	return Settings{URL: s.url(), ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, DialTimeout: time.Second, KeyPrefix: prefix}
}

func TestMain(m *testing.M) {
	// go-redis logs every failed dial; several tests stop servers on
	// purpose.
	goredis.SetLogger(quietLogger{})
	os.Exit(m.Run())
}

// quietLogger drops go-redis's log lines.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}
