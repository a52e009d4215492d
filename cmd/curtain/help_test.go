package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// runArgs runs the command line in process and returns its exit code,
// stdout and stderr.
func runArgs(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, []string{"CURTAIN_STORE__SQLITE_PATH=" + t.TempDir() + "/c.db"}, &stdout, &stderr)
	return exitCode(err, &stderr), stdout.String(), stderr.String()
}

func TestHelp(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // in stdout
	}{
		{"--help", []string{"--help"}, []string{"Usage: curtain [command] [flags]", "serve ", "seed ", "version ", "help "}},
		{"-h", []string{"-h"}, []string{"Usage: curtain [command] [flags]"}},
		{"help", []string{"help"}, []string{"Usage: curtain [command] [flags]"}},
		{"help seed", []string{"help", "seed"}, []string{"Usage: curtain seed [flags] [DIR]", "users.csv", "--sqlite-path", "--config"}},
		{"seed --help", []string{"seed", "--help"}, []string{"Usage: curtain seed [flags] [DIR]", "--sqlite-path"}},
		{"serve -h", []string{"serve", "-h"}, []string{"Usage: curtain serve [flags]", "--addr"}},
		{"consume --help", []string{"consume", "--help"}, []string{"Usage: curtain consume", "--metrics-addr"}},
		{"help version", []string{"help", "version"}, []string{"Usage: curtain version\n"}},
		{"help help", []string{"help", "help"}, []string{"Usage: curtain help [COMMAND]"}},
		{"help plugin", []string{"help", "plugin"}, []string{"Usage: curtain plugin check [flags] --kind KIND PATH [ARG...]", "--kind string", "--settings string", "--down-settings string", "--parallel int", "-v, --verbose"}},
		{"plugin check --help", []string{"plugin", "check", "--help"}, []string{"Usage: curtain plugin check [flags]", "--down-settings string"}},
		{"help plugins", []string{"help", "plugins"}, []string{"Asks the running server (GET /health/plugins at --server", "When no server answers", "--server string"}},
	}
	for _, cmd := range commandNames() {
		tests = append(tests, struct {
			name string
			args []string
			want []string
		}{"help " + cmd, []string{"help", cmd}, []string{"Usage: curtain " + cmd}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runArgs(t, tt.args...)
			if code != 0 || stderr != "" {
				t.Errorf("curtain %s: exit %d, stderr %q, want 0 and nothing", strings.Join(tt.args, " "), code, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("curtain %s: stdout lacks %q:\n%s", strings.Join(tt.args, " "), w, stdout)
				}
			}
		})
	}
}

// TestUsageAlignsSummaries: in the list of commands every summary starts
// in the same column, with space between it and the longest name
// (webhooks), so that no summary reads as the command's first argument.
func TestUsageAlignsSummaries(t *testing.T) {
	var out bytes.Buffer
	usage(&out)
	col := -1
	for _, line := range strings.Split(out.String(), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || !slices.Contains(commandNames(), fields[0]) || !strings.HasPrefix(line, "  "+fields[0]) {
			continue
		}
		name := len("  " + fields[0])
		at := name + strings.Index(line[name:], fields[1])
		if col >= 0 && at != col {
			t.Errorf("summary of %s starts at column %d, others at %d:\n%s", fields[0], at, col, out.String())
		}
		col = at
		if line[at-2:at] != "  " {
			t.Errorf("%q: the summary does not stand apart from the name", line)
		}
	}
	if col < 0 {
		t.Fatalf("no command listed:\n%s", out.String())
	}
}

func TestCommandLineErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // in stderr
	}{
		{"unknown command", []string{"frobnicate"}, []string{`unknown command "frobnicate"`, "Usage: curtain [command]"}},
		{"misspelt command", []string{"sed"}, []string{`unknown command "sed" (did you mean seed?)`}},
		{"unknown flag", []string{"serve", "--adr", "x"}, []string{"curtain serve: unknown flag: --adr (did you mean --addr?)", "Usage: curtain serve [flags]", "--addr string"}},
		{"unknown flag, default command", []string{"--adr", "x"}, []string{"unknown flag: --adr", "Usage: curtain serve"}},
		{"unknown shorthand", []string{"migrate", "-z"}, []string{"curtain migrate: unknown shorthand flag: 'z'", "Usage: curtain migrate"}},
		{"incomplete flag", []string{"serve", "--addr"}, []string{"curtain serve: flag needs an argument: --addr", "Usage: curtain serve"}},
		{"bad flag value", []string{"serve", "--access-log=maybe"}, []string{"invalid argument", "--access-log"}},
		{"extra argument", []string{"seed", "a", "b"}, []string{`curtain seed: unexpected argument "b"`, "Usage: curtain seed"}},
		{"argument to serve", []string{"serve", "now"}, []string{`curtain serve: unexpected argument "now"`}},
		{"help of an unknown command", []string{"help", "nope"}, []string{`curtain help: unknown command "nope"`, "Usage: curtain [command]"}},
		{"version takes no flags", []string{"version", "--short"}, []string{"unknown flag: --short"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runArgs(t, tt.args...)
			if code != 2 || stdout != "" {
				t.Errorf("curtain %s: exit %d, stdout %q, want 2 and nothing", strings.Join(tt.args, " "), code, stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("curtain %s: stderr lacks %q:\n%s", strings.Join(tt.args, " "), w, stderr)
				}
			}
		})
	}
}

// TestExitCodes checks the exit codes of the real binary: 0 for help, 2
// for a bad command line, 1 for failed work with a hint naming the fix.
func TestExitCodes(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "Usage: curtain"},
		{[]string{"serve", "--adr", "x"}, 2, "unknown flag: --adr"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"seed", "no-such-dir"}, 1, "hint: check the path"},
		{[]string{"migrate", "--store-driver", "postgres", "--postgres-url", "postgres://postgres@127.0.0.1:1/none?connect_timeout=2"}, 1, "hint: nothing listens at that address"},
	}
	for _, tt := range tests {
		cmd := exec.Command(curtainBin, tt.args...)
		cmd.Dir = t.TempDir()
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("curtain %v: %v", tt.args, err)
		}
		if code != tt.code || !strings.Contains(string(out), tt.want) {
			t.Errorf("curtain %s: exit %d, want %d with %q:\n%s", strings.Join(tt.args, " "), code, tt.code, tt.want, out)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, stdout, stderr := runArgs(t, args...)
		if code != 0 || stderr != "" {
			t.Fatalf("curtain %v: exit %d, stderr %q", args, code, stderr)
		}
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "curtain ") || !strings.HasPrefix(lines[1], "commit  ") ||
			!strings.HasPrefix(lines[2], "go      "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH) {
			t.Errorf("curtain %v =\n%s\nwant three lines: curtain VERSION, commit, go %s", args, stdout, runtime.Version())
		}
	}
	// The commit line is the binary's VCS stamp, as `go version -m`
	// reads it.
	meta, err := exec.Command("go", "version", "-m", curtainBin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	want := "commit  unknown"
	for line := range strings.SplitSeq(string(meta), "\n") {
		if rev, ok := strings.CutPrefix(strings.TrimSpace(line), "build\tvcs.revision="); ok {
			want = "commit  " + rev
		}
	}
	got, err := exec.Command(curtainBin, "version").Output()
	if err != nil {
		t.Fatalf("curtain version: %v", err)
	}
	if !strings.Contains(string(got), want) {
		t.Errorf("curtain version =\n%s\nwant a line starting %q (go version -m:\n%s)", got, want, meta)
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{{"", "", 0}, {"adr", "addr", 1}, {"seed", "sede", 2}, {"serve", "", 5}, {"kitten", "sitting", 3}}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestHelpListsOnlyFlagsTheCommandReads: a command's help lists only the
// flags it reads; consume, for one, listed serve's --addr, --access-log
// and --consumer-in-serve, which it ignored. Those are refused there now.
func TestHelpListsOnlyFlagsTheCommandReads(t *testing.T) {
	serveOnly := []string{"--access-log", "--consumer-in-serve"}
	for _, tt := range []struct {
		command    string
		has, hasNo []string
	}{
		{"serve", append([]string{"--addr"}, serveOnly...), nil},
		{"config", append([]string{"--addr"}, serveOnly...), nil},
		{"notify", []string{"--addr"}, serveOnly},
		{"plugins", []string{"--addr"}, serveOnly},
		{"consume", []string{"--metrics-addr"}, append([]string{"--addr "}, serveOnly...)},
		{"migrate", []string{"--postgres-url"}, append([]string{"--addr"}, serveOnly...)},
		{"seed", []string{"--postgres-url"}, append([]string{"--addr"}, serveOnly...)},
	} {
		_, stdout, _ := runArgs(t, tt.command, "--help")
		for _, f := range tt.has {
			if !strings.Contains(stdout, f) {
				t.Errorf("curtain %s --help does not list %s:\n%s", tt.command, f, stdout)
			}
		}
		for _, f := range tt.hasNo {
			if strings.Contains(stdout, f) {
				t.Errorf("curtain %s --help lists %s, which it does not read:\n%s", tt.command, f, stdout)
			}
		}
	}
	if code, _, stderr := runArgs(t, "consume", "--access-log"); code != 2 || !strings.Contains(stderr, "unknown flag: --access-log") {
		t.Errorf("curtain consume --access-log: exit %d, stderr %q; want a usage error", code, stderr)
	}
}
