package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	// utime 250, stime 50 (fields 14 and 15); the name holds ") (".
	stat := []byte("4242 (odd) (name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 100 0 0")
	comm, ticks, ok := parseProcStat(stat)
	if !ok || comm != "odd) (name" || ticks != 300 {
		t.Fatalf("parseProcStat = %q, %d, %v; want \"odd) (name\", 300, true", comm, ticks, ok)
	}
	for _, bad := range []string{"", "12 (x S 1", "12 (x) S 1 2 3"} {
		if _, _, ok := parseProcStat([]byte(bad)); ok {
			t.Errorf("parseProcStat(%q) ok, want a refusal", bad)
		}
	}
}

func TestParseCPUStat(t *testing.T) {
	stat := "cpu  10 0 10 80 0 0 0 0 0 0\n" +
		"cpu0 60 5 15 15 5 0 0 0 0 0\n" +
		"cpu1 1 0 1 98 0 0 0 0 0 0\n" +
		"intr 12345\n"
	got := parseCPUStat([]byte(stat))
	want := map[string]cpuTime{"cpu0": {busy: 80, idle: 20}, "cpu1": {busy: 2, idle: 98}}
	if len(got) != len(want) || got["cpu0"] != want["cpu0"] || got["cpu1"] != want["cpu1"] {
		t.Fatalf("parseCPUStat = %v, want %v", got, want)
	}
}

func TestProcGroup(t *testing.T) {
	for _, tc := range []struct {
		comm, cmdline, want string
	}{
		{"redis-server", "redis-server 127.0.0.1:17383", "redis:17383"},
		{"redis-server", "redis-server *:6379", "redis:6379"},
		{"redis-server", "redis-server\x00--port\x0017381\x00--save\x00", "redis:17381"},
		{"redis-server", "", "redis-server"},
		{"curtain", "/tmp/bench/curtain\x00serve\x00", "curtain serve"},
		{"curtain", "/tmp/bench/curtain\x00__plugin\x00clickshard\x00redis\x00", "curtain plugins"},
		{"curtain-limit", "/tmp/bench/curtain-limit\x00-mode\x00batched\x00", "curtain-limit"},
		{"postgres", "postgres: postgres curtainbench 127.0.0.1(5432) idle", "postgres"},
		{"kworker/0:1-events", "", "kworker"},
		{"ksoftirqd/1", "", "ksoftirqd"},
		{"python3", "python3\x00/tmp/x.py\x00", "python3"},
	} {
		if got := procGroup(tc.comm, []byte(tc.cmdline)); got != tc.want {
			t.Errorf("procGroup(%q, %q) = %q, want %q", tc.comm, tc.cmdline, got, tc.want)
		}
	}
}

// TestCPUReport: procsPerRequest and busyShares, and printCPU's line.
func TestCPUReport(t *testing.T) {
	before := procTimes{
		procs: map[int]procTime{
			10: {"curtain serve", 1000},
			11: {"kworker", 500},
			12: {"postgres", 200},
			13: {"sshd", 50},
		},
		cpus: map[string]cpuTime{"cpu0": {100, 100}, "cpu1": {100, 100}},
	}
	after := procTimes{
		procs: map[int]procTime{
			10: {"curtain serve", 1300}, // 3 s
			11: {"kworker", 520},        // 0.2 s, under its new name's group too
			12: {"postgres", 300},       // 1 s
			14: {"postgres", 100},       // a backend started meanwhile: 1 s
			13: {"sshd", 50},            // idle
			15: {"cron", 1},             // 0.01 s: under 1 % of the total
		},
		cpus: map[string]cpuTime{"cpu0": {175, 125}, "cpu1": {199, 101}},
	}
	r := cpuReport{
		groups: procsPerRequest(before.procs, after.procs, 1000, map[string]time.Duration{"wrk": time.Second}),
		cpus:   busyShares(before.cpus, after.cpus),
	}
	want := []groupCPU{
		{"curtain serve", 3 * time.Millisecond},
		{"postgres", 2 * time.Millisecond},
		{"wrk", time.Millisecond},
		{"kworker", 200 * time.Microsecond},
	}
	if len(r.groups) != len(want) {
		t.Fatalf("groups = %v, want %v", r.groups, want)
	}
	for i := range want {
		if r.groups[i] != want[i] {
			t.Errorf("group %d = %v, want %v", i, r.groups[i], want[i])
		}
	}
	if len(r.cpus) != 2 || r.cpus[0] != (cpuBusy{"cpu0", 75}) || r.cpus[1] != (cpuBusy{"cpu1", 99}) {
		t.Errorf("cpus = %v, want cpu0 75%%, cpu1 99%%", r.cpus)
	}
	var out bytes.Buffer
	printCPU(&out, r)
	if line := out.String(); !strings.Contains(line, "curtain serve 3000.0, postgres 2000.0, wrk 1000.0, kworker 200.0; busy: cpu0 75%, cpu1 99%") {
		t.Errorf("printCPU wrote %q", line)
	}
}

// procFiles writes files of a fake /proc tree under root, by name.
func procFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSampleProcs(t *testing.T) {
	root := t.TempDir()
	write := func(name, content string) { procFiles(t, root, map[string]string{name: content}) }
	write("7/stat", "7 (curtain) S 1 7 7 0 -1 0 0 0 0 0 40 2 0 0 20 0 9 0 5 0 0")
	write("7/cmdline", "/usr/bin/curtain\x00serve\x00")
	write("8/stat", "8 (gone") // unreadable: skipped
	write("self/stat", "not a pid")
	write("stat", "cpu 1 1 1 1\ncpu0 3 0 1 6 0 0 0 0 0 0\n")
	s, err := sampleProcs(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.procs) != 1 || s.procs[7] != (procTime{"curtain serve", 42}) {
		t.Errorf("procs = %v, want pid 7 as curtain serve with 42 ticks", s.procs)
	}
	if s.cpus["cpu0"] != (cpuTime{busy: 4, idle: 6}) {
		t.Errorf("cpus = %v, want cpu0 busy 4, idle 6", s.cpus)
	}
}

// TestProcMeter: a meter reports the processes' time from its start to
// the report, wrk's added, and the CPUs' busy share from its start to the
// load's end only; a meter without a root reports nothing.
func TestProcMeter(t *testing.T) {
	root := t.TempDir()
	sample := func(serveTicks int, cpu0 string) {
		procFiles(t, root, map[string]string{
			"7/stat":    fmt.Sprintf("7 (curtain) S 1 7 7 0 -1 0 0 0 0 0 %d 0 0 0 20 0 9 0 5 0 0", serveTicks),
			"7/cmdline": "/usr/bin/curtain\x00serve\x00",
			"stat":      "cpu 1 1 1 1\ncpu0 " + cpu0 + "\n",
		})
	}
	sample(100, "10 0 0 10 0 0 0 0 0 0")
	m, err := startMeter(root)
	if err != nil {
		t.Fatal(err)
	}
	sample(150, "40 0 0 20 0 0 0 0 0 0") // the load ends: cpu0 30 busy, 10 idle
	if err := m.loadEnded(); err != nil {
		t.Fatal(err)
	}
	sample(200, "40 0 0 100 0 0 0 0 0 0") // the clicks are stored meanwhile
	r, err := m.report(result{Requests: 100, wrkCPU: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	want := cpuReport{
		groups: []groupCPU{{"curtain serve", 10 * time.Millisecond}, {"wrk", 5 * time.Millisecond}},
		cpus:   []cpuBusy{{"cpu0", 75}},
	}
	if r == nil || !slices.Equal(r.groups, want.groups) || !slices.Equal(r.cpus, want.cpus) {
		t.Errorf("report = %+v, want %+v", r, want)
	}

	var off *procMeter
	if off, err = startMeter(""); off != nil || err != nil {
		t.Fatalf("startMeter(\"\") = %v, %v; want nil, nil", off, err)
	}
	if err := off.loadEnded(); err != nil {
		t.Errorf("loadEnded of no meter = %v", err)
	}
	if r, err := off.report(result{Requests: 1}); r != nil || err != nil {
		t.Errorf("report of no meter = %v, %v; want nil, nil", r, err)
	}
}
