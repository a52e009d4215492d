package host

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// TestHostRefusesPluginWithoutHealthService: a plugin that does not
// answer the gRPC health service is refused at start with a named error,
// not restarted forever while called healthy.
func TestHostRefusesPluginWithoutHealthService(t *testing.T) {
	_, err := New(Config{Plugins: []PluginConfig{{Kind: sdk.KindCounter, Builtin: "nohealth"}}},
		Options{SelfExec: []string{testPlugin}, Logger: testLogger(t)})
	if !errors.Is(err, sdk.ErrNoHealthService) {
		t.Fatalf("New with a plugin without health service = %v, want sdk.ErrNoHealthService", err)
	}
	if !strings.Contains(err.Error(), `plugin "counter"`) || !strings.Contains(err.Error(), "no gRPC health service") {
		t.Errorf("error %q does not name the plugin and the missing service", err)
	}
}

// TestHostKeepsSlowPlugin: health checks that time out make a live
// plugin unhealthy, with the reason, but do not restart it before
// HealthGrace; its calls keep working.
func TestHostKeepsSlowPlugin(t *testing.T) {
	h := newTestHost(t, Config{
		Plugins:        []PluginConfig{{Kind: sdk.KindCounter, Builtin: "slowhealth", CallTimeout: 200 * time.Millisecond}},
		HealthInterval: 50 * time.Millisecond,
	}, Options{})
	pid := statusOf(t, h, "counter").PID
	deadline := time.Now().Add(5 * time.Second)
	for statusOf(t, h, "counter").Healthy {
		if time.Now().After(deadline) {
			t.Fatal("a plugin whose health checks time out is still healthy after 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // many more failed checks, well within HealthGrace
	s := statusOf(t, h, "counter")
	if s.Restarts != 0 || s.PID != pid || s.Healthy || s.State != StateRunning {
		t.Errorf("Status = %+v, want running, unhealthy, pid %d, not restarted", s, pid)
	}
	if !strings.Contains(s.Reason, "DeadlineExceeded") {
		t.Errorf("Reason = %q, want the timed-out health check", s.Reason)
	}
	if _, err := h.Counter().Reserve(t.Context(), core.ReserveRequest{Size: 1}); err != nil {
		t.Errorf("Reserve on a slow-to-check plugin: %v", err)
	}
}

// TestHostRestartsAfterSustainedFailure: unanswered health checks for
// longer than HealthGrace do restart the plugin.
func TestHostRestartsAfterSustainedFailure(t *testing.T) {
	h := newTestHost(t, Config{
		Plugins:        []PluginConfig{{Kind: sdk.KindCounter, Builtin: "slowhealth", CallTimeout: 100 * time.Millisecond}},
		HealthInterval: 50 * time.Millisecond,
		HealthGrace:    500 * time.Millisecond,
	}, Options{})
	deadline := time.Now().Add(10 * time.Second)
	for statusOf(t, h, "counter").Restarts == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no restart after 10s of unanswered health checks: %+v", statusOf(t, h, "counter"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHostPluginEnvironment: a plugin gets the allow-listed variables and
// the ones its configuration passes, never the rest of the host's
// environment (read from /proc, as the kernel started the process).
func TestHostPluginEnvironment(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://curtain:s3cret@127.0.0.1/db")
	t.Setenv("REDIS_URL", "redis://:s3cret@127.0.0.1:6379/0")
	t.Setenv("CURTAIN_TEST_PASSED", "yes")
	h := newTestHost(t, Config{Plugins: []PluginConfig{
		{Kind: sdk.KindCounter, Path: testPlugin, PassEnv: []string{"CURTAIN_TEST_PASSED"}},
		memoryPlugin(sdk.KindCache),
	}}, Options{})
	for _, s := range h.Status() {
		raw, err := os.ReadFile("/proc/" + strconv.Itoa(s.PID) + "/environ")
		if err != nil {
			t.Skipf("no /proc environ: %v", err)
		}
		env := map[string]string{}
		for kv := range strings.SplitSeq(string(raw), "\x00") {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		for _, secret := range []string{"DATABASE_URL", "REDIS_URL"} {
			if _, ok := env[secret]; ok {
				t.Errorf("plugin %s got %s from the host's environment", s.Name, secret)
			}
		}
		if env["PATH"] != os.Getenv("PATH") || env[sdk.MagicCookieKey] != sdk.MagicCookieValue {
			t.Errorf("plugin %s environment lacks PATH or the magic cookie: %q", s.Name, raw)
		}
		if got, want := env["CURTAIN_TEST_PASSED"], map[string]string{"counter": "yes"}[s.Name]; got != want {
			t.Errorf("plugin %s: CURTAIN_TEST_PASSED = %q, want %q (passed to the counter only)", s.Name, got, want)
		}
	}
}

// TestHostAsksShardDurabilityWhenHealthyAgain: a click shard that was not
// durable when it started (its backing service was down, say) is durable
// once it reports so and turns healthy again, without a restart; and the
// other way round.
func TestHostAsksShardDurabilityWhenHealthyAgain(t *testing.T) {
	dir := t.TempDir()
	touch := func(name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	remove := func(name string) {
		t.Helper()
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	settings, _ := json.Marshal(map[string]string{"dir": dir})
	h := newTestHost(t, Config{
		Plugins:        []PluginConfig{{Kind: sdk.KindClickShard, Name: "shard0", Builtin: "fileshard", Settings: settings}},
		HealthInterval: 20 * time.Millisecond,
	}, Options{})
	shard, ok := h.Shards()[0].Shard.(DurableShard)
	if !ok {
		t.Fatal("the click shard handle is not a DurableShard")
	}
	if shard.Durable() {
		t.Fatal("Durable() = true before the plugin says so")
	}
	// waitHealthy waits until the shard's health is want.
	waitHealthy := func(want bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for statusOf(t, h, "shard0").Healthy != want {
			if time.Now().After(deadline) {
				t.Fatalf("shard0 healthy = %v after 10s, want %v", !want, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, durable := range []bool{true, false} {
		touch("down")
		waitHealthy(false)
		if durable {
			touch("durable")
		} else {
			remove("durable")
		}
		remove("down")
		waitHealthy(true)
		if got := shard.Durable(); got != durable {
			t.Errorf("Durable() = %v once healthy again, want %v", got, durable)
		}
	}
	if s := statusOf(t, h, "shard0"); s.Restarts != 0 {
		t.Errorf("Restarts = %d, want 0", s.Restarts)
	}
}

// TestHostKillsHungPluginItReplaced: a plugin that answers nothing at all
// (its process stopped) is replaced after HealthGrace, and its process is
// killed rather than left waiting for a shutdown request it will never
// answer; the host's Close then ends.
func TestHostKillsHungPluginItReplaced(t *testing.T) {
	h := newTestHost(t, Config{
		Plugins:        []PluginConfig{{Kind: sdk.KindCounter, Builtin: "memory", CallTimeout: 100 * time.Millisecond}},
		HealthInterval: 50 * time.Millisecond,
		HealthGrace:    500 * time.Millisecond,
	}, Options{})
	pid := statusOf(t, h, "counter").PID
	if pid <= 0 {
		t.Fatalf("PID = %d", pid)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("stop the plugin: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	deadline := time.Now().Add(20 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the hung plugin process %d still exists 20s after it was stopped: %+v", pid, statusOf(t, h, "counter"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s := statusOf(t, h, "counter"); s.Restarts == 0 {
		t.Errorf("Restarts = 0 after the plugin hung, want a restart: %+v", s)
	}
}
