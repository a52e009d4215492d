package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// The long help of each command, shown by `curtain help CMD` and
// `curtain CMD --help` above its flags.
const (
	serveAbout = `Serves the HTTP API, the dashboard at / and the API reference at /docs.
With no configuration it keeps its data in ./curtain.db and runs the memory
plugins as child processes; on that embedded default it also runs the
stream consumer. Stop it with Ctrl-C or SIGTERM: queued clicks are stored
before it exits. A second Ctrl-C or SIGTERM stops it at once, without
waiting for them.`
	consumeAbout = `Reads the click streams of the redis or postgres click shards as a
consumer group and stores each click as a redirect event. Run several to
share the work. Memory shards are consumed inside serve instead.`
	notifyAbout = `Polls Prometheus (PROMETHEUS_URL, every NOTIFIER_POLL_SECONDS) for alerts
and delivers each firing alert once and its resolution once through the
alert-sink plugin (Discord when DISCORD_WEBHOOK_URL is set). It also listens
on notify.addr for the relay's POST /alert and Alertmanager's webhook at
POST /alertmanager. What it has sent is kept in the store, so a restart
sends no duplicate.`
	pluginAbout = `'plugin check' runs the conformance suite of one backend kind (counter,
clickshard, cache, alertsink) against any plugin executable, with no Go
toolchain, and prints each case with pass or fail and the reason. Arguments
after PATH are passed to the plugin. See docs/plugins.md.`
	migrateAbout = `Runs the schema migrations of the configured store and exits (serve runs
them too).`
	seedAbout = `Imports users.csv, urls.csv and events.csv (the reference's seed files)
from DIR, default the working directory. Rows whose id exists are skipped,
so running it twice inserts nothing the second time. Files with a header
and no rows are seeded as empty with a warning; when all three are so, it
fails (exit 1). Shows a progress bar on a terminal and plain progress
lines otherwise.`
	resetAbout  = `Drops and recreates every table of the configured store. All data is lost.`
	configAbout = `Prints the effective configuration, after defaults, the --config file,
the environment and the flags, with secrets masked and the reason each
plugin was chosen.`
	pluginsAbout = `Asks the running server (GET /health/plugins at --server, by default the
configured http.addr on loopback) for its plugins and lists each with its
name, kind, source, version, pid, state, health, restarts and the reason of
a failing one. When no server answers, or when the server found at the
default address runs other plugins than the configuration names, it starts
the configured plugins itself (and says so on stderr), waits up to 3s for
their first health checks, lists them and stops them.`
	versionAbout = `Prints Curtain's version, the commit it was built from and the Go version,
read from the binary's build information.`
	helpAbout = `Explains a command and its flags, or lists the commands.`
)

// usage lists the commands.
func usage(w io.Writer) {
	fmt.Fprintln(w, "Curtain shortens URLs, redirects, and counts every click.")
	fmt.Fprintln(w, "\nUsage: curtain [command] [flags]\n\nCommands:")
	width := 0
	for _, c := range commands() {
		width = max(width, len(c.name))
	}
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprintln(w, "\nWithout a command curtain serves. Run 'curtain help COMMAND' or")
	fmt.Fprintln(w, "'curtain COMMAND --help' for a command's flags.")
}

// flagsAfterSubcommand names the commands whose flags belong to a
// subcommand word and follow it: curtain plugin check [flags] --kind ...
var flagsAfterSubcommand = map[string]string{"plugin": "check"}

// commandUsage explains one command and its flags (fs may be nil).
func commandUsage(w io.Writer, c command, fs *pflag.FlagSet) {
	hasFlags := fs != nil && fs.HasFlags()
	synopsis, args := "curtain "+c.name, c.args
	if sub, ok := flagsAfterSubcommand[c.name]; ok && hasFlags && strings.HasPrefix(args, sub+" ") {
		synopsis += " " + sub
		args = strings.TrimPrefix(args, sub+" ")
	}
	if hasFlags {
		synopsis += " [flags]"
	}
	if args != "" {
		synopsis += " " + args
	}
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", synopsis, c.about)
	if hasFlags {
		fmt.Fprintf(w, "\nFlags:\n%s", fs.FlagUsages())
	}
	// Only the configuration flags (newConfigFlags) map to configuration
	// keys, each named in parentheses; the others (--config, --format,
	// plugin check's) do not.
	if hasFlags && fs.Lookup("config") != nil {
		fmt.Fprintln(w, "\nA flag naming a key in parentheses sets that configuration key, which an")
		fmt.Fprintln(w, "environment variable or the configuration file can set too; see")
		fmt.Fprintln(w, "docs/configuration.md or run 'curtain config'.")
	}
}

// newFlagSet returns the flag set of a command. Parse errors are reported
// by parseFlags, not by pflag.
func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses a command's arguments. --help prints the command's
// help on stdout (errHelp); a bad flag or too many arguments prints the
// error, a hint and the usage on stderr (errUsage).
func parseFlags(env *cmdEnv, name string, fs *pflag.FlagSet, args []string) error {
	c, _ := lookup(name)
	err := fs.Parse(args)
	switch {
	case err == pflag.ErrHelp:
		commandUsage(env.stdout, c, fs)
		return errHelp
	case err != nil:
		fmt.Fprintf(env.stderr, "curtain %s: %v%s\n\n", name, err, flagHint(err, fs))
	case fs.NArg() > c.maxArgs:
		fmt.Fprintf(env.stderr, "curtain %s: unexpected argument %q\n\n", name, fs.Arg(c.maxArgs))
	default:
		return nil
	}
	commandUsage(env.stderr, c, fs)
	return errUsage
}

// usageError prints what is wrong with a command line and the command's
// usage on stderr, and returns errUsage.
func usageError(env *cmdEnv, name string, fs *pflag.FlagSet, problem string) error {
	c, _ := lookup(strings.Fields(name)[0]) // "plugin check" is plugin's
	fmt.Fprintf(env.stderr, "curtain %s: %s\n\n", name, problem)
	commandUsage(env.stderr, c, fs)
	return errUsage
}

// flagHint suggests the flag a mistyped one was meant to be.
func flagHint(err error, fs *pflag.FlagSet) string {
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, "unknown flag: --")
	if !ok {
		return ""
	}
	var names []string
	fs.VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	if s := suggest(name, names); s != "" {
		return strings.Replace(s, "did you mean ", "did you mean --", 1)
	}
	return ""
}

// commandNames lists the commands' names.
func commandNames() []string {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	return names
}

// suggest returns ` (did you mean "x"?)` for the candidate closest to
// word, when one is within two edits or starts with it.
func suggest(word string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		d := editDistance(word, c)
		if strings.HasPrefix(c, word) && word != "" {
			d = min(d, 1)
		}
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// runHelp explains a command, or lists them all.
func runHelp(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlagSet("help")
	if err := parseFlags(env, "help", fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		usage(env.stdout)
		return nil
	}
	name := fs.Arg(0)
	c, ok := lookup(name)
	if !ok {
		fmt.Fprintf(env.stderr, "curtain help: unknown command %q%s\n\n", name, suggest(name, commandNames()))
		usage(env.stderr)
		return errUsage
	}
	// Every command parses its flags first, so --help prints its usage
	// and returns before it does anything.
	return c.run(ctx, env, []string{"--help"})
}
