package redis

import (
	"errors"
	"sync"
	"testing"

	"github.com/curtainhq/curtain/core"
)

func newTestCounter(t *testing.T, s *server, prefix string) *Counter {
	t.Helper()
	return configured(t, NewCounterPlugin(), testSettings(s, prefix))
}

func TestCounterReserve(t *testing.T) {
	srv := startServer(t)
	raw := srv.client()
	tests := []struct {
		name    string
		initial string // url:counter before, "" for missing
		req     core.ReserveRequest
		want    core.Block
		after   string
	}{
		{"fresh counter starts above the seed", "", core.ReserveRequest{Size: 1, Floor: 2000}, core.Block{First: 2001, Size: 1}, "2001"},
		{"fresh counter with floor 0", "", core.ReserveRequest{Size: 1}, core.Block{First: 1, Size: 1}, "1"},
		{"counter ahead of the floor is kept", "5000", core.ReserveRequest{Size: 1, Floor: 2000}, core.Block{First: 5001, Size: 1}, "5001"},
		{"counter behind the store catches up (Q13)", "5", core.ReserveRequest{Size: 1, Floor: 2000}, core.Block{First: 2001, Size: 1}, "2001"},
		{"counter equal to the floor", "2000", core.ReserveRequest{Size: 1, Floor: 2000}, core.Block{First: 2001, Size: 1}, "2001"},
		{"block of 100", "2001", core.ReserveRequest{Size: 100, Floor: 2000}, core.Block{First: 2002, Size: 100}, "2101"},
		{"block raising the floor", "10", core.ReserveRequest{Size: 10, Floor: 62}, core.Block{First: 63, Size: 10}, "72"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			prefix := "counter" + string(rune('a'+i)) + ":"
			c := newTestCounter(t, srv, prefix)
			key := prefix + CounterKey
			if tt.initial != "" {
				if err := raw.Set(ctx, key, tt.initial, 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
			got, err := c.Reserve(ctx, tt.req)
			if err != nil {
				t.Fatalf("Reserve(%+v): %v", tt.req, err)
			}
			if got != tt.want {
				t.Errorf("Reserve(%+v) = %+v, want %+v", tt.req, got, tt.want)
			}
			if v := raw.Get(ctx, key).Val(); v != tt.after {
				t.Errorf("GET %s = %q, want %q", key, v, tt.after)
			}
			if ttl := raw.TTL(ctx, key).Val(); ttl != -1 {
				t.Errorf("TTL %s = %v, want none (-1)", key, ttl)
			}
			if typ := raw.Type(ctx, key).Val(); typ != "string" {
				t.Errorf("TYPE %s = %q, want string", key, typ)
			}
		})
	}
}

func TestCounterSeedCode(t *testing.T) {
	srv := startServer(t)
	c := newTestCounter(t, srv, "")
	got, err := c.Reserve(t.Context(), core.ReserveRequest{Size: 1, Floor: 2000})
	if err != nil {
		t.Fatal(err)
	}
	if code := core.ShortCode(got.First); code != "0000wh" {
		t.Errorf("first code after the seed = %q, want 0000wh", code)
	}
	if v := srv.client().Get(t.Context(), "url:counter").Val(); v != "2001" {
		t.Errorf("GET url:counter = %q, want 2001 (no prefix by default)", v)
	}
}

func TestCounterInvalid(t *testing.T) {
	srv := startServer(t)
	c := newTestCounter(t, srv, "")
	raw := srv.client()
	for _, req := range []core.ReserveRequest{{Size: 0}, {Size: -3}, {Size: 1, Floor: -1}} {
		if _, err := c.Reserve(t.Context(), req); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("Reserve(%+v) error = %v, want core.ErrInvalid", req, err)
		}
	}
	if n := raw.Exists(t.Context(), CounterKey).Val(); n != 0 {
		t.Errorf("invalid requests touched %s", CounterKey)
	}
	raw.Set(t.Context(), CounterKey, "not a number", 0)
	_, err := c.Reserve(t.Context(), core.ReserveRequest{Size: 1})
	if err == nil || errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Reserve over a non-integer counter error = %v, want a plain error", err)
	}
}

func TestCounterConcurrent(t *testing.T) {
	srv := startServer(t)
	const (
		workers = 8
		rounds  = 40
		floor   = 2000
	)
	// Two counter values, as two hosts would have.
	counters := []*Counter{newTestCounter(t, srv, "conc:"), newTestCounter(t, srv, "conc:")}
	var (
		mu     sync.Mutex
		blocks []core.Block
		wg     sync.WaitGroup
		errs   = make(chan error, workers)
	)
	for w := range workers {
		wg.Go(func() {
			c := counters[w%2]
			for r := range rounds {
				b, err := c.Reserve(t.Context(), core.ReserveRequest{Size: int64(1 + (w+r)%5), Floor: floor})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				blocks = append(blocks, b)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Reserve: %v", err)
	}
	seen := make(map[int64]bool)
	var total int64
	for _, b := range blocks {
		for v := b.First; v < b.First+b.Size; v++ {
			if v <= floor {
				t.Errorf("value %d is not above the floor %d", v, floor)
			}
			if seen[v] {
				t.Errorf("value %d handed out twice", v)
			}
			seen[v] = true
		}
		total += b.Size
	}
	// Nothing was wasted either: the blocks tile floor+1..floor+total.
	for v := int64(floor + 1); v <= floor+total; v++ {
		if !seen[v] {
			t.Errorf("value %d missing from the reserved blocks", v)
			break
		}
	}
}

func TestCounterPingAndReconfigure(t *testing.T) {
	a, b := startServer(t), startServer(t)
	c := newTestCounter(t, a, "")
	ctx := t.Context()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if _, err := c.Reserve(ctx, core.ReserveRequest{Size: 1, Floor: 10}); err != nil {
		t.Fatal(err)
	}
	if err := c.Configure(ctx, settingsJSONFor(t, testSettings(b, ""))); err != nil {
		t.Fatalf("Configure to another server: %v", err)
	}
	got, err := c.Reserve(ctx, core.ReserveRequest{Size: 1, Floor: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got.First != 101 {
		t.Errorf("Reserve after reconfiguring = %+v, want First 101 from the new server", got)
	}
	if v := b.client().Get(ctx, CounterKey).Val(); v != "101" {
		t.Errorf("new server GET %s = %q, want 101", CounterKey, v)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := c.Reserve(ctx, core.ReserveRequest{Size: 1}); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Reserve after Close error = %v, want core.ErrUnavailable", err)
	}
}
