package postgres

import (
	"errors"
	"math"
	"net/url"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/curtainhq/curtain/core"
)

// sequenceState returns the counter's last_value and is_called.
func sequenceState(t *testing.T, schema string) (int64, bool) {
	t.Helper()
	var last int64
	var called bool
	err := rawConn(t).QueryRow(t.Context(), "SELECT last_value, is_called FROM "+table(schema, CounterSequence)).Scan(&last, &called)
	if err != nil {
		t.Fatalf("read sequence: %v", err)
	}
	return last, called
}

func TestCounterReserve(t *testing.T) {
	integration(t)
	tests := []struct {
		name    string
		initial int64 // setval before the call; 0 leaves the sequence fresh
		req     core.ReserveRequest
		want    core.Block
	}{
		{"fresh counter starts above the seed", 0, core.ReserveRequest{Size: 1, Floor: 2000}, core.Block{First: 2001, Size: 1}},
		{"fresh counter with floor 0", 0, core.ReserveRequest{Size: 1}, core.Block{First: 1, Size: 1}},
		{"negative floor is ignored", 0, core.ReserveRequest{Size: 2, Floor: -5}, core.Block{First: 1, Size: 2}},
		{"counter ahead of the floor is kept", 5000, core.ReserveRequest{Size: 1, Floor: 2000}, core.Block{First: 5001, Size: 1}},
		{"counter behind the store catches up", 5, core.ReserveRequest{Size: 1, Floor: 2000}, core.Block{First: 2001, Size: 1}},
		{"counter equal to the floor", 2000, core.ReserveRequest{Size: 1, Floor: 2000}, core.Block{First: 2001, Size: 1}},
		{"block of 100", 2001, core.ReserveRequest{Size: 100, Floor: 2000}, core.Block{First: 2002, Size: 100}},
		{"block raising the floor", 10, core.ReserveRequest{Size: 10, Floor: 62}, core.Block{First: 63, Size: 10}},
		{"block ending at the largest value", 0, core.ReserveRequest{Size: 10, Floor: math.MaxInt64 - 10}, core.Block{First: math.MaxInt64 - 9, Size: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSettings(t)
			c := newTestCounter(t, s)
			if tt.initial != 0 {
				if _, err := rawConn(t).Exec(t.Context(), "SELECT setval($1::text::regclass, $2)", table(s.Schema, CounterSequence), tt.initial); err != nil {
					t.Fatal(err)
				}
			}
			got, err := c.Reserve(t.Context(), tt.req)
			if err != nil {
				t.Fatalf("Reserve(%+v): %v", tt.req, err)
			}
			if got != tt.want {
				t.Errorf("Reserve(%+v) = %+v, want %+v", tt.req, got, tt.want)
			}
			last, called := sequenceState(t, s.Schema)
			if wantLast := tt.want.First + tt.want.Size - 1; last != wantLast || !called {
				t.Errorf("sequence after Reserve = last_value %d is_called %v, want %d and true", last, called, wantLast)
			}
		})
	}
}

// TestCounterAgreesWithNextval checks that the sequence stays an ordinary
// sequence: nextval continues after a Reserve, and Reserve after nextval.
func TestCounterAgreesWithNextval(t *testing.T) {
	s := testSettings(t)
	c := newTestCounter(t, s)
	raw := rawConn(t)
	if n := queryInt(t, raw, "SELECT nextval($1::text::regclass)", table(s.Schema, CounterSequence)); n != 1 {
		t.Fatalf("nextval of a fresh counter = %d, want 1", n)
	}
	got, err := c.Reserve(t.Context(), core.ReserveRequest{Size: 3})
	if err != nil {
		t.Fatal(err)
	}
	if want := (core.Block{First: 2, Size: 3}); got != want {
		t.Errorf("Reserve(3) after nextval = %+v, want %+v", got, want)
	}
	if n := queryInt(t, raw, "SELECT nextval($1::text::regclass)", table(s.Schema, CounterSequence)); n != 5 {
		t.Errorf("nextval after Reserve = %d, want 5", n)
	}
}

func TestCounterInvalid(t *testing.T) {
	s := testSettings(t)
	c := newTestCounter(t, s)
	for _, req := range []core.ReserveRequest{{Size: 0}, {Size: -3}} {
		if _, err := c.Reserve(t.Context(), req); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("Reserve(%+v) error = %v, want core.ErrInvalid", req, err)
		}
	}
	if _, called := sequenceState(t, s.Schema); called {
		t.Errorf("invalid requests advanced the sequence")
	}
	// A block past the largest int64 is refused and leaves the counter.
	if _, err := c.Reserve(t.Context(), core.ReserveRequest{Size: 1, Floor: math.MaxInt64 - 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Reserve(t.Context(), core.ReserveRequest{Size: 5}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Reserve past the largest value error = %v, want core.ErrInvalid", err)
	}
	if last, _ := sequenceState(t, s.Schema); last != math.MaxInt64-4 {
		t.Errorf("sequence after a refused overflow = %d, want %d", last, int64(math.MaxInt64-4))
	}
}

// TestCounterConcurrent reserves from 8 goroutines through two counter
// values (two pools, as two hosts would have) sharing a schema: no value
// is handed out twice, every value is above the floor, and the blocks
// tile the range above it.
func TestCounterConcurrent(t *testing.T) {
	s := testSettings(t)
	const (
		workers = 8
		rounds  = 40
		floor   = 2000
	)
	counters := []*Counter{newTestCounter(t, s), newTestCounter(t, s)}
	var (
		mu     sync.Mutex
		blocks []core.Block
		wg     sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			c := counters[w%2]
			for r := range rounds {
				req := core.ReserveRequest{Size: int64(1 + (w+r)%5), Floor: floor}
				b, err := c.Reserve(t.Context(), req)
				if err != nil {
					t.Errorf("Reserve(%+v): %v", req, err)
					return
				}
				mu.Lock()
				blocks = append(blocks, b)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
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
	for v := int64(floor + 1); v <= floor+total; v++ {
		if !seen[v] {
			t.Errorf("value %d missing from the reserved blocks", v)
			break
		}
	}
}

// TestCounterCurrentSchema leaves "schema" unset: the sequence goes into
// the connection's current schema, here chosen by the URL's search_path.
func TestCounterCurrentSchema(t *testing.T) {
	schema := freshSchema(t)
	if _, err := rawConn(t).Exec(t.Context(), "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(testURL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	c := newTestCounter(t, Settings{URL: u.String()})
	if _, err := c.Reserve(t.Context(), core.ReserveRequest{Size: 4, Floor: 10}); err != nil {
		t.Fatal(err)
	}
	if last, _ := sequenceState(t, schema); last != 14 {
		t.Errorf("sequence in the current schema = %d, want 14", last)
	}
}

func TestCounterPingReconfigureClose(t *testing.T) {
	a, b := testSettings(t), testSettings(t)
	c := newTestCounter(t, a)
	ctx := t.Context()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if _, err := c.Reserve(ctx, core.ReserveRequest{Size: 1, Floor: 10}); err != nil {
		t.Fatal(err)
	}
	if err := c.Configure(ctx, settingsJSONFor(t, b)); err != nil {
		t.Fatalf("Configure to another schema: %v", err)
	}
	got, err := c.Reserve(ctx, core.ReserveRequest{Size: 1, Floor: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got.First != 101 {
		t.Errorf("Reserve after reconfiguring = %+v, want First 101 from the new schema", got)
	}
	if last, _ := sequenceState(t, a.Schema); last != 11 {
		t.Errorf("old schema's sequence = %d, want 11 (untouched since)", last)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := c.Reserve(ctx, core.ReserveRequest{Size: 1}); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Reserve after Close error = %v, want core.ErrUnavailable", err)
	}
}
