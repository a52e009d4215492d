package core

import (
	"context"
	"log/slog"
	"time"
)

// VisitorEventTypes are the event types that carry a visitor's data (the
// IP address or its keyed hash, and whatever else a click records): the
// events the retention setting deletes. Link history (created, updated)
// and events clients post with other types are kept.
var VisitorEventTypes = []string{EventRedirect, EventClick}

// EventPruner is implemented by stores that can delete old visitor
// events while keeping the analytics counts (curtain_event_counts) and
// therefore the totals GET /urls/{id}/analytics reports.
type EventPruner interface {
	// PruneEvents deletes at most limit events of VisitorEventTypes whose
	// timestamp is before before, oldest ids first, in one transaction
	// that leaves every per-URL count and latest time as it was. It
	// returns how many it deleted; 0 means none is left. Safe to call
	// from several processes at once.
	PruneEvents(ctx context.Context, before time.Time, limit int) (int, error)
}

// RetentionConfig says which events RunRetention deletes, and how fast.
type RetentionConfig struct {
	// MaxAge is how old a visitor event may get; zero or less disables
	// retention.
	MaxAge time.Duration
	// Batch is how many events one transaction deletes; default 1000.
	Batch int
	// Interval is the pause between passes once nothing is left to
	// delete; default one hour.
	Interval time.Duration
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// Logger receives one line per pass that deleted something, and
	// failures; default discards.
	Logger *slog.Logger
}

// RunRetention deletes visitor events older than cfg.MaxAge, a batch per
// transaction so that no lock is held long, until none is left, then
// sleeps cfg.Interval and starts again; it returns when ctx ends. A failed
// batch is logged and retried at the next pass.
func RunRetention(ctx context.Context, p EventPruner, cfg RetentionConfig) {
	if cfg.MaxAge <= 0 {
		return
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	for {
		n, err := PruneOnce(ctx, p, cfg.Now().Add(-cfg.MaxAge), cfg.Batch)
		switch {
		case err != nil && ctx.Err() == nil:
			cfg.Logger.ErrorContext(ctx, "event retention failed", "deleted", n, "error", err)
		case n > 0:
			cfg.Logger.InfoContext(ctx, "event retention", "deleted", n, "max_age", cfg.MaxAge.String())
		}
		t := time.NewTimer(cfg.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// PruneOnce deletes every visitor event before before, batch events per
// transaction, and returns how many it deleted.
func PruneOnce(ctx context.Context, p EventPruner, before time.Time, batch int) (int, error) {
	total := 0
	for {
		n, err := p.PruneEvents(ctx, before, batch)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}
