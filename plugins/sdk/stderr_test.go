package sdk_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/curtainhq/curtain/internal/testenv"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// TestRouteLogsSurvivesMalformedLines starts a process that writes log
// lines go-plugin's own parser panics on (a @message, @level or
// @timestamp that is not a string), which took the whole host down. With
// RouteLogs the lines are logged and the start fails as for any process
// that exits before its handshake.
func TestRouteLogsSurvivesMalformedLines(t *testing.T) {
	if testing.Short() {
		t.Skip("plugin processes skipped in -short mode")
	}
	script := "cat >&2 <<'LINES'\n" +
		`{"@level":"info","@message":42}` + "\n" +
		`{"@level":"warn","@message":"number level next","@timestamp":"2026-01-01T00:00:00Z","shard":"s1"}` + "\n" +
		`{"@level":7,"@message":"not a level"}` + "\n" +
		`{"@level":"error","@message":"odd time","@timestamp":5}` + "\n" +
		"[WARN] prefixed line\n" +
		"LINES\nexit 3\n"
	path := filepath.Join(t.TempDir(), "plugin.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path)
	cmd.Env = sdk.PluginEnv(os.Environ(), sdk.EnvAllowList)
	cc := sdk.LaunchConfig(sdk.KindCounter, cmd, 5*time.Second)
	var out testenv.LogBuffer
	sdk.RouteLogs(cc, hclog.New(&hclog.LoggerOptions{Output: &out, Level: hclog.Trace, JSONFormat: true}))
	pc := plugin.NewClient(cc)
	if _, err := pc.Client(); err == nil {
		t.Error("Client() error = nil, want the process's early exit")
	}
	pc.Kill() // waits for the log goroutine
	logged := out.String()
	for _, want := range []string{
		`"@level":"info","@message":"42","@module":"plugin.sh"`,
		`"@level":"warn","@message":"number level next","@module":"plugin.sh"`,
		`"shard":"s1"`,
		`"@level":"error","@message":"odd time"`,
		`"@level":"warn","@message":"[WARN] prefixed line"`,
	} {
		if !strings.Contains(logged, want) {
			t.Errorf("the host's log lacks %s:\n%s", want, logged)
		}
	}
	// A @level that is not a level name: not hclog's line, kept verbatim.
	if !strings.Contains(logged, `"@message":"{\"@level\":7,\"@message\":\"not a level\"}"`) {
		t.Errorf("the line with a numeric @level is not logged verbatim:\n%s", logged)
	}
}

// TestStderrTail: a process that dies before its handshake leaves its
// last stderr lines (trimmed, long ones cut) for the start error.
func TestStderrTail(t *testing.T) {
	if testing.Short() {
		t.Skip("plugin processes skipped in -short mode")
	}
	long := strings.Repeat("x", 400)
	script := "cat >&2 <<'LINES'\n" +
		"Traceback (most recent call last):\n" +
		"  File \"cache.py\", line 3, in <module>\n" +
		"    import grpc\n" +
		"\n" +
		"ModuleNotFoundError: No module named 'grpc'\n" +
		long + "\n" +
		"LINES\nexit 1\n"
	path := filepath.Join(t.TempDir(), "plugin.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path)
	cmd.Env = sdk.PluginEnv(os.Environ(), sdk.EnvAllowList)
	cc := sdk.LaunchConfig(sdk.KindCounter, cmd, 5*time.Second)
	sdk.RouteLogs(cc, hclog.NewNullLogger())
	pc := plugin.NewClient(cc)
	if _, err := pc.Client(); err == nil {
		t.Error("Client() error = nil, want the process's early exit")
	}
	pc.Kill() // waits for the log goroutine
	want := "import grpc | ModuleNotFoundError: No module named 'grpc' | " + long[:300] + "…"
	if got := sdk.StderrTail(cc); got != want {
		t.Errorf("StderrTail = %q\nwant %q", got, want)
	}
	if got := sdk.StderrTail(sdk.LaunchConfig(sdk.KindCounter, exec.Command(path), time.Second)); got != "" {
		t.Errorf("StderrTail without RouteLogs = %q, want \"\"", got)
	}
}
