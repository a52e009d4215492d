package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/httpapi"
	"github.com/curtainhq/curtain/host/app"
)

// runConsume stores the shards' click streams durably until stopped, and
// serves its metrics on --metrics-addr when given.
func runConsume(ctx context.Context, env *cmdEnv, args []string) error {
	f := newConfigFlags("consume", env)
	metricsAddr := f.fs.String("metrics-addr", "", "serve /metrics and /health on this address")
	cfg, err := f.parse(env, args)
	if err != nil {
		return err
	}
	if onlyMemoryShards(cfg.Plugins.Shards) {
		return errors.New("consume: every click shard is a memory plugin, whose stream lives inside the serve process that records it; " +
			"serve runs its own consumer (consumer.in_serve), or configure redis or postgres shards (REDIS_SHARDS, plugins.shards)")
	}
	// On a terminal the catch-up after a backlog shows as a bar.
	a, err := openApp(ctx, env, cfg, app.Consume, func(o *app.Options) {
		o.ConsumerShards = func(s core.ShardSet) core.ShardSet { return newCatchUp(s, env.stderr) }
	})
	if err != nil {
		return err
	}
	if *metricsAddr != "" {
		ln, err := httpapi.Listen(*metricsAddr)
		if err != nil {
			a.Close(context.WithoutCancel(ctx))
			return fmt.Errorf("listen %s: %w", *metricsAddr, err)
		}
		srv := a.MetricsServer()
		go srv.Serve(ln)
		defer srv.Close()
	}
	return a.Consume(ctx)
}

// onlyMemoryShards reports whether every click shard is the built-in memory
// plugin, which no other process can read.
func onlyMemoryShards(shards []config.Plugin) bool {
	for _, s := range shards {
		if s.Builtin != "memory" {
			return false
		}
	}
	return true
}
