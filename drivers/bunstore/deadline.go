package bunstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/curtainhq/curtain/core"
)

// bound returns ctx limited to the store timeout it carries (a request's,
// core.StoreTimeout), and the function that releases it. A call that runs
// out of it fails with context.DeadlineExceeded, which kind reports as
// core.ErrUnavailable; pgx closes a connection whose query was cut off,
// and database/sql opens another for the next call.
func bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if d := core.StoreTimeout(ctx); d > 0 {
		return context.WithTimeout(ctx, d)
	}
	return ctx, func() {}
}

// errStalled is the cause of a paced call's end.
var errStalled = errors.New("store did not answer in time")

// pacer ends a call that waits for the server many times when one wait
// outlasts the store timeout (pace).
type pacer struct {
	d      time.Duration
	timer  *time.Timer
	cancel context.CancelCauseFunc
}

// pacerCtx is the context key of a call's pacer.
type pacerCtx struct{}

// pace is bound for a request's call that waits for the server once per
// chunk, in one transaction (InsertUsers: POST /users/bulk): the store
// timeout bounds each wait, restarted by step, rather than the whole
// call, which a large import on a healthy server may outlast. stop
// releases it; stalled tells its end from other errors.
func pace(ctx context.Context) (context.Context, *pacer) {
	d := core.StoreTimeout(ctx)
	if d <= 0 {
		return ctx, nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	p := &pacer{d: d, cancel: cancel}
	p.timer = time.AfterFunc(d, func() { cancel(errStalled) })
	return context.WithValue(ctx, pacerCtx{}, p), p
}

// stop releases p; nil does nothing.
func (p *pacer) stop() {
	if p != nil {
		p.timer.Stop()
		p.cancel(nil)
	}
}

// step restarts the wait of the call ctx paces, if any: one chunk is done.
func step(ctx context.Context) {
	if p, ok := ctx.Value(pacerCtx{}).(*pacer); ok {
		p.timer.Reset(p.d)
	}
}

// stalled returns err, marked core.ErrUnavailable when the call ctx paces
// ended because a wait outlasted the store timeout.
func stalled(ctx context.Context, err error) error {
	p, ok := ctx.Value(pacerCtx{}).(*pacer)
	if err == nil || !ok || !errors.Is(context.Cause(ctx), errStalled) {
		return err
	}
	return fmt.Errorf("no answer within %v: %w: %w", p.d, core.ErrUnavailable, err)
}
