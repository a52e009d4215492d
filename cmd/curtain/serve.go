package main

import (
	"context"
	"fmt"
	"os"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/host/app"
)

// runServe serves the API until stopped (host/app does the work: on the
// embedded default it also runs the stream consumer, and at shutdown it
// hands every queued click to the store before the plugins stop).
func runServe(ctx context.Context, env *cmdEnv, args []string) error {
	f := newConfigFlags("serve", env)
	cfg, err := f.parse(env, args)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, env, cfg, app.Serve)
	if err != nil {
		return err
	}
	return a.Serve(ctx)
}

// openApp starts the backends of role with the logger of cfg, re-executing
// this binary for built-in plugins.
func openApp(ctx context.Context, env *cmdEnv, cfg config.Loaded, role app.Role, tweaks ...func(*app.Options)) (*app.App, error) {
	self, err := selfExec()
	if err != nil {
		return nil, err
	}
	opts := app.Options{Logger: newLogger(cfg.Log, cfg.InstanceID, env.stderr), SelfExec: self}
	for _, tweak := range tweaks {
		tweak(&opts)
	}
	a, err := app.New(ctx, cfg, role, opts)
	if err != nil && ctx.Err() != nil {
		// Ctrl-C or SIGTERM while the plugins started: a stop asked
		// for, not a failure.
		return nil, errStopped
	}
	return a, err
}

// selfExec returns the command that re-executes this binary for a plugin.
func selfExec() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	return []string{exe, pluginCommand}, nil
}
