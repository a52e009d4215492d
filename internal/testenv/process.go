package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Build builds the Go command pkg (a package path or a directory relative
// to the test's package) into a temporary directory, for a TestMain: it
// returns the executable's path and a function that removes it.
func Build(pkg, name string) (exe string, remove func(), err error) {
	dir, err := os.MkdirTemp("", "curtain-test-"+name+"-")
	if err != nil {
		return "", nil, err
	}
	remove = func() { os.RemoveAll(dir) }
	exe = filepath.Join(dir, name)
	build := exec.Command("go", "build", "-o", exe, pkg)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		remove()
		return "", nil, fmt.Errorf("build %s: %w", pkg, err)
	}
	return exe, remove, nil
}

// Running reports whether pid is a live process: not gone, and not a
// zombie waiting for its reaper.
func Running(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// WaitGone waits until none of pids runs, or within has passed, and
// returns those still running.
func WaitGone(pids []int, within time.Duration) []int {
	deadline := time.Now().Add(within)
	for {
		var alive []int
		for _, pid := range pids {
			if Running(pid) {
				alive = append(alive, pid)
			}
		}
		if len(alive) == 0 || time.Now().After(deadline) {
			return alive
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Processes returns the live processes (Linux /proc) whose command line
// starts with exe, other than this one: after a test suite, those of a
// binary it built are left behind.
func Processes(exe string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		argv0, _, _ := bytes.Cut(cmdline, []byte{0})
		if string(argv0) == exe && Running(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Leftovers waits up to within for every process of exe to exit, kills
// those that do not, and describes them; "" when none was left. A
// TestMain calls it after m.Run and fails the suite on an answer.
func Leftovers(exe string, within time.Duration) string {
	alive := WaitGone(Processes(exe), within)
	if len(alive) == 0 {
		return ""
	}
	var desc []string
	for _, pid := range alive {
		cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		desc = append(desc, fmt.Sprintf("pid %d: %s", pid, strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " ")))
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return fmt.Sprintf("%d processes of %s outlived the tests (killed now):\n%s", len(alive), exe, strings.Join(desc, "\n"))
}

// Main is a TestMain that needs a command: it builds pkg as name (see
// Build), stores the executable's path in *exe, runs the tests, calls
// each of after with the exit code so far (to check what the tests left
// behind, say), removes the build and returns the code for os.Exit.
func Main(m interface{ Run() int }, pkg, name string, exe *string, after ...func(code int) int) int {
	path, remove, err := Build(pkg, name)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer remove()
	*exe = path
	code := m.Run()
	for _, f := range after {
		code = f(code)
	}
	return code
}
