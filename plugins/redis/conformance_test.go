package redis

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/plugintest"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// prefixes hands every conformance case its own key prefix, so the cases
// share a server and still start empty.
var prefixes atomic.Int64

func nextPrefix() string { return fmt.Sprintf("conf%d:", prefixes.Add(1)) }

// withPrefix returns s with a fresh key prefix.
func withPrefix(s Settings) Settings {
	s.KeyPrefix = nextPrefix()
	return s
}

// runSuites runs the three conformance suites in process against base
// settings.
func runSuites(t *testing.T, base Settings) {
	t.Run("Counter", func(t *testing.T) {
		plugintest.Counter(t, func(t *testing.T) core.Counter {
			c, err := NewCounter(withPrefix(base))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		})
	})
	t.Run("ClickShard", func(t *testing.T) {
		plugintest.ClickShard(t, func(t *testing.T) core.ClickShard { return newTestShard(t, withPrefix(base)) })
	})
	t.Run("Cache", func(t *testing.T) {
		plugintest.Cache(t, func(t *testing.T) core.Cache { return newTestCache(t, withPrefix(base)) })
	})
}

func TestConformance(t *testing.T) {
	srv := startServer(t)
	runSuites(t, testSettings(srv, ""))
}

// TestConformanceServed runs the suites through the plugin SDK over a real
// gRPC connection inside the test process, configuring each plugin with
// its JSON settings through the SDK's Configure call, as the host does.
func TestConformanceServed(t *testing.T) {
	srv := startServer(t)
	serve := func(t *testing.T, p sdk.Plugin) sdk.Client {
		t.Helper()
		c := plugintest.Serve(t, p)
		if err := c.Configure(t.Context(), settingsJSONFor(t, withPrefix(testSettings(srv, "")))); err != nil {
			t.Fatalf("Configure over the SDK: %v", err)
		}
		return c
	}
	t.Run("Counter", func(t *testing.T) {
		plugintest.Counter(t, func(t *testing.T) core.Counter {
			return serve(t, sdk.Plugin{Name: "redis", Counter: NewCounterPlugin()}).(core.Counter)
		})
	})
	t.Run("ClickShard", func(t *testing.T) {
		plugintest.ClickShard(t, func(t *testing.T) core.ClickShard {
			return serve(t, sdk.Plugin{Name: "redis", ClickShard: NewClickShardPlugin()}).(core.ClickShard)
		})
	})
	t.Run("Cache", func(t *testing.T) {
		plugintest.Cache(t, func(t *testing.T) core.Cache {
			return serve(t, sdk.Plugin{Name: "redis", Cache: NewCachePlugin()}).(core.Cache)
		})
	})
	t.Run("InvalidSettings", func(t *testing.T) {
		c := plugintest.Serve(t, sdk.Plugin{Name: "redis", Cache: NewCachePlugin()})
		err := c.Configure(t.Context(), []byte(`{"url":"redis://127.0.0.1:1/0","read_timeout":"later"}`))
		ve, ok := errors.AsType[*core.ValidationError](err)
		if !ok || ve.Field != "read_timeout" || !errors.Is(err, core.ErrInvalid) {
			t.Errorf("Configure with a bad read_timeout over the SDK = %v, want a validation error naming read_timeout", err)
		}
	})
}
