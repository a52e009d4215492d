package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/curtainhq/curtain/plugins/plugintest"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// TestOutsideModule follows docs/plugins.md ("Module setup"): the plugin's
// sources copied into a module of its own in a temporary directory, which
// depends on Curtain through a replace directive, build with go build,
// and the binary passes the counter suite run by plugintest.Check (what
// `curtain plugin check` runs).
func TestOutsideModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range []string{"main.go", "counter.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The guide's commands, verbatim but for the path of the checkout.
	for _, args := range [][]string{
		{"mod", "init", "example.com/filecounter"},
		{"mod", "edit", "-require=github.com/curtainhq/curtain@v0.0.0-00010101000000-000000000000", "-replace=github.com/curtainhq/curtain=" + repo},
		{"mod", "tidy"},
		{"build", "-o", "filecounter", "."},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
	}
	bin := filepath.Join(dir, "filecounter")
	results := plugintest.Check(t.Context(), plugintest.CheckConfig{
		Kind:     sdk.KindCounter,
		Command:  func() *exec.Cmd { return exec.Command(bin) },
		Settings: settingsFor(filepath.Join(t.TempDir(), "counter")),
		Parallel: 1, // every case's process shares the value file
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
