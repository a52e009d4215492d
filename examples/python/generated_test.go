// Package python_test checks the generated code the Python example
// plugins import (the plugins themselves are checked by `curtain plugin
// check` in cmd/curtain's tests).
package python_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestPythonGeneratedCodeIsCurrent regenerates gen/ from the .proto files
// and fails if the committed copy differs: run ./generate.sh after
// changing the contract.
func TestPythonGeneratedCodeIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs grpc_tools")
	}
	if out, err := exec.Command("/usr/bin/python3", "-c", "import grpc_tools").CombinedOutput(); err != nil {
		t.Fatalf("needs Debian's python3-grpc-tools (apt-get install python3-grpc-tools): %v\n%s", err, out)
	}
	fresh := t.TempDir()
	if out, err := exec.Command("./generate.sh", fresh).CombinedOutput(); err != nil {
		t.Fatalf("generate.sh: %v\n%s", err, out)
	}
	seen := map[string]bool{}
	err := filepath.WalkDir(fresh, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(fresh, path)
		seen[rel] = true
		want, _ := os.ReadFile(path)
		got, err := os.ReadFile(filepath.Join("gen", rel))
		if err != nil || string(got) != string(want) {
			t.Errorf("gen/%s is missing or stale: run examples/python/generate.sh", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = filepath.WalkDir("gen", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(path) != ".pyc" {
			if rel, _ := filepath.Rel("gen", path); !seen[rel] {
				t.Errorf("gen/%s is not generated any more: remove it", rel)
			}
		}
		return nil
	})
}
