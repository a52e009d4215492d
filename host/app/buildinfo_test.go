package app

import (
	"runtime"
	"testing"
)

// TestRegistryHasBuildInfo: every role's registry exports
// curtain_build_info at 1, labelled with the binary's version data.
func TestRegistryHasBuildInfo(t *testing.T) {
	families, err := NewRegistry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := ReadBuildInfo()
	for _, f := range families {
		if f.GetName() != "curtain_build_info" {
			continue
		}
		if len(f.GetMetric()) != 1 {
			t.Fatalf("curtain_build_info has %d series, want 1", len(f.GetMetric()))
		}
		m := f.GetMetric()[0]
		if v := m.GetGauge().GetValue(); v != 1 {
			t.Errorf("curtain_build_info = %v, want 1", v)
		}
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["version"] != want.Version || labels["revision"] != want.Commit || labels["goversion"] != want.GoVersion {
			t.Errorf("labels = %v, want version %q, revision %q, goversion %q", labels, want.Version, want.Commit, want.GoVersion)
		}
		if labels["goversion"] != runtime.Version() {
			t.Errorf("goversion = %q, want the running toolchain %q", labels["goversion"], runtime.Version())
		}
		return
	}
	t.Fatal("NewRegistry gathers no curtain_build_info")
}
