package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/host/app"
	"github.com/curtainhq/curtain/plugins/discord"
	"github.com/curtainhq/curtain/plugins/memory"
	"github.com/curtainhq/curtain/plugins/postgres"
	"github.com/curtainhq/curtain/plugins/redis"
	"github.com/curtainhq/curtain/plugins/sdk"
	"github.com/curtainhq/curtain/plugins/webhook"
)

// pluginCommand is the hidden subcommand through which the host re-executes
// this binary to serve a built-in plugin: curtain __plugin KIND NAME.
const pluginCommand = "__plugin"

// version is Curtain's release version, reported by the built-in plugins.
var version = "0.1.0-dev"

// builtins is the one table of plugins shipped inside the curtain binary,
// by kind and name. Each entry builds a fresh, unconfigured implementation;
// the host configures it through the plugin's Configure call.
var builtins = map[string]map[string]func() sdk.Plugin{
	sdk.KindCounter: {
		"memory": func() sdk.Plugin { return sdk.Plugin{Counter: memory.NewCounter()} },
		"redis": func() sdk.Plugin {
			return sdk.Plugin{Counter: redis.NewCounterPlugin(), Settings: redis.SettingsForm()}
		},
		"postgres": func() sdk.Plugin {
			return sdk.Plugin{Counter: postgres.NewCounterPlugin(), Settings: postgres.SettingsForm()}
		},
	},
	sdk.KindClickShard: {
		"memory": func() sdk.Plugin {
			return sdk.Plugin{ClickShard: memory.NewClickShard(), Settings: memory.ClickShardSettings{}}
		},
		"redis": func() sdk.Plugin {
			return sdk.Plugin{ClickShard: redis.NewClickShardPlugin(), Settings: redis.SettingsForm()}
		},
		"postgres": func() sdk.Plugin {
			return sdk.Plugin{ClickShard: postgres.NewClickShardPlugin(), Settings: postgres.SettingsForm()}
		},
	},
	sdk.KindCache: {
		"memory": func() sdk.Plugin { return sdk.Plugin{Cache: memory.NewCache()} },
		"redis":  func() sdk.Plugin { return sdk.Plugin{Cache: redis.NewCachePlugin(), Settings: redis.SettingsForm()} },
	},
	sdk.KindAlertSink: {
		"memory":  func() sdk.Plugin { return sdk.Plugin{AlertSink: memory.NewAlertSink()} },
		"discord": func() sdk.Plugin { return sdk.Plugin{AlertSink: discord.New(), Settings: webhook.Settings{}} },
		"webhook": func() sdk.Plugin { return sdk.Plugin{AlertSink: webhook.New(), Settings: webhook.Settings{}} },
	},
}

// builtinNames lists the built-in plugins of kind, sorted.
func builtinNames(kind string) []string {
	var names []string
	for name := range builtins[kind] {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// checkBuiltinNames reports every plugin entry of cfg that names a
// built-in this binary does not ship, with the names it does ship.
func checkBuiltinNames(cfg config.Config) error {
	var errs []error
	check := func(key, kind string, p config.Plugin) {
		if p.Builtin == "" || builtins[kind][p.Builtin] != nil {
			return
		}
		errs = append(errs, fmt.Errorf("%s.builtin: invalid value %q: no built-in %s plugin has that name; use %s, or path for an external plugin",
			key, p.Builtin, kind, strings.Join(builtinNames(kind), ", ")))
	}
	check("plugins.counter", sdk.KindCounter, cfg.Plugins.Counter)
	check("plugins.cache", sdk.KindCache, cfg.Plugins.Cache)
	check("plugins.alertsink", sdk.KindAlertSink, cfg.Plugins.AlertSink)
	for i, s := range cfg.Plugins.Shards {
		check(fmt.Sprintf("plugins.shards.%d", i), sdk.KindClickShard, s)
	}
	return errors.Join(errs...)
}

// runPlugin serves one built-in plugin over go-plugin; the host runs it.
func runPlugin(ctx context.Context, env *cmdEnv, args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("%s wants KIND NAME, got %q", pluginCommand, strings.Join(args, " "))
	}
	kind, name := args[0], args[1]
	build, ok := builtins[kind][name]
	if !ok {
		return fmt.Errorf("no built-in %s plugin %q (have: %s)", kind, name, strings.Join(builtinNames(kind), ", "))
	}
	redis.UseLogger(sdk.Logger())
	p := build()
	p.Name = name + "-" + kind
	p.Version = version
	sdk.Serve(p)
	return nil
}

// checkPluginSettings checks the settings of every built-in plugin in cfg
// against what its Info publishes, without starting it. External plugins
// publish theirs only when started, so the host checks them then.
func checkPluginSettings(cfg config.Config) error {
	var errs []error
	for _, p := range app.HostConfig(cfg, sdk.Kinds()...).Plugins {
		build, ok := builtins[p.Kind][p.Builtin]
		if !ok {
			continue
		}
		bp := build()
		bp.Name = p.Builtin + "-" + p.Kind
		info, err := bp.Info()
		if err == nil {
			err = sdk.CheckSettings(info, p.Settings)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("plugin %s (builtin %s): %w", p.Name, p.Builtin, err))
		}
	}
	return errors.Join(errs...)
}
