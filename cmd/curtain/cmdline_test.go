package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestMissingFileHint: a missing file names the seed files only when seed
// could not read them; a missing --config file or import file gets the
// plain hint.
func TestMissingFileHint(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	seedHint := "'curtain seed DIR' needs users.csv"
	tests := []struct {
		args     []string
		seedHint bool
	}{
		{[]string{"seed", missing}, true},
		{[]string{"config", "--config", missing + ".yaml"}, false},
		{[]string{"import", "--format", "csv", missing + ".csv"}, false},
	}
	for _, tt := range tests {
		code, _, stderr := runArgs(t, tt.args...)
		if code != 1 || !strings.Contains(stderr, "hint: check the path") || strings.Contains(stderr, seedHint) != tt.seedHint {
			t.Errorf("curtain %s: exit %d, stderr:\n%s\nwant 1 and the hint 'check the path' (naming the seed files: %v)",
				strings.Join(tt.args, " "), code, stderr, tt.seedHint)
		}
	}
}
