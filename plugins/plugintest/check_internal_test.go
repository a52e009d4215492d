package plugintest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/memory"
)

// TestRunCase: the runner of Check behaves as go test does for the parts
// the cases use: Fatal ends the case, errors are collected, cleanups run
// last first, and a panic or a hang is a failure, not a crash.
func TestRunCase(t *testing.T) {
	var order []string
	r := runCase(context.Background(), "fatal", time.Second, func(t T) {
		t.Cleanup(func() { order = append(order, "first") })
		t.Cleanup(func() { order = append(order, "second") })
		t.Errorf("one %d", 1)
		t.Fatalf("two")
		order = append(order, "after Fatal")
	})
	if r.Outcome != Fail || r.Reason != "one 1; two" || strings.Join(order, ",") != "second,first" {
		t.Errorf("Fatal case = %+v, order %v", r, order)
	}
	if r := runCase(context.Background(), "pass", time.Second, func(t T) { t.Log("fine") }); r.Outcome != Pass || len(r.Log) != 1 {
		t.Errorf("passing case = %+v", r)
	}
	if r := runCase(context.Background(), "panic", time.Second, func(t T) { panic("boom") }); r.Outcome != Fail || !strings.Contains(r.Reason, "boom") {
		t.Errorf("panicking case = %+v", r)
	}
	hang := runCase(context.Background(), "hang", 50*time.Millisecond, func(t T) { <-t.Context().Done(); time.Sleep(time.Second) })
	if hang.Outcome != Fail || !strings.Contains(hang.Reason, "did not finish") {
		t.Errorf("hanging case = %+v", hang)
	}
}

// silentWatcher is a cache whose invalidation watch reports its reset and
// then nothing: the mistake WatchReportsChanges must catch.
type silentWatcher struct{ core.Cache }

func (silentWatcher) WatchInvalidations(ctx context.Context, fn func(core.Invalidation) error) error {
	if err := fn(core.Invalidation{Reset: true}); err != nil {
		return err
	}
	<-ctx.Done()
	return ctx.Err()
}

// TestCacheWatchCase: the WatchReportsChanges case passes a cache whose
// watch reports its writes and fails one whose watch stays silent.
func TestCacheWatchCase(t *testing.T) {
	if r := runCase(t.Context(), "memory", time.Minute, func(t T) { cacheWatch(t, memory.NewCache()) }); r.Outcome != Pass {
		t.Errorf("memory cache: %+v", r)
	}
	r := runCase(t.Context(), "silent", time.Minute, func(t T) { cacheWatch(t, silentWatcher{memory.NewCache()}) })
	if r.Outcome != Fail || !strings.Contains(r.Reason, "event for Set") {
		t.Errorf("silent watcher: %+v, want a failure naming the Set it did not report", r)
	}
}
