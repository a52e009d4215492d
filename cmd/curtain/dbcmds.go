package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/seed"
	"github.com/curtainhq/curtain/host/app"
)

// withStore parses a store command's flags, opens (and so migrates) the
// configured store, and runs fn with it and the positional arguments.
func withStore(ctx context.Context, env *cmdEnv, name string, args []string, fn func(store core.Store, cfg config.Loaded, args []string) error) error {
	return withStoreFlags(ctx, env, newConfigFlags(name, env), args, fn)
}

// withStoreFlags is withStore for a command that adds flags of its own
// to f.
func withStoreFlags(ctx context.Context, env *cmdEnv, f *configFlags, args []string, fn func(store core.Store, cfg config.Loaded, args []string) error) error {
	cfg, err := f.parse(env, args)
	if err != nil {
		return err
	}
	if f.prepare != nil {
		if err := f.prepare(f.args()); err != nil {
			return err
		}
	}
	fmt.Fprintf(env.stderr, "opening the %s store (migrations run first)...\n", cfg.Store.Driver)
	mctx, done := withMigrationProgress(ctx, env.stderr)
	store, err := app.OpenStore(mctx, cfg.Store)
	done()
	if err != nil {
		return err
	}
	defer store.Close()
	return fn(store, cfg, f.args())
}

// runMigrate runs the schema migrations (opening a store migrates it).
func runMigrate(ctx context.Context, env *cmdEnv, args []string) error {
	return withStore(ctx, env, "migrate", args, func(_ core.Store, cfg config.Loaded, _ []string) error {
		fmt.Fprintf(env.stdout, "Migrated %s store: users, urls, events\n", cfg.Store.Driver)
		return nil
	})
}

// runReset drops and recreates every table.
func runReset(ctx context.Context, env *cmdEnv, args []string) error {
	return withStore(ctx, env, "reset", args, func(store core.Store, _ config.Loaded, _ []string) error {
		if err := store.Reset(ctx); err != nil {
			return fmt.Errorf("reset: %w", err)
		}
		fmt.Fprintln(env.stdout, "Reset tables: users, urls, events")
		return nil
	})
}

// runSeed imports users.csv, urls.csv and events.csv from a directory
// (default: the working directory).
func runSeed(ctx context.Context, env *cmdEnv, args []string) error {
	f := newConfigFlags("seed", env)
	// The files are read before the store is opened: a wrong DIR leaves
	// no new database behind.
	var batch core.Import
	f.prepare = func(args []string) error {
		dir := "."
		if len(args) == 1 {
			dir = args[0]
		}
		var err error
		if batch, err = seed.LoadDir(dir); err != nil {
			return seedFilesError{err}
		}
		var empty []string
		for name, rows := range map[string]int{seed.UsersFile: len(batch.Users), seed.URLsFile: len(batch.URLs), seed.EventsFile: len(batch.Events)} {
			if rows == 0 {
				empty = append(empty, name)
			}
		}
		slices.Sort(empty)
		switch len(empty) {
		case 0:
		case 3:
			return seedFilesError{fmt.Errorf("seed %s: %w: %s, %s and %s have only a header; nothing seeded", dir, errNoData, seed.EventsFile, seed.URLsFile, seed.UsersFile)}
		default:
			fmt.Fprintf(env.stderr, "curtain: warning: %s in %s: no data rows, only a header\n", strings.Join(empty, " and "), dir)
		}
		return nil
	}
	return withStoreFlags(ctx, env, f, args, func(store core.Store, _ config.Loaded, _ []string) error {
		return seedBatch(ctx, env, store, batch)
	})
}

// seedBatch imports the rows of the seed files into store in one
// transaction, as the reference's seed script does, with a progress bar:
// a seed that fails stores nothing.
func seedBatch(ctx context.Context, env *cmdEnv, store core.Store, batch core.Import) error {
	bar := newProgress(env.stderr, "seeding rows", len(batch.Users)+len(batch.URLs)+len(batch.Events))
	batch.Progress = bar.add
	got, err := store.Import(ctx, batch)
	if err != nil {
		return fmt.Errorf("seed: nothing stored: %w", err)
	}
	bar.finish()
	fmt.Fprintf(env.stdout, "Seeded users.csv, urls.csv, and events.csv: %d users, %d urls, %d events inserted\n", got.Users, got.URLs, got.Events)
	return nil
}

// errNoData reports an input with no data rows: nothing to import or
// seed, most likely not the file or directory meant. It fails the command
// (exit 1) with a hint, so that a script notices too.
var errNoData = errors.New("no data rows")

// seedFilesError is a failure to read the seed files of a directory; its
// hint names the files seed needs.
type seedFilesError struct{ error }

func (e seedFilesError) Unwrap() error { return e.error }
