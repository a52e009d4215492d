package main

import (
	"bufio"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// redisCluster is a Redis Cluster of three masters and three replicas on
// free loopback ports, formed with `redis-cli --cluster create`.
type redisCluster struct {
	nodes []*redisServer
}

// startRedisCluster starts six cluster-enabled redis-servers, each with an
// fsync'd append-only file and its own bus port, and forms the cluster.
func startRedisCluster(t testing.TB) *redisCluster {
	t.Helper()
	c := &redisCluster{}
	for range 6 {
		r := &redisServer{addr: freeAddr(t), dir: t.TempDir()}
		_, port, _ := net.SplitHostPort(r.addr)
		_, bus, _ := net.SplitHostPort(freeAddr(t))
		r.args = []string{"--port", port, "--bind", "127.0.0.1", "--save", "",
			"--appendonly", "yes", "--appendfsync", "always", "--dir", r.dir,
			"--cluster-enabled", "yes", "--cluster-port", bus,
			"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000",
			// A replica may take over however long it was cut off.
			"--cluster-replica-validity-factor", "0"}
		r.start(t)
		t.Cleanup(func() { r.kill() })
		c.nodes = append(c.nodes, r)
	}
	args := []string{"--cluster", "create"}
	for _, n := range c.nodes {
		args = append(args, n.addr)
	}
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, n := range c.nodes {
		for !strings.Contains(c.cli(t, n, "cluster", "info"), "cluster_state:ok") {
			if time.Now().After(deadline) {
				t.Fatalf("cluster not ok on %s:\n%s", n.addr, c.cli(t, n, "cluster", "info"))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return c
}

func (c *redisCluster) cli(t testing.TB, n *redisServer, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(n.addr)
	out, _ := exec.Command("redis-cli", append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
	return string(out)
}

func (c *redisCluster) seeds() []string {
	var s []string
	for _, n := range c.nodes {
		s = append(s, n.addr)
	}
	return s
}

// roles reads CLUSTER NODES from a live node: address to "master" or
// "slave" for the nodes that are not failed.
func (c *redisCluster) roles(t testing.TB) map[string]string {
	t.Helper()
	for _, n := range c.nodes {
		if n.cmd == nil {
			continue
		}
		roles := map[string]string{}
		sc := bufio.NewScanner(strings.NewReader(c.cli(t, n, "cluster", "nodes")))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 3 || strings.Contains(f[2], "fail") {
				continue
			}
			addr, _, _ := strings.Cut(f[1], "@")
			for _, role := range []string{"master", "slave"} {
				if strings.Contains(f[2], role) {
					roles[addr] = role
				}
			}
		}
		return roles
	}
	t.Fatal("no live cluster node")
	return nil
}

// storedClicks counts the redirect events stored from clicks, and the
// distinct click ids among them.
func storedClicks(t testing.TB, dbURL string) (n, distinct int64) {
	t.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRowContext(t.Context(),
		`SELECT count(*), count(DISTINCT click_id) FROM events WHERE event_type = 'redirect' AND click_id IS NOT NULL`).Scan(&n, &distinct); err != nil {
		t.Fatalf("count events: %v", err)
	}
	return n, distinct
}

// waitSettled waits until the stored click count reaches want or stops
// growing for settle, and returns the last counts.
func waitSettled(t testing.TB, dbURL string, want int64, settle time.Duration) (n, distinct int64) {
	t.Helper()
	last, since := int64(-1), time.Now()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		n, distinct = storedClicks(t, dbURL)
		if n >= want {
			return n, distinct
		}
		if n != last {
			last, since = n, time.Now()
		} else if time.Since(since) > settle {
			return n, distinct
		}
		time.Sleep(200 * time.Millisecond)
	}
	return n, distinct
}

// TestRedisClusterMasterFailover runs counter, cache and one click shard
// on a six-node Redis Cluster and kills a master under redirect and create
// load; its replica is promoted. Redirects and creates keep answering,
// codes stay unique, and no click is stored twice. Redis replicates
// asynchronously, so in the fast click mode the clicks that the killed
// master acknowledged but had not yet passed to its replica can be lost:
// the test measures and reports that loss.
func TestRedisClusterMasterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	cluster := startRedisCluster(t)
	db := newDatabase(t)
	dir := t.TempDir()
	seeds := fmt.Sprintf("[%q, %q, %q]", cluster.seeds()[0], cluster.seeds()[1], cluster.seeds()[2])
	cfg := fmt.Sprintf(`store: {driver: postgres, postgres_url: %q}
plugins:
  call_timeout: 500ms
  counter: {builtin: redis, settings: {cluster: %s}}
  cache: {builtin: redis, settings: {cluster: %s}}
  shards:
    - {builtin: redis, settings: {cluster: %s}}
consumer: {in_serve: false, block: 200ms, min_idle: 1s}
`, db, seeds, seeds, seeds)
	if err := os.WriteFile(dir+"/curtain.yaml", []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServerArgs(t, dir, []string{"--config", "curtain.yaml"})
	consumer := startProcess(t, dir, []string{"consume", "--config", "curtain.yaml"}, []string{"HOSTNAME=c1"})
	codes := createURLs(t, s, 30)

	// The victim is a master that holds some of the codes' streams.
	roles := cluster.roles(t)
	var victim *redisServer
	for _, n := range cluster.nodes {
		if roles[n.addr] == "master" {
			victim = n
			break
		}
	}
	if victim == nil {
		t.Fatalf("no master in %v", roles)
	}

	// Creates run beside the redirects, through the failover.
	var (
		createMu            sync.Mutex
		created             = map[string]bool{}
		createFailed, dupes int
		stopCreates         = make(chan struct{})
		createsDone         = make(chan struct{})
	)
	go func() {
		defer close(createsDone)
		for i := 0; ; i++ {
			select {
			case <-stopCreates:
				return
			default:
			}
			resp, body, err := request("POST", s.base+"/urls", fmt.Sprintf(`{"original_url":"https://example.com/failover/%d"}`, i))
			createMu.Lock()
			if err != nil || resp.StatusCode != 201 {
				createFailed++
			} else if code := shortCodeOf(body); created[code] {
				dupes++
			} else {
				created[code] = true
			}
			createMu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()

	const total = 4000
	var killedAt time.Time
	res := load(t, s, codes, total, map[int]func(){
		total / 3: func() { killedAt = time.Now(); victim.kill() },
	})
	close(stopCreates)
	<-createsDone

	// The replica has taken over once no live node reports a failed master.
	promoted := false
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		live := cluster.nodes[0]
		if live == victim {
			live = cluster.nodes[1]
		}
		if strings.Contains(cluster.cli(t, live, "cluster", "info"), "cluster_state:ok") {
			promoted = true
			break
		}
	}
	if !promoted {
		t.Errorf("the cluster did not recover after the master was killed")
	}
	if res.failed != 0 {
		t.Errorf("%d of %d redirects failed during the failover, want none", res.failed, total)
	}
	createMu.Lock()
	if createFailed != 0 || dupes != 0 {
		t.Errorf("creates during the failover: %d failed, %d codes handed out twice (of %d); want none", createFailed, dupes, len(created)+dupes)
	}
	createMu.Unlock()

	stored, distinct := waitSettled(t, db, res.served, 10*time.Second)
	// Known defect, left for the cluster work of issue 18: after the
	// failover the consumer's reads and acks can keep failing for a long
	// time, and it then does not always stop within 20 s. It is killed
	// here, and what it had not stored counts as not stored below.
	consumer.kill()
	if distinct != stored {
		t.Errorf("%d events for %d distinct clicks: a click was stored twice", stored, distinct)
	}
	if stored > res.served {
		t.Errorf("stored %d clicks, more than the %d served", stored, res.served)
	}
	lost := res.served - stored
	_, metrics := s.do(t, "GET", "/metrics", "")
	t.Logf("click pipeline after the failover:\n%s", grepLines(metrics, "clicks_"))
	if testing.Verbose() {
		t.Logf("serve log:\n%s", grepLines(s.logs.String(), "warn"))
	}
	t.Logf("fast mode, master %s killed %s into the load: redirects served %d (failed %d), clicks stored %d, not stored (lost or stranded in a stream) %d (%.2f%%), creates %d (failed %d)",
		victim.addr, time.Since(killedAt).Round(time.Millisecond), res.served, res.failed, stored, lost,
		100*float64(lost)/float64(res.served), len(created), createFailed)
}

func shortCodeOf(body string) string {
	const key = `"short_code":"`
	i := strings.Index(body, key)
	if i < 0 {
		return ""
	}
	rest := body[i+len(key):]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return rest[:j]
}
