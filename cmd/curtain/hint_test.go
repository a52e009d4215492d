package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHintPluginNotExecutable: a plugin path that cannot be run gets a
// hint about running it, not the SQLite file's "not writable" hint, both
// as plugin check starts it (exec.Command) and as the host does (fork/exec).
func TestHintPluginNotExecutable(t *testing.T) {
	script := filepath.Join(t.TempDir(), "plugin.py")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, forkErr := os.StartProcess(script, []string{script}, &os.ProcAttr{})
	if forkErr == nil {
		t.Fatal("a file without execute permission started")
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"exec permission", exec.Command(script).Start(), "chmod +x"},
		{"fork/exec permission", forkErr, "chmod +x"},
		{"bare name", exec.Command("curtain-no-such-plugin.py").Start(), "./NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := fmt.Errorf("start plugins: plugin %q: start: %w", "counter", tt.err)
			if got := hint(err); !strings.Contains(got, tt.want) {
				t.Errorf("hint(%v) = %q, want one saying %q", err, got, tt.want)
			}
		})
	}
}
