package plugintest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/curtainhq/curtain/plugins/sdk"
)

// Start runs cmd as a plugin process of kind the way the host does
// (sdk.LaunchConfig: go-plugin, gRPC only, the SDK's handshake, automatic
// mTLS, only the allow-listed environment when cmd.Env is nil), checks its
// Info and its health service, configures it with settings (nil for
// none), and returns the dispensed client (also the kind's core
// interface, e.g. client.(core.Counter)) and the go-plugin client, with
// which a test can kill the process. Each failure is fatal and wraps the
// sdk's named error (sdk.ErrNotAPlugin, ErrCertificate, ErrWrongKind,
// ErrNoHealthService) where there is one. The process is killed when the
// test ends; its logs go to the test log.
func Start(t T, kind string, cmd *exec.Cmd, settings []byte) (sdk.Client, *plugin.Client) {
	t.Helper()
	if cmd.Env == nil {
		cmd.Env = sdk.PluginEnv(os.Environ(), sdk.EnvAllowList)
	}
	cc := sdk.LaunchConfig(kind, cmd, 30*time.Second)
	sdk.RouteLogs(cc, testLogger(t, kind))
	pc := plugin.NewClient(cc)
	c := dispense(t, kind, pc)
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	if err := c.Configure(ctx, settings); err != nil {
		t.Fatalf("configure %s plugin: %v", kind, err)
	}
	return c, pc
}

// Serve serves p inside the test process (go-plugin's test mode) and
// returns a client of p's kind connected to it over a real gRPC
// connection, so that the SDK's conversions and error translation are
// exercised without starting a process. Serving stops when the test ends.
func Serve(t *testing.T, p sdk.Plugin) sdk.Client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rc, done, err := sdk.ServeTest(ctx, p)
	if err != nil {
		cancel()
		t.Fatalf("serve plugin %q in process: %v", p.Name, err)
	}
	t.Cleanup(func() {
		cancel()
		<-done
	})
	kind := kindOf(p)
	pc := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: sdk.Handshake,
		// go-plugin negotiates no version when it reattaches: it
		// dispenses from Plugins.
		Plugins:          sdk.PluginSet(kind),
		Reattach:         rc,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           testLogger(t, kind),
	})
	return dispense(t, kind, pc)
}

func kindOf(p sdk.Plugin) string {
	switch {
	case p.Counter != nil:
		return sdk.KindCounter
	case p.ClickShard != nil:
		return sdk.KindClickShard
	case p.Cache != nil:
		return sdk.KindCache
	default:
		return sdk.KindAlertSink
	}
}

func dispense(t T, kind string, pc *plugin.Client) sdk.Client {
	t.Helper()
	t.Cleanup(pc.Kill)
	rpc, err := pc.Client()
	if err != nil {
		t.Fatalf("start %s plugin: %v", kind, sdk.ExplainStart(err))
	}
	raw, err := rpc.Dispense(kind)
	if err != nil {
		t.Fatalf("dispense %s plugin: %v", kind, err)
	}
	c, ok := raw.(sdk.Client)
	if !ok {
		t.Fatalf("dispensed %s plugin is a %T, not an sdk.Client", kind, raw)
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	var conn grpc.ClientConnInterface
	if gc, ok := rpc.(*plugin.GRPCClient); ok {
		conn = gc.Conn
	}
	info, err := sdk.AskInfo(ctx, c, conn)
	if err != nil {
		t.Fatalf("info of %s plugin: %v", kind, err)
	}
	if err := info.Compatible(kind); err != nil {
		t.Fatal(err)
	}
	if conn != nil {
		if _, err := sdk.CheckHealth(ctx, conn); errors.Is(err, sdk.ErrNoHealthService) {
			t.Fatalf("%s plugin %q: %v", kind, info.Name, err)
		}
	}
	return c
}

// SelfCommand returns a command that re-executes the running test binary
// with env added to its environment and no test selected. A TestMain that
// finds its variable in the environment serves a plugin instead of running
// the tests (the helper-process pattern), so a package's tests can start
// its plugins as real processes without building a separate binary.
func SelfCommand(env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// testLogger returns an hclog logger writing to the test log until the
// test ends, and discarding after that (go-plugin may still log while it
// tears the process down).
func testLogger(t T, name string) hclog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.stop)
	return hclog.New(&hclog.LoggerOptions{Name: name, Output: w, Level: hclog.Debug})
}

type testWriter struct {
	mu      sync.Mutex
	t       T
	stopped bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.t.Log(string(p))
	}
	return len(p), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
}
