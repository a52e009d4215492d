package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/host"
	"github.com/curtainhq/curtain/plugins/plugintest"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// buildPlugin builds this package's binary the way a user does, with
// go build, and returns its path and hex SHA-256.
func buildPlugin(t *testing.T) (path, sum string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "filecounter")
	cmd := exec.Command("go", "build", "-o", path, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return path, hex.EncodeToString(h.Sum(nil))
}

// startPlugin starts the binary as a plugin process, configured on the
// value file path, and returns it as the host sees it.
func startPlugin(t *testing.T, bin, path string) core.Counter {
	t.Helper()
	client, _ := plugintest.Start(t, sdk.KindCounter, exec.Command(bin), settingsFor(path))
	info, err := client.Info(t.Context())
	if err != nil {
		t.Fatalf("Info() error: %v", err)
	}
	if info.Name != "file-counter" || info.Version != version || !info.Has(sdk.CapConfigure) || !info.Has(sdk.CapHealth) {
		t.Errorf("Info() = %+v, want file-counter %s with capabilities configure and health", info, version)
	}
	if want := `{"additionalProperties":false,"properties":{"path":{"type":"string"}},"type":"object"}`; info.SettingsSchema != want {
		t.Errorf("Info().SettingsSchema = %s, want %s", info.SettingsSchema, want)
	}
	if err := client.Ping(t.Context()); err != nil {
		t.Errorf("Ping() error: %v", err)
	}
	return client.(core.Counter)
}

// TestPluginBinary builds the plugin and runs it as real processes: the
// conformance suite over go-plugin's gRPC, two processes sharing one
// file, and the host loading it by path with a checksum.
func TestPluginBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the plugin binary")
	}
	bin, sum := buildPlugin(t)

	t.Run("Conformance", func(t *testing.T) {
		plugintest.Counter(t, func(t *testing.T) core.Counter {
			return startPlugin(t, bin, filepath.Join(t.TempDir(), "counter"))
		})
	})

	t.Run("RejectsBadSettingsOverTheWire", func(t *testing.T) {
		client, _ := plugintest.Start(t, sdk.KindCounter, exec.Command(bin), settingsFor(filepath.Join(t.TempDir(), "counter")))
		err := client.Configure(t.Context(), []byte(`{"path": "relative/counter"}`))
		var verr *core.ValidationError
		if !errors.As(err, &verr) || verr.Field != "path" {
			t.Errorf("Configure(relative path) error = %v, want a *core.ValidationError for path", err)
		}
	})

	t.Run("TwoProcessesShareAFile", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "counter")
		counters := []core.Counter{startPlugin(t, bin, path), startPlugin(t, bin, path)}
		var (
			mu     sync.Mutex
			blocks []core.Block
			wg     sync.WaitGroup
		)
		for _, c := range counters {
			for range 2 {
				wg.Go(func() {
					for range 25 {
						b, err := c.Reserve(t.Context(), core.ReserveRequest{Size: 3})
						if err != nil {
							t.Errorf("Reserve(3) error: %v", err)
							return
						}
						mu.Lock()
						blocks = append(blocks, b)
						mu.Unlock()
					}
				})
			}
		}
		wg.Wait()
		checkDisjoint(t, blocks)
		if got, want := fileValue(t, path), "300\n"; got != want {
			t.Errorf("counter file = %q, want %q (100 blocks of 3)", got, want)
		}
	})

	t.Run("Host", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "counter")
		settings, err := json.Marshal(map[string]string{"path": path})
		if err != nil {
			t.Fatal(err)
		}
		cfg := host.Config{Plugins: []host.PluginConfig{{
			Kind:     sdk.KindCounter,
			Path:     bin,
			SHA256:   sum,
			Settings: settings,
		}}}

		h := newHost(t, cfg)
		var got []core.Block
		for _, req := range []core.ReserveRequest{{Size: 100}, {Size: 100}, {Size: 10, Floor: 5000}} {
			got = append(got, reserveOK(t, h.Counter(), req.Size, req.Floor))
		}
		want := []core.Block{{First: 1, Size: 100}, {First: 101, Size: 100}, {First: 5001, Size: 10}}
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Errorf("blocks through the host (-want +got):\n%s", diff)
		}
		st := h.Status()
		if len(st) != 1 || st[0].Kind != sdk.KindCounter || st[0].Version != version || !st[0].Healthy || st[0].PID == 0 {
			t.Errorf("Status() = %+v, want one healthy counter of version %s", st, version)
		}
		if err := h.Close(t.Context()); err != nil {
			t.Fatalf("Close() error: %v", err)
		}

		// A new host, as after a restart of Curtain, continues from the
		// file.
		h = newHost(t, cfg)
		if b := reserveOK(t, h.Counter(), 1, 0); b.First != 5011 {
			t.Errorf("Reserve after restarting the host = %+v, want First 5011", b)
		}
	})

	t.Run("HostRefusesWrongSHA256", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "counter")
		wrong := strings.Repeat("0", 64)
		if wrong == sum {
			t.Fatal("the binary hashes to zeros")
		}
		h, err := host.New(host.Config{Plugins: []host.PluginConfig{{
			Kind:     sdk.KindCounter,
			Path:     bin,
			SHA256:   wrong,
			Settings: settingsFor(path),
		}}}, host.Options{})
		if err == nil {
			h.Close(t.Context())
			t.Fatal("host.New with a wrong SHA-256 succeeded, want it refused")
		}
		if !strings.Contains(err.Error(), "SHA-256") {
			t.Errorf("host.New with a wrong SHA-256 error = %v, want it to name the SHA-256", err)
		}
		// The binary never ran: it would have created the lock file.
		if _, err := os.Stat(path + ".lock"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Stat(lock file) error = %v, want not exist: the refused plugin ran", err)
		}
	})

	t.Run("HostRefusesBadSettings", func(t *testing.T) {
		h, err := host.New(host.Config{Plugins: []host.PluginConfig{{
			Kind:     sdk.KindCounter,
			Path:     bin,
			SHA256:   sum,
			Settings: json.RawMessage(`{"path": "/tmp/x", "size": 3}`),
		}}}, host.Options{})
		if err == nil {
			h.Close(t.Context())
			t.Fatal("host.New with an unknown setting succeeded, want it refused")
		}
		if !strings.Contains(err.Error(), "size") {
			t.Errorf("host.New with an unknown setting error = %v, want it to name the key size", err)
		}
	})
}

// newHost starts a host on cfg and closes it when the test ends.
func newHost(t *testing.T, cfg host.Config) *host.Host {
	t.Helper()
	h, err := host.New(cfg, host.Options{})
	if err != nil {
		t.Fatalf("host.New() error: %v", err)
	}
	t.Cleanup(func() {
		// t.Context() is already done in cleanups.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Errorf("Close() error: %v", err)
		}
	})
	return h
}
