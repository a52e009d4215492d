package httpapi

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
)

// TestOpenAPIWithoutRootCodes: the document served with root codes off
// is the embedded one, byte for byte, but for the GET /{code} path item.
func TestOpenAPIWithoutRootCodes(t *testing.T) {
	if got := mustWithoutPath(openAPIDoc, "/not-a-path"); !bytes.Equal(got, openAPIDoc) {
		t.Fatalf("removing no path changed the document:\n%.400s", got)
	}
	paths := func(doc []byte) []string {
		var d struct {
			Paths map[string]json.RawMessage `json:"paths"`
		}
		if err := json.Unmarshal(doc, &d); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		var out []string
		for p := range d.Paths {
			out = append(out, p)
		}
		slices.Sort(out)
		return out
	}
	full, pruned := paths(openAPIDoc), paths(openAPIWithoutRootCodes())
	if !slices.Contains(full, rootCodePath) {
		t.Fatalf("the embedded document has no %s", rootCodePath)
	}
	want := slices.DeleteFunc(slices.Clone(full), func(p string) bool { return p == rootCodePath })
	if !slices.Equal(pruned, want) {
		t.Errorf("paths without root codes = %v, want %v", pruned, want)
	}
}
