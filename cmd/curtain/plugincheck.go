package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"

	"github.com/curtainhq/curtain/plugins/plugintest"
	"github.com/curtainhq/curtain/plugins/sdk"
	"github.com/spf13/pflag"
)

// runPluginCmd dispatches `curtain plugin SUBCOMMAND`; check is the only
// one.
func runPluginCmd(ctx context.Context, env *cmdEnv, args []string) error {
	c, _ := lookup("plugin")
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		commandUsage(env.stdout, c, newPluginCheckFlags().fs)
		return errHelp
	}
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintf(env.stderr, "curtain plugin: want the subcommand check\n\n")
		commandUsage(env.stderr, c, newPluginCheckFlags().fs)
		return errUsage
	}
	return runPluginCheck(ctx, env, args[1:])
}

// pluginCheckFlags are the flags of `curtain plugin check`; its help and
// its parsing share them.
type pluginCheckFlags struct {
	fs                   *pflag.FlagSet
	kind, settings, down *string
	verbose              *bool
	parallel             *int
}

func newPluginCheckFlags() *pluginCheckFlags {
	fs := newFlagSet("plugin")
	fs.SetInterspersed(false) // what follows PATH is the plugin's own arguments
	return &pluginCheckFlags{
		fs:       fs,
		kind:     fs.String("kind", "", "kind the plugin serves: "+strings.Join(sdk.Kinds(), ", ")),
		settings: fs.String("settings", "", "settings JSON object passed to Configure in every case"),
		down:     fs.String("down-settings", "", "settings JSON object pointing the plugin at an unreachable backing service (runs BackendDown)"),
		verbose:  fs.BoolP("verbose", "v", false, "print the logs of every case, not only of failed ones"),
		parallel: fs.Int("parallel", 4, "cases run at once; use 1 when the settings name one shared backend (a counter)"),
	}
}

// runPluginCheck runs the conformance suite of a kind against any plugin
// executable and prints each case with its outcome and reason.
func runPluginCheck(ctx context.Context, env *cmdEnv, args []string) error {
	f := newPluginCheckFlags()
	fs, kind, settings, down, verbose, parallel := f.fs, f.kind, f.settings, f.down, f.verbose, f.parallel
	if err := parseFlags(env, "plugin", fs, args); err != nil {
		return err
	}
	usage := func(format string, args ...any) error {
		return usageError(env, "plugin check", fs, fmt.Sprintf(format, args...))
	}
	switch {
	case fs.NArg() < 1 || *kind == "":
		return usage("want --kind KIND and the plugin's PATH")
	case !slices.Contains(sdk.Kinds(), *kind):
		return usage("--kind %q is not a plugin kind (%s)", *kind, strings.Join(sdk.Kinds(), ", "))
	case *parallel < 1:
		return usage("--parallel %d: want 1 or more cases at once", *parallel)
	}
	cfg := plugintest.CheckConfig{Kind: *kind, Parallel: *parallel}
	for _, s := range []struct {
		flag, value string
		dst         *[]byte
	}{{"--settings", *settings, &cfg.Settings}, {"--down-settings", *down, &cfg.DownSettings}} {
		if s.value == "" {
			continue
		}
		if !json.Valid([]byte(s.value)) {
			return usage("%s is not valid JSON: %s", s.flag, s.value)
		}
		*s.dst = []byte(s.value)
	}
	path, pluginArgs := fs.Arg(0), fs.Args()[1:]
	if _, err := exec.LookPath(path); err != nil {
		return fmt.Errorf("plugin %s: %w", path, err)
	}
	cfg.Command = func() *exec.Cmd { return exec.Command(path, pluginArgs...) }

	counts := map[string]int{}
	plugintest.Check(ctx, cfg, func(r plugintest.Result) {
		counts[r.Outcome]++
		line := fmt.Sprintf("%s  %s", r.Outcome, r.Name)
		if r.Outcome != plugintest.Skip {
			line += fmt.Sprintf(" (%.2fs)", r.Duration.Seconds())
		}
		if r.Reason != "" {
			line += ": " + r.Reason
		}
		fmt.Fprintln(env.stdout, line)
		if r.Outcome == plugintest.Fail || *verbose {
			for _, l := range r.Log {
				fmt.Fprintln(env.stdout, "      "+strings.ReplaceAll(l, "\n", "\n      "))
			}
		}
	})
	fmt.Fprintf(env.stdout, "%d passed, %d failed, %d skipped\n", counts[plugintest.Pass], counts[plugintest.Fail], counts[plugintest.Skip])
	if counts[plugintest.Fail] > 0 {
		return errors.New("plugin check failed")
	}
	return nil
}
