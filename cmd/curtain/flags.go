package main

import (
	"errors"
	"fmt"
	"slices"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/host/app"
	"github.com/spf13/pflag"
)

// configFlags are the flags every subcommand that loads the configuration
// accepts; each maps onto one configuration key.
type configFlags struct {
	name string
	fs   *pflag.FlagSet
	file string
	// check, when set, says what is wrong with the positional arguments
	// ("" for nothing); parse runs it before loading anything.
	check func(args []string) string
	// prepare, when set, runs after the configuration loaded and before
	// withStoreFlags opens the store, so that a command whose input is
	// missing fails without creating or migrating a database.
	prepare func(args []string) error
}

func newConfigFlags(name string, env *cmdEnv) *configFlags {
	f := &configFlags{name: name, fs: newFlagSet(name)}
	f.fs.StringVarP(&f.file, "config", "c", "", "YAML configuration file")
	if slices.Contains(listenerCommands, name) {
		f.fs.String("addr", "", "listen address ("+flagKey(name, "addr")+")")
	}
	f.fs.String("store-driver", "", "durable store: sqlite or postgres (store.driver)")
	f.fs.String("sqlite-path", "", "SQLite database file (store.sqlite_path)")
	f.fs.String("postgres-url", "", "PostgreSQL URL (store.postgres_url)")
	f.fs.String("log-level", "", "debug, info, warn or error (log.level)")
	f.fs.String("log-format", "", "json or text (log.format)")
	if name == "serve" || name == "config" {
		f.fs.Bool("access-log", false, "log every request (http.access_log)")
		f.fs.Bool("consumer-in-serve", true, "run the stream consumer inside serve (consumer.in_serve)")
	}
	return f
}

// listenerCommands are those --addr means something to: the listeners
// (serve, notify), config, which shows what it sets, and plugins, which
// asks the server there. The serve-only flags (--access-log,
// --consumer-in-serve) are serve's and config's; a command that would
// ignore a flag does not take it, so that its help lists only what it
// reads.
var listenerCommands = []string{"serve", "notify", "config", "plugins"}

var flagKeys = map[string]string{
	"addr":              "http.addr",
	"store-driver":      "store.driver",
	"sqlite-path":       "store.sqlite_path",
	"postgres-url":      "store.postgres_url",
	"log-level":         "log.level",
	"log-format":        "log.format",
	"access-log":        "http.access_log",
	"consumer-in-serve": "consumer.in_serve",
}

// flagKey returns the configuration key flag sets for command: --addr is
// notify.addr for notify, which listens there, and http.addr otherwise.
func flagKey(command, flag string) string {
	if command == "notify" && flag == "addr" {
		return "notify.addr"
	}
	return flagKeys[flag]
}

// parse parses args and loads the configuration. Help and bad command
// lines are reported by parseFlags (errHelp, errUsage).
func (f *configFlags) parse(env *cmdEnv, args []string) (config.Loaded, error) {
	if err := parseFlags(env, f.name, f.fs, args); err != nil {
		return config.Loaded{}, err
	}
	if f.check != nil {
		if problem := f.check(f.fs.Args()); problem != "" {
			return config.Loaded{}, usageError(env, f.name, f.fs, problem)
		}
	}
	set, names := map[string]any{}, map[string]string{}
	f.fs.Visit(func(fl *pflag.Flag) {
		if key := flagKey(f.name, fl.Name); key != "" {
			set[key], names[key] = fl.Value.String(), fl.Name
		}
	})
	environ, err := withDotEnv(f.name, env.environ)
	if err != nil {
		return config.Loaded{}, err
	}
	cfg, err := config.Load(config.Sources{File: f.file, Environ: environ, Flags: set, FlagNames: names,
		Check: func(c config.Config) error { return errors.Join(app.CheckPlugins(c), checkBuiltinNames(c)) }})
	for _, w := range cfg.Warnings {
		fmt.Fprintln(env.stderr, "curtain: warning:", w)
	}
	if err != nil {
		return config.Loaded{}, err
	}
	typeBuiltinSettings(cfg)
	return cfg, nil
}

// args returns the positional arguments after parse.
func (f *configFlags) args() []string { return f.fs.Args() }
