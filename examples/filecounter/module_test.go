package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/curtainhq/curtain/plugins/plugintest"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// buildOutsideModule follows docs/plugins.md ("Module setup"): files
// (name to source) in a module of their own in a temporary directory,
// depending on this checkout through a replace directive, built with go
// build. It returns the binary.
func buildOutsideModule(t *testing.T, files map[string][]byte) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a module")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The guide's commands, verbatim but for the path of the checkout.
	for _, args := range [][]string{
		{"mod", "init", "example.com/myplugin"},
		{"mod", "edit", "-require=github.com/curtainhq/curtain@v0.0.0-00010101000000-000000000000", "-replace=github.com/curtainhq/curtain=" + repo},
		{"mod", "tidy"},
		{"build", "-o", "myplugin", "."},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
	}
	return filepath.Join(dir, "myplugin")
}

// checkCounter runs the counter suite and the contract cases on bin, as
// `curtain plugin check --kind counter` does, and fails the test on any
// failure.
func checkCounter(t *testing.T, bin string, settings []byte) {
	t.Helper()
	results := plugintest.Check(t.Context(), plugintest.CheckConfig{
		Kind:     sdk.KindCounter,
		Command:  func() *exec.Cmd { return exec.Command(bin) },
		Settings: settings,
		Parallel: 1, // a file counter's processes share the value file
	}, nil)
	passed := 0
	for _, r := range results {
		switch r.Outcome {
		case plugintest.Pass:
			passed++
		case plugintest.Fail:
			t.Errorf("%s: %s", r.Name, r.Reason)
		}
	}
	if passed < len(plugintest.CounterCases())+4 {
		t.Errorf("%d cases passed, want the counter suite and the contract cases: %+v", passed, results)
	}
}

// TestOutsideModule builds this plugin's sources as a module of its own
// and checks the binary.
func TestOutsideModule(t *testing.T) {
	files := map[string][]byte{}
	for _, f := range []string{"main.go", "counter.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		files[f] = b
	}
	checkCounter(t, buildOutsideModule(t, files), settingsFor(filepath.Join(t.TempDir(), "counter")))
}

// TestGuideCounter builds the counter docs/plugins.md shows, only from
// what the guide says (its Go block and its module setup), and checks it.
func TestGuideCounter(t *testing.T) {
	guide, err := os.ReadFile("../../docs/plugins.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(guide), "```go\npackage main\n")
	src, _, closed := strings.Cut(rest, "```")
	if !ok || !closed {
		t.Fatal("docs/plugins.md has no Go block with package main")
	}
	checkCounter(t, buildOutsideModule(t, map[string][]byte{"main.go": []byte("package main\n" + src)}), nil)
}
