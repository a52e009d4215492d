package plugintest

import (
	"context"
	"strings"
	"testing"
	"time"
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
