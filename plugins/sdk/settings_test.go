package sdk_test

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/sdk"
)

func TestDecodeSettings(t *testing.T) {
	type settings struct {
		URL  string `json:"url"`
		Size int    `json:"size"`
	}
	tests := []struct {
		in        string
		want      settings
		wantField string
	}{
		{``, settings{}, ""},
		{`{"url":"x","size":3}`, settings{URL: "x", Size: 3}, ""},
		{`{"uri":"x"}`, settings{}, "uri"},
		{`{"size":"big"}`, settings{}, "size"},
		{`{"url":1}`, settings{}, "url"},
		{`{"url":"x"} {}`, settings{}, "settings"},
		{`[1]`, settings{}, "settings"},
	}
	for _, tt := range tests {
		var got settings
		err := sdk.DecodeSettings([]byte(tt.in), &got, "url, size")
		if tt.wantField == "" {
			if err != nil || got != tt.want {
				t.Errorf("DecodeSettings(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			continue
		}
		var ve *core.ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.wantField || !errors.Is(err, core.ErrInvalid) {
			t.Errorf("DecodeSettings(%q) error = %v, want a validation error naming %q", tt.in, err, tt.wantField)
		}
	}
}

// TestDecodeSettingsCommonTypes: durations and text forms decode into
// the settings struct itself, with no shadow struct of strings.
func TestDecodeSettingsCommonTypes(t *testing.T) {
	type settings struct {
		Timeout time.Duration `json:"timeout"`
		Addr    netip.Addr    `json:"addr"`
		Seeds   []string      `json:"seeds"`
		Limit   int64         `json:"limit"`
		Ratio   float64       `json:"ratio"`
		Debug   bool          `json:"debug"`
	}
	var got settings
	err := sdk.DecodeSettings([]byte(`{"timeout":"1.5s","addr":"127.0.0.1","seeds":["a:1","b:2"],"limit":9007199254740993,"ratio":0.5,"debug":true}`), &got)
	want := settings{1500 * time.Millisecond, netip.MustParseAddr("127.0.0.1"), []string{"a:1", "b:2"}, 9007199254740993, 0.5, true}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeSettings = %+v, %v; want %+v", got, err, want)
	}
	for in, field := range map[string]string{
		`{"timeout":"soon"}`:   "timeout",
		`{"timeout":true}`:     "timeout",
		`{"addr":"not-an-ip"}`: "addr",
		`{"limit":1.5}`:        "limit",
		`{"seeds":"a"}`:        "seeds",
	} {
		var s settings
		err := sdk.DecodeSettings([]byte(in), &s)
		ve, ok := errors.AsType[*core.ValidationError](err)
		if !ok || ve.Field != field {
			t.Errorf("DecodeSettings(%s) error = %v, want one naming %q", in, err, field)
		}
	}
	err = sdk.DecodeSettings([]byte(`{"timeuot":"1s"}`), &settings{})
	if ve, ok := errors.AsType[*core.ValidationError](err); !ok || ve.Field != "timeuot" ||
		!strings.Contains(err.Error(), "timeout, addr, seeds, limit, ratio, debug") {
		t.Errorf("unknown key error = %v, want it to name the key and list the struct's keys", err)
	}
}

func TestSettingsSchema(t *testing.T) {
	type settings struct {
		URL     string        `json:"url"`
		Timeout time.Duration `json:"timeout,omitempty"`
		Size    int           `json:"size"`
		Hidden  string        `json:"-"`
		Seeds   []string      `json:"seeds"`
	}
	got := sdk.SettingsSchema(settings{})
	want := `{"additionalProperties":false,"properties":{"seeds":{"items":{"type":"string"},"type":"array"},"size":{"type":"integer"},"timeout":{"format":"duration","type":"string"},"url":{"type":"string"}},"type":"object"}`
	if got != want {
		t.Errorf("SettingsSchema =\n%s\nwant\n%s", got, want)
	}
	if got := sdk.SettingsSchema(nil); got != "" {
		t.Errorf("SettingsSchema(nil) = %q, want empty", got)
	}
}

func TestCheckSettings(t *testing.T) {
	type settings struct {
		URL     string        `json:"url"`
		Timeout time.Duration `json:"timeout"`
		Size    int           `json:"size"`
		Ratio   float64       `json:"ratio"`
	}
	typed := sdk.Info{Name: "p", Capabilities: []string{sdk.CapConfigure}, SettingsSchema: sdk.SettingsSchema(settings{})}
	none := sdk.Info{Name: "q"}
	tests := []struct {
		info      sdk.Info
		in        string
		wantField string
	}{
		{typed, `{"url":"x","timeout":"2s","size":3,"ratio":1}`, ""},
		{typed, ``, ""},
		{typed, `{"uri":"x"}`, "uri"},
		{typed, `{"size":"3"}`, "size"},
		{typed, `{"size":1.5}`, "size"},
		{typed, `{"timeout":"soon"}`, "timeout"},
		{none, ``, ""},
		{none, `{"url":"x"}`, "url"},
		{sdk.Info{Capabilities: []string{sdk.CapConfigure}}, `{"anything":1}`, ""},
	}
	for _, tt := range tests {
		err := sdk.CheckSettings(tt.info, []byte(tt.in))
		if tt.wantField == "" {
			if err != nil {
				t.Errorf("CheckSettings(%s, %s) = %v, want nil", tt.info.Name, tt.in, err)
			}
			continue
		}
		if ve, ok := errors.AsType[*core.ValidationError](err); !ok || ve.Field != tt.wantField {
			t.Errorf("CheckSettings(%s, %s) = %v, want an error naming %q", tt.info.Name, tt.in, err, tt.wantField)
		}
	}
}
