package plugintest

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/curtainhq/curtain/plugins/sdk"
)

// Start runs cmd as a plugin process of kind the way the host does
// (go-plugin, gRPC only, the SDK's handshake, automatic mTLS), checks its
// Info, and returns the dispensed client (also the kind's core interface,
// e.g. client.(core.Counter)) and the go-plugin client, with which a test
// can kill the process. The process is killed when the test ends; its
// logs go to the test log.
func Start(t *testing.T, kind string, cmd *exec.Cmd) (sdk.Client, *plugin.Client) {
	t.Helper()
	pc := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.VersionedPlugins(kind),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     30 * time.Second,
		Logger:           testLogger(t, kind),
	})
	return dispense(t, kind, pc), pc
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

func dispense(t *testing.T, kind string, pc *plugin.Client) sdk.Client {
	t.Helper()
	t.Cleanup(pc.Kill)
	rpc, err := pc.Client()
	if err != nil {
		t.Fatalf("start %s plugin: %v", kind, err)
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
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatalf("info of %s plugin: %v", kind, err)
	}
	if err := info.Compatible(kind); err != nil {
		t.Fatal(err)
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
func testLogger(t *testing.T, name string) hclog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.stop)
	return hclog.New(&hclog.LoggerOptions{Name: name, Output: w, Level: hclog.Debug})
}

type testWriter struct {
	mu      sync.Mutex
	t       *testing.T
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
