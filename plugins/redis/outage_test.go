package redis

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
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
	click := core.Click{ID: "c1", Code: "down01", Visitor: "v", At: time.Now()}
	calls := []struct {
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
			_, err := shard.Read(ctx, core.ReadRequest{Group: group, Consumer: "c", Count: 5})
			return err
		}},
		{"ClickShard.Ack", func(ctx context.Context) error {
			return shard.Ack(ctx, core.AckRequest{Group: group, IDs: []core.DeliveryID{{Code: "down01", ID: "1-0"}}})
		}},
		{"ClickShard.Ping", shard.Ping},
		{"Cache.Get", func(ctx context.Context) error {
			_, err := cache.Get(ctx, []string{"k"})
			return err
		}},
		{"Cache.Set", func(ctx context.Context) error {
			return cache.Set(ctx, []core.CacheEntry{{Key: "k", Value: []byte("v"), TTL: time.Minute}})
		}},
		{"Cache.Delete", func(ctx context.Context) error { return cache.Delete(ctx, []string{"k"}) }},
	}
	for _, c := range calls {
		if err := c.call(t.Context()); err != nil {
			t.Fatalf("%s with the server up: %v", c.name, err)
		}
	}

	srv.stop()
	for _, c := range calls {
		start := time.Now()
		err := c.call(t.Context())
		if !errors.Is(err, core.ErrUnavailable) {
			t.Errorf("%s with the server down = %v, want core.ErrUnavailable", c.name, err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("%s with the server down took %v", c.name, took)
		}
	}

	srv.start()
	for _, c := range calls {
		// go-redis redials a pool that saw only failed dials in the
		// background, about once a second.
		deadline := time.Now().Add(5 * time.Second)
		for {
			err := c.call(t.Context())
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
