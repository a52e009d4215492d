package app

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core/httpapi"
	"github.com/curtainhq/curtain/internal/testenv"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// testPlugin is the host's test plugin (host/internal/testplugin), which
// serves the memory implementation of every kind; TestMain builds it.
var testPlugin string

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, "../internal/testplugin", "testplugin", &testPlugin))
}

// testConfig is the embedded default on a SQLite file of the test's own,
// with every plugin but the click shard pointing at an executable that
// does not exist: a role that starts one of them fails.
func testConfig(t *testing.T) config.Loaded {
	t.Helper()
	cfg := config.Default()
	cfg.Store.Driver = "sqlite"
	cfg.Store.SQLitePath = filepath.Join(t.TempDir(), "curtain.db")
	missing := filepath.Join(t.TempDir(), "no-such-plugin")
	cfg.Plugins.Counter = config.Plugin{Path: missing}
	cfg.Plugins.Cache = config.Plugin{Path: missing}
	cfg.Plugins.AlertSink = config.Plugin{Path: missing}
	cfg.Plugins.Shards = []config.Plugin{{Builtin: "memory"}}
	return config.Loaded{Config: cfg}
}

// TestRoleStartsOnlyItsBackends: consume starts the click shards and
// nothing else, so a counter, cache or alert sink that cannot start does
// not stop it; serve needs the counter and fails naming it; notify starts
// the alert sink alone.
func TestRoleStartsOnlyItsBackends(t *testing.T) {
	if testing.Short() {
		t.Skip("starts plugin processes")
	}
	opts := Options{SelfExec: []string{testPlugin}}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	a, err := New(ctx, testConfig(t), Consume, opts)
	if err != nil {
		t.Fatalf("New(Consume) with a broken counter, cache and alert sink: %v", err)
	}
	var kinds []string
	for _, p := range a.Plugins() {
		kinds = append(kinds, p.Kind)
	}
	if !slices.Equal(kinds, []string{sdk.KindClickShard}) {
		t.Errorf("consume runs plugins of kinds %v, want only [%s]", kinds, sdk.KindClickShard)
	}
	if a.Service() != nil {
		t.Errorf("consume built the service it never calls")
	}
	if err := a.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}

	if _, err := New(ctx, testConfig(t), Serve, opts); err == nil || !strings.Contains(err.Error(), "counter") {
		t.Errorf("New(Serve) with a counter that cannot start = %v, want an error naming the counter", err)
	}

	cfg := testConfig(t)
	cfg.Plugins.AlertSink = config.Plugin{Builtin: "memory"}
	cfg.Plugins.Shards = []config.Plugin{{Path: filepath.Join(t.TempDir(), "no-such-shard")}}
	n, err := New(ctx, cfg, Notify, opts)
	if err != nil {
		t.Fatalf("New(Notify) with broken counter, cache and shards: %v", err)
	}
	defer n.Close(ctx)
	if got := n.Plugins(); len(got) != 0 {
		t.Errorf("notify on the memory alert sink runs %v, want no plugin (alerts are logged)", got)
	}
	if n.AlertSink() == nil {
		t.Errorf("notify has no alert sink")
	}
}

// TestRoleKinds pins the kinds each role starts.
func TestRoleKinds(t *testing.T) {
	for _, tt := range []struct {
		role Role
		want []string
	}{
		{Serve, []string{sdk.KindCounter, sdk.KindCache, sdk.KindClickShard}},
		{Consume, []string{sdk.KindClickShard}},
		{Notify, []string{sdk.KindAlertSink}},
	} {
		if got := tt.role.Kinds(); !slices.Equal(got, tt.want) {
			t.Errorf("%s.Kinds() = %v, want %v", tt.role, got, tt.want)
		}
	}
}

// TestConfigDefaultsMatchHTTPAPI: the configuration's defaults (which
// curtain config prints) are the HTTP API's own; config does not import
// httpapi, so this test holds them together.
func TestConfigDefaultsMatchHTTPAPI(t *testing.T) {
	h := config.Default().HTTP
	got := httpapi.Timeouts{ReadHeader: h.ReadHeaderTimeout, Read: h.ReadTimeout, Write: h.WriteTimeout, Idle: h.IdleTimeout,
		Store: config.Default().Store.QueryTimeout}
	if got != httpapi.DefaultTimeouts {
		t.Errorf("config timeouts %+v, httpapi.DefaultTimeouts %+v", got, httpapi.DefaultTimeouts)
	}
	if h.MaxBodyBytes != httpapi.DefaultMaxBodyBytes || h.MaxUploadBytes != httpapi.DefaultMaxUploadBytes {
		t.Errorf("config body limits %d, %d; httpapi's %d, %d", h.MaxBodyBytes, h.MaxUploadBytes, httpapi.DefaultMaxBodyBytes, httpapi.DefaultMaxUploadBytes)
	}
}

// TestCheckPluginsNamesKeys: the host's rules for plugin entries reach
// the configuration, each problem named by its key, all at once.
func TestCheckPluginsNamesKeys(t *testing.T) {
	cfg := config.Default()
	cfg.Plugins.Counter = config.Plugin{Builtin: "memory", Path: "/opt/counter"}
	cfg.Plugins.Cache = config.Plugin{Path: "/opt/cache", SHA256: "abc"}
	cfg.Plugins.Shards = []config.Plugin{{Name: "a", Builtin: "memory"}, {Name: "a", Builtin: "redis"}}
	err := CheckPlugins(cfg)
	if err == nil {
		t.Fatal("CheckPlugins accepted three bad entries")
	}
	for _, want := range []string{
		"plugins.counter: set exactly one of builtin, path and reattach",
		`plugins.cache: sha256 "abc" is not 64 hex digits`,
		`plugins.shards.1: name "a" is used twice`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("CheckPlugins = %v\nwant it to contain %q", err, want)
		}
	}
	if err := CheckPlugins(config.Default()); err != nil {
		t.Errorf("CheckPlugins(Default()) = %v", err)
	}
}

// TestStartHostErrorSaysStartOnce: a plugin that cannot start is reported
// as "start plugins: plugin …", not with the prefix twice.
func TestStartHostErrorSaysStartOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	h, err := StartHost(ctx, testConfig(t).Config, Options{SelfExec: []string{testPlugin}}, sdk.KindCounter)
	if err == nil {
		h.Close(ctx)
		t.Fatal("StartHost with a counter that does not exist succeeded")
	}
	if n := strings.Count(err.Error(), "start plugins"); n != 1 {
		t.Errorf("StartHost error = %q, want \"start plugins\" once, not %d times", err, n)
	}
}
