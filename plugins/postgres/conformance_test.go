package postgres

import (
	"errors"
	"testing"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/plugintest"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// TestConformance runs the counter and click-shard suites in process, each
// case on a fresh schema.
func TestConformance(t *testing.T) {
	integration(t)
	t.Run("Counter", func(t *testing.T) {
		plugintest.Counter(t, func(t *testing.T) core.Counter {
			c, err := NewCounter(testSettings(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		})
	})
	t.Run("ClickShard", func(t *testing.T) {
		plugintest.ClickShard(t, func(t *testing.T) core.ClickShard { return newTestShard(t, testSettings(t)) })
	})
}

// TestConformanceServed runs the suites through the plugin SDK over a real
// gRPC connection inside the test process, configuring each plugin with
// its JSON settings through the SDK's Configure call, as the host does.
func TestConformanceServed(t *testing.T) {
	integration(t)
	serve := func(t *testing.T, p sdk.Plugin) sdk.Client {
		t.Helper()
		c := plugintest.Serve(t, p)
		if err := c.Configure(t.Context(), settingsJSONFor(t, testSettings(t))); err != nil {
			t.Fatalf("Configure over the SDK: %v", err)
		}
		return c
	}
	t.Run("Counter", func(t *testing.T) {
		plugintest.Counter(t, func(t *testing.T) core.Counter {
			return serve(t, sdk.Plugin{Name: "postgres", Counter: NewCounterPlugin()}).(core.Counter)
		})
	})
	t.Run("ClickShard", func(t *testing.T) {
		plugintest.ClickShard(t, func(t *testing.T) core.ClickShard {
			return serve(t, sdk.Plugin{Name: "postgres", ClickShard: NewClickShardPlugin()}).(core.ClickShard)
		})
	})
	t.Run("InvalidSettings", func(t *testing.T) {
		c := plugintest.Serve(t, sdk.Plugin{Name: "postgres", Counter: NewCounterPlugin()})
		err := c.Configure(t.Context(), []byte(`{"url":"postgres://127.0.0.1:1/x","pool_size":-2}`))
		ve, ok := errors.AsType[*core.ValidationError](err)
		if !ok || ve.Field != "pool_size" || !errors.Is(err, core.ErrInvalid) {
			t.Errorf("Configure with a bad pool_size over the SDK = %v, want a validation error naming pool_size", err)
		}
	})
}
