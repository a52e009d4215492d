package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// topology is the reference deployment on real servers: a counter Redis,
// a cache Redis, click-shard Redis servers and PostgreSQL.
type topology struct {
	counter, cache *redisServer
	shards         []*redisServer
	dbURL          string
}

func newTopology(t testing.TB, dbURL string, shards int) *topology {
	t.Helper()
	tp := &topology{counter: startRedis(t), cache: startRedis(t), dbURL: dbURL}
	for i := 0; i < shards; i++ {
		tp.shards = append(tp.shards, startRedis(t))
	}
	return tp
}

// env is the reference's environment for this topology; the consumer runs
// in its own processes.
func (tp *topology) env() []string {
	var addrs []string
	for _, s := range tp.shards {
		addrs = append(addrs, s.addr)
	}
	return []string{
		"DATABASE_URL=" + tp.dbURL,
		"REDIS_URL=redis://" + tp.counter.addr + "/0",
		"CACHE_REDIS_URL=redis://" + tp.cache.addr + "/0",
		"REDIS_SHARDS=" + strings.Join(addrs, ","),
		"CURTAIN_CONSUMER__IN_SERVE=false",
		"CURTAIN_CONSUMER__MIN_IDLE=1s",
		"CURTAIN_CONSUMER__BLOCK=200ms",
		"CURTAIN_PLUGINS__CALL_TIMEOUT=500ms",
	}
}

func startConsumer(t testing.TB, env []string, name string) *process {
	t.Helper()
	return startProcess(t, t.TempDir(), []string{"consume"}, append(env, "HOSTNAME="+name))
}

// createURLs creates n URLs and returns their short codes.
func createURLs(t testing.TB, s *server, n int) []string {
	t.Helper()
	var codes []string
	for i := 0; i < n; i++ {
		resp, body := s.do(t, "POST", "/urls", fmt.Sprintf(`{"original_url":"https://example.com/fault/%d"}`, i))
		if resp.StatusCode != 201 {
			t.Fatalf("POST /urls = %d %s", resp.StatusCode, body)
		}
		var u struct {
			ShortCode string `json:"short_code"`
		}
		_ = json.Unmarshal([]byte(body), &u)
		codes = append(codes, u.ShortCode)
	}
	return codes
}

// load sends redirects from 8 workers until total have been sent, calling
// at(i) once when the i-th request is about to be sent, and counts the
// redirects served (302) and the failures.
type loadResult struct{ served, failed int64 }

func load(t *testing.T, s *server, codes []string, total int, at map[int]func()) loadResult {
	t.Helper()
	var next, served, failed atomic.Int64
	var hooks sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= total {
					return
				}
				hooks.Lock()
				if f := at[i]; f != nil {
					delete(at, i)
					f()
				}
				hooks.Unlock()
				resp, _, err := request("GET", s.base+"/r/"+codes[i%len(codes)], "")
				if err != nil {
					failed.Add(1)
					continue
				}
				if resp.StatusCode == http.StatusFound {
					served.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return loadResult{served: served.Load(), failed: failed.Load()}
}

// waitStored waits until the store holds want redirect events recorded
// from clicks, and checks that no click was stored twice.
func waitStored(t testing.TB, dbURL string, want int64) {
	t.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got, distinct int64
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		err = db.QueryRowContext(t.Context(),
			`SELECT count(*), count(DISTINCT click_id) FROM events WHERE event_type = 'redirect' AND click_id IS NOT NULL`).Scan(&got, &distinct)
		if err == nil && got >= want {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("count events: %v", err)
	}
	t.Logf("clicks served %d, redirect events stored %d (distinct click ids %d)", want, got, distinct)
	if got != want || distinct != want {
		t.Errorf("stored %d events (%d distinct clicks) for %d clicks served, want exactly one each", got, distinct, want)
	}
}

// TestFaultShardStoppedMidLoad stops click shard 0 in the middle of the
// load and starts it again: clicks fail over to shard 1, the failover is
// counted, and every click served lands in events exactly once.
func TestFaultShardStoppedMidLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	tp := newTopology(t, newDatabase(t), 2)
	s := startServer(t, t.TempDir(), tp.env()...)
	startConsumer(t, tp.env(), "c1")
	codes := createURLs(t, s, 20)
	const total = 3000
	res := load(t, s, codes, total, map[int]func(){
		total / 3:     func() { tp.shards[0].stop() },
		2 * total / 3: func() { tp.shards[0].start(t) },
	})
	if res.failed != 0 {
		t.Errorf("%d redirects failed while a shard was down, want none", res.failed)
	}
	_, metrics := s.do(t, "GET", "/metrics", "")
	if !strings.Contains(metrics, `redis_shard_failures_total{shard_id="shard0"}`) ||
		!strings.Contains(metrics, `redis_shard_failovers_total{from_shard="shard0",to_shard="shard1"}`) {
		t.Errorf("no shard failure/failover counted:\n%s", grepLines(metrics, "redis_shard"))
	}
	waitStored(t, tp.dbURL, res.served)
}

// TestFaultConsumerKilled kills one of two consumers with SIGKILL in the
// middle of the load and restarts it; its pending entries are claimed and
// every click lands in events exactly once.
func TestFaultConsumerKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	tp := newTopology(t, newDatabase(t), 2)
	s := startServer(t, t.TempDir(), tp.env()...)
	c1 := startConsumer(t, tp.env(), "c1")
	startConsumer(t, tp.env(), "c2")
	codes := createURLs(t, s, 20)
	const total = 3000
	res := load(t, s, codes, total, map[int]func(){
		total / 3:     func() { c1.kill() },
		2 * total / 3: func() { startConsumer(t, tp.env(), "c1") },
	})
	if res.failed != 0 {
		t.Errorf("%d redirects failed, want none", res.failed)
	}
	waitStored(t, tp.dbURL, res.served)
}

// TestFaultPostgresRestarted restarts PostgreSQL in the middle of the load:
// redirects keep being served from the caches, the consumer retries until
// the database is back, and every click lands in events exactly once.
func TestFaultPostgresRestarted(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	pg := startPostgresCluster(t)
	tp := newTopology(t, pg.url(), 2)
	s := startServer(t, t.TempDir(), tp.env()...)
	startConsumer(t, tp.env(), "c1")
	codes := createURLs(t, s, 20)
	for _, c := range codes { // warm the redirect cache
		s.do(t, "GET", "/r/"+c, "")
	}
	const total = 3000
	res := load(t, s, codes, total, map[int]func(){
		total / 3: func() {
			if out, err := pg.ctl("restart", "-m", "fast", "-w"); err != nil {
				t.Errorf("restart postgres: %v\n%s", err, out)
			}
		},
	})
	if res.failed != 0 {
		t.Errorf("%d redirects failed while PostgreSQL restarted, want none", res.failed)
	}
	waitStored(t, tp.dbURL, res.served+int64(len(codes)))
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestServePostgresOnly runs the deployment without Redis from a config
// file: store, counter and click shard on PostgreSQL, the consumer inside
// serve. Codes come from the PostgreSQL counter, clicks reach events once.
func TestServePostgresOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	db := newDatabase(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`store: {driver: postgres, postgres_url: %q}
plugins:
  counter: {builtin: postgres, settings: {url: %q}}
  shards:
    - {builtin: postgres, settings: {url: %q, schema: shard0}}
consumer: {block: 200ms}
`, db, db, db)
	if err := os.WriteFile(dir+"/curtain.yaml", []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServerArgs(t, dir, []string{"--config", "curtain.yaml"})
	codes := createURLs(t, s, 3)
	if codes[0] != "000001" || codes[2] != "000003" {
		t.Errorf("codes = %v, want 000001.. from the PostgreSQL counter", codes)
	}
	res := load(t, s, codes, 300, nil)
	if res.failed != 0 {
		t.Errorf("%d redirects failed", res.failed)
	}
	waitStored(t, db, res.served)
	out := runCurtain(t, dir, nil, "plugins", "--config", "curtain.yaml")
	if !strings.Contains(out, "builtin postgres") {
		t.Errorf("curtain plugins:\n%s", out)
	}
}
