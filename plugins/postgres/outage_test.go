package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/plugintest"
)

// ackCall is the click shard's Ack, which plugintest.Calls leaves out:
// what a delivery id looks like is the plugin's own.
func ackCall(shard *ClickShard) plugintest.Call {
	return plugintest.Call{Name: "ClickShard.Ack", Do: func(ctx context.Context) error {
		return shard.Ack(ctx, core.AckRequest{Group: "g", IDs: []core.DeliveryID{{Code: "down01", ID: "1"}}})
	}}
}

// TestConnectionRefused points the plugins at a port nobody listens on:
// Configure and every call fail fast with core.ErrUnavailable.
func TestConnectionRefused(t *testing.T) {
	integration(t)
	s := Settings{URL: closedPortURL(t), Schema: "unused"}
	ctx := t.Context()
	for name, p := range map[string]interface {
		Configure(context.Context, []byte) error
		Close() error
	}{"counter": NewCounterPlugin(), "click shard": NewClickShardPlugin()} {
		err := p.Configure(ctx, settingsJSONFor(t, s))
		if !errors.Is(err, core.ErrUnavailable) {
			t.Errorf("Configure %s with PostgreSQL refusing connections = %v, want core.ErrUnavailable", name, err)
		}
		p.Close()
	}
	// Constructed without Configure, the plugins connect on first use.
	counter, err := NewCounter(s)
	if err != nil {
		t.Fatal(err)
	}
	defer counter.Close()
	shard, err := NewClickShard(s)
	if err != nil {
		t.Fatal(err)
	}
	defer shard.Close()
	for _, c := range append(plugintest.Calls(t, counter, shard), ackCall(shard)) {
		start := time.Now()
		err := c.Do(ctx)
		if !errors.Is(err, core.ErrUnavailable) {
			t.Errorf("%s with PostgreSQL refusing connections = %v, want core.ErrUnavailable", c.Name, err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("%s with PostgreSQL refusing connections took %v", c.Name, took)
		}
	}
}

// TestServerDown drops every connection under the plugins, as a crash of
// the server would (through a proxy the test stops and starts): each call
// fails with core.ErrUnavailable, and works again once the server is back.
func TestServerDown(t *testing.T) {
	p := startProxy(t)
	s := Settings{URL: p.url(), Schema: freshSchema(t), ConnectTimeout: time.Second}
	counter, shard := newTestCounter(t, s), newTestShard(t, s)
	calls := append(plugintest.Calls(t, counter, shard), ackCall(shard))
	ctx := t.Context()
	blocked := make(chan error, 1)
	stop := func() {
		// A blocking read is waiting (on the listening connection) when
		// the server goes away.
		go func() {
			_, err := shard.Read(ctx, core.ReadRequest{Group: "blocked", Consumer: "c", Count: 100, Block: 3 * time.Second, MinIdle: time.Hour})
			blocked <- err
		}()
		time.Sleep(100 * time.Millisecond)
		p.stop()
	}
	plugintest.Outage(t, calls, stop, p.start)
	// The blocked read got the entry recorded after the server came back
	// (or timed out cleanly if its connection broke while it waited).
	select {
	case err := <-blocked:
		if err != nil && !errors.Is(err, core.ErrUnavailable) {
			t.Errorf("blocking Read across the outage = %v, want nil or core.ErrUnavailable", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("blocking Read across the outage did not return")
	}
}
