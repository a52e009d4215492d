package app

import (
	"context"
	"fmt"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/drivers/postgres"
	"github.com/curtainhq/curtain/drivers/sqlite"
)

// OpenStore opens the configured durable store and runs its migrations.
func OpenStore(ctx context.Context, cfg config.Store) (core.Store, error) {
	switch cfg.Driver {
	case "postgres":
		s, err := postgres.Open(ctx, cfg.PostgresURL.Reveal())
		if err != nil {
			return nil, fmt.Errorf("open postgres store %s: %w", cfg.PostgresURL, err)
		}
		return s, nil
	default:
		s, err := sqlite.Open(ctx, cfg.SQLitePath)
		if err != nil {
			return nil, err // it names the store and its file
		}
		return s, nil
	}
}
