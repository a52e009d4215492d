package sdk_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/curtainhq/curtain/plugins/sdk"
)

// TestExplainStartNamesHandshakeErrors starts scripts that break the
// handshake as a plugin in another language can, and checks that the
// error go-plugin returns is explained with the SDK's named error.
func TestExplainStartNamesHandshakeErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("plugin processes skipped in -short mode")
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	tests := []struct {
		name   string
		script string
		want   error
		text   string // in the explained error's text
	}{
		{"contract version the host did not offer", `echo "1|2|unix|/nonexistent.sock|grpc|"`, sdk.ErrWrongKind, "Plugin version: 2"},
		{"exits before the handshake", `echo "no such setting" >&2; exit 3`, sdk.ErrNotAPlugin, "Failed to read any lines"},
		{"junk on stdout", `echo "hello"; exec sleep 5`, sdk.ErrNotAPlugin, "hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "plugin.sh")
			if err := os.WriteFile(path, []byte("#!/bin/sh\n"+tt.script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(path)
			cmd.Env = sdk.PluginEnv(os.Environ(), sdk.EnvAllowList)
			cc := sdk.LaunchConfig(sdk.KindCounter, cmd, 5*time.Second)
			cc.Logger = hclog.NewNullLogger()
			pc := plugin.NewClient(cc)
			defer pc.Kill()
			_, err := pc.Client()
			if err == nil {
				t.Fatal("Client() error = nil, want a handshake error")
			}
			got := sdk.ExplainStart(err)
			if !errors.Is(got, tt.want) || !strings.Contains(got.Error(), tt.text) {
				t.Errorf("ExplainStart(%q) = %q, want %q containing %q", err, got, tt.want, tt.text)
			}
		})
	}
}

// TestHealthString: a health answer prints as the gRPC health service
// names it, not as a number (NOT_SERVING is 2 on the wire but 1 here, so
// "health check = 1" in a plugin check's reason misled authors).
func TestHealthString(t *testing.T) {
	for h, want := range map[sdk.Health]string{sdk.Serving: "SERVING", sdk.NotServing: "NOT_SERVING", sdk.Unanswered: "unanswered"} {
		if got := fmt.Sprint(h); got != want {
			t.Errorf("fmt.Sprint(%d) = %q, want %q", int(h), got, want)
		}
	}
}
