package host

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/sdk"
)

func TestBreakerTransitions(t *testing.T) {
	b := &breaker{rest: time.Second}
	t0 := time.Unix(1000, 0)
	for i := range breakerTrips {
		if !b.allow(t0) {
			t.Fatalf("call %d refused before %d timeouts", i, breakerTrips)
		}
		if opened, _ := b.done(t0, ranOutOfTime); opened != (i == breakerTrips-1) {
			t.Fatalf("timeout %d: opened = %v", i+1, opened)
		}
	}
	if b.allow(t0.Add(999 * time.Millisecond)) {
		t.Fatal("a call allowed while the breaker rests")
	}
	probe := t0.Add(time.Second)
	if !b.allow(probe) || b.allow(probe) {
		t.Fatal("after the rest, want exactly one probe allowed")
	}
	if opened, closed := b.done(probe, unknown); opened || closed || !b.allow(probe) {
		t.Fatal("a probe whose caller gave up must neither open nor close, and let the next call probe")
	}
	if _, closed := b.done(probe, answered); !closed || !b.allow(probe) || !b.allow(probe) {
		t.Fatal("an answered probe must close the breaker")
	}
	// Timeouts apart from each other do not open it.
	for range 2 * breakerTrips {
		b.done(probe, ranOutOfTime)
		b.done(probe, answered)
	}
	if !b.allow(probe) {
		t.Error("isolated timeouts opened the breaker")
	}
}

// TestHostBreaksCallsOfAHungCache: a cache plugin whose process lives and
// answers health checks but not its calls costs a call timeout for
// breakerTrips calls; then calls fail at once with ErrUnavailable, and
// after the rest one call probes it again.
func TestHostBreaksCallsOfAHungCache(t *testing.T) {
	const timeout = 150 * time.Millisecond
	h := newTestHost(t, Config{Plugins: []PluginConfig{{Kind: sdk.KindCache, Builtin: "stuckcache", CallTimeout: timeout}}}, Options{})
	h.instances[0].breaker.rest = 400 * time.Millisecond
	get := func() (time.Duration, error) {
		start := time.Now()
		_, err := h.Cache().Get(context.Background(), []string{"k"})
		return time.Since(start), err
	}
	for i := range breakerTrips {
		if took, err := get(); took < timeout || !errors.Is(err, core.ErrUnavailable) {
			t.Fatalf("call %d = %v after %v, want unavailable after the call timeout", i+1, err, took)
		}
	}
	took, err := get()
	if took >= timeout/2 || !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "not answering") {
		t.Fatalf("call after %d timeouts = %v after %v, want unavailable at once", breakerTrips, err, took)
	}
	time.Sleep(400 * time.Millisecond)
	if took, err := get(); took < timeout || err == nil {
		t.Errorf("probe after the rest = %v after %v, want it sent to the plugin (and time out)", err, took)
	}
	if took, err := get(); took >= timeout/2 || err == nil {
		t.Errorf("call after a failed probe = %v after %v, want refused at once", err, took)
	}
	if s := fmt.Sprint(h.Status()); !strings.Contains(s, "running") {
		t.Errorf("status %s: the hung cache's process should still run", s)
	}
}
