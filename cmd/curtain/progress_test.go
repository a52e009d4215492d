package main

import (
	"bytes"
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
