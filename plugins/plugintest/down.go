package plugintest

import (
	"errors"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// BackendDown checks the backend-down behaviour the contract promises:
// impl (a plugin implementation of kind, or the sdk.Client of a plugin
// process) has a backing service that cannot be reached, so every call
// of its kind fails with core.ErrUnavailable (gRPC UNAVAILABLE) within
// the call deadline rather than hanging or failing otherwise; and a
// plugin that reports the "health" capability answers its health check
// NOT_SERVING.
func BackendDown(t T, kind string, impl any) {
	t.Helper()
	unavailable := func(call string, err error) {
		t.Helper()
		if !errors.Is(err, core.ErrUnavailable) {
			t.Errorf("%s with the backend down: error %v, want core.ErrUnavailable", call, err)
		}
	}
	switch kind {
	case sdk.KindCounter:
		c := impl.(core.Counter)
		_, err := c.Reserve(callCtx(t), core.ReserveRequest{Size: 1})
		unavailable("Reserve", err)
	case sdk.KindCache:
		c := impl.(core.Cache)
		_, err := c.Get(callCtx(t), []string{unique("k")})
		unavailable("Get", err)
		unavailable("Set", c.Set(callCtx(t), []core.CacheEntry{{Key: unique("k"), Value: []byte("v"), TTL: time.Minute}}))
		unavailable("Delete", c.Delete(callCtx(t), []string{unique("k")}))
	case sdk.KindClickShard:
		s := impl.(core.ClickShard)
		now := suiteNow()
		unavailable("Record", s.Record(callCtx(t), []core.Click{{ID: unique("c"), Code: "abc", Visitor: "v", At: now}}))
		_, err := s.Stats(callCtx(t), core.StatsRequest{Code: "abc", Now: now, Hours: 1})
		unavailable("Stats", err)
		_, err = s.Read(callCtx(t), core.ReadRequest{Group: "g", Consumer: "c", Count: 1})
		unavailable("Read", err)
	case sdk.KindAlertSink:
		s := impl.(core.AlertSink)
		unavailable("Send", s.Send(callCtx(t), sampleAlerts()))
	default:
		t.Fatalf("unknown kind %q", kind)
	}
	if c, ok := impl.(sdk.Client); ok {
		info, err := c.Info(callCtx(t))
		if err != nil {
			t.Fatalf("Info with the backend down: %v", err)
		}
		if info.Has(sdk.CapHealth) {
			unavailable("the health check", c.Ping(callCtx(t)))
		}
	}
}
