package redis

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/plugintest"
)

// TestServerDown kills the server under every plugin: each call must fail
// fast with core.ErrUnavailable, and work again once the server is back.
func TestServerDown(t *testing.T) {
	srv := startServer(t)
	set := Settings{URL: srv.url(), DialTimeout: 100 * time.Millisecond, ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond}
	counter := NewCounterPlugin()
	shard := NewClickShardPlugin()
	cache := NewCachePlugin()
	for _, p := range []interface {
		Configure(context.Context, []byte) error
		Close() error
	}{counter, shard, cache} {
		if err := p.Configure(t.Context(), settingsJSONFor(t, set)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
	}
	calls := append(plugintest.Calls(t, counter, shard, cache), plugintest.Call{Name: "ClickShard.Ack", Do: func(ctx context.Context) error {
		return shard.Ack(ctx, core.AckRequest{Group: group, IDs: []core.DeliveryID{{Code: "down01", ID: "1-0"}}})
	}})
	plugintest.Outage(t, calls, srv.stop, srv.start)
}

// TestStalledServer checks that a server that accepts but does not answer
// is reported as unavailable within the read timeout.
func TestStalledServer(t *testing.T) {
	srv := startServer(t, "--enable-debug-command", "yes")
	set := testSettings(srv, "")
	set.ReadTimeout = 100 * time.Millisecond
	counter, err := NewCounter(set)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { counter.Close() })
	if err := counter.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	// DEBUG SLEEP stalls the single-threaded server.
	go srv.client().Do(context.Background(), "DEBUG", "SLEEP", "1")
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	_, err = counter.Reserve(t.Context(), core.ReserveRequest{Size: 1})
	if !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Reserve on a stalled server = %v, want core.ErrUnavailable", err)
	}
	if took := time.Since(start); took > 600*time.Millisecond {
		t.Errorf("Reserve on a stalled server took %v, want about the 100ms read timeout", took)
	}
}
