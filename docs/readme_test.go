package docs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestReadmeQuickStart checks what the README's first two lines promise
// on a machine with nothing but Go: `go run ./cmd/curtain` runs the
// default command, serve, on :5000 with the SQLite file ./curtain.db and
// the memory plugins, and needs no other service; `go test -race ./...`
// is the second line. The binary runs with no command and an environment
// without any of Curtain's variables, in an empty directory, on a free
// port instead of :5000 (the machine may be shared).
func TestReadmeQuickStart(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	bs := blocks(string(data))
	if len(bs) == 0 {
		t.Fatal("README.md has no code block")
	}
	lines := commands(bs[0].text)
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "go run ./cmd/curtain ") && lines[0] != "go run ./cmd/curtain" ||
		!strings.HasPrefix(lines[1], "go test -race ./...") {
		t.Fatalf("README.md's first block is not `go run ./cmd/curtain` then `go test -race ./...`:\n%s", bs[0].text)
	}

	dir := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + os.TempDir()}
	cfgCmd := exec.Command(curtainBin, "config")
	cfgCmd.Dir, cfgCmd.Env = dir, env
	out, err := cfgCmd.Output()
	if err != nil {
		t.Fatalf("curtain config: %v", err)
	}
	var cfg struct {
		HTTP struct {
			Addr string `yaml:"addr"`
		} `yaml:"http"`
		Store struct {
			Driver     string `yaml:"driver"`
			SQLitePath string `yaml:"sqlite_path"`
		} `yaml:"store"`
		Plugins map[string]any `yaml:"plugins"`
	}
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Addr != ":5000" || cfg.Store.Driver != "sqlite" || cfg.Store.SQLitePath != "curtain.db" {
		t.Errorf("the default is not serve on :5000 with ./curtain.db: addr %q, store %s %q", cfg.HTTP.Addr, cfg.Store.Driver, cfg.Store.SQLitePath)
	}
	for _, kind := range []string{"counter", "cache"} {
		if p, _ := cfg.Plugins[kind].(map[string]any); p["builtin"] != "memory" {
			t.Errorf("the default %s plugin is %v, not memory", kind, p["builtin"])
		}
	}

	addr := freeAddr(t)
	serve := exec.Command(curtainBin, "--addr", addr) // no command: serve
	serve.Dir, serve.Env = dir, env
	startUntilOK(t, serve, "http://"+addr+"/health/ready")
	if _, err := os.Stat(filepath.Join(dir, "curtain.db")); err != nil {
		t.Errorf("no curtain.db in the working directory: %v", err)
	}
}
