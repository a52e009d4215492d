package main

import (
	"context"

	"github.com/curtainhq/curtain/host/app"
)

// runNotify delivers Prometheus' alerts through the alert sink until
// stopped (host/app's App.Notify does the work).
func runNotify(ctx context.Context, env *cmdEnv, args []string) error {
	f := newConfigFlags("notify", env)
	cfg, err := f.parse(env, args)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, env, cfg, app.Notify)
	if err != nil {
		return err
	}
	return a.Notify(ctx)
}
