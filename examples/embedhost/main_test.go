package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/curtainhq/curtain/core"
)

// pluginPath is examples/filecounter, built by TestMain for the tests and
// the example.
var pluginPath string

func TestMain(m *testing.M) {
	// The application re-executes this test binary for its memory plugins.
	if len(os.Args) == 4 && os.Args[1] == pluginCommand {
		os.Exit(servePlugin(os.Args[2], os.Args[3]))
	}
	dir, err := os.MkdirTemp("", "embedhost-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pluginPath = filepath.Join(dir, "filecounter")
	out, err := exec.Command("go", "build", "-o", pluginPath, "../filecounter").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build the filecounter plugin: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// settingsFor returns -settings pointing the plugin at a counter file.
func settingsFor(path string) string {
	return `{"path": ` + strconv.Quote(path) + `}`
}

// Embed the host, load the filecounter plugin, and print a block of short
// codes reserved above a floor.
func Example() {
	dir, err := os.MkdirTemp("", "embedhost-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	args := []string{
		"-plugin", pluginPath, // go build -o ... ./examples/filecounter
		"-settings", settingsFor(filepath.Join(dir, "counter")),
		"-n", "4",
		"-floor", "56800235583", // ShortCode(56800235584) is "1000000"
	}
	if err := run(context.Background(), args, os.Stdout, io.Discard); err != nil {
		fmt.Println(err)
	}
	// Output:
	// reserved 56800235584..56800235587
	// 1000000
	// 1000001
	// 1000002
	// 1000003
}

// runOK runs the command and returns its standard output.
func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), args, &stdout, &stderr); err != nil {
		t.Fatalf("run(%q) error: %v\nstderr:\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

// TestCodesContinueAcrossRuns runs the program twice on one counter file,
// as two starts of an embedding program would.
func TestCodesContinueAcrossRuns(t *testing.T) {
	state := filepath.Join(t.TempDir(), "counter")
	first := runOK(t, "-plugin", pluginPath, "-settings", settingsFor(state), "-n", "3")
	second := runOK(t, "-plugin", pluginPath, "-settings", settingsFor(state), "-n", "2", "-v")

	var want strings.Builder
	want.WriteString("reserved 1..3\n")
	for v := int64(1); v <= 3; v++ {
		want.WriteString(core.ShortCode(v) + "\n")
	}
	want.WriteString("reserved 4..5\n000004\n000005\n")
	if diff := cmp.Diff(want.String(), first+second); diff != "" {
		t.Errorf("output of two runs (-want +got):\n%s", diff)
	}
}

func TestChecksum(t *testing.T) {
	b, err := os.ReadFile(pluginPath)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	right := hex.EncodeToString(sum[:])
	state := filepath.Join(t.TempDir(), "counter")

	if out := runOK(t, "-plugin", pluginPath, "-sha256", right, "-settings", settingsFor(state), "-n", "1"); out != "reserved 1..1\n000001\n" {
		t.Errorf("run with the right SHA-256 printed %q", out)
	}

	wrong := strings.Repeat("ab", 32)
	var stdout bytes.Buffer
	err = run(t.Context(), []string{"-plugin", pluginPath, "-sha256", wrong, "-settings", settingsFor(state)}, &stdout, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("run with a wrong SHA-256 error = %v, want the host to refuse the binary", err)
	}
	if stdout.Len() != 0 {
		t.Errorf("run with a wrong SHA-256 printed %q, want nothing", stdout.String())
	}
}

func TestRunErrors(t *testing.T) {
	state := filepath.Join(t.TempDir(), "counter")
	tests := []struct {
		name string
		args []string
		want func(error) bool
	}{
		{"no plugin", []string{"-n", "3"}, func(err error) bool { return errors.Is(err, flag.ErrHelp) }},
		{"stray argument", []string{"-plugin", pluginPath, "extra"}, func(err error) bool { return errors.Is(err, flag.ErrHelp) }},
		{"unknown flag", []string{"-plugn", pluginPath}, func(err error) bool { return err != nil }},
		{"missing executable", []string{"-plugin", filepath.Join(t.TempDir(), "nope")}, func(err error) bool { return err != nil }},
		{"settings the plugin rejects", []string{"-plugin", pluginPath, "-settings", `{"path": "relative"}`}, func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "path")
		}},
		{"no codes", []string{"-plugin", pluginPath, "-settings", settingsFor(state), "-n", "0"}, func(err error) bool {
			return errors.Is(err, core.ErrInvalid)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout bytes.Buffer
			err := run(t.Context(), tt.args, &stdout, io.Discard)
			if !tt.want(err) {
				t.Errorf("run(%q) error = %v", tt.args, err)
			}
			if stdout.Len() != 0 {
				t.Errorf("run(%q) printed %q, want nothing", tt.args, stdout.String())
			}
		})
	}
}
