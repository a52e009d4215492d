// Command curtain is the Curtain URL shortener: one binary that serves the
// API, consumes click streams, runs migrations and seeds, and serves its
// own built-in plugins when the host re-executes it.
//
// Usage:
//
//	curtain [serve]   serve the API (the default)
//	curtain consume   store the shards' click streams durably
//	curtain notify    deliver Prometheus' alerts through the alert sink
//	curtain migrate   run the schema migrations
//	curtain seed DIR  import users.csv, urls.csv and events.csv
//	curtain import --format bitly|yourls|shlink|kutt|csv FILE
//	                  import links from another shortener's export
//	curtain keys create NAME [SCOPES] | list | revoke ID
//	                  manage the API keys of auth.require_api_key
//	curtain webhooks list | redeliver ID
//	                  show or resend outbound webhook deliveries
//	curtain reset     drop and recreate every table
//	curtain config    print the effective configuration, secrets masked
//	curtain plugins   list the configured plugins with their health
//	curtain version   print the version, commit and Go version
//	curtain help CMD  explain a command and its flags
//	curtain plugin check --kind KIND PATH
//	                  run a kind's conformance suite against a plugin
//
// Exit codes: 0 on success (help included), 1 when the work failed, 2 for
// a command line that cannot be run (unknown command or flag, missing
// flag value, extra arguments).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal starts a graceful stop; from then on the signals
	// have their default effect, so a second one ends the process at once
	// (the plugins die with it: they get the parent-death signal).
	go func() {
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode reports err (unless it was already explained) and returns the
// process's exit code.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, errStopped):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintln(stderr, "curtain:", err)
		if h := hint(err); h != "" {
			fmt.Fprintln(stderr, "hint:", h)
		}
		return 1
	}
}

// hint names the likely fix of a common failure.
func hint(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing listens at that address: start the server, or correct its URL " +
			"(--postgres-url or DATABASE_URL for the store, REDIS_URL, CACHE_REDIS_URL, REDIS_SHARDS for the plugins)"
	case errors.Is(err, syscall.EADDRINUSE):
		return "another process already listens on that address: stop it, or choose another with --addr (CURTAIN_HTTP__ADDR)"
	case execError(err) && errors.Is(err, exec.ErrNotFound):
		return "a plugin path without a '/' is looked up in PATH: write ./NAME or an absolute path"
	case execError(err) && errors.Is(err, fs.ErrPermission):
		return "the plugin's file is not executable by this user: chmod +x it (a script also needs a #! line naming its interpreter)"
	case errors.Is(err, fs.ErrNotExist) && errors.As(err, new(seedFilesError)):
		return "check the path; 'curtain seed DIR' needs users.csv, urls.csv and events.csv in DIR"
	case errors.Is(err, fs.ErrNotExist):
		return "check the path"
	case errors.Is(err, errNoData) && errors.As(err, new(seedFilesError)):
		return "check that DIR is the seed directory you meant: 'curtain seed DIR' reads the rows of users.csv, urls.csv and events.csv in DIR"
	case errors.Is(err, errNoData):
		return "check that FILE is the export you meant and that --format matches it"
	case pgCode(err) == "3D000": // invalid_catalog_name
		return "the database does not exist: create it (createdb NAME, or CREATE DATABASE NAME), or correct its name in --postgres-url or DATABASE_URL"
	case pgCode(err) == "28P01", pgCode(err) == "28000": // invalid_password, invalid_authorization_specification
		return "PostgreSQL refused the user or password: correct them in --postgres-url or DATABASE_URL (DATABASE_USER, DATABASE_PASSWORD)"
	case errors.Is(err, fs.ErrPermission):
		return "the file or directory is not writable by this user: choose another path (--sqlite-path) or fix its permissions"
	}
	return ""
}

// execError reports whether err is a failure to run an executable (a
// plugin's path), which os/exec reports as *exec.Error before the start and
// as a *fs.PathError of the operation "fork/exec" from it.
func execError(err error) bool {
	var pe *fs.PathError
	return errors.As(err, new(*exec.Error)) || errors.As(err, &pe) && pe.Op == "fork/exec"
}

// pgCode returns the SQLSTATE of the PostgreSQL error in err's chain, or
// "" when there is none.
func pgCode(err error) string {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pe.Code
	}
	return ""
}

// errUsage reports a command line that cannot be run; the error and the
// usage were already printed.
var errUsage = errors.New("usage")

// errHelp reports that help was asked for and printed.
var errHelp = errors.New("help printed")

// errStopped is returned by a command stopped by a signal before it was
// up (while its plugins started); it exits 0 like any requested stop.
var errStopped = errors.New("stopped before it started")

// command is one subcommand.
type command struct {
	name    string
	summary string
	// args is the synopsis of the positional arguments ("[DIR]"), empty
	// when the command takes none.
	args string
	// maxArgs is how many positional arguments the command accepts.
	maxArgs int
	// about explains the command in a few lines, for its help.
	about string
	run   func(ctx context.Context, env *cmdEnv, args []string) error
}

// cmdEnv is what every subcommand gets from main.
type cmdEnv struct {
	environ []string
	stdout  io.Writer
	stderr  io.Writer
}

func commands() []command {
	return []command{
		{name: "serve", summary: "serve the API (the default)", run: runServe, about: serveAbout},
		{name: "consume", summary: "store the shards' click streams durably", run: runConsume, about: consumeAbout},
		{name: "notify", summary: "deliver Prometheus' alerts (firing and resolved) through the alert sink", run: runNotify, about: notifyAbout},
		{name: "migrate", summary: "run the schema migrations", run: runMigrate, about: migrateAbout},
		{name: "seed", summary: "import users.csv, urls.csv and events.csv from a directory", args: "[DIR]", maxArgs: 1, run: runSeed, about: seedAbout},
		{name: "import", summary: "import links from a Bitly, YOURLS, Shlink or Kutt export, or a CSV file", args: "--format FORMAT FILE", maxArgs: 1, run: runImport, about: importAbout},
		{name: "webhooks", summary: "list outbound webhook deliveries, or redeliver one", args: "list | redeliver ID", maxArgs: 2, run: runWebhooksCmd, about: webhooksAbout},
		{name: "reset", summary: "drop and recreate every table", run: runReset, about: resetAbout},
		{name: "keys", summary: "create, list, rotate or revoke API keys", args: "create NAME [SCOPES] | list | rotate ID | revoke ID", maxArgs: 3, run: runKeys, about: keysAbout},
		{name: "config", summary: "print the effective configuration, secrets masked", run: runConfig, about: configAbout},
		{name: "plugins", summary: "list the configured plugins with kind, version, pid and health", run: runPlugins, about: pluginsAbout},
		{name: "plugin", summary: "check --kind KIND PATH: run the conformance suite against a plugin executable", args: "check --kind KIND PATH [ARG...]", maxArgs: 1 << 10, run: runPluginCmd, about: pluginAbout},
		{name: "version", summary: "print the version, commit and Go version", run: runVersion, about: versionAbout},
		{name: "help", summary: "explain a command and its flags", args: "[COMMAND]", maxArgs: 1, run: runHelp, about: helpAbout},
	}
}

// lookup returns the named command.
func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	env := &cmdEnv{environ: environ, stdout: stdout, stderr: stderr}
	if len(args) > 0 && args[0] == pluginCommand {
		return runPlugin(ctx, env, args[1:])
	}
	if len(args) > 0 {
		switch args[0] {
		case "-h", "--help", "-help":
			usage(stdout)
			return nil
		case "--version", "-version":
			return runVersion(ctx, env, args[1:])
		}
	}
	name := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	c, ok := lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "curtain: unknown command %q%s\n\n", name, suggest(name, commandNames()))
		usage(stderr)
		return errUsage
	}
	err := c.run(ctx, env, args)
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}
