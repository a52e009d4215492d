package sdk

import (
	"os"
	"runtime/debug"
	"testing"
)

// TestSetPluginGC: a plugin collects at pluginGCPercent unless GOGC is
// set, which then wins.
func TestSetPluginGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })

	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")
	setPluginGC()
	if got := debug.SetGCPercent(100); got != pluginGCPercent {
		t.Errorf("GC percent without GOGC = %d, want %d", got, pluginGCPercent)
	}

	t.Setenv("GOGC", "100")
	setPluginGC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent with GOGC=100 = %d, want 100 (GOGC wins)", got)
	}
}
