package postgres

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/curtainhq/curtain/core"
)

func TestParseSettings(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Settings
	}{
		{
			name: "url only",
			in:   `{"url":"postgres://postgres@127.0.0.1:5432/test?sslmode=disable"}`,
			want: Settings{URL: "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"},
		},
		{
			name: "every key",
			in:   `{"url":"postgres://u:secret@db/curtain","schema":"Clicks 1","pool_size":8,"connect_timeout":"2s"}`,
			want: Settings{URL: "postgres://u:secret@db/curtain", Schema: "Clicks 1", PoolSize: 8, ConnectTimeout: 2 * time.Second},
		},
		{
			name: "keyword/value connection string",
			in:   `{"url":"host=db port=5433 dbname=curtain user=u"}`,
			want: Settings{URL: "host=db port=5433 dbname=curtain user=u"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSettings([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseSettings(%s) error: %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseSettings(%s) mismatch (-want +got):\n%s", tt.in, diff)
			}
			// What MarshalJSON writes, ParseSettings reads back.
			b, err := got.MarshalJSON()
			if err != nil {
				t.Fatalf("MarshalJSON: %v", err)
			}
			again, err := ParseSettings(b)
			if err != nil {
				t.Fatalf("ParseSettings(%s) error: %v", b, err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSettingsErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		fields []string // keys the error must name
	}{
		{"empty input", ``, []string{"url"}},
		{"empty object", `{}`, []string{"url"}},
		{"blank url", `{"url":"  "}`, []string{"url"}},
		{"bad url", `{"url":"postgres://u:hunter2@db:notaport/x"}`, []string{"url"}},
		{"unknown key", `{"url":"postgres://127.0.0.1:1/x","key_prefix":"a"}`, []string{"key_prefix"}},
		{"wrong type", `{"url":"postgres://127.0.0.1:1/x","pool_size":"8"}`, []string{"pool_size"}},
		{"bad duration", `{"url":"postgres://127.0.0.1:1/x","connect_timeout":"soon"}`, []string{"connect_timeout"}},
		{"negative duration", `{"url":"postgres://127.0.0.1:1/x","connect_timeout":"-1s"}`, []string{"connect_timeout"}},
		{"negative pool", `{"url":"postgres://127.0.0.1:1/x","pool_size":-1}`, []string{"pool_size"}},
		{"long schema", `{"url":"postgres://127.0.0.1:1/x","schema":"` + strings.Repeat("s", 64) + `"}`, []string{"schema"}},
		{"every problem at once", `{"pool_size":-1,"schema":"` + strings.Repeat("s", 64) + `"}`, []string{"url", "schema", "pool_size"}},
		{"trailing data", `{"url":"postgres://127.0.0.1:1/x"} {}`, []string{"settings"}},
		{"not an object", `[1]`, []string{"settings"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSettings([]byte(tt.in))
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("ParseSettings(%s) error = %v, want core.ErrInvalid", tt.in, err)
			}
			var got []string
			for _, e := range flatten(err) {
				if ve, ok := e.(*core.ValidationError); ok {
					got = append(got, ve.Field)
				}
			}
			if diff := cmp.Diff(tt.fields, got); diff != "" {
				t.Errorf("ParseSettings(%s) named keys (-want +got):\n%s\nerror: %v", tt.in, diff, err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("ParseSettings(%s) = %q leaks the password", tt.in, err)
			}
		})
	}
}

// flatten returns the leaves of an error tree.
func flatten(err error) []error {
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		var out []error
		for _, inner := range e.Unwrap() {
			out = append(out, flatten(inner)...)
		}
		return out
	case interface{ Unwrap() error }:
		return flatten(e.Unwrap())
	default:
		return []error{err}
	}
}

func TestPoolConfig(t *testing.T) {
	tests := []struct {
		name      string
		s         Settings
		maxConns  int32
		dialLimit time.Duration
	}{
		{"defaults", Settings{URL: "postgres://127.0.0.1:1/x?pool_max_conns=3"}, 3, DefaultConnectTimeout},
		{"settings win", Settings{URL: "postgres://127.0.0.1:1/x?pool_max_conns=3&connect_timeout=9", PoolSize: 7, ConnectTimeout: time.Second}, 7, time.Second},
		{"url timeout kept", Settings{URL: "postgres://127.0.0.1:1/x?connect_timeout=9", PoolSize: 2}, 2, 9 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.s.poolConfig()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MaxConns != tt.maxConns || cfg.ConnConfig.ConnectTimeout != tt.dialLimit {
				t.Errorf("poolConfig() = MaxConns %d ConnectTimeout %v, want %d and %v",
					cfg.MaxConns, cfg.ConnConfig.ConnectTimeout, tt.maxConns, tt.dialLimit)
			}
		})
	}
}

func TestNewRejectsInvalidSettings(t *testing.T) {
	if _, err := NewCounter(Settings{}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("NewCounter(Settings{}) error = %v, want core.ErrInvalid", err)
	}
	if _, err := NewClickShard(Settings{URL: "postgres://127.0.0.1:1/x", PoolSize: -1}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("NewClickShard(pool -1) error = %v, want core.ErrInvalid", err)
	}
}

func TestUnconfiguredPlugins(t *testing.T) {
	ctx := t.Context()
	c := NewCounterPlugin()
	if _, err := c.Reserve(ctx, core.ReserveRequest{Size: 1}); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Reserve before Configure error = %v, want core.ErrUnavailable", err)
	}
	if err := c.Configure(ctx, []byte(`{"url":"postgres://127.0.0.1:1/x","schema":1}`)); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Configure(bad) error = %v, want core.ErrInvalid", err)
	}
	if err := c.Ping(ctx); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Ping after a rejected Configure error = %v, want core.ErrUnavailable", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close of an unconfigured counter: %v", err)
	}
	s := NewClickShardPlugin()
	calls := map[string]func() error{
		"Record": func() error { return s.Record(ctx, []core.Click{{Code: "a", At: time.Now()}}) },
		"Stats": func() error {
			_, err := s.Stats(ctx, core.StatsRequest{Code: "a", Hours: 1})
			return err
		},
		"Read": func() error {
			_, err := s.Read(ctx, core.ReadRequest{Group: "g", Consumer: "c", Count: 1})
			return err
		},
		"Ack": func() error {
			return s.Ack(ctx, core.AckRequest{Group: "g", IDs: []core.DeliveryID{{Code: "a", ID: "1"}}})
		},
		"Ping": func() error { return s.Ping(ctx) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, core.ErrUnavailable) {
			t.Errorf("%s before Configure error = %v, want core.ErrUnavailable", name, err)
		}
	}
}
