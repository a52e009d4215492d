package main

import (
	"context"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core"
)

// visitorKey is httpapi.Options.VisitorKey: the configured key when
// privacy mode is on, nil otherwise.
func visitorKey(p config.Privacy) []byte {
	if !p.Enabled {
		return nil
	}
	return []byte(p.VisitorKey.Reveal())
}

// runRetention deletes visitor events older than privacy.retention_days
// until ctx ends, where the stream consumer runs (serve with
// consumer.in_serve, or consume); it returns at once when retention is
// off or the store cannot prune.
func (a *app) runRetention(ctx context.Context) {
	p := a.cfg.Privacy
	if p.RetentionDays <= 0 {
		return
	}
	pruner, ok := a.store.(core.EventPruner)
	if !ok {
		a.log.Warn("retention.unsupported", "message", "the store cannot delete old events; privacy.retention_days is ignored")
		return
	}
	core.RunRetention(ctx, pruner, core.RetentionConfig{
		MaxAge:   p.RetentionMaxAge(),
		Batch:    p.RetentionBatch,
		Interval: p.RetentionInterval,
		Logger:   a.log.With("component", "retention"),
	})
}
