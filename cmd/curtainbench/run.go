package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// target is one server under test.
type target struct {
	Name string
	Base string
	DSN  string
	db   *sql.DB
	urls []benchURL
}

// targetFlags collects -target NAME=BASEURL,db=DSN.
type targetFlags []*target

func (f *targetFlags) String() string { return "" }

func (f *targetFlags) Set(v string) error {
	name, rest, ok := strings.Cut(v, "=")
	base, dsn, ok2 := strings.Cut(rest, ",db=")
	if !ok || !ok2 || name == "" || !strings.HasPrefix(base, "http") || dsn == "" {
		return fmt.Errorf("want NAME=BASEURL,db=DSN, got %q", v)
	}
	*f = append(*f, &target{Name: name, Base: strings.TrimSuffix(base, "/"), DSN: dsn})
	return nil
}

// result is one wrk run.
type result struct {
	Scenario, Target string
	Pair             int
	Requests         int64 // completed responses
	Errors           int64 // status >= 400 and socket errors
	RPS              float64
	P50, P99         time.Duration
	// Redirect runs only: clicks served (3xx responses), redirect events
	// stored since the run began, and how long after the load's end the
	// last of them was stored (-1 if they were not all stored in time).
	Served, Stored int64
	StoredAfter    time.Duration
	// CPU is the local processes' CPU time per request (-proc-cpu), nil
	// when not asked for.
	CPU *cpuReport
	// wrkCPU is the CPU time wrk used.
	wrkCPU time.Duration
}

var scenarios = []string{"redirect", "get", "create"}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var targets targetFlags
	fs.Var(&targets, "target", "NAME=BASEURL,db=DSN; give two: the first is measured against the second")
	scen := fs.String("scenarios", strings.Join(scenarios, ","), "scenarios to run: redirect, get (cached GET /urls/{id}), create (POST /urls)")
	pairs := fs.Int("pairs", 3, "interleaved rounds per scenario")
	duration := fs.Duration("duration", 8*time.Second, "load per run")
	conns := fs.Int("c", 32, "wrk connections")
	threads := fs.Int("t", 2, "wrk threads")
	cpu := fs.String("cpu", "0", "pin wrk to these CPUs with taskset (empty: no pinning)")
	drain := fs.Duration("drain", 60*time.Second, "how long to wait for served clicks to be stored")
	settle := fs.Duration("settle", time.Second, "pause between runs")
	warmup := fs.Duration("warmup", 3*time.Second, "unmeasured load on each target before a scenario's pairs (0: none)")
	procCPU := fs.Bool("proc-cpu", false, "after each run, print the CPU time per request of each group of local processes (Linux /proc): the servers, their plugins, PostgreSQL, each redis-server by port, wrk; and how busy each CPU was")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(targets) == 0 {
		return errors.New("run: give at least one -target")
	}
	want := strings.Split(*scen, ",")
	for _, s := range want {
		if !slices.Contains(scenarios, s) {
			return fmt.Errorf("run: unknown scenario %q", s)
		}
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("run: wrk not found (apt-get install wrk)")
	}
	dir, err := os.MkdirTemp("", "curtainbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, t := range targets {
		if t.db, err = openDB(t.DSN); err != nil {
			return err
		}
		defer t.db.Close()
		if t.urls, err = benchURLs(ctx, t.db); err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
		if len(t.urls) == 0 {
			return fmt.Errorf("%s: no benchmark URLs: run curtainbench prepare first", t.Name)
		}
	}

	var results []result
	w := stdout
	fmt.Fprintf(w, rowFormat, "scenario", "target", "pair", "req/s", "p50", "p99", "errors", "served", "stored", "stored after end")
	wa := wrkArgs{conns: *conns, threads: *threads, duration: *duration, cpu: *cpu}
	if *procCPU {
		wa.procRoot = "/proc"
		if _, err := os.Stat("/proc/stat"); err != nil {
			return fmt.Errorf("run: -proc-cpu reads Linux's /proc: %w", err)
		}
	}
	warm := wa
	warm.duration = *warmup
	// Pair 0 is the warm-up: printed, but left out of the ratios.
	first := 1
	if *warmup > 0 {
		first = 0
	}
	for _, s := range want {
		for p := first; p <= *pairs; p++ {
			for _, t := range targets {
				if err := ctx.Err(); err != nil {
					return err
				}
				args := wa
				if p == 0 {
					args = warm
				}
				r, err := runOne(ctx, dir, s, t, p, args, *drain)
				if err != nil {
					return fmt.Errorf("%s on %s: %w", s, t.Name, err)
				}
				if p > 0 {
					results = append(results, r)
				}
				printRow(w, r)
				time.Sleep(*settle)
			}
		}
	}
	if len(targets) >= 2 {
		fmt.Fprintf(stdout, "\nratios %s / %s, median of %d interleaved pairs (same run):\n", targets[0].Name, targets[1].Name, *pairs)
		for _, s := range want {
			printRatio(stdout, s, results, targets[0].Name, targets[1].Name)
		}
	}
	return nil
}

// rowFormat lays out one row of the results table.
const rowFormat = "%-9s %-10s %4s %9s %10s %10s %7s %8s %8s %17s\n"

func printRow(w io.Writer, r result) {
	served, stored, after := "-", "-", "-"
	if r.Scenario == "redirect" {
		served, stored = strconv.FormatInt(r.Served, 10), strconv.FormatInt(r.Stored, 10)
		after = "not all"
		if r.StoredAfter >= 0 {
			after = r.StoredAfter.Round(10 * time.Millisecond).String()
		}
	}
	pair := strconv.Itoa(r.Pair)
	if r.Pair == 0 {
		pair = "warm"
	}
	fmt.Fprintf(w, rowFormat, r.Scenario, r.Target, pair, strconv.FormatFloat(r.RPS, 'f', 0, 64),
		r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), strconv.FormatInt(r.Errors, 10), served, stored, after)
	if r.CPU != nil {
		printCPU(w, *r.CPU)
	}
}

func printRatio(w io.Writer, scenario string, results []result, a, b string) {
	var rps, p99 []float64
	for _, ra := range results {
		if ra.Scenario != scenario || ra.Target != a {
			continue
		}
		for _, rb := range results {
			if rb.Scenario == scenario && rb.Target == b && rb.Pair == ra.Pair && rb.RPS > 0 && rb.P99 > 0 {
				rps = append(rps, ra.RPS/rb.RPS)
				p99 = append(p99, float64(ra.P99)/float64(rb.P99))
			}
		}
	}
	if len(rps) == 0 {
		return
	}
	fmt.Fprintf(w, "  %-8s req/s %.2f×  p99 %.2f×  (per pair: %s)\n", scenario, median(rps), median(p99), formatRatios(rps))
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func formatRatios(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatFloat(x, 'f', 2, 64)
	}
	return strings.Join(parts, " ")
}

type wrkArgs struct {
	conns, threads int
	duration       time.Duration
	cpu            string
	procRoot       string // where to sample the processes' CPU ("": do not)
}

// runOne runs one scenario on one target and, for redirects, waits until
// the clicks it served are stored.
func runOne(ctx context.Context, dir, scenario string, t *target, pair int, wa wrkArgs, drain time.Duration) (result, error) {
	script := filepath.Join(dir, scenario+"-"+t.Name+".lua")
	if err := os.WriteFile(script, []byte(luaScript(scenario, t.urls)), 0o644); err != nil {
		return result{}, err
	}
	var lastID int64
	if scenario == "redirect" {
		var err error
		if lastID, err = lastEventID(ctx, t.db); err != nil {
			return result{}, fmt.Errorf("read the last event id: %w", err)
		}
	}
	meter, err := startMeter(wa.procRoot)
	if err != nil {
		return result{}, err
	}
	r, err := wrk(ctx, script, t.Base, wa, strconv.FormatInt(time.Now().UnixNano(), 36))
	if err != nil {
		return result{}, err
	}
	end := time.Now()
	if err := meter.loadEnded(); err != nil {
		return result{}, err
	}
	r.Scenario, r.Target, r.Pair = scenario, t.Name, pair
	if scenario != "redirect" {
		if r.CPU, err = meter.report(r); err != nil {
			return result{}, err
		}
		return r, nil
	}
	r.Served = r.Requests - r.Errors
	r.StoredAfter = -1
	deadline := end.Add(drain)
	for {
		n, err := redirectEventsAfter(ctx, t.db, lastID)
		if err != nil {
			return result{}, fmt.Errorf("count events: %w", err)
		}
		r.Stored = n
		if r.Stored >= r.Served {
			r.StoredAfter = time.Since(end)
			break
		}
		if time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return result{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	// Clicks of requests wrk cut off at the end may still arrive.
	time.Sleep(200 * time.Millisecond)
	if n, err := redirectEventsAfter(ctx, t.db, lastID); err == nil {
		r.Stored = n
	}
	// The processes' time counts until the clicks are stored, the CPUs'
	// busy share only while the load ran.
	if r.CPU, err = meter.report(r); err != nil {
		return result{}, err
	}
	return r, nil
}

// wrk runs wrk with script against base and reads the summary line the
// script's done() prints.
func wrk(ctx context.Context, script, base string, wa wrkArgs, token string) (result, error) {
	args := []string{"-t", strconv.Itoa(wa.threads), "-c", strconv.Itoa(wa.conns),
		"-d", strconv.Itoa(int(wa.duration.Seconds())) + "s", "--timeout", "5s", "-s", script, base, "--", token}
	name := "wrk"
	if wa.cpu != "" {
		args = append([]string{"-c", wa.cpu, "wrk"}, args...)
		name = "taskset"
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("wrk: %w: %s", err, out.String())
	}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 7 || f[0] != "CURTAINBENCH" {
			continue
		}
		var v [6]int64
		for i := range v {
			n, err := strconv.ParseInt(f[i+1], 10, 64)
			if err != nil {
				return result{}, fmt.Errorf("wrk summary %q: %w", sc.Text(), err)
			}
			v[i] = n
		}
		r := result{Requests: v[0], Errors: v[1] + v[2], P50: time.Duration(v[3]) * time.Microsecond, P99: time.Duration(v[4]) * time.Microsecond,
			wrkCPU: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
		if v[5] > 0 {
			r.RPS = float64(v[0]) / (float64(v[5]) / 1e6)
		}
		return r, nil
	}
	return result{}, fmt.Errorf("wrk printed no summary: %s", out.String())
}

// luaScript is the wrk script of a scenario: the requests, spread over the
// prepared URLs differently per thread, and a done() that prints one
// machine-readable summary line.
func luaScript(scenario string, urls []benchURL) string {
	var b strings.Builder
	b.WriteString("local paths = {")
	for i, u := range urls {
		if i > 0 {
			b.WriteByte(',')
		}
		if scenario == "get" {
			fmt.Fprintf(&b, "%q", "/urls/"+strconv.FormatInt(u.ID, 10))
		} else {
			fmt.Fprintf(&b, "%q", "/r/"+u.Code)
		}
	}
	b.WriteString("}\n")
	b.WriteString(`
local threads, nthreads = {}, 0
function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
  table.insert(threads, thread)
end
local token, n = "", 0
function init(args) token = args[1] or "" end
`)
	if scenario == "create" {
		b.WriteString(`
function request()
  n = n + 1
  local body = '{"original_url": "https://bench.example/new/' .. token .. '/' .. tid .. '/' .. n .. '"}'
  return wrk.format("POST", "/urls", {["Content-Type"] = "application/json"}, body)
end
`)
	} else {
		b.WriteString(`
function request()
  n = n + 1
  return wrk.format("GET", paths[((n * 7919 + tid * 104729) % #paths) + 1])
end
`)
	}
	b.WriteString(`
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("CURTAINBENCH %d %d %d %d %d %d\n", summary.requests, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99), summary.duration))
end
`)
	return b.String()
}
