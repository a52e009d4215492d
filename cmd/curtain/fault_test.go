package main

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	goredis "github.com/redis/go-redis/v9"
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

// eventsModes runs test once per value of clicks.events, with env setting
// it.
func eventsModes(t *testing.T, test func(t *testing.T, env []string)) {
	for _, mode := range []string{"stream", "direct"} {
		t.Run(mode, func(t *testing.T) { test(t, []string{"CURTAIN_CLICKS__EVENTS=" + mode}) })
	}
}

// TestFaultShardStoppedMidLoad stops click shard 0 in the middle of the
// load and starts it again: clicks fail over to shard 1, the failover is
// counted, and every click served lands in events exactly once.
func TestFaultShardStoppedMidLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	eventsModes(t, testShardStoppedMidLoad)
}

func testShardStoppedMidLoad(t *testing.T, mode []string) {
	tp := newTopology(t, newDatabase(t), 2)
	s := startServer(t, t.TempDir(), append(tp.env(), mode...)...)
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
// the database is back, and every click lands in events exactly once. In
// the direct events mode the clicks the store refused meanwhile take the
// streams, and the consumer stores them.
func TestFaultPostgresRestarted(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	eventsModes(t, testPostgresRestarted)
}

func testPostgresRestarted(t *testing.T, mode []string) {
	pg := startPostgresCluster(t)
	tp := newTopology(t, pg.url(), 2)
	s := startServer(t, t.TempDir(), append(tp.env(), mode...)...)
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
	_, metrics := s.do(t, "GET", "/metrics", "")
	for _, l := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(l, "curtain_clicks_stored_direct_total ") {
			t.Logf("of which the host stored itself: %s", strings.TrimPrefix(l, "curtain_clicks_stored_direct_total "))
		}
	}
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

// The fault table (issue 15): for each topology, durability mode and
// fault, a time-based load of redirects runs while the fault is injected
// and lifted, and the table reports the redirects served while the fault
// lasted, the time to recover and the clicks acknowledged (302s) against
// the redirect events stored afterwards. TestFaultTable runs a short form
// in the normal suite; CURTAIN_TEST_FAULT_TABLE=long runs every row, with
// longer faults (PostgreSQL down 10 s).

// faultTableEnv selects the long fault table. It is in the CURTAIN_TEST_*
// namespace, which configuration leaves to the tests, so that the Curtain
// processes the table starts (they inherit it) do not warn of an unknown
// variable.
const faultTableEnv = "CURTAIN_TEST_FAULT_TABLE"

// faultRig is one topology under test.
type faultRig struct {
	t     *testing.T
	topo  string // "embedded" or "redis"
	dir   string
	env   []string
	tp    *topology
	pg    *pgCluster
	s     *server
	base  atomic.Pointer[string]
	cons  *process
	codes []string
	// count returns the redirect events stored from clicks and the
	// distinct click ids among them.
	count func() (n, distinct int64)
}

func (r *faultRig) setServer(s *server) {
	r.s = s
	b := s.base
	r.base.Store(&b)
}

// newFaultRig starts a topology in the given durability mode. With
// privatePG the Redis topology's PostgreSQL is a private server the test
// may stop.
func newFaultRig(t *testing.T, topo, mode string, privatePG bool) *faultRig {
	t.Helper()
	r := &faultRig{t: t, topo: topo, dir: t.TempDir()}
	r.env = []string{"CURTAIN_CLICKS__DURABILITY=" + mode}
	switch topo {
	case "embedded":
		dbPath := filepath.Join(r.dir, "curtain.db")
		r.count = func() (int64, int64) { return countClicks(t, "sqlite", dbPath) }
	case "redis":
		var dbURL string
		if privatePG {
			r.pg = startPostgresCluster(t)
			dbURL = r.pg.url()
		} else {
			dbURL = newDatabase(t)
		}
		r.tp = newTopology(t, dbURL, 2)
		r.env = append(r.env, r.tp.env()...)
		r.count = func() (int64, int64) { return countClicks(t, "pgx", dbURL) }
	}
	r.setServer(startServer(t, r.dir, r.env...))
	if r.tp != nil {
		r.cons = startConsumer(t, r.env, "c1")
	}
	r.codes = createURLs(t, r.s, 10)
	for _, c := range r.codes { // warm the caches
		r.s.do(t, "GET", "/r/"+c, "")
	}
	return r
}

// countClicks counts the redirect events stored from clicks in a database.
func countClicks(t testing.TB, driver, dsn string) (n, distinct int64) {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.QueryRowContext(t.Context(),
		`SELECT count(*), count(DISTINCT click_id) FROM events WHERE event_type = 'redirect' AND click_id IS NOT NULL`).Scan(&n, &distinct)
	if err != nil {
		t.Logf("count events: %v", err)
		return -1, -1
	}
	return n, distinct
}

// killPlugin SIGKILLs the host's plugin process of kind.
func (r *faultRig) killPlugin(kind string) {
	pid := pluginPID(r.s, kind)
	if pid == 0 {
		r.t.Errorf("no %s plugin process", kind)
		return
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// restartHost SIGKILLs curtain serve and starts it again on the same
// directory and configuration, as a supervisor would.
func (r *faultRig) restartHost() {
	r.s.kill()
	r.setServer(startServer(r.t, r.dir, r.env...))
}

// faultCase is one row of the fault table. inject starts the fault;
// lift, when set, ends it after the fault's duration (an instantaneous
// fault, a SIGKILL, has none: the system heals itself).
type faultCase struct {
	topo   string
	name   string
	inject func(r *faultRig)
	lift   func(r *faultRig)
	// privatePG asks for a PostgreSQL the test may stop.
	privatePG bool
	// short marks the rows of the short form.
	short bool
}

func faultCases() []faultCase {
	return []faultCase{
		{topo: "embedded", name: "SIGKILL click-shard plugin", short: true,
			inject: func(r *faultRig) { r.killPlugin("clickshard") }},
		{topo: "embedded", name: "SIGKILL counter plugin",
			inject: func(r *faultRig) { r.killPlugin("counter") }},
		{topo: "embedded", name: "SIGKILL cache plugin",
			inject: func(r *faultRig) { r.killPlugin("cache") }},
		{topo: "embedded", name: "SIGKILL host", short: true,
			inject: func(r *faultRig) { r.restartHost() }},
		{topo: "redis", name: "SIGKILL click-shard plugin",
			inject: func(r *faultRig) { r.killPlugin("clickshard") }},
		{topo: "redis", name: "SIGKILL host", short: true,
			inject: func(r *faultRig) { r.restartHost() }},
		{topo: "redis", name: "stop shard0 Redis",
			inject: func(r *faultRig) { r.tp.shards[0].stop() },
			lift:   func(r *faultRig) { r.tp.shards[0].start(r.t) }},
		{topo: "redis", name: "stop cache Redis",
			inject: func(r *faultRig) { r.tp.cache.stop() },
			lift:   func(r *faultRig) { r.tp.cache.start(r.t) }},
		{topo: "redis", name: "stop counter Redis",
			inject: func(r *faultRig) { r.tp.counter.stop() },
			lift:   func(r *faultRig) { r.tp.counter.start(r.t) }},
		{topo: "redis", name: "stop PostgreSQL", privatePG: true,
			inject: func(r *faultRig) {
				if out, err := r.pg.ctl("stop", "-m", "fast", "-w"); err != nil {
					r.t.Errorf("stop postgres: %v\n%s", err, out)
				}
			},
			lift: func(r *faultRig) {
				if out, err := r.pg.ctl("start", "-w"); err != nil {
					r.t.Errorf("start postgres: %v\n%s", err, out)
				}
			}},
		{topo: "redis", name: "SIGKILL consumer",
			inject: func(r *faultRig) { r.cons.kill() },
			lift:   func(r *faultRig) { r.cons = startConsumer(r.t, r.env, "c1") }},
	}
}

// inShort reports whether the row runs in the short form: the short rows
// in the durable mode, and SIGKILL of the embedded host in both modes
// too, for the fast mode's bounded loss.
func (fc faultCase) inShort(mode string) bool {
	return fc.short && (mode == config.DurabilityDurable || (fc.topo == "embedded" && fc.name == "SIGKILL host"))
}

// faultRow is one measured row of the table.
type faultRow struct {
	topo, mode, fault     string
	servedDuring, sentDur int64
	recovery              time.Duration
	acked, stored, dups   int64
}

func (f faultRow) lost() int64 { return max(0, f.acked-f.stored) }

// runFault runs one row: load for warm, inject, keep the fault for hold
// (when it is lifted), then measure the recovery and load for after.
func runFault(t *testing.T, fc faultCase, mode string, warm, hold, after time.Duration) faultRow {
	r := newFaultRig(t, fc.topo, mode, fc.privatePG)
	const (
		before = iota
		during
		recovered
		stop
	)
	var phase atomic.Int32
	var served, sent [3]atomic.Int64
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; ; i++ {
				p := phase.Load()
				if p == stop {
					return
				}
				resp, _, err := request("GET", *r.base.Load()+"/r/"+r.codes[i%len(r.codes)], "")
				sent[p].Add(1)
				if err == nil && resp.StatusCode == http.StatusFound {
					served[p].Add(1)
				}
				if err != nil {
					time.Sleep(10 * time.Millisecond) // the host is down
				}
			}
		})
	}
	time.Sleep(warm)
	phase.Store(during)
	// Recovery runs from the SIGKILL of an instantaneous fault, or from
	// the lifting of a lasting one.
	end := time.Now()
	fc.inject(r)
	if fc.lift != nil {
		time.Sleep(hold)
		fc.lift(r)
		end = time.Now()
	}
	var recovery time.Duration
	var probes atomic.Int64
	for time.Since(end) < 30*time.Second {
		resp, body, err := request("GET", *r.base.Load()+"/health/ready", "")
		if err == nil && resp.StatusCode == http.StatusOK && strings.Contains(body, `"status":"ready"`) {
			if resp, _, err := request("GET", *r.base.Load()+"/r/"+r.codes[0], ""); err == nil && resp.StatusCode == http.StatusFound {
				recovery = time.Since(end)
				probes.Add(1) // an acknowledged click too
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if recovery == 0 {
		t.Errorf("%s/%s/%s: not recovered within 30s", fc.topo, mode, fc.name)
	}
	phase.Store(recovered)
	time.Sleep(after)
	phase.Store(stop)
	wg.Wait()

	var acked int64
	for i := range served {
		acked += served[i].Load()
	}
	acked += int64(len(r.codes)) + probes.Load() // the warming and probing redirects
	// Wait until the consumer has stored what it will.
	var n, distinct int64
	last, since := int64(-2), time.Now()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		n, distinct = r.count()
		if n >= acked {
			break
		}
		if n != last {
			last, since = n, time.Now()
		} else if time.Since(since) > 6*time.Second {
			break
		}
	}
	return faultRow{
		topo: fc.topo, mode: mode, fault: fc.name,
		servedDuring: served[during].Load(), sentDur: sent[during].Load(),
		recovery: recovery, acked: acked, stored: distinct, dups: n - distinct,
	}
}

// TestFaultTable runs the fault table and prints it. Durable mode must
// lose no acknowledged click, and no mode may store a click twice.
func TestFaultTable(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	long := os.Getenv(faultTableEnv) == "long"
	warm, hold, after := 700*time.Millisecond, 1500*time.Millisecond, 700*time.Millisecond
	pgHold := hold
	if long {
		warm, hold, after, pgHold = 2*time.Second, 3*time.Second, 2*time.Second, 10*time.Second
	}
	var rows []faultRow
	for _, fc := range faultCases() {
		for _, mode := range []string{config.DurabilityFast, config.DurabilityDurable} {
			if !long && !fc.inShort(mode) {
				continue
			}
			t.Run(fc.topo+"/"+mode+"/"+fc.name, func(t *testing.T) {
				h := hold
				if fc.privatePG {
					h = pgHold
				}
				row := runFault(t, fc, mode, warm, h, after)
				rows = append(rows, row)
				if row.dups != 0 {
					t.Errorf("%d clicks stored twice", row.dups)
				}
				if mode == config.DurabilityDurable && row.lost() != 0 {
					t.Errorf("durable mode lost %d of %d acknowledged clicks (stored %d)", row.lost(), row.acked, row.stored)
				}
			})
		}
	}
	var b strings.Builder
	b.WriteString("| topology | mode | fault | 302 during fault | recovery | clicks acknowledged | events stored | lost |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %d/%d | %v | %d | %d | %d |\n", r.topo, r.mode, r.fault,
			r.servedDuring, r.sentDur, r.recovery.Round(10*time.Millisecond), r.acked, r.stored, r.lost())
	}
	t.Logf("fault table:\n%s", b.String())
}

// BenchmarkRedirectDurability measures redirects on the embedded default
// in each click mode, from 8 concurrent clients: time per redirect
// (noisy on a shared machine; compare with -count and benchstat) and how
// many clicks share a write: per shard Record call in the fast mode, per
// store commit (curtain_clicks_store_inserts_total) in the durable mode.
func BenchmarkRedirectDurability(b *testing.B) {
	for _, mode := range []string{config.DurabilityFast, config.DurabilityDurable} {
		b.Run(mode, func(b *testing.B) {
			s := startServer(b, b.TempDir(), "CURTAIN_CLICKS__DURABILITY="+mode)
			codes := createURLs(b, s, 10)
			writes := func() float64 {
				_, body := s.do(b, "GET", "/metrics", "")
				var sum float64
				for _, l := range strings.Split(body, "\n") {
					durableWrite := mode == config.DurabilityDurable && strings.HasPrefix(l, "curtain_clicks_store_inserts_total ")
					fastWrite := mode == config.DurabilityFast && strings.HasPrefix(l, "curtain_plugin_rpc_total{") &&
						strings.Contains(l, `method="Record"`) && strings.Contains(l, `code="OK"`)
					if durableWrite || fastWrite {
						var v float64
						fmt.Sscan(l[strings.LastIndexByte(l, ' ')+1:], &v)
						sum += v
					}
				}
				return sum
			}
			before := writes()
			var n atomic.Int64
			b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					resp, _, err := request("GET", s.base+"/r/"+codes[i%len(codes)], "")
					if err != nil || resp.StatusCode != http.StatusFound {
						b.Errorf("redirect = %v, %v", resp, err)
						return
					}
					n.Add(1)
				}
			})
			b.StopTimer()
			time.Sleep(50 * time.Millisecond) // the last fast-mode flush
			if c := writes() - before; c > 0 {
				b.ReportMetric(float64(n.Load())/c, "clicks/write")
			}
		})
	}
}

// TestDirectEventsWithoutStreams: with clicks.events: direct the host
// stores every click itself, so with no consumer running at all every
// click served is an event, filed under its shard with the details the
// consumer would give it, the shards count every click, and no stream is
// written.
func TestDirectEventsWithoutStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	tp := newTopology(t, newDatabase(t), 2)
	// The topology's 500ms call timeout also bounds the host's inserts: a
	// slower one, under a loaded test run, would send its batch to the
	// streams, which no consumer reads here.
	s := startServer(t, t.TempDir(), append(tp.env(), "CURTAIN_CLICKS__EVENTS=direct", "CURTAIN_PLUGINS__CALL_TIMEOUT=10s")...)
	codes := createURLs(t, s, 20)
	const total = 500
	res := load(t, s, codes, total, nil)
	if res.failed != 0 {
		t.Errorf("%d redirects failed, want none", res.failed)
	}
	waitStored(t, tp.dbURL, res.served)

	var clicks int64
	for i, sh := range tp.shards {
		rdb := goredis.NewClient(&goredis.Options{Addr: sh.addr})
		streams, err := rdb.Keys(t.Context(), "stream:clicks:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(streams) != 0 {
			t.Errorf("shard%d holds streams %v, want none in the direct events mode", i, streams)
		}
		for _, c := range codes {
			n, err := rdb.Get(t.Context(), "clicks:"+c).Int64()
			if err != nil && !errors.Is(err, goredis.Nil) {
				t.Fatal(err)
			}
			clicks += n
		}
		rdb.Close()
	}
	if clicks != res.served {
		t.Errorf("the shards' totals add up to %d clicks, want %d", clicks, res.served)
	}

	db, err := sql.Open("pgx", tp.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var details string
	if err := db.QueryRowContext(t.Context(), `SELECT details FROM events WHERE event_type = 'redirect' LIMIT 1`).Scan(&details); err != nil {
		t.Fatal(err)
	}
	var d map[string]string
	if err := json.Unmarshal([]byte(details), &d); err != nil {
		t.Fatalf("details %s: %v", details, err)
	}
	if d["source"] != "stream" || (d["shard"] != "shard0" && d["shard"] != "shard1") || d["ip"] == "" || d["short_code"] == "" {
		t.Errorf("details %s, want the stream copy's ip, shard, short_code and source", details)
	}
	_, metrics := s.do(t, "GET", "/metrics", "")
	if !strings.Contains(metrics, fmt.Sprintf("curtain_clicks_stored_direct_total %d", res.served)) {
		t.Errorf("curtain_clicks_stored_direct_total is not %d:\n%s", res.served, grepLines(metrics, "curtain_clicks_"))
	}
}

// TestFaultTableSwitchIsNotConfig: a Curtain process started with the
// fault table's switch in its environment loads its configuration without
// a warning. The switch was CURTAIN_FAULT_TABLE, an unknown CURTAIN_*
// variable to configuration.
func TestFaultTableSwitchIsNotConfig(t *testing.T) {
	got, err := config.Load(config.Sources{Environ: []string{faultTableEnv + "=long"}})
	if err != nil {
		t.Fatalf("Load with %s=long: %v", faultTableEnv, err)
	}
	if len(got.Warnings) > 0 {
		t.Errorf("Load with %s=long warns %q, want no warning", faultTableEnv, got.Warnings)
	}
}
