package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/curtainhq/curtain/plugins/sdk"
)

// runPlugins starts the configured plugins, waits for their first health
// check, and lists them with kind, source, version, pid and health.
func runPlugins(ctx context.Context, env *cmdEnv, args []string) error {
	f := newConfigFlags("plugins", env)
	cfg, err := f.parse(env, args)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, cfg.InstanceID, env.stderr)
	h, err := startHost(cfg.Config, log, newRegistry(), sdk.Kinds()...)
	if err != nil {
		return err
	}
	defer h.Close(context.WithoutCancel(ctx))
	w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tKIND\tSOURCE\tVERSION\tPID\tHEALTH\tRESTARTS")
	deadline := time.Now().Add(3 * time.Second)
	for {
		all := true
		for _, s := range h.Status() {
			all = all && s.Healthy
		}
		if all || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, s := range h.Status() {
		health := "healthy"
		if !s.Healthy {
			health = "unhealthy"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%d\n", s.Name, s.Kind, s.Source, s.Version, s.PID, health, s.Restarts)
	}
	return w.Flush()
}
