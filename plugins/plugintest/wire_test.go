package plugintest_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/plugintest"
	"github.com/curtainhq/curtain/plugins/sdk"
)

func TestErrorsAcrossProcess(t *testing.T) {
	c := startHelper(t, sdk.KindCounter, "faulty").(core.Counter)
	sentinels := []error{core.ErrNotFound, core.ErrUnavailable, core.ErrInvalid, core.ErrConflict, core.ErrReference}
	tests := []struct {
		name  string
		floor int64
		size  int64
		want  error // nil: no sentinel matches
	}{
		{"not found", floorNotFound, 1, core.ErrNotFound},
		{"unavailable", floorUnavailable, 1, core.ErrUnavailable},
		{"validation", floorValidation, 1, core.ErrInvalid},
		{"invalid size", 0, 0, core.ErrInvalid},
		{"conflict", floorConflict, 1, core.ErrConflict},
		{"reference", floorReference, 1, core.ErrReference},
		{"plain", floorPlain, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Reserve(t.Context(), core.ReserveRequest{Size: tt.size, Floor: tt.floor})
			if err == nil {
				t.Fatal("Reserve error = nil, want an error")
			}
			for _, s := range sentinels {
				if got, want := errors.Is(err, s), s == tt.want; got != want {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", err, s, got, want)
				}
			}
		})
	}
	t.Run("validation keeps the field", func(t *testing.T) {
		_, err := c.Reserve(t.Context(), core.ReserveRequest{Size: 1, Floor: floorValidation})
		var ve *core.ValidationError
		if !errors.As(err, &ve) || ve.Field != "floor" {
			t.Errorf("Reserve error = %v, want a *core.ValidationError on field floor", err)
		}
	})
}

func TestDeadPluginIsUnavailable(t *testing.T) {
	if testing.Short() {
		t.Skip("plugin processes skipped in -short mode")
	}
	client, pc := plugintest.Start(t, sdk.KindCounter, plugintest.SelfCommand(serveEnv+"="+sdk.KindCounter), nil)
	c := client.(core.Counter)
	if _, err := c.Reserve(t.Context(), core.ReserveRequest{Size: 1}); err != nil {
		t.Fatalf("Reserve on a live plugin error: %v", err)
	}
	pc.Kill()
	_, err := c.Reserve(t.Context(), core.ReserveRequest{Size: 1})
	if !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Reserve on a killed plugin error = %v, want core.ErrUnavailable", err)
	}
	if err := client.Ping(t.Context()); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Ping on a killed plugin error = %v, want core.ErrUnavailable", err)
	}
}

func TestDeadlineIsUnavailable(t *testing.T) {
	c := startHelper(t, sdk.KindClickShard, sdk.KindClickShard).(core.ClickShard)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Read(ctx, core.ReadRequest{Group: "g", Consumer: "c", Count: 1, Block: time.Minute})
	if !errors.Is(err, core.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Read past its deadline error = %v, want core.ErrUnavailable and context.DeadlineExceeded", err)
	}
}

func TestInfoConfigureAndHealth(t *testing.T) {
	faulty := startHelper(t, sdk.KindCounter, "faulty")
	plain := startHelper(t, sdk.KindCounter, sdk.KindCounter)
	ctx := t.Context()

	info, err := faulty.Info(ctx)
	if err != nil {
		t.Fatalf("Info error: %v", err)
	}
	if info.Name != "faulty-counter" || info.Kind != sdk.KindCounter || info.Version != "0.0.0-test" ||
		info.Contract != sdk.ContractVersion || !slices.Equal(info.Capabilities, []string{sdk.CapConfigure, sdk.CapHealth}) {
		t.Errorf("Info = %+v", info)
	}
	if err := info.Compatible(sdk.KindCache); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Compatible(cache) of a counter = %v, want an error", err)
	}
	if info, err := plain.Info(ctx); err != nil || len(info.Capabilities) != 0 {
		t.Errorf("Info of the memory counter = %+v, %v; want no capabilities", info, err)
	}

	tests := []struct {
		name      string
		client    sdk.Client
		settings  string
		wantField string // "" means accepted
	}{
		{"configurer accepts", faulty, `{"limit": 3}`, ""},
		{"configurer rejects naming the key", faulty, `{"limit": -1}`, "limit"},
		{"no settings accepted", plain, ``, ""},
		{"empty object accepted", plain, `{}`, ""},
		{"unknown key rejected", plain, `{"dir": "/tmp"}`, "dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.client.Configure(ctx, []byte(tt.settings))
			if tt.wantField == "" {
				if err != nil {
					t.Errorf("Configure(%s) error: %v", tt.settings, err)
				}
				return
			}
			var ve *core.ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.wantField || !errors.Is(err, core.ErrInvalid) {
				t.Errorf("Configure(%s) error = %v, want a validation error on %q", tt.settings, err, tt.wantField)
			}
		})
	}

	if err := plain.Ping(ctx); err != nil {
		t.Errorf("Ping of the memory counter error: %v", err)
	}
	if err := faulty.Ping(ctx); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Ping of a plugin whose backend is down = %v, want core.ErrUnavailable (NOT_SERVING)", err)
	}
}
