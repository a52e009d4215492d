package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/geoip"
	"github.com/curtainhq/curtain/host/webhooks"
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
// until ctx ends; it returns at once when retention is off or the store
// cannot prune.
func (a *App) runRetention(ctx context.Context) {
	p := a.cfg.Privacy
	if p.RetentionDays <= 0 {
		return
	}
	pruner, ok := a.store.(core.EventPruner)
	if !ok {
		a.log.Warn("retention.unsupported", "hint", "the store cannot delete old events; privacy.retention_days is ignored")
		return
	}
	core.RunRetention(ctx, pruner, core.RetentionConfig{
		MaxAge:   p.RetentionMaxAge(),
		Batch:    p.RetentionBatch,
		Interval: p.RetentionInterval,
		Logger:   a.log.With("component", "retention"),
	})
}

// WebhookStore returns store telling the webhook outbox what committed,
// when webhooks are configured and the store keeps an outbox; store
// itself otherwise. Every command that writes links goes through it.
func WebhookStore(w config.Webhooks, store core.Store, log *slog.Logger) core.Store {
	if !w.Enabled() {
		return store
	}
	outbox, ok := store.(core.WebhookLog)
	if !ok {
		log.Warn("webhooks.unsupported", "hint", "the store keeps no webhook outbox; webhooks are off")
		return store
	}
	d := webhooks.NewDispatcher(outbox, webhooks.DispatcherConfig{
		Links:     w.Sends(webhooks.Links),
		Clicks:    w.Sends(webhooks.Clicks),
		BatchSize: w.BatchSize,
		Logger:    log.With("component", "webhooks"),
	})
	return core.NotifyingStore(store, d, nil)
}

// NewWebhookWorker returns the delivery worker of the configuration; log
// may be nil.
func NewWebhookWorker(cfg config.Webhooks, outbox core.WebhookLog, log *slog.Logger) *webhooks.Worker {
	wc := webhooks.WorkerConfig{
		URL:            cfg.URL.Reveal(),
		Secret:         []byte(cfg.Secret.Reveal()),
		PreviousSecret: []byte(cfg.PreviousSecret.Reveal()),
		Timeout:        cfg.Timeout,
		MaxAttempts:    cfg.MaxAttempts,
		Backoff:        cfg.Backoff,
		MaxBackoff:     cfg.MaxBackoff,
		PollInterval:   cfg.PollInterval,
	}
	if log != nil {
		wc.Logger = log.With("component", "webhooks")
	}
	return webhooks.NewWorker(outbox, wc)
}

// runWebhooks delivers the outbox until ctx ends; it returns at once when
// webhooks are off.
func (a *App) runWebhooks(ctx context.Context) {
	if !a.cfg.Webhooks.Enabled() {
		return
	}
	outbox, ok := a.store.(core.WebhookLog)
	if !ok {
		return
	}
	NewWebhookWorker(a.cfg.Webhooks, outbox, a.log).Run(ctx)
}

// geoIPCountry opens analytics.geoip_path, when set, and returns its
// address → country lookup (httpapi.Options.Country) and the function
// that closes it; nil and a no-op without a path.
func geoIPCountry(a config.Analytics) (func(string) string, func(), error) {
	if a.GeoIPPath == "" {
		return nil, func() {}, nil
	}
	db, err := geoip.Open(a.GeoIPPath)
	if err != nil {
		return nil, nil, fmt.Errorf("analytics.geoip_path: %w", err)
	}
	return db.Country, func() { db.Close() }, nil
}
