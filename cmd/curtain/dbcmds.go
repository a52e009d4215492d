package main

import (
	"context"
	"fmt"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/seed"
	"github.com/schollz/progressbar/v3"
)

// runMigrate runs the schema migrations (opening a store migrates it).
func runMigrate(ctx context.Context, env *cmdEnv, args []string) error {
	f := newConfigFlags("migrate", env)
	cfg, err := f.parse(env, args)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, cfg.Store)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprintf(env.stdout, "Migrated %s store: users, urls, events\n", cfg.Store.Driver)
	return nil
}

// runReset drops and recreates every table.
func runReset(ctx context.Context, env *cmdEnv, args []string) error {
	f := newConfigFlags("reset", env)
	cfg, err := f.parse(env, args)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, cfg.Store)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Reset(ctx); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	fmt.Fprintln(env.stdout, "Reset tables: users, urls, events")
	return nil
}

// seedChunk is how many rows one Import call carries, so the progress bar
// moves; each call skips existing ids and fixes the id sequences.
const seedChunk = 500

// runSeed imports users.csv, urls.csv and events.csv from a directory
// (default: the working directory).
func runSeed(ctx context.Context, env *cmdEnv, args []string) error {
	f := newConfigFlags("seed", env)
	cfg, err := f.parse(env, args)
	if err != nil {
		return err
	}
	dir := "."
	switch len(f.args()) {
	case 0:
	case 1:
		dir = f.args()[0]
	default:
		return fmt.Errorf("seed takes one directory, got %d arguments", len(f.args()))
	}
	batch, err := seed.LoadDir(dir)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, cfg.Store)
	if err != nil {
		return err
	}
	defer store.Close()

	total := len(batch.Users) + len(batch.URLs) + len(batch.Events)
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(env.stderr),
		progressbar.OptionSetDescription("seeding"),
		progressbar.OptionShowCount(),
		progressbar.OptionClearOnFinish(),
	)
	var got core.ImportCounts
	step := func(part core.Import, rows int) error {
		n, err := store.Import(ctx, part)
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		got.Users += n.Users
		got.URLs += n.URLs
		got.Events += n.Events
		return bar.Add(rows)
	}
	for i := 0; i < len(batch.Users); i += seedChunk {
		rows := batch.Users[i:min(i+seedChunk, len(batch.Users))]
		if err := step(core.Import{Users: rows}, len(rows)); err != nil {
			return err
		}
	}
	for i := 0; i < len(batch.URLs); i += seedChunk {
		rows := batch.URLs[i:min(i+seedChunk, len(batch.URLs))]
		if err := step(core.Import{URLs: rows}, len(rows)); err != nil {
			return err
		}
	}
	for i := 0; i < len(batch.Events); i += seedChunk {
		rows := batch.Events[i:min(i+seedChunk, len(batch.Events))]
		if err := step(core.Import{Events: rows}, len(rows)); err != nil {
			return err
		}
	}
	_ = bar.Finish()
	fmt.Fprintf(env.stdout, "Seeded users.csv, urls.csv, and events.csv: %d users, %d urls, %d events inserted\n", got.Users, got.URLs, got.Events)
	return nil
}
