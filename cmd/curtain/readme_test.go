package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeListsEveryCommand: the command table of README.md names every
// command `curtain --help` lists, and no other.
func TestReadmeListsEveryCommand(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	// A row's first cell names its commands: `curtain NAME ...`, or
	// `curtain [serve]` for the default one.
	nameRE := regexp.MustCompile("`curtain \\[?([a-z]+)")
	inTable := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "| `curtain") || len(cells) < 3 {
			continue
		}
		for _, m := range nameRE.FindAllStringSubmatch(cells[1], -1) {
			inTable[m[1]] = true
		}
	}
	for _, c := range commands() {
		if !inTable[c.name] {
			t.Errorf("README.md's command table lacks curtain %s (%s)", c.name, c.summary)
		}
		delete(inTable, c.name)
	}
	for name := range inTable {
		t.Errorf("README.md's command table lists curtain %s, which is no command", name)
	}
}
