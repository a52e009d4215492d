package redis

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/curtainhq/curtain/internal/testenv"
)

// server is a redis-server process owned by one test (testenv.Redis).
type server struct {
	*testenv.Redis
	t testing.TB
}

// startServer runs a fresh redis-server on a free loopback port, without
// persistence, and stops it when the test ends. extra are more server
// arguments. A missing redis-server fails the test; -short skips it.
func startServer(t testing.TB, extra ...string) *server {
	t.Helper()
	return &server{Redis: testenv.StartRedis(t, testenv.RedisOptions{Args: extra}), t: t}
}

func (s *server) addr() string { return s.Addr() }

// url is the server's redis:// URL for database 0.
func (s *server) url() string { return s.URL() }

// start runs the server again, on the same port.
func (s *server) start() { s.Start() }

// stop kills the server and waits for it to exit.
func (s *server) stop() { s.Kill() }

// client returns a plain client for checking raw state.
func (s *server) client() *goredis.Client {
	s.t.Helper()
	rdb := goredis.NewClient(&goredis.Options{Addr: s.addr()})
	s.t.Cleanup(func() { rdb.Close() })
	return rdb
}

// startCluster starts three cluster-mode servers, joins them into a Redis
// Cluster without replicas and waits until it serves every slot.
func startCluster(t testing.TB) []*server { return startClusterOf(t, 0) }

// startClusterOf starts three masters with replicas replicas each, joins
// them into a Redis Cluster and waits until it serves every slot and every
// replica has synced. With replicas the node timeout is 1 s, so that a
// replica takes over from a dead master quickly.
func startClusterOf(t testing.TB, replicas int) []*server {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs redis-server")
	}
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Fatalf("redis-cli is not installed: %v", err)
	}
	nodeTimeout := "5000"
	if replicas > 0 {
		nodeTimeout = "1000"
	}
	var (
		servers []*server
		addrs   []string
	)
	nodes := 3 * (1 + replicas)
	for range nodes {
		// The cluster config file lands in the server's --dir.
		s := &server{t: t, Redis: testenv.StartRedis(t, testenv.RedisOptions{ClusterBus: true, Args: []string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", nodeTimeout,
			// A replica may take over however long it was cut off.
			"--cluster-replica-validity-factor", "0",
			"--enable-debug-command", "yes"}})}
		servers = append(servers, s)
		addrs = append(addrs, s.addr())
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	out, err := exec.Command("redis-cli", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	known := fmt.Sprintf("cluster_known_nodes:%d", nodes)
	for _, s := range servers {
		rdb := s.client()
		for {
			info, err := rdb.ClusterInfo(context.Background()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, known) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster on %s not ok: %v\n%s", s.addr(), err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Every replica has finished its first sync: before that a promoted
	// replica would start empty.
	for _, s := range servers {
		rdb := s.client()
		for {
			info, _ := rdb.Info(context.Background(), "replication").Result()
			if strings.Contains(info, "role:master") || strings.Contains(info, "master_link_status:up") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the replica %s did not sync:\n%s", s.addr(), info)
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
