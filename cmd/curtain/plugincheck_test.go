package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pythonExamples is the folder of the Python example plugins.
const pythonExamples = "../../examples/python"

// requirePython fails the test unless Debian's Python has what the
// Python plugins import (CI installs it; see .ci/run).
func requirePython(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Python plugin processes")
	}
	out, err := exec.Command("/usr/bin/python3", "-c", "import grpc, cryptography, google.protobuf").CombinedOutput()
	if err != nil {
		t.Fatalf("the Python plugins need /usr/bin/python3 with grpcio and cryptography "+
			"(apt-get install python3-grpcio python3-grpc-tools python3-cryptography): %v\n%s", err, out)
	}
}

// pluginCheck runs `curtain plugin check` and returns its output and
// whether it succeeded.
func pluginCheck(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), curtainBin, append([]string{"plugin", "check"}, args...)...)
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return string(out), err == nil
}

func absPath(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(rel)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPluginCheckPythonPlugins: the Python example plugins pass their
// kind's conformance suite run by the shipped binary.
func TestPluginCheckPythonPlugins(t *testing.T) {
	requirePython(t)
	for _, kind := range []string{"counter", "cache"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			out, ok := pluginCheck(t, "--kind", kind, absPath(t, filepath.Join(pythonExamples, kind+"_plugin.py")))
			if !ok || strings.Contains(out, "FAIL") || !strings.Contains(out, " 0 failed") {
				t.Fatalf("plugin check of the Python %s failed:\n%s", kind, out)
			}
			for _, want := range []string{"PASS  Contract/HealthServing", "PASS  Contract/UnknownSettingIsInvalidArgument", "PASS  Contract/StopsOnSIGTERM"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if kind == "cache" && !strings.Contains(out, "PASS  Cache/LastDuplicateInOneSetWins") {
				t.Errorf("output lacks the duplicate-key case:\n%s", out)
			}
		})
	}
}

// TestPluginCheckBuiltinWithBackendDown runs the check against a
// built-in plugin re-executed from the binary: the redis cache on a
// private redis-server (generous timeouts: the machine may be loaded), and BackendDown with settings that
// point it at a port where nothing listens.
func TestPluginCheckBuiltinWithBackendDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts plugin processes")
	}
	redis := startRedis(t)
	out, ok := pluginCheck(t, "--kind", "cache",
		"--settings", fmt.Sprintf(`{"url":"redis://%s/0","dial_timeout":"5s","read_timeout":"5s","write_timeout":"5s"}`, redis.addr),
		"--down-settings", `{"url":"redis://127.0.0.1:1/0"}`,
		curtainBin, pluginCommand, "cache", "redis")
	if !ok || !strings.Contains(out, "PASS  BackendDown") || !strings.Contains(out, " 0 failed, 0 skipped") {
		t.Errorf("plugin check of the redis cache did not pass every case:\n%s", out)
	}
}

// brokenPlugins are plugins that break the contract, each with the
// named error the host and `curtain plugin check` must give.
func brokenPlugins(t *testing.T) []struct {
	name, kind, want string
	argv             []string
} {
	return []struct {
		name, kind, want string
		argv             []string
	}{
		{"NoHealthService", "counter", "no gRPC health service",
			[]string{absPath(t, filepath.Join(pythonExamples, "testdata", "nohealth_plugin.py"))}},
		{"PaddedCertificate", "counter", "bad TLS certificate in the handshake line: it must be unpadded standard base64",
			[]string{absPath(t, filepath.Join(pythonExamples, "testdata", "padded_cert_plugin.py"))}},
		{"WrongKind", "cache", `wrong kind or contract version: plugin "py-counter" serves kind "counter" contract v1, want kind "cache"`,
			[]string{absPath(t, filepath.Join(pythonExamples, "counter_plugin.py"))}},
		{"WrongKindBuiltin", "counter", `wrong kind or contract version: plugin "memory-cache" serves kind "cache"`,
			[]string{curtainBin, pluginCommand, "cache", "memory"}},
		{"NotAPlugin", "counter", "not a Curtain plugin", []string{"/bin/true"}},
	}
}

// TestPluginCheckBrokenPlugins: each broken plugin fails the check's
// first case with its named error, and the rest is skipped.
func TestPluginCheckBrokenPlugins(t *testing.T) {
	requirePython(t)
	for _, tt := range brokenPlugins(t) {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, ok := pluginCheck(t, append([]string{"--kind", tt.kind}, tt.argv...)...)
			if ok {
				t.Fatalf("plugin check passed a broken plugin:\n%s", out)
			}
			first, _, _ := strings.Cut(out, "\n")
			if !strings.HasPrefix(first, "FAIL  Contract/StartsAndAnswersInfo") || !strings.Contains(first, tt.want) {
				t.Errorf("first line = %q, want a failure naming %q", first, tt.want)
			}
			if !strings.Contains(out, "SKIP  BackendDown") {
				t.Errorf("the other cases are not skipped:\n%s", out)
			}
		})
	}
}

// TestServeRefusesBrokenPlugins: the host refuses each broken plugin
// configured by path, with the same named error, and serve exits.
func TestServeRefusesBrokenPlugins(t *testing.T) {
	requirePython(t)
	for _, tt := range brokenPlugins(t) {
		if len(tt.argv) != 1 {
			continue // a path takes no arguments
		}
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfg := filepath.Join(dir, "curtain.yaml")
			yaml := "plugins:\n  " + tt.kind + ":\n    path: " + tt.argv[0] + "\n"
			if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(t.Context(), curtainBin, "serve", "--config", cfg, "--addr", freeAddr(t))
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("serve with a broken %s plugin exited 0:\n%s", tt.kind, out)
			}
			if !strings.Contains(string(out), tt.want) || !strings.Contains(string(out), `plugin "`+tt.kind+`"`) {
				t.Errorf("serve output does not name plugin %q and %q:\n%s", tt.kind, tt.want, out)
			}
		})
	}
}

// TestServeWithPythonPlugins loads the Python counter and cache by path
// in a running server: codes come from the Python counter (settings
// honoured), GET /urls/ID hits the Python cache the second time (the
// near-cache is off: its hit would be a HIT too), and `curtain plugins`
// reports what that server sees.
func TestServeWithPythonPlugins(t *testing.T) {
	requirePython(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "curtain.yaml")
	yaml := "clicks:\n  near_cache_ttl: 0s\n" +
		"plugins:\n" +
		"  counter:\n    path: " + absPath(t, filepath.Join(pythonExamples, "counter_plugin.py")) + "\n    settings: {start: 1000}\n" +
		"  cache:\n    path: " + absPath(t, filepath.Join(pythonExamples, "cache_plugin.py")) + "\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServerArgs(t, dir, []string{"--config", cfg})
	resp, body := s.do(t, "POST", "/urls", `{"original_url":"https://example.com/python"}`)
	if resp.StatusCode != 201 || !strings.Contains(body, `"short_code":"0000g9"`) {
		t.Errorf("POST /urls = %d %s, want 201 with code 0000g9 (value 1001, after the start setting 1000)", resp.StatusCode, body)
	}
	s.do(t, "GET", "/urls/1", "")
	if resp, _ := s.do(t, "GET", "/urls/1", ""); resp.Header.Get("X-Cache") != "HIT" {
		t.Errorf("second GET /urls/1: X-Cache %q, want HIT from the Python cache", resp.Header.Get("X-Cache"))
	}

	out := runCurtain(t, dir, nil, "plugins", "--config", cfg, "--server", s.base)
	for _, want := range []string{"counter_plugin.py", "cache_plugin.py"} {
		line := grepLines(out, want)
		if !strings.Contains(line, "running") || !strings.Contains(line, " healthy") || !strings.Contains(line, "0.1.0") {
			t.Errorf("curtain plugins line for %s = %q, want running, healthy, version 0.1.0:\n%s", want, line, out)
		}
	}
	if !strings.Contains(out, "as the server at "+s.base+" sees them") {
		t.Errorf("curtain plugins did not ask the server:\n%s", out)
	}
}

// TestConfigChecksBuiltinSettings: `curtain config` checks a built-in
// plugin's settings against its Info without starting it.
func TestConfigChecksBuiltinSettings(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "curtain.yaml")
	if err := os.WriteFile(cfg, []byte("plugins:\n  cache:\n    builtin: memory\n    settings: {size: 3}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), curtainBin, "config", "--config", cfg)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `plugin cache (builtin memory): setting "size": unknown setting`) {
		t.Errorf("curtain config with settings for the memory cache = %v:\n%s", err, out)
	}
	if out := runCurtain(t, dir, nil, "config"); !strings.Contains(out, "Chosen by") {
		t.Errorf("curtain config without settings:\n%s", out)
	}
	// The redis and postgres plugins publish their settings too: a typo
	// and a wrong type are caught without starting a plugin or a server.
	bad := "plugins:\n  counter:\n    builtin: redis\n    settings: {url: \"redis://127.0.0.1:1/0\", pool_sise: 4}\n" +
		"  shards:\n    - builtin: postgres\n      settings: {url: \"postgres://127.0.0.1:1/x\", pool_size: \"8\"}\n"
	if err := os.WriteFile(cfg, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd = exec.CommandContext(t.Context(), curtainBin, "config", "--config", cfg)
	cmd.Dir = dir
	out, err = cmd.CombinedOutput()
	for _, want := range []string{`plugin counter (builtin redis): setting "pool_sise"`, `plugin shard0 (builtin postgres): setting "pool_size"`} {
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("curtain config with bad redis/postgres settings = %v, want %q:\n%s", err, want, out)
		}
	}
}
