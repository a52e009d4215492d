package plugintest

import (
	"errors"
	"slices"

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
	if !slices.Contains(sdk.Kinds(), kind) {
		t.Fatalf("unknown kind %q", kind)
	}
	for _, c := range kindCalls(kind, impl) {
		unavailable(c.Name, c.Do(callCtx(t)))
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
