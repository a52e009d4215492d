package main

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the unit of the CPU times in /proc/<pid>/stat and
// /proc/stat (USER_HZ, 100 on every Linux architecture Go supports).
const clockTicks = 100

// procTimes is a sample of the CPU time of every process under a /proc
// root, by pid, with each process's group (procGroup), and of each CPU's
// busy and idle time.
type procTimes struct {
	procs map[int]procTime
	cpus  map[string]cpuTime
}

type procTime struct {
	group string
	ticks int64 // user + system
}

type cpuTime struct{ busy, idle int64 }

// sampleProcs reads the CPU times under root (normally /proc). Processes
// that vanish while it reads are skipped.
func sampleProcs(root string) (procTimes, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return procTimes{}, err
	}
	s := procTimes{procs: map[int]procTime{}, cpus: map[string]cpuTime{}}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(root, e.Name(), "stat"))
		if err != nil {
			continue
		}
		comm, ticks, ok := parseProcStat(stat)
		if !ok {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(root, e.Name(), "cmdline"))
		s.procs[pid] = procTime{group: procGroup(comm, cmdline), ticks: ticks}
	}
	if stat, err := os.ReadFile(filepath.Join(root, "stat")); err == nil {
		s.cpus = parseCPUStat(stat)
	}
	return s, nil
}

// parseProcStat returns the command name and the user plus system CPU
// ticks of a /proc/<pid>/stat. The name is in parentheses and may hold
// spaces and parentheses itself, so the fields are counted from the last
// ')'.
func parseProcStat(stat []byte) (comm string, ticks int64, ok bool) {
	open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if open < 0 || end < open {
		return "", 0, false
	}
	f := strings.Fields(string(stat[end+1:]))
	if len(f) < 13 { // fields 3 (state) to 15 (stime)
		return "", 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, false
	}
	return string(stat[open+1 : end]), utime + stime, true
}

// parseCPUStat returns each CPU's busy and idle ticks from /proc/stat
// (idle counts iowait too).
func parseCPUStat(stat []byte) map[string]cpuTime {
	cpus := map[string]cpuTime{}
	for line := range strings.Lines(string(stat)) {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		var t cpuTime
		for i, v := range f[1:] {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				break
			}
			if i == 3 || i == 4 { // idle, iowait
				t.idle += n
			} else if i < 8 { // user nice system . . irq softirq steal
				t.busy += n
			}
		}
		cpus[f[0]] = t
	}
	return cpus
}

// procGroup names the group a process's CPU time is counted in: a Redis
// server by its port, a program run with a subcommand by both
// ("curtain serve"; a Curtain plugin is "curtain plugins"), a kernel
// thread by its kind ("kworker", "ksoftirqd": the rest of its name
// changes with its work), anything else by its command name (every
// PostgreSQL backend is "postgres").
func procGroup(comm string, cmdline []byte) string {
	if len(cmdline) == 0 {
		kind, _, _ := strings.Cut(comm, "/")
		return kind
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if strings.HasPrefix(comm, "redis-server") {
		// Redis retitles itself "redis-server 127.0.0.1:6379"; started
		// with --port, it may not have yet.
		words := strings.Fields(strings.Join(args, " "))
		for i, w := range words {
			if i > 0 && strings.Contains(w, ":") {
				if port := w[strings.LastIndexByte(w, ':')+1:]; isDigits(port) {
					return "redis:" + port
				}
			}
			if w == "--port" && i+1 < len(words) && isDigits(words[i+1]) {
				return "redis:" + words[i+1]
			}
		}
		return "redis-server"
	}
	if len(args) >= 2 && args[0] != "" && args[1] != "" && !strings.HasPrefix(args[1], "-") && !strings.ContainsAny(args[1], "/=") {
		sub := args[1]
		if sub == "__plugin" {
			sub = "plugins"
		}
		return filepath.Base(args[0]) + " " + sub
	}
	return comm
}

// isDigits reports whether s is a non-empty run of decimal digits.
func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// cpuReport is the CPU time per request of each process group over a
// run, and how busy each CPU was while its load ran.
type cpuReport struct {
	groups []groupCPU
	cpus   []cpuBusy
}

type groupCPU struct {
	group      string
	perRequest time.Duration
}

type cpuBusy struct {
	cpu     string
	percent float64
}

// minShare leaves out of a report the groups that used less than this
// share of the CPU time the report counts (the machine's idle daemons).
const minShare = 0.01

// procsPerRequest returns the CPU per request of each group from before
// to after, over requests requests, plus extra (a process that ended in
// between, such as wrk, measured by its exit status), the largest first.
// A process that started in between counts from zero; one is known by its
// pid, since a kernel thread's name changes with its work.
func procsPerRequest(before, after map[int]procTime, requests int64, extra map[string]time.Duration) []groupCPU {
	byGroup := maps.Clone(extra)
	if byGroup == nil {
		byGroup = map[string]time.Duration{}
	}
	for pid, a := range after {
		if d := a.ticks - before[pid].ticks; d > 0 {
			byGroup[a.group] += time.Duration(d) * time.Second / clockTicks
		}
	}
	var total time.Duration
	for _, d := range byGroup {
		total += d
	}
	var groups []groupCPU
	for g, d := range byGroup {
		if requests > 0 && float64(d) >= minShare*float64(total) {
			groups = append(groups, groupCPU{g, d / time.Duration(requests)})
		}
	}
	slices.SortFunc(groups, func(a, b groupCPU) int {
		return cmp.Or(cmp.Compare(b.perRequest, a.perRequest), strings.Compare(a.group, b.group))
	})
	return groups
}

// busyShares returns how busy each CPU was from before to after, in CPU
// order.
func busyShares(before, after map[string]cpuTime) []cpuBusy {
	var cpus []cpuBusy
	for name, a := range after {
		b := before[name]
		if busy, idle := a.busy-b.busy, a.idle-b.idle; busy+idle > 0 {
			cpus = append(cpus, cpuBusy{name, 100 * float64(busy) / float64(busy+idle)})
		}
	}
	slices.SortFunc(cpus, func(a, b cpuBusy) int { return strings.Compare(a.cpu, b.cpu) })
	return cpus
}

// procMeter samples the processes under a /proc root around one run
// (-proc-cpu). A nil meter samples nothing and reports nil.
type procMeter struct {
	root            string
	before, loadEnd procTimes
}

// startMeter takes a meter's first sample; an empty root gives nil.
func startMeter(root string) (*procMeter, error) {
	if root == "" {
		return nil, nil
	}
	m := &procMeter{root: root}
	return m, m.sample(&m.before)
}

func (m *procMeter) sample(into *procTimes) error {
	s, err := sampleProcs(m.root)
	if err != nil {
		return fmt.Errorf("-proc-cpu: %w", err)
	}
	*into = s
	return nil
}

// loadEnded samples the CPUs' busy time at the end of the load.
func (m *procMeter) loadEnded() error {
	if m == nil {
		return nil
	}
	return m.sample(&m.loadEnd)
}

// report samples the processes now and reports their time since the start
// per request of r, wrk's included, with the CPUs' busy shares until
// loadEnded.
func (m *procMeter) report(r result) (*cpuReport, error) {
	if m == nil {
		return nil, nil
	}
	var now procTimes
	if err := m.sample(&now); err != nil {
		return nil, err
	}
	return &cpuReport{
		groups: procsPerRequest(m.before.procs, now.procs, r.Requests, map[string]time.Duration{"wrk": r.wrkCPU}),
		cpus:   busyShares(m.before.cpus, m.loadEnd.cpus),
	}, nil
}

// printCPU writes a report as one indented line under its run's row.
func printCPU(w io.Writer, r cpuReport) {
	parts := make([]string, 0, len(r.groups))
	for _, g := range r.groups {
		parts = append(parts, fmt.Sprintf("%s %.1f", g.group, float64(g.perRequest)/float64(time.Microsecond)))
	}
	busy := make([]string, 0, len(r.cpus))
	for _, c := range r.cpus {
		busy = append(busy, fmt.Sprintf("%s %.0f%%", c.cpu, c.percent))
	}
	fmt.Fprintf(w, "%10s CPU µs per request: %s; busy: %s\n", "", strings.Join(parts, ", "), strings.Join(busy, ", "))
}
