package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/internal/testenv"
	"github.com/curtainhq/curtain/plugins/memory"
	"github.com/curtainhq/curtain/plugins/plugintest"
	"github.com/curtainhq/curtain/plugins/sdk"
)

func TestServeConfigRejectsMalformedPlugins(t *testing.T) {
	tests := []struct {
		name string
		p    sdk.Plugin
	}{
		{"no kind", sdk.Plugin{Name: "x"}},
		{"two kinds", sdk.Plugin{Name: "x", Counter: memory.NewCounter(), Cache: memory.NewCache()}},
		{"no name", sdk.Plugin{Counter: memory.NewCounter()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sdk.ServeConfig(tt.p); err == nil {
				t.Error("ServeConfig error = nil, want an error")
			}
		})
	}
	cfg, err := sdk.ServeConfig(sdk.Plugin{Name: "x", Cache: memory.NewCache()})
	if err != nil {
		t.Fatalf("ServeConfig error: %v", err)
	}
	set := cfg.VersionedPlugins[sdk.ContractVersion]
	if _, ok := set[sdk.KindCache]; len(set) != 1 || !ok || cfg.GRPCServer == nil {
		t.Errorf("ServeConfig = %+v, want one gRPC cache plugin at version %d", cfg, sdk.ContractVersion)
	}
}

func TestPluginSets(t *testing.T) {
	for _, kind := range sdk.Kinds() {
		vp := sdk.VersionedPlugins(kind)
		if _, ok := vp[sdk.ContractVersion][kind]; !ok {
			t.Errorf("VersionedPlugins(%q) = %v, want the kind at version %d", kind, vp, sdk.ContractVersion)
		}
	}
	if sdk.PluginSet("nope") != nil || sdk.VersionedPlugins("nope") != nil {
		t.Error("plugin set of an unknown kind is not nil")
	}
	if _, err := sdk.NewClient("nope", nil); err == nil {
		t.Error("NewClient of an unknown kind error = nil")
	}
}

// flakyCache is a memory cache whose backend health can be switched, and
// which counts the settings it is given and the pings that failed.
type flakyCache struct {
	*memory.Cache
	down       atomic.Bool
	configured atomic.Int32
	failed     atomic.Int32
}

func (c *flakyCache) Ping(ctx context.Context) error {
	if c.down.Load() {
		// Each error differs, as a timeout's does (its local port).
		return fmt.Errorf("ping %d: %w", c.failed.Add(1), core.ErrUnavailable)
	}
	return nil
}

func (c *flakyCache) Configure(ctx context.Context, settings []byte) error {
	c.configured.Add(1)
	return nil
}

func (c *flakyCache) Close() error { return nil }

func TestHealthFollowsPing(t *testing.T) {
	impl := &flakyCache{Cache: memory.NewCache()}
	client := plugintest.Serve(t, sdk.Plugin{Name: "flaky", Version: "1.2.3", Capabilities: []string{"near-cache"}, Cache: impl})
	ctx := t.Context()

	info, err := client.Info(ctx)
	if err != nil {
		t.Fatalf("Info error: %v", err)
	}
	// The embedded memory cache is a core.CacheWatcher: the SDK adds the capability.
	want := []string{sdk.CapConfigure, sdk.CapHealth, sdk.CapInvalidations, "near-cache"}
	if info.Name != "flaky" || info.Version != "1.2.3" || info.Kind != sdk.KindCache || !slices.Equal(info.Capabilities, want) {
		t.Errorf("Info = %+v, want name flaky, version 1.2.3, kind cache, capabilities %v", info, want)
	}
	if !info.Has("near-cache") || info.Has("other") {
		t.Errorf("Info.Has is wrong for %v", info.Capabilities)
	}
	if err := client.Configure(ctx, []byte(`{"anything": 1}`)); err != nil || impl.configured.Load() != 1 {
		t.Errorf("Configure = %v after %d calls, want the Configurer called once", err, impl.configured.Load())
	}

	if err := client.Ping(ctx); err != nil {
		t.Errorf("Ping while healthy error: %v", err)
	}
	impl.down.Store(true)
	if err := client.Ping(ctx); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Ping while the backend is down = %v, want core.ErrUnavailable", err)
	}
	impl.down.Store(false)
	if err := client.Ping(ctx); err != nil {
		t.Errorf("Ping after recovery error: %v", err)
	}
	if client.Kind() != sdk.KindCache {
		t.Errorf("Kind() = %q, want %q", client.Kind(), sdk.KindCache)
	}
	if _, ok := client.(*sdk.CacheClient); !ok {
		t.Errorf("dispensed client is a %T, want *sdk.CacheClient", client)
	}
}

// TestWatchOverTheWire: a cache plugin's invalidations reach the host over
// the Watch stream, reset first; a cache that cannot watch answers with
// errors.ErrUnsupported.
func TestWatchOverTheWire(t *testing.T) {
	client := plugintest.Serve(t, sdk.Plugin{Name: "mem", Cache: memory.NewCache()}).(*sdk.CacheClient)
	ctx, cancel := context.WithCancel(t.Context())
	events, done := make(chan core.Invalidation, 4), make(chan error, 1)
	go func() {
		done <- client.WatchInvalidations(ctx, func(inv core.Invalidation) error {
			events <- inv
			return nil
		})
	}()
	if inv := <-events; !inv.Reset {
		t.Fatalf("first event = %+v, want a reset", inv)
	}
	if err := client.Delete(ctx, []string{"k1", "k2"}); err != nil {
		t.Fatal(err)
	}
	if inv := <-events; !slices.Equal(inv.Keys, []string{"k1", "k2"}) {
		t.Errorf("event keys = %q, want [k1 k2]", inv.Keys)
	}
	cancel()
	<-done

	plain := plugintest.Serve(t, sdk.Plugin{Name: "plain", Cache: plainCache{memory.NewCache()}}).(*sdk.CacheClient)
	err := plain.WatchInvalidations(t.Context(), func(core.Invalidation) error { return nil })
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("WatchInvalidations on a cache without the capability = %v, want errors.ErrUnsupported", err)
	}
}

// plainCache hides the memory cache's watch.
type plainCache struct{ c *memory.Cache }

func (p plainCache) Get(ctx context.Context, keys []string) (map[string][]byte, error) {
	return p.c.Get(ctx, keys)
}
func (p plainCache) Set(ctx context.Context, e []core.CacheEntry) error { return p.c.Set(ctx, e) }
func (p plainCache) Delete(ctx context.Context, keys []string) error    { return p.c.Delete(ctx, keys) }

// TestHealthLogsChanges: a backend that stays down is logged once, not
// at every health check (the host checks twice a second), even when each
// check's error differs, and its recovery once.
func TestHealthLogsChanges(t *testing.T) {
	var out testenv.LogBuffer
	impl := &flakyCache{Cache: memory.NewCache()}
	logger := hclog.New(&hclog.LoggerOptions{Output: &out, Level: hclog.Info})
	client := plugintest.Serve(t, sdk.Plugin{Name: "flaky", Cache: impl, Logger: logger})
	ctx := t.Context()
	check := func(n int) {
		for range n {
			_ = client.Ping(ctx)
		}
	}
	impl.down.Store(true)
	check(3)
	if got := strings.Count(out.String(), "health check failed"); got != 1 {
		t.Errorf("three failed checks logged %d failures, want 1", got)
	}
	impl.down.Store(false)
	check(2)
	if got := strings.Count(out.String(), "health check passes again"); got != 1 {
		t.Errorf("recovery logged %d times, want 1", got)
	}
	impl.down.Store(true)
	check(2)
	if got := strings.Count(out.String(), "health check failed"); got != 2 {
		t.Errorf("a second outage: %d failures logged in all, want 2", got)
	}
}
