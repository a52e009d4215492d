package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/consumer"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// newConsumer builds the stream consumer over the app's click shards
// (wrapped by Options.ConsumerShards when set), writing through the
// events store.
func (a *App) newConsumer() *consumer.Consumer {
	c := a.cfg.Consumer
	var shards core.ShardSet = a.clicks
	if a.consumerShards != nil {
		shards = a.consumerShards(shards)
	}
	return consumer.New(a.events, shards, consumer.Config{
		Group:     c.Group,
		Name:      c.Name,
		BatchSize: c.BatchSize,
		Block:     c.Block,
		MinIdle:   c.MinIdle,
		Linger:    lingerOf(c.Linger),
		Writers:   c.Writers,
		StreamOf:  streamOf(a.cfg.Config),
		Logger:    a.log,
		Registry:  a.reg,
	})
}

// streamOf names the streams of each shard for the consumer's
// consumer_group.created line: for a built-in redis shard, its click
// streams (stream:clicks:*, the reference's key pattern, after the
// shard's key_prefix); none for the other shards, which keep no such
// streams (memory, postgres) or whose streams the host does not know (an
// external plugin). Shards are named as the host names them.
func streamOf(cfg config.Config) func(shard string) string {
	streams := map[string]string{}
	for i, p := range HostConfig(cfg, sdk.KindClickShard).Plugins {
		if p.Builtin == "redis" && p.Path == "" && p.Reattach == "" {
			prefix, _ := cfg.Plugins.Shards[i].Settings["key_prefix"].(string)
			streams[p.Name] = prefix + "stream:clicks:*"
		}
	}
	return func(shard string) string { return streams[shard] }
}

// lingerOf maps consumer.linger, where 0 means none, onto
// consumer.Config.Linger, where 0 takes the default.
func lingerOf(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// runBeside runs, until ctx ends, the work that goes where the stream
// consumer runs: the monthly event partitions, event retention and
// webhook deliveries. The returned function waits for it to end.
func (a *App) runBeside(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(keepEventPartitions(ctx, a.store, a.log))
	wg.Go(func() { a.runRetention(ctx) })
	wg.Go(func() { a.runWebhooks(ctx) })
	return wg.Wait
}

// Consume stores the click shards' streams durably until ctx ends, then
// closes the App. It returns nil when stopped by ctx.
func (a *App) Consume(ctx context.Context) error {
	if a.role != Consume {
		return fmt.Errorf("consume on an application started for %s", a.role)
	}
	defer a.shutdown(ctx)
	bctx, stopBeside := context.WithCancel(ctx)
	wait := a.runBeside(bctx)
	defer func() { stopBeside(); wait() }()
	err := a.newConsumer().Run(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
