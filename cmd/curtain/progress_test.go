package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Off a terminal, progress is a plain line at every tenth of the work.
func TestProgressPlainLines(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, "seeding rows", 95)
	for range 19 {
		p.add(5)
	}
	p.finish()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 10 || lines[0] != "seeding rows: 10/95 (10%)" || lines[9] != "seeding rows: 95/95 (100%)" {
		t.Errorf("progress output =\n%s\nwant ten lines from 10/95 (10%%) to 95/95 (100%%)", buf.String())
	}
	var none bytes.Buffer
	newProgress(&none, "empty", 0).add(0)
	if none.Len() != 0 {
		t.Errorf("progress of no work printed %q", none.String())
	}
}

// curtain migrate shows each migration it applies off a terminal as plain
// progress lines, and nothing when the store is already up to date.
func TestMigrateProgress(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"migrate", "--sqlite-path", path}, nil, &stdout, &stderr); err != nil {
		t.Fatalf("migrate: %v\n%s", err, stderr.String())
	}
	var lines []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(l, "applying migrations: ") {
			lines = append(lines, l)
		}
	}
	// Lines come at most every tenth of the work, so with more than ten
	// migrations the first may be skipped; the last is always 100 %.
	if len(lines) < 2 || !strings.HasSuffix(lines[len(lines)-1], "(100%)") {
		t.Errorf("first migrate printed %q, want progress lines up to 100%%", lines)
	}
	stderr.Reset()
	if err := run(t.Context(), []string{"migrate", "--sqlite-path", path}, nil, &stdout, &stderr); err != nil {
		t.Fatalf("migrate again: %v\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "applying migrations") {
		t.Errorf("migrate of an up-to-date store printed progress:\n%s", stderr.String())
	}
}

// On a terminal (a pseudo-terminal from util-linux's script), curtain
// migrate draws a bar that redraws in place instead of printing lines.
func TestMigrateProgressBarOnTerminal(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("no script(1) to provide a terminal")
	}
	path := filepath.Join(t.TempDir(), "m.db")
	out, err := exec.CommandContext(t.Context(), script, "-qec", curtainBin+" migrate --sqlite-path "+path, "/dev/null").CombinedOutput()
	if err != nil {
		t.Fatalf("migrate under script: %v\n%q", err, out)
	}
	s := string(out)
	if !strings.Contains(s, "applying migrations") || !strings.Contains(s, "█") || !strings.Contains(s, "\r") {
		t.Errorf("migrate on a terminal drew no bar:\n%q", s)
	}
	if strings.Contains(s, "applying migrations: 1/") {
		t.Errorf("migrate on a terminal printed plain progress lines:\n%q", s)
	}
}
