package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/consumer"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newConsumer builds the stream consumer of an app.
func (a *app) newConsumer() *consumer.Consumer {
	return a.newConsumerOf(a.clicks)
}

// newConsumerOf builds a stream consumer of the app's store reading shards.
func (a *app) newConsumerOf(shards core.ShardSet) *consumer.Consumer {
	c := a.cfg.Consumer
	return consumer.New(a.events, shards, consumer.Config{
		Group:     c.Group,
		Name:      c.Name,
		BatchSize: c.BatchSize,
		Block:     c.Block,
		MinIdle:   c.MinIdle,
		Logger:    a.log,
		Registry:  a.reg,
	})
}

// runConsume stores the shards' click streams durably until stopped, and
// serves its metrics on --metrics-addr when given.
func runConsume(ctx context.Context, env *cmdEnv, args []string) error {
	f := newConfigFlags("consume", env)
	metricsAddr := f.fs.String("metrics-addr", "", "serve /metrics on this address")
	cfg, err := f.parse(env, args)
	if err != nil {
		return err
	}
	if onlyMemoryShards(cfg.Plugins.Shards) {
		return errors.New("consume: every click shard is a memory plugin, whose stream lives inside the serve process that records it; " +
			"serve runs its own consumer (consumer.in_serve), or configure redis or postgres shards (REDIS_SHARDS, plugins.shards)")
	}
	log := newLogger(cfg.Log, cfg.InstanceID, env.stderr)
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.shutdown(ctx)
	// Event retention and webhook deliveries run beside the consumer and
	// stop before the store closes.
	backgroundCtx, stopBackground := context.WithCancel(ctx)
	var background sync.WaitGroup
	background.Go(func() { a.runRetention(backgroundCtx) })
	background.Go(func() { a.runWebhooks(backgroundCtx) })
	defer func() { stopBackground(); background.Wait() }()
	if *metricsAddr != "" {
		ln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", *metricsAddr, err)
		}
		srv := &http.Server{Handler: promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
	}
	log.Info("stream_consumer.starting", "batch_size", cfg.Consumer.BatchSize, "block", cfg.Consumer.Block.String(), "shards", len(a.clicks.Shards()))
	pctx, stopPartitions := context.WithCancel(ctx)
	waitPartitions := keepEventPartitions(pctx, a.store, log)
	err = a.newConsumerOf(newCatchUp(a.clicks, env.stderr)).Run(ctx)
	stopPartitions()
	waitPartitions()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
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
