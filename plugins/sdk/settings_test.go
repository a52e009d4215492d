package sdk_test

import (
	"errors"
	"testing"

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
