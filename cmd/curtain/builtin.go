package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
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

// pluginEntry is one plugin entry of the configuration, with its key.
type pluginEntry struct {
	key, kind string
	plugin    config.Plugin
}

// pluginEntries lists the plugin entries of cfg.
func pluginEntries(cfg config.Config) []pluginEntry {
	entries := []pluginEntry{
		{"plugins.counter", sdk.KindCounter, cfg.Plugins.Counter},
		{"plugins.cache", sdk.KindCache, cfg.Plugins.Cache},
		{"plugins.alertsink", sdk.KindAlertSink, cfg.Plugins.AlertSink},
	}
	for i, s := range cfg.Plugins.Shards {
		entries = append(entries, pluginEntry{fmt.Sprintf("plugins.shards.%d", i), sdk.KindClickShard, s})
	}
	return entries
}

// checkBuiltinNames reports every plugin entry of cfg that names a
// built-in this binary does not ship, with the names it does ship.
func checkBuiltinNames(cfg config.Config) error {
	var errs []error
	for _, e := range pluginEntries(cfg) {
		if e.plugin.Builtin == "" || builtins[e.kind][e.plugin.Builtin] != nil {
			continue
		}
		errs = append(errs, fmt.Errorf("%s.builtin: invalid value %q: no built-in %s plugin has that name; use %s, or path for an external plugin",
			e.key, e.plugin.Builtin, e.kind, strings.Join(builtinNames(e.kind), ", ")))
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

// builtinInfo returns what the built-in plugin name of kind reports from
// Info, without starting it; false when there is no such built-in.
func builtinInfo(kind, name string) (sdk.Info, bool) {
	build, ok := builtins[kind][name]
	if !ok {
		return sdk.Info{}, false
	}
	bp := build()
	bp.Name = name + "-" + kind
	info, err := bp.Info()
	return info, err == nil
}

// typeBuiltinSettings gives the built-in plugins' settings that the
// environment set, as text, the type their schema names, where the text
// reads as one: CURTAIN_PLUGINS__SHARDS__0__SETTINGS__MAX_BACKLOG=500 is
// the number 500. A value that does not read as its type, and any value
// of a file, is left for the plugin to judge.
func typeBuiltinSettings(cfg config.Loaded) {
	for _, e := range pluginEntries(cfg.Config) {
		info, ok := builtinInfo(e.kind, e.plugin.Builtin)
		if !ok || info.SettingsSchema == "" {
			continue
		}
		var schema struct {
			Properties map[string]struct {
				Type string `json:"type"`
			} `json:"properties"`
		}
		if json.Unmarshal([]byte(info.SettingsSchema), &schema) != nil {
			continue
		}
		for k, v := range e.plugin.Settings {
			text, ok := v.(string)
			if !ok || cfg.FromEnv[e.key+".settings."+k] == "" {
				continue
			}
			text = strings.TrimSpace(text)
			switch schema.Properties[k].Type {
			case "integer":
				if n, err := strconv.ParseInt(text, 10, 64); err == nil {
					e.plugin.Settings[k] = n
				}
			case "number":
				if f, err := strconv.ParseFloat(text, 64); err == nil {
					e.plugin.Settings[k] = f
				}
			case "boolean":
				if b, err := strconv.ParseBool(text); err == nil {
					e.plugin.Settings[k] = b
				}
			}
		}
	}
}

// checkPluginSettings checks the settings of every built-in plugin in cfg
// against what its Info publishes, without starting it. External plugins
// publish theirs only when started, so the host checks them then.
func checkPluginSettings(cfg config.Config) error {
	var errs []error
	for _, p := range app.HostConfig(cfg, sdk.Kinds()...).Plugins {
		info, ok := builtinInfo(p.Kind, p.Builtin)
		if !ok {
			continue
		}
		if err := sdk.CheckSettings(info, p.Settings); err != nil {
			errs = append(errs, fmt.Errorf("plugin %s (builtin %s): %w", p.Name, p.Builtin, err))
		}
	}
	return errors.Join(errs...)
}
