package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/curtainhq/curtain/cmd/curtain/config"
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
		fmt.Fprintf(env.stdout, "#   %-9s %s: %s\n", k, cfg.Why[k], servedBy(cfg.Config, k))
	}
	return checkPluginSettings(cfg.Config)
}

// servedBy names what serves kind ("store", "counter", "cache",
// "alertsink", "shards"): the store driver, or each plugin's source.
func servedBy(cfg config.Config, kind string) string {
	switch kind {
	case "store":
		if cfg.Store.Driver == "sqlite" {
			return "sqlite " + cfg.Store.SQLitePath
		}
		return cfg.Store.Driver + " " + cfg.Store.PostgresURL.String()
	case "shards":
		var shards []string
		for _, s := range cfg.Plugins.Shards {
			shards = append(shards, s.Name+": "+s.Source())
		}
		return strings.Join(shards, "; ")
	}
	for _, e := range pluginEntries(cfg) {
		if e.key == "plugins."+kind {
			return e.plugin.Source()
		}
	}
	return ""
}
