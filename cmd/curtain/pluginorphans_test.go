package main

import (
	"syscall"
	"testing"
	"time"

	"github.com/curtainhq/curtain/internal/testenv"
)

// TestNoOrphanPlugins SIGKILLs `curtain serve`: none of its `curtain
// __plugin` children survives it (they get the parent-death signal).
func TestNoOrphanPlugins(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	s := startServer(t, t.TempDir())
	var pids []int
	for _, kind := range []string{"counter", "clickshard", "cache"} { // serve starts no alert sink
		pid := pluginPID(s, kind)
		if pid == 0 {
			t.Fatalf("no %s plugin process", kind)
		}
		pids = append(pids, pid)
	}
	s.kill()
	if alive := testenv.WaitGone(pids, 5*time.Second); len(alive) > 0 {
		for _, pid := range alive {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		t.Fatalf("plugin processes %v outlived their SIGKILLed host by 5s", alive)
	}
}

// TestPluginHonoursSIGTERM: a built-in plugin sent SIGTERM exits, and the
// host starts a new one.
func TestPluginHonoursSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	s := startServer(t, t.TempDir())
	pid := pluginPID(s, "cache")
	if pid == 0 {
		t.Fatal("no cache plugin process")
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if alive := testenv.WaitGone([]int{pid}, 5*time.Second); len(alive) > 0 {
		t.Fatalf("cache plugin %d still runs 5s after SIGTERM", pid)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p := pluginPID(s, "cache"); p == 0 || p == pid; p = pluginPID(s, "cache") {
		if time.Now().After(deadline) {
			t.Fatal("no new cache plugin 5s after the old one exited")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
