package plugintest

import (
	"context"
	"errors"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// Call is one call of a plugin that reaches its backing service, for
// Outage: Do makes it and returns its error.
type Call struct {
	Name string
	Do   func(ctx context.Context) error
}

// pinger is the health check the reference plugins offer in process.
type pinger interface {
	Ping(ctx context.Context) error
}

// Calls returns the calls of each backend of impls (in-process
// core.Counter, core.ClickShard, core.Cache or core.AlertSink values)
// that reach the backing service: the calls BackendDown makes, plus Ping
// where the value has one. A value of no backend kind is a programmer
// error and fails the test.
func Calls(t T, impls ...any) []Call {
	t.Helper()
	var calls []Call
	for _, impl := range impls {
		var kind, name string
		switch impl.(type) {
		case core.Counter:
			kind, name = sdk.KindCounter, "Counter"
		case core.ClickShard:
			kind, name = sdk.KindClickShard, "ClickShard"
		case core.Cache:
			kind, name = sdk.KindCache, "Cache"
		case core.AlertSink:
			kind, name = sdk.KindAlertSink, "AlertSink"
		default:
			t.Fatalf("Calls: %T is no backend kind", impl)
		}
		calls = append(calls, kindCalls(kind, impl)...)
		if p, ok := impl.(pinger); ok {
			calls = append(calls, Call{Name: name + ".Ping", Do: p.Ping})
		}
	}
	return calls
}

// kindCalls returns the calls of kind on impl that reach the backing
// service; impl must implement kind's interface.
func kindCalls(kind string, impl any) []Call {
	switch kind {
	case sdk.KindCounter:
		c := impl.(core.Counter)
		return []Call{{"Counter.Reserve", func(ctx context.Context) error {
			_, err := c.Reserve(ctx, core.ReserveRequest{Size: 1})
			return err
		}}}
	case sdk.KindClickShard:
		s := impl.(core.ClickShard)
		code := unique("o")
		return []Call{
			{"ClickShard.Record", func(ctx context.Context) error {
				return s.Record(ctx, []core.Click{{ID: unique("c"), Code: code, Visitor: "v", At: suiteNow()}})
			}},
			{"ClickShard.Stats", func(ctx context.Context) error {
				_, err := s.Stats(ctx, core.StatsRequest{Code: code, Now: suiteNow(), Hours: 1})
				return err
			}},
			{"ClickShard.Read", func(ctx context.Context) error {
				_, err := s.Read(ctx, core.ReadRequest{Group: "g", Consumer: "c", Count: 1})
				return err
			}},
		}
	case sdk.KindCache:
		c := impl.(core.Cache)
		key := unique("k")
		return []Call{
			{"Cache.Get", func(ctx context.Context) error {
				_, err := c.Get(ctx, []string{key})
				return err
			}},
			{"Cache.Set", func(ctx context.Context) error {
				return c.Set(ctx, []core.CacheEntry{{Key: key, Value: []byte("v"), TTL: time.Minute}})
			}},
			{"Cache.Delete", func(ctx context.Context) error { return c.Delete(ctx, []string{key}) }},
		}
	case sdk.KindAlertSink:
		s := impl.(core.AlertSink)
		return []Call{{"AlertSink.Send", func(ctx context.Context) error { return s.Send(ctx, sampleAlerts()) }}}
	}
	return nil
}

// Outage checks calls through an outage of their backing service, which
// stop takes down (as a crash would: connections drop) and start brings
// back: each call works with the service up; each fails with an error
// wrapping core.ErrUnavailable while it is down, within the call's
// deadline rather than hanging; and each works again soon after start
// (within the suite's wait limit: clients may redial in the background).
func Outage(t T, calls []Call, stop, start func()) {
	t.Helper()
	for _, c := range calls {
		if err := c.Do(callCtx(t)); err != nil {
			t.Fatalf("%s with the backing service up: %v", c.Name, err)
		}
	}
	stop()
	for _, c := range calls {
		if err := c.Do(callCtx(t)); !errors.Is(err, core.ErrUnavailable) {
			t.Errorf("%s with the backing service down: error %v, want core.ErrUnavailable", c.Name, err)
		}
	}
	start()
	for _, c := range calls {
		var err error
		eventuallyOK := func() bool {
			err = c.Do(callCtx(t))
			return err == nil
		}
		deadline := time.Now().Add(waitLimit)
		for !eventuallyOK() && time.Now().Before(deadline) {
			time.Sleep(pollEvery)
		}
		if err != nil {
			t.Errorf("%s after the backing service came back: %v", c.Name, err)
		}
	}
}
