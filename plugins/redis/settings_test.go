package redis

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
			in:   `{"url":"redis://127.0.0.1:6379/0"}`,
			want: Settings{URL: "redis://127.0.0.1:6379/0"},
		},
		{
			name: "every key with url",
			in:   `{"url":"redis://:secret@cache:6380/2","dial_timeout":"50ms","read_timeout":"1s","write_timeout":"250ms","pool_size":4,"key_prefix":"t1:"}`,
			want: Settings{
				URL:         "redis://:secret@cache:6380/2",
				DialTimeout: 50 * time.Millisecond, ReadTimeout: time.Second, WriteTimeout: 250 * time.Millisecond,
				PoolSize: 4, KeyPrefix: "t1:",
			},
		},
		{
			name: "cluster with credentials",
			in:   `{"cluster":["127.0.0.1:7000","[::1]:7001"],"username":"u","password":"p"}`,
			want: Settings{Cluster: []string{"127.0.0.1:7000", "[::1]:7001"}, Username: "u", Password: "p"},
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
		name string
		in   string
		// keys must all appear in the error text.
		keys []string
	}{
		{"empty input", ``, []string{"url"}},
		{"empty object", `{}`, []string{"url", "cluster"}},
		{"both", `{"url":"redis://h:1/0","cluster":["h:1"]}`, []string{"url", "cluster"}},
		{"bad scheme", `{"url":"http://h:1/0"}`, []string{"url"}},
		{"unparsable url hides password", `{"url":"redis://u:hunter2@h:port/0"}`, []string{"url"}},
		{"url port out of range", `{"url":"redis://h:99999/0"}`, []string{"url", "1 to 65535"}},
		{"url port zero", `{"url":"redis://h:0/0"}`, []string{"url", "1 to 65535"}},
		{"credentials beside url", `{"url":"redis://h:1/0","password":"p"}`, []string{"username", "password"}},
		{"cluster entry without port", `{"cluster":["h"]}`, []string{"cluster[0]"}},
		{"cluster entry bad port", `{"cluster":["h:1","h:99999"]}`, []string{"cluster[1]"}},
		{"bad duration", `{"url":"redis://h:1/0","dial_timeout":"soon"}`, []string{"dial_timeout"}},
		{"duration as number", `{"url":"redis://h:1/0","read_timeout":50}`, []string{"read_timeout"}},
		{"negative duration", `{"url":"redis://h:1/0","write_timeout":"-1s"}`, []string{"write_timeout"}},
		{"negative pool", `{"url":"redis://h:1/0","pool_size":-1}`, []string{"pool_size"}},
		{"unknown key", `{"url":"redis://h:1/0","shards":[]}`, []string{"shards"}},
		{"not an object", `["redis://h:1/0"]`, []string{"redis settings"}},
		{"trailing data", `{"url":"redis://h:1/0"} {}`, []string{"trailing"}},
		{"several problems at once", `{"pool_size":-2,"write_timeout":"-1s"}`, []string{"url", "pool_size", "write_timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSettings([]byte(tt.in))
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("ParseSettings(%s) = %v, want an error wrapping core.ErrInvalid", tt.in, err)
			}
			for _, k := range tt.keys {
				if !strings.Contains(err.Error(), k) {
					t.Errorf("ParseSettings(%s) = %q, want it to name %q", tt.in, err, k)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("ParseSettings(%s) = %q leaks the password", tt.in, err)
			}
		})
	}
}

func TestNewRejectsInvalidSettings(t *testing.T) {
	if _, err := NewCounter(Settings{}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("NewCounter(Settings{}) error = %v, want core.ErrInvalid", err)
	}
	if _, err := NewClickShard(Settings{PoolSize: -1, URL: "redis://h:1"}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("NewClickShard(pool -1) error = %v, want core.ErrInvalid", err)
	}
	if _, err := NewCache(Settings{URL: "x://"}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("NewCache(bad url) error = %v, want core.ErrInvalid", err)
	}
}

func TestUnconfiguredPlugins(t *testing.T) {
	ctx := t.Context()
	c := NewCounterPlugin()
	if _, err := c.Reserve(ctx, core.ReserveRequest{Size: 1}); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Reserve before Configure error = %v, want core.ErrUnavailable", err)
	}
	if err := c.Configure(ctx, []byte(`{"url":"ftp://x"}`)); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Configure(bad) error = %v, want core.ErrInvalid", err)
	}
	if err := c.Ping(ctx); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Ping after a rejected Configure error = %v, want core.ErrUnavailable", err)
	}
	s := NewClickShardPlugin()
	if err := s.Record(ctx, []core.Click{{Code: "a"}}); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Record before Configure error = %v, want core.ErrUnavailable", err)
	}
	ch := NewCachePlugin()
	if _, err := ch.Get(ctx, []string{"k"}); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Get before Configure error = %v, want core.ErrUnavailable", err)
	}
	if err := ch.Close(); err != nil {
		t.Errorf("Close of an unconfigured cache: %v", err)
	}
}

func TestSettingsErrorNamesField(t *testing.T) {
	tests := []struct{ in, field string }{
		{`{"url":"redis://h:1/0","shards":[]}`, "shards"},
		{`{"url":"redis://h:1/0","read_timeout":50}`, "read_timeout"},
		{`{"url":"redis://h:1/0","dial_timeout":"soon"}`, "dial_timeout"},
		{`{"url":"redis://h:1/0","pool_size":-1}`, "pool_size"},
		{`{}`, "url"},
		{`{"cluster":["a:1","b"]}`, "cluster[1]"},
		{`nope`, "settings"},
	}
	for _, tt := range tests {
		_, err := ParseSettings([]byte(tt.in))
		ve, ok := errors.AsType[*core.ValidationError](err)
		if !ok || ve.Field != tt.field {
			t.Errorf("ParseSettings(%s) = %v, want a *core.ValidationError for %q", tt.in, err, tt.field)
		}
	}
}
