// Package plugintest is the conformance suite of the four backend kinds.
// Any implementation runs it, in process and over a real plugin
// connection, to show it keeps the documented contract of core.Counter,
// core.ClickShard, core.Cache and core.AlertSink:
//
//	func TestConformance(t *testing.T) {
//		plugintest.Counter(t, func(t *testing.T) core.Counter { return newCounter(t) })
//	}
//
// Each suite function runs named subtests in parallel and asks its factory
// for a fresh, empty implementation in every subtest; the factory cleans up
// after itself with t.Cleanup. Timing cases (expiry, idle redelivery,
// blocking reads) use real short durations with bounded waits, so that
// implementations in other processes and on real servers can run them.
//
// Start and Serve connect to an implementation over go-plugin's gRPC
// protocol, so that the same suite runs against a plugin binary or against
// an implementation served in the test process.
package plugintest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"
)

// T is the part of *testing.T the cases use. *testing.T implements it,
// and so does the runner of Check, which drives the same cases outside go
// test (for `curtain plugin check`).
type T interface {
	Helper()
	Name() string
	Log(args ...any)
	Logf(format string, args ...any)
	Error(args ...any)
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Failed() bool
	Cleanup(func())
	Context() context.Context
}

// Case is one named conformance case, run against a fresh implementation
// I of its kind.
type Case[I any] struct {
	Name string
	Run  func(t T, impl I)
}

// Timing bounds shared by the suites.
const (
	// waitLimit bounds every wait for something that should happen soon.
	waitLimit = 5 * time.Second
	// pollEvery is the interval of polling loops.
	pollEvery = 50 * time.Millisecond
)

// unique returns a short random name with prefix, so that cases sharing
// a backend do not collide.
func unique(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// eventually polls cond until it holds or waitLimit passes.
func eventually(t T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true after %v", what, waitLimit)
		}
		time.Sleep(pollEvery)
	}
}

// callCtx returns a context for one call that ends with the test.
func callCtx(t T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}
