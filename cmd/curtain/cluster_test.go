package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
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
	// Every master's replica has finished its first sync: before that a
	// promoted replica would start empty.
	for _, n := range c.nodes {
		for {
			info := c.cli(t, n, "info", "replication")
			if strings.Contains(info, "role:slave") || strings.Contains(info, "state=online") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the replica of %s did not sync:\n%s", n.addr, info)
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

// streamEntries counts the entries of every click stream on the live
// masters.
func (c *redisCluster) streamEntries(t testing.TB) int64 {
	t.Helper()
	rdb := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: c.seeds()})
	defer rdb.Close()
	var mu sync.Mutex
	var n int64
	err := rdb.ForEachMaster(t.Context(), func(ctx context.Context, node *goredis.Client) error {
		keys, err := node.Keys(ctx, "stream:clicks:*").Result() // a test's small keyspace
		if err != nil {
			return err
		}
		for _, k := range keys {
			l, err := node.XLen(ctx, k).Result()
			if err != nil {
				return err
			}
			mu.Lock()
			n += l
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		t.Fatalf("count stream entries: %v", err)
	}
	return n
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
// codes stay unique, the cache keeps serving, and no click is stored
// twice. After the promotion more redirects follow: the shard takes them
// again, and the consumer, reading and acknowledging on the promoted
// master, stores every one of them and then stops cleanly.
//
// Redis replicates asynchronously, so in the fast click mode the clicks
// that the killed master acknowledged but had not yet passed to its
// replica can be lost: the test measures and reports that loss. In the
// durable mode (clicks.durability, where the build has it) the shard
// waits for a replica, and every click served must be stored exactly once.
func TestRedisClusterMasterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	for _, mode := range []string{"fast", "durable"} {
		t.Run(mode, func(t *testing.T) { testClusterFailover(t, mode) })
	}
}

func testClusterFailover(t *testing.T, mode string) {
	cluster := startRedisCluster(t)
	db := newDatabase(t)
	dir := t.TempDir()
	seeds := fmt.Sprintf("[%q, %q, %q]", cluster.seeds()[0], cluster.seeds()[1], cluster.seeds()[2])
	clicks := ""
	if mode == "durable" {
		clicks = "clicks: {durability: durable}\n"
	}
	cfg := fmt.Sprintf(`store: {driver: postgres, postgres_url: %q}
plugins:
  call_timeout: 500ms
  counter: {builtin: redis, settings: {cluster: %s}}
  cache: {builtin: redis, settings: {cluster: %s}}
  shards:
    - {builtin: redis, settings: {cluster: %s}}
consumer: {in_serve: false, block: 200ms, min_idle: 1s}
%s`, db, seeds, seeds, seeds, clicks)
	if err := os.WriteFile(dir+"/curtain.yaml", []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if mode == "durable" {
		if out, err := exec.Command(curtainBin, "config", "--config", dir+"/curtain.yaml").CombinedOutput(); err != nil {
			t.Skipf("this build has no clicks.durability: %v\n%s", err, out)
		}
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

	// Creates and cached reads run beside the redirects, through the
	// failover.
	var (
		createMu                        sync.Mutex
		created                         = map[string]bool{}
		createFailed, dupes, readFailed int
		slowest                         time.Duration
		stopCreates                     = make(chan struct{})
		createsDone                     = make(chan struct{})
	)
	go func() {
		defer close(createsDone)
		for i := 0; ; i++ {
			select {
			case <-stopCreates:
				return
			default:
			}
			began := time.Now()
			resp, body, err := request("POST", s.base+"/urls", fmt.Sprintf(`{"original_url":"https://example.com/failover/%d"}`, i))
			createMu.Lock()
			slowest = max(slowest, time.Since(began))
			if err != nil || resp.StatusCode != 201 {
				createFailed++
			} else if code := shortCodeOf(body); created[code] {
				dupes++
			} else {
				created[code] = true
			}
			createMu.Unlock()
			if resp, _, err := request("GET", s.base+"/urls/"+fmt.Sprint(1+i%len(codes)), ""); err != nil || resp.StatusCode != 200 {
				createMu.Lock()
				readFailed++
				createMu.Unlock()
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	const total = 4000
	var killedAt time.Time
	var replication string // the victim's INFO replication as it was killed
	res := load(t, s, codes, total, map[int]func(){
		total / 3: func() {
			replication = cluster.cli(t, victim, "info", "replication")
			killedAt = time.Now()
			victim.kill()
		},
	})

	// The replica has taken over once three live masters, none of them
	// the victim, serve every slot (creates and reads go on meanwhile).
	promoted := false
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		live := cluster.nodes[0]
		if live == victim {
			live = cluster.nodes[1]
		}
		masters := 0
		for addr, role := range cluster.roles(t) {
			if role == "master" && addr != victim.addr {
				masters++
			}
		}
		if masters == 3 && strings.Contains(cluster.cli(t, live, "cluster", "info"), "cluster_state:ok") {
			promoted = true
			break
		}
	}
	if !promoted {
		t.Fatalf("the cluster did not recover after the master was killed")
	}
	close(stopCreates)
	<-createsDone

	// After the promotion: the shard takes clicks again (the host may
	// still be backing off it for a while), on every master, the promoted
	// one included.
	shardFlushed := func() float64 {
		_, metrics := s.do(t, "GET", "/metrics", "")
		return metricValue(metrics, `curtain_clicks_flushed_total{destination="shard0"}`)
	}
	afterStart := time.Now().UTC().Add(-time.Millisecond)
	before := shardFlushed()
	var after loadResult
	for deadline := time.Now().Add(30 * time.Second); ; {
		r := load(t, s, codes, 500, nil)
		after.served += r.served
		after.failed += r.failed
		if shardFlushed() > before || time.Now().After(deadline) {
			break
		}
	}
	if shardFlushed() == before {
		t.Errorf("no click reached the shard after the failover: every click went to the store")
	}
	served := res.served + after.served

	// The counter and the cache work on the promoted cluster: new codes
	// are new, and a URL read twice is served from the cache.
	for i := range 20 {
		resp, body, err := request("POST", s.base+"/urls", fmt.Sprintf(`{"original_url":"https://example.com/promoted/%d"}`, i))
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("create after the promotion: %v %s", err, body)
		}
		if code := shortCodeOf(body); created[code] {
			t.Errorf("code %s handed out again after the promotion", code)
		} else {
			created[code] = true
		}
	}
	var hits int
	for id := 1; id <= len(codes); id++ {
		for range 2 {
			if resp, body, err := request("GET", s.base+"/urls/"+fmt.Sprint(id), ""); err != nil || resp.StatusCode != 200 {
				t.Fatalf("GET /urls/%d after the promotion: %v %s", id, err, body)
			} else if resp.Header.Get("X-Cache") == "HIT" {
				hits++
			}
		}
	}
	if hits < len(codes) {
		t.Errorf("%d cache hits reading %d URLs twice after the promotion, want at least %d", hits, len(codes), len(codes))
	}
	if res.failed+after.failed != 0 {
		t.Errorf("%d of %d redirects failed during and after the failover, want none", res.failed+after.failed, served)
	}
	createMu.Lock()
	if createFailed != 0 || dupes != 0 || readFailed != 0 {
		t.Errorf("creates during the failover: %d failed, %d codes handed out twice (of %d), %d reads failed; want none", createFailed, dupes, len(created)+dupes, readFailed)
	}
	createMu.Unlock()

	waitSettled(t, db, served, 10*time.Second)
	// The consumer drains and stops cleanly (stop fails the test if it
	// does not exit within 20 s).
	consumer.stop(t)
	stored, distinct := storedClicks(t, db)
	if distinct != stored {
		t.Errorf("%d events for %d distinct clicks: a click was stored twice", stored, distinct)
	}
	if stored > served {
		t.Errorf("stored %d clicks, more than the %d served", stored, served)
	}
	// Clicks made after the promotion cannot be lost to asynchronous
	// replication: each must be stored.
	if n := storedSince(t, db, afterStart); n != after.served {
		t.Errorf("stored %d of the %d clicks served after the promotion, want all", n, after.served)
	}
	// Nothing is left behind in a stream: what was not stored is lost,
	// not stranded.
	if n := cluster.streamEntries(t); n != 0 {
		t.Errorf("%d click entries left in streams after the consumer drained, want 0", n)
	}
	lost := served - stored
	if mode == "durable" && lost != 0 {
		t.Errorf("durable mode: %d of %d served clicks not stored, want 0", lost, served)
	}
	_, metrics := s.do(t, "GET", "/metrics", "")
	t.Logf("click pipeline after the failover:\n%s", grepLines(metrics, "clicks_"))
	if testing.Verbose() {
		t.Logf("serve log:\n%s", grepLines(s.logs.String(), "warn"))
	}
	t.Logf("%s mode, master %s killed %s before the end of the load: redirects served %d (failed %d; %d of them after the promotion), clicks stored %d, lost %d (%.2f%%), creates %d (failed %d)",
		mode, victim.addr, time.Since(killedAt).Round(time.Millisecond), served, res.failed+after.failed, after.served, stored, lost,
		100*float64(lost)/float64(served), len(created), createFailed)
	t.Logf("the victim's replication just before the kill:\n%s", grepLines(replication, "offset"))
	t.Logf("creates: %d, %d failed, %d codes handed out twice, slowest %v; reads of a URL: %d failed", len(created), createFailed, dupes, slowest.Round(time.Millisecond), readFailed)
}

// storedSince counts the redirect events stored from clicks made at or
// after since.
func storedSince(t testing.TB, dbURL string, since time.Time) int64 {
	t.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRowContext(t.Context(),
		`SELECT count(*) FROM events WHERE event_type = 'redirect' AND click_id IS NOT NULL AND "timestamp" >= $1`, since).Scan(&n); err != nil {
		t.Fatalf("count events: %v", err)
	}
	return n
}

// metricValue returns the value of the sample line that starts with
// series in a Prometheus text exposition, or 0.
func metricValue(exposition, series string) float64 {
	for line := range strings.Lines(exposition) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v
		}
	}
	return 0
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
