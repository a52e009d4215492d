package main

import (
	"context"
	"fmt"
	"sort"
)

// runConfig prints the effective configuration with secrets masked, and
// which plugin serves each kind and why.
func runConfig(ctx context.Context, env *cmdEnv, args []string) error {
	f := newConfigFlags("config", env)
	cfg, err := f.parse(env, args)
	if err != nil {
		return err
	}
	out, err := cfg.YAML()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "%s\n# Chosen by:\n", out)
	kinds := make([]string, 0, len(cfg.Why))
	for k := range cfg.Why {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(env.stdout, "#   %-9s %s\n", k, cfg.Why[k])
	}
	return checkPluginSettings(cfg.Config)
}
