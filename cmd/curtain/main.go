// Command curtain is the Curtain URL shortener: one binary that serves the
// API, consumes click streams, runs migrations and seeds, and serves its
// own built-in plugins when the host re-executes it.
//
// Usage:
//
//	curtain [serve]   serve the API (the default)
//	curtain consume   store the shards' click streams durably
//	curtain migrate   run the schema migrations
//	curtain seed DIR  import users.csv, urls.csv and events.csv
//	curtain reset     drop and recreate every table
//	curtain config    print the effective configuration, secrets masked
//	curtain plugins   list the configured plugins with their health
//	curtain plugin check --kind KIND PATH
//	                  run a kind's conformance suite against a plugin
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "curtain:", err)
		}
		os.Exit(1)
	}
}

// errUsage reports a command line that was already explained to the user.
var errUsage = errors.New("usage")

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *cmdEnv, args []string) error
}

// cmdEnv is what every subcommand gets from main.
type cmdEnv struct {
	environ []string
	stdout  io.Writer
	stderr  io.Writer
}

func commands() []command {
	return []command{
		{"serve", "serve the API (the default)", runServe},
		{"consume", "store the shards' click streams durably", runConsume},
		{"migrate", "run the schema migrations", runMigrate},
		{"seed", "import users.csv, urls.csv and events.csv from a directory", runSeed},
		{"reset", "drop and recreate every table", runReset},
		{"config", "print the effective configuration, secrets masked", runConfig},
		{"plugins", "list the configured plugins with kind, version, pid and health", runPlugins},
		{"plugin", "check KIND PATH: run the conformance suite against a plugin executable", runPluginCmd},
	}
}

func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	env := &cmdEnv{environ: environ, stdout: stdout, stderr: stderr}
	if len(args) > 0 && args[0] == pluginCommand {
		return runPlugin(ctx, env, args[1:])
	}
	name := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	if name == "help" {
		usage(stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, env, args)
		}
	}
	fmt.Fprintf(stderr, "curtain: unknown command %q\n\n", name)
	usage(stderr)
	return errUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: curtain [command] [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'curtain <command> --help' for the flags of a command.")
}
