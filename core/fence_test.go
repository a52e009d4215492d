package core_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreImportsOnlyStandardLibrary keeps the fence of ARCHITECTURE.md:
// core (and the core packages it builds on) depend on the standard library
// alone, never on storage, transport or plugin machinery.
func TestCoreImportsOnlyStandardLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/curtainhq/curtain/core").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		first, _, _ := strings.Cut(pkg, "/")
		if !strings.Contains(first, ".") || strings.HasPrefix(pkg, "vendor/") {
			continue // standard library
		}
		if strings.HasPrefix(pkg, "github.com/curtainhq/curtain/core") {
			continue
		}
		t.Errorf("core depends on %s", pkg)
	}
}
