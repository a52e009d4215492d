package host

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/sdk"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// call is the middleware every plugin call goes through: it fails at once
// with core.ErrUnavailable while the instance is down (or, for a cache,
// while its breaker is open), gives the call the
// instance's deadline, records curtain_plugin_rpc_total and
// curtain_plugin_rpc_duration_seconds, and asks the supervisor to look at
// the instance when the plugin could not be reached.
func (in *instance) call(ctx context.Context, method string, f func(ctx context.Context, c sdk.Client) error) error {
	start := time.Now()
	c := in.cur.Load()
	var err error
	switch {
	case c == nil:
		err = fmt.Errorf("%s plugin %q is restarting: %w", in.cfg.Kind, in.cfg.Name, core.ErrUnavailable)
	case in.breaker != nil && !in.breaker.allow(start):
		err = fmt.Errorf("%s plugin %q is not answering (its calls ran out of time): %w", in.cfg.Kind, in.cfg.Name, core.ErrUnavailable)
	default:
		cctx, cancel := context.WithTimeout(ctx, in.cfg.CallTimeout)
		err = f(cctx, c.sdk)
		cancel()
		if errors.Is(err, core.ErrUnavailable) && ctx.Err() == nil {
			in.poke()
		}
		if in.breaker != nil {
			opened, closed := in.breaker.done(time.Now(), outcomeOf(ctx, err))
			switch {
			case opened:
				in.log.Warn("plugin not answering: its calls fail at once for a while", "calls_timed_out", breakerTrips, "rest", in.breaker.rest.String())
			case closed:
				in.log.Info("plugin answering again")
			}
		}
	}
	in.h.m.duration.WithLabelValues(in.cfg.Kind, in.cfg.Name, method).Observe(time.Since(start).Seconds())
	in.h.m.calls.WithLabelValues(in.cfg.Kind, in.cfg.Name, method, codeOf(err)).Inc()
	return err
}

// codeOf names the outcome of a call by its gRPC status code.
func codeOf(err error) string {
	switch {
	case err == nil:
		return codes.OK.String()
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded.String()
	case errors.Is(err, context.Canceled):
		return codes.Canceled.String()
	}
	if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown {
		return s.Code().String()
	}
	if errors.Is(err, core.ErrUnavailable) {
		return codes.Unavailable.String()
	}
	return codes.Unknown.String()
}

// counterHandle is the stable core.Counter of a counter instance.
type counterHandle struct{ in *instance }

var _ core.Counter = counterHandle{}

func (h counterHandle) Reserve(ctx context.Context, req core.ReserveRequest) (core.Block, error) {
	var b core.Block
	err := h.in.call(ctx, "Reserve", func(ctx context.Context, c sdk.Client) error {
		var err error
		b, err = c.(*sdk.CounterClient).Reserve(ctx, req)
		return err
	})
	return b, err
}

// clickShardHandle is the stable core.ClickShard of a click-shard
// instance.
type clickShardHandle struct{ in *instance }

var (
	_ core.ClickShard   = clickShardHandle{}
	_ DurableShard      = clickShardHandle{}
	_ core.ClickDeleter = clickShardHandle{}
)

func (h clickShardHandle) shard(c sdk.Client) *sdk.ClickShardClient { return c.(*sdk.ClickShardClient) }

func (h clickShardHandle) Record(ctx context.Context, clicks []core.Click) error {
	return h.in.call(ctx, "Record", func(ctx context.Context, c sdk.Client) error {
		return h.shard(c).Record(ctx, clicks)
	})
}

// Durable reports whether the running shard process has the durable
// capability (DurableShard); a restarting one is not durable.
func (h clickShardHandle) Durable() bool {
	c := h.in.cur.Load()
	return c != nil && c.durable.Load()
}

// Delete implements core.ClickDeleter.
func (h clickShardHandle) Delete(ctx context.Context, codes []string) error {
	return h.in.call(ctx, "Delete", func(ctx context.Context, c sdk.Client) error {
		return h.shard(c).Delete(ctx, codes)
	})
}

func (h clickShardHandle) Stats(ctx context.Context, req core.StatsRequest) (core.ShardStats, error) {
	var s core.ShardStats
	err := h.in.call(ctx, "Stats", func(ctx context.Context, c sdk.Client) error {
		var err error
		s, err = h.shard(c).Stats(ctx, req)
		return err
	})
	return s, err
}

// Read may wait up to req.Block for new entries, so its deadline is the
// instance's call timeout plus req.Block.
func (h clickShardHandle) Read(ctx context.Context, req core.ReadRequest) ([]core.Delivery, error) {
	var d []core.Delivery
	err := h.in.call(ctx, "Read", func(cctx context.Context, c sdk.Client) error {
		if req.Block > 0 {
			var cancel context.CancelFunc
			cctx, cancel = context.WithTimeout(ctx, h.in.cfg.CallTimeout+req.Block)
			defer cancel()
		}
		var err error
		d, err = h.shard(c).Read(cctx, req)
		return err
	})
	return d, err
}

func (h clickShardHandle) Ack(ctx context.Context, req core.AckRequest) error {
	return h.in.call(ctx, "Ack", func(ctx context.Context, c sdk.Client) error {
		return h.shard(c).Ack(ctx, req)
	})
}

// cacheHandle is the stable core.Cache of a cache instance.
type cacheHandle struct{ in *instance }

var _ core.Cache = cacheHandle{}

func (h cacheHandle) Get(ctx context.Context, keys []string) (map[string][]byte, error) {
	var m map[string][]byte
	err := h.in.call(ctx, "Get", func(ctx context.Context, c sdk.Client) error {
		var err error
		m, err = c.(*sdk.CacheClient).Get(ctx, keys)
		return err
	})
	return m, err
}

func (h cacheHandle) Set(ctx context.Context, entries []core.CacheEntry) error {
	return h.in.call(ctx, "Set", func(ctx context.Context, c sdk.Client) error {
		return c.(*sdk.CacheClient).Set(ctx, entries)
	})
}

func (h cacheHandle) Delete(ctx context.Context, keys []string) error {
	return h.in.call(ctx, "Delete", func(ctx context.Context, c sdk.Client) error {
		return c.(*sdk.CacheClient).Delete(ctx, keys)
	})
}

var _ core.CacheWatcher = cacheHandle{}

// WatchInvalidations watches the running plugin process, when it reports
// the invalidations capability. The watch ends when that process does; the
// caller then watches again (the next process, after a restart).
func (h cacheHandle) WatchInvalidations(ctx context.Context, fn func(core.Invalidation) error) error {
	c := h.in.cur.Load()
	if c == nil {
		return fmt.Errorf("%s plugin %q is restarting: %w", h.in.cfg.Kind, h.in.cfg.Name, core.ErrUnavailable)
	}
	if !c.info.Has(sdk.CapInvalidations) {
		return fmt.Errorf("%s plugin %q reports no invalidations: %w", h.in.cfg.Kind, h.in.cfg.Name, errors.ErrUnsupported)
	}
	return c.sdk.(*sdk.CacheClient).WatchInvalidations(ctx, fn)
}

// alertSinkHandle is the stable core.AlertSink of an alert-sink instance.
type alertSinkHandle struct{ in *instance }

var _ core.AlertSink = alertSinkHandle{}

func (h alertSinkHandle) Send(ctx context.Context, alerts []core.Alert) error {
	return h.in.call(ctx, "Send", func(ctx context.Context, c sdk.Client) error {
		return c.(*sdk.AlertSinkClient).Send(ctx, alerts)
	})
}
