package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/curtainhq/curtain/core/consumer"
)

// newConsumer builds the stream consumer over the app's click shards.
func (a *App) newConsumer() *consumer.Consumer {
	c := a.cfg.Consumer
	return consumer.New(a.store, a.clicks, consumer.Config{
		Group:     c.Group,
		Name:      c.Name,
		BatchSize: c.BatchSize,
		Block:     c.Block,
		MinIdle:   c.MinIdle,
		Logger:    a.log,
		Registry:  a.reg,
	})
}

// Consume stores the click shards' streams durably until ctx ends, then
// closes the App. It returns nil when stopped by ctx.
func (a *App) Consume(ctx context.Context) error {
	if a.role != Consume {
		return fmt.Errorf("consume on an application started for %s", a.role)
	}
	defer a.shutdown(ctx)
	a.log.Info("stream_consumer.starting", "batch_size", a.cfg.Consumer.BatchSize, "block", a.cfg.Consumer.Block.String(), "shards", len(a.clicks.Shards()))
	err := a.newConsumer().Run(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
