package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
)

// pluginCalls lists one call of every method of a counter and a shard.
func pluginCalls(counter *Counter, shard *ClickShard) []struct {
	name string
	call func(ctx context.Context) error
} {
	click := core.Click{ID: "c1", Code: "down01", Visitor: "v", At: time.Now()}
	return []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Counter.Reserve", func(ctx context.Context) error {
			_, err := counter.Reserve(ctx, core.ReserveRequest{Size: 1, Floor: 10})
			return err
		}},
		{"Counter.Ping", counter.Ping},
		{"ClickShard.Record", func(ctx context.Context) error { return shard.Record(ctx, []core.Click{click}) }},
		{"ClickShard.Stats", func(ctx context.Context) error {
			_, err := shard.Stats(ctx, core.StatsRequest{Code: "down01", Now: time.Now(), Hours: 2})
			return err
		}},
		{"ClickShard.Read", func(ctx context.Context) error {
			_, err := shard.Read(ctx, core.ReadRequest{Group: "g", Consumer: "c", Count: 5})
			return err
		}},
		{"ClickShard.Ack", func(ctx context.Context) error {
			return shard.Ack(ctx, core.AckRequest{Group: "g", IDs: []core.DeliveryID{{Code: "down01", ID: "1"}}})
		}},
		{"ClickShard.Ping", shard.Ping},
	}
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
	for _, c := range pluginCalls(counter, shard) {
		start := time.Now()
		err := c.call(ctx)
		if !errors.Is(err, core.ErrUnavailable) {
			t.Errorf("%s with PostgreSQL refusing connections = %v, want core.ErrUnavailable", c.name, err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("%s with PostgreSQL refusing connections took %v", c.name, took)
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
	calls := pluginCalls(counter, shard)
	ctx := t.Context()
	for _, c := range calls {
		if err := c.call(ctx); err != nil {
			t.Fatalf("%s with the server up: %v", c.name, err)
		}
	}
	// A blocking read is waiting (on the listening connection) when the
	// server goes away.
	blocked := make(chan error, 1)
	go func() {
		_, err := shard.Read(ctx, core.ReadRequest{Group: "blocked", Consumer: "c", Count: 100, Block: 3 * time.Second, MinIdle: time.Hour})
		blocked <- err
	}()
	time.Sleep(100 * time.Millisecond)

	p.stop()
	for _, c := range calls {
		start := time.Now()
		err := c.call(ctx)
		if !errors.Is(err, core.ErrUnavailable) {
			t.Errorf("%s with the server down = %v, want core.ErrUnavailable", c.name, err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("%s with the server down took %v", c.name, took)
		}
	}

	p.start()
	for _, c := range calls {
		deadline := time.Now().Add(5 * time.Second)
		for {
			err := c.call(ctx)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s after the server came back: %v", c.name, err)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
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
