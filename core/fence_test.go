package core_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/curtainhq/curtain/"

// fence is one rule of ARCHITECTURE.md's import table, checked on the
// whole dependency closure (go list -deps) of every package it covers.
type fence struct {
	// pkgs are the packages the rule covers: an import path relative to
	// the module, or a prefix ending in "/..." for it and its
	// sub-packages.
	pkgs string
	// test checks the test binary's dependencies too (go list -test).
	test bool
	// mayUse are the module's own packages (same form as pkgs) the
	// closure may contain; the covered packages themselves always may.
	mayUse []string
	// stdOnly forbids every dependency outside the standard library and
	// mayUse.
	stdOnly bool
	// never are third-party modules or packages (an import path and
	// everything under it) the closure must not contain.
	never []string
}

// The storage, transport and plugin machinery core must never reach.
var machinery = []string{
	"github.com/jackc/pgx", "github.com/uptrace/bun", "modernc.org/sqlite",
	"github.com/redis/go-redis", "github.com/hashicorp/go-plugin", "google.golang.org/grpc",
}

// The reference plugins: only cmd/curtain imports them, to serve them
// when the host re-executes the binary.
var referencePlugins = []string{"plugins/memory", "plugins/redis", "plugins/postgres", "plugins/discord", "plugins/webhook"}

var fences = []fence{
	{pkgs: "core", stdOnly: true, mayUse: []string{"core/hll", "core/logpace", "core/pycompat"}},
	// The reference-compatibility codecs are a leaf of the standard library.
	{pkgs: "core/pycompat", stdOnly: true},
	{pkgs: "core/logpace", stdOnly: true},
	{pkgs: "core/...", mayUse: []string{"core/..."}, never: machinery},
	// The HTTP unit tests build without a store, a plugin or gRPC; the
	// whole-application tests live in host/apptest.
	{pkgs: "core/httpapi", test: true, mayUse: []string{"core/..."}, never: machinery},
	{pkgs: "drivers/...", mayUse: []string{"core/...", "drivers/..."}},
	{pkgs: "plugins/proto/...", mayUse: []string{"core/..."}},
	{pkgs: "plugins/sdk", mayUse: []string{"core/...", "plugins/proto/..."}},
	// host: core and the plugin contract and SDK; never a reference
	// plugin, a driver, the HTTP API or the consumer.
	{pkgs: "host", mayUse: []string{"core", "core/hll", "core/logpace", "core/pycompat", "host/ring", "plugins/sdk", "plugins/proto/..."}},
	{pkgs: "host/ring", mayUse: []string{"core", "core/hll", "core/logpace", "core/pycompat"}},
	// host/webhooks delivers outbound webhooks: core only.
	{pkgs: "host/webhooks", mayUse: []string{"core", "core/hll", "core/logpace", "core/pycompat"}, never: machinery},
	// host/passwords: the bcrypt hasher of protected links, on core alone.
	{pkgs: "host/passwords", mayUse: []string{"core", "core/hll", "core/logpace", "core/pycompat"}, never: machinery},
	// host/app: core and its sub-packages, the drivers, the host; and the
	// configuration package it runs (see docs/architecture.md).
	{pkgs: "host/app", mayUse: []string{"core/...", "drivers/...", "host", "host/ring", "host/webhooks", "host/passwords", "plugins/sdk", "plugins/proto/...", "cmd/curtain/config"}},
	// The configuration is a leaf: it names backends, it does not run them.
	{pkgs: "cmd/curtain/config", mayUse: []string{"core", "core/hll", "core/logpace", "core/pycompat"}, never: machinery},
}

func init() {
	for _, p := range referencePlugins {
		// A reference plugin may build on another (discord on webhook).
		may := []string{"core/...", "plugins/sdk", "plugins/proto/...", "drivers/..."}
		for _, q := range referencePlugins {
			may = append(may, q+"/...")
		}
		fences = append(fences, fence{pkgs: p + "/...", mayUse: may})
	}
}

// matches reports whether the module path rel is covered by pattern.
func matches(pattern, rel string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return rel == base || strings.HasPrefix(rel, base+"/")
	}
	return rel == pattern
}

// goLines runs go list with args and returns its output's lines.
func goLines(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go list %v: %v\n%s", args, err, msg)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// violations returns the dependencies of deps that f forbids to pkg.
func (f fence) violations(pkg string, deps []string) []string {
	var bad []string
	for _, d := range deps {
		if d == module+pkg || strings.HasSuffix(d, ".test") || strings.HasSuffix(d, "_test") || strings.HasPrefix(d, module+pkg+" ") {
			continue
		}
		first, _, _ := strings.Cut(d, "/")
		if !strings.Contains(first, ".") || strings.HasPrefix(d, "vendor/") {
			continue // standard library
		}
		if rel, ok := strings.CutPrefix(d, module); ok {
			ok := matches(f.pkgs, rel)
			for _, m := range f.mayUse {
				ok = ok || matches(m, rel)
			}
			if !ok {
				bad = append(bad, d)
			}
			continue
		}
		if f.stdOnly {
			bad = append(bad, d)
			continue
		}
		for _, n := range f.never {
			if d == n || strings.HasPrefix(d, n+"/") {
				bad = append(bad, d)
			}
		}
	}
	return bad
}

// TestImportFences keeps the import table of ARCHITECTURE.md (as amended
// in docs/architecture.md): every package of a rule depends only on what
// the rule allows.
func TestImportFences(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	// One go list for the dependency closure of every package, one more
	// for the test binaries the rules cover.
	deps := map[string][]string{}
	for _, test := range []bool{false, true} {
		args := []string{"-f", "{{.ImportPath}} {{join .Deps \" \"}}"}
		if test {
			args = []string{"-test", "-f", "{{if .ForTest}}{{.ForTest}}.test {{join .Deps \" \"}}{{end}}"}
		}
		for line := range strings.Lines(strings.Join(goLines(t, append(args, module+"...")...), "\n")) {
			f := strings.Fields(line)
			if len(f) > 0 {
				deps[f[0]] = append(deps[f[0]], f[1:]...)
			}
		}
	}
	for _, f := range fences {
		t.Run(f.pkgs, func(t *testing.T) {
			covered := 0
			for p := range deps {
				name := strings.TrimSuffix(p, ".test")
				if (name != p) != f.test {
					continue
				}
				rel := strings.TrimPrefix(name, module)
				if !matches(f.pkgs, rel) {
					continue
				}
				covered++
				for _, v := range f.violations(rel, deps[p]) {
					t.Errorf("%s depends on %s", p, v)
				}
			}
			if covered == 0 {
				t.Errorf("rule %q covers no package", f.pkgs)
			}
		})
	}
}

// TestFenceCatchesViolations: the rules reject what they should, so a
// fence that silently allowed everything would fail here.
func TestFenceCatchesViolations(t *testing.T) {
	find := func(pkgs string) fence {
		for _, f := range fences {
			if f.pkgs == pkgs {
				return f
			}
		}
		t.Fatalf("no rule for %s", pkgs)
		return fence{}
	}
	for _, tt := range []struct {
		rule, pkg, dep string
	}{
		{"core", "core", "github.com/uptrace/bunrouter"},
		{"core/...", "core/httpapi", "github.com/jackc/pgx/v5"},
		{"core/...", "core/httpapi", module + "drivers/sqlite"},
		{"host", "host", module + "plugins/memory"},
		{"host", "host", module + "core/httpapi"},
		{"host", "host", module + "core/consumer"},
		{"host", "host", module + "drivers/bunstore"},
		{"host", "host", module + "host/app"},
		{"host/app", "host/app", module + "plugins/redis"},
		{"cmd/curtain/config", "cmd/curtain/config", module + "core/httpapi"},
		{"drivers/...", "drivers/postgres", module + "host"},
	} {
		if got := find(tt.rule).violations(tt.pkg, []string{"fmt", tt.dep}); len(got) != 1 || got[0] != tt.dep {
			t.Errorf("rule %s: %s importing %s: violations %v, want [%s]", tt.rule, tt.pkg, tt.dep, got, tt.dep)
		}
	}
	if got := find("host").violations("host", []string{"fmt", module + "core", module + "plugins/sdk", "github.com/hashicorp/go-plugin"}); len(got) != 0 {
		t.Errorf("host on its allowed imports: violations %v", got)
	}
}
