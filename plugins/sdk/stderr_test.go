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

// runEarlyExit starts, with its logs routed to log, a plugin process that
// writes lines on stderr and exits before its handshake, and waits until
// it is gone; it returns the launch configuration and the script's path.
func runEarlyExit(t *testing.T, lines string, log hclog.Logger) (*plugin.ClientConfig, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("plugin processes skipped in -short mode")
	}
	path := filepath.Join(t.TempDir(), "plugin.sh")
	script := "#!/bin/sh\ncat >&2 <<'LINES'\n" + lines + "LINES\nexit 3\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path)
	cmd.Env = sdk.PluginEnv(os.Environ(), sdk.EnvAllowList)
	cc := sdk.LaunchConfig(sdk.KindCounter, cmd, 5*time.Second)
	sdk.RouteLogs(cc, log)
	pc := plugin.NewClient(cc)
	if _, err := pc.Client(); err == nil {
		t.Error("Client() error = nil, want the process's early exit")
	}
	pc.Kill() // waits for the log goroutine
	return cc, path
}

// TestRouteLogsSurvivesMalformedLines starts a process that writes log
// lines go-plugin's own parser panics on (a @message, @level or
// @timestamp that is not a string), which took the whole host down. With
// RouteLogs the lines are logged and the start fails as for any process
// that exits before its handshake.
func TestRouteLogsSurvivesMalformedLines(t *testing.T) {
	var out testenv.LogBuffer
	runEarlyExit(t, `{"@level":"info","@message":42}`+"\n"+
		`{"@level":"warn","@message":"number level next","@timestamp":"2026-01-01T00:00:00Z","shard":"s1"}`+"\n"+
		`{"@level":7,"@message":"not a level"}`+"\n"+
		`{"@level":"error","@message":"odd time","@timestamp":5}`+"\n"+
		"[WARN] prefixed line\n",
		hclog.New(&hclog.LoggerOptions{Output: &out, Level: hclog.Trace, JSONFormat: true}))
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
	long := strings.Repeat("x", 400)
	cc, path := runEarlyExit(t, "Traceback (most recent call last):\n"+
		"  File \"cache.py\", line 3, in <module>\n"+
		"    import grpc\n"+
		"\n"+
		"ModuleNotFoundError: No module named 'grpc'\n"+
		long+"\n", hclog.NewNullLogger())
	want := "import grpc | ModuleNotFoundError: No module named 'grpc' | " + long[:300] + "…"
	if got := sdk.StderrTail(cc); got != want {
		t.Errorf("StderrTail = %q\nwant %q", got, want)
	}
	if got := sdk.StderrTail(sdk.LaunchConfig(sdk.KindCounter, exec.Command(path), time.Second)); got != "" {
		t.Errorf("StderrTail without RouteLogs = %q, want \"\"", got)
	}
}
