package docs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/curtainhq/curtain/cmd/curtain/config"
)

// The checks of this file read every name the documents give to something
// of the repository (a configuration key, an environment variable, a
// command and its flags, a metric, an alert, a test, a file) and fail when
// that thing does not exist, so that a rename or a removal cannot leave an
// operator with an instruction that no longer works.

// docTexts returns every document: docs/*.md and the README, by name.
func docTexts(t *testing.T) map[string]string {
	t.Helper()
	files, _ := filepath.Glob("*.md")
	files = append(files, "../README.md")
	out := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = string(data)
	}
	return out
}

// sortedNames returns the keys of m in order, so that failures are
// reported in a stable order.
func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// prose returns a document without its fenced code blocks.
func prose(doc string) string {
	var b strings.Builder
	inFence := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		if !inFence {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// codeSpans returns the inline code spans of a document's prose, a span
// broken over two lines joined with a space.
func codeSpans(doc string) []string {
	var out []string
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(prose(doc), -1) {
		out = append(out, strings.Join(strings.Fields(m[1]), " "))
	}
	return out
}

// shellLines returns the commands of a document: its inline code spans and
// the commands of its shell blocks.
func shellLines(doc string) []string {
	out := codeSpans(doc)
	for _, b := range blocks(doc) {
		if strings.HasPrefix(b.info, "sh") || b.info == "bash" || b.info == "console" {
			out = append(out, commands(b.text)...)
		}
	}
	return out
}

// keySet is the configuration's keys, from the koanf tags of
// config.Config; open holds the keys under which anything goes (a
// plugin's free-form settings).
type keySet struct {
	keys map[string]bool
	open []string
}

func configKeys() keySet {
	ks := keySet{keys: map[string]bool{}}
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("koanf")
			if tag == "" {
				continue
			}
			key := tag
			if prefix != "" {
				key = prefix + "." + tag
			}
			ks.keys[key] = true
			ft := f.Type
			for ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			switch ft.Kind() {
			case reflect.Struct:
				walk(key, ft)
			case reflect.Map:
				ks.open = append(ks.open, key+".")
			}
		}
	}
	walk("", reflect.TypeFor[config.Config]())
	return ks
}

// has reports whether key (with list indexes such as [], [0] or the
// environment's .0 left out) is a configuration key.
func (ks keySet) has(key string) bool {
	key = regexp.MustCompile(`\[[0-9]*\]|\.[0-9]+\b`).ReplaceAllString(key, "")
	if ks.keys[key] {
		return true
	}
	return slices.ContainsFunc(ks.open, func(p string) bool { return strings.HasPrefix(key, p) })
}

// notKeys are names the documents give in code that start like a
// configuration section but name something else; each must be a string
// of the code (a log message, a webhook event).
var notKeys = []string{"auth.disabled", "clicks.stored"}

// fileExtensions end names that are files (`consumer.yaml`), not keys.
var fileExtensions = map[string]bool{"yaml": true, "yml": true, "json": true, "md": true, "go": true, "sql": true, "csv": true, "py": true, "txt": true}

// goStrings returns the string literals of the repository's Go files
// (test files too when tests is set).
func goStrings(t *testing.T, tests bool) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	lit := regexp.MustCompile("\"((?:[^\"\\\\\\n]|\\\\.)*)\"|`([^`]*)`")
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != ".." || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || (!tests && strings.HasSuffix(path, "_test.go")) {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range lit.FindAllStringSubmatch(string(data), -1) {
			out[m[1]+m[2]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// hasPrefixed reports whether some string of set starts with prefix.
func hasPrefixed(set map[string]bool, prefix string) bool {
	for s := range set {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// TestDocumentedKeysExist checks every configuration key the documents
// name in code (`clicks.batch_size`, `consumer.in_serve: true`) against
// the configuration's keys, and every CURTAIN_* variable against the key
// it maps to.
func TestDocumentedKeysExist(t *testing.T) {
	ks := configKeys()
	sections := map[string]bool{}
	for k := range ks.keys {
		first, _, _ := strings.Cut(k, ".")
		sections[first] = true
	}
	code := goStrings(t, false)
	for _, n := range notKeys {
		if !code[n] {
			t.Errorf("%s is listed in notKeys but is no string of the code", n)
		}
	}
	keyRE := regexp.MustCompile(`^([a-z_]+(?:\.[a-z_0-9]+(?:\[[0-9]*\])?)+)(?:$|:| |=|/)`)
	checked := 0
	for name, doc := range docTexts(t) {
		for _, span := range codeSpans(doc) {
			m := keyRE.FindStringSubmatch(span)
			if m == nil {
				continue
			}
			key := m[1]
			first, _, _ := strings.Cut(key, ".")
			last := key[strings.LastIndexByte(key, '.')+1:]
			if !sections[first] || slices.Contains(notKeys, key) || fileExtensions[last] {
				continue
			}
			checked++
			if !ks.has(key) {
				t.Errorf("%s: `%s` names no configuration key", name, span)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no configuration key found in the documents")
	}
	t.Logf("%d configuration keys checked", checked)

	// The other way round: configuration.md documents every key, itself
	// or the entry it is part of (`rate_limits.redirect` for its
	// requests, per and burst).
	ref, err := os.ReadFile("configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range sortedNames(ks.keys) {
		if !strings.Contains(key, ".") && hasPrefixed(ks.keys, key+".") {
			continue // a section: http, clicks
		}
		documented := false
		for k := key; k != "" && !documented; {
			documented = strings.Contains(string(ref), "`"+k+"`")
			i := strings.LastIndexByte(k, '.')
			if i < 0 {
				break
			}
			k = k[:i]
		}
		if !documented {
			t.Errorf("configuration.md does not document %s", key)
		}
	}
}

// envKey maps CURTAIN_A__B_C to a.b_c, as the configuration loader does.
func envKey(name string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "CURTAIN_"), "__", "."))
}

// acceptedUnread are reference variables Curtain accepts and has no use
// for; TestDocumentedVariablesExist checks that setting one changes
// nothing and warns of nothing.
var acceptedUnread = []string{"STREAM_POLL_INTERVAL", "PROMETHEUS_MULTIPROC_DIR", "FLASK_DEBUG", "FLASK_RUN_HOST", "FLASK_RUN_PORT"}

// placeholders are variables the documents use for values the reader
// supplies (a second database), not variables any program reads.
var placeholders = map[string]bool{"NEW_DATABASE_URL": true, "ADMIN_DATABASE_URL": true, "REDIS_ADMIN_URL": true, "OLD_PASSWORD": true, "NEW_PASSWORD": true, "ADB": true, "BDB": true, "CDB": true, "LDB": true}

// toolVariables are another program's own variables that the documents
// set on its command line (psql -v ON_ERROR_STOP=1).
var toolVariables = map[string]bool{"ON_ERROR_STOP": true}

// TestDocumentedVariablesExist checks every environment variable the
// documents name: a CURTAIN_* variable must set a configuration key, or be
// read by name by the code or its tests (CURTAIN_TEST_*, CURTAIN_PLUGIN_*);
// any other variable set or read in a command, or named in the operator's
// documents, must be read by Curtain (the reference's variables) or by
// docker-compose.yml.
func TestDocumentedVariablesExist(t *testing.T) {
	ks := configKeys()
	code := goStrings(t, true)
	compose, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	configSrc := ""
	files, _ := filepath.Glob("../cmd/curtain/config/*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		configSrc += string(data)
	}
	curtainRE := regexp.MustCompile(`\bCURTAIN_[A-Z0-9_]*[A-Z0-9]_?`)
	envRE := regexp.MustCompile(`\$\{?([A-Z][A-Z0-9_]*[A-Z0-9])\b|\b([A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9])=`)
	nameRE := regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$`)
	operator := map[string]bool{"README.md": true, "configuration.md": true, "deployment.md": true, "migrating.md": true,
		"runbook.md": true, "failure-modes.md": true, "incident-response.md": true, "load-testing.md": true}
	bad := map[string]string{}
	texts := docTexts(t)
	for _, name := range sortedNames(texts) {
		doc := texts[name]
		for _, v := range curtainRE.FindAllString(doc, -1) {
			if strings.HasSuffix(v, "_") { // a prefix: CURTAIN_TEST_, CURTAIN_PLUGIN_
				if !hasPrefixed(code, v) {
					bad[v] = name + ": no variable of the code starts with " + v
				}
				continue
			}
			if !ks.has(envKey(v)) && !code[v] {
				bad[v] = name + ": " + v + " sets no configuration key (" + envKey(v) + ") and nothing reads it"
			}
		}
		var names []string
		for _, m := range envRE.FindAllStringSubmatch(doc, -1) {
			names = append(names, m[1]+m[2])
		}
		if operator[name] {
			for _, span := range codeSpans(doc) {
				if nameRE.MatchString(span) {
					names = append(names, span)
				}
			}
		}
		for _, v := range names {
			if strings.HasPrefix(v, "CURTAIN_") || placeholders[v] || toolVariables[v] || slices.Contains(acceptedUnread, v) {
				continue
			}
			if !strings.Contains(configSrc, `"`+v+`"`) && !bytes.Contains(compose, []byte("${"+v)) && !code[v] {
				bad[v] = name + ": " + v + " is read neither by Curtain's configuration, nor by docker-compose.yml, nor by the tests"
			}
		}
	}
	for _, v := range sortedNames(bad) {
		t.Error(bad[v])
	}
	base, err := config.Load(config.Sources{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range acceptedUnread {
		got, err := config.Load(config.Sources{Environ: []string{v + "=1"}})
		if err != nil || len(got.Warnings) > 0 || !reflect.DeepEqual(got.Config, base.Config) {
			t.Errorf("%s=1: the configuration changed or warned (%v, %v)", v, err, got.Warnings)
		}
	}
}

// curtainCall is one `curtain` command line of a document: the variables
// set before it and its arguments.
type curtainCall struct {
	doc, line string
	env, args []string
}

// curtainCalls finds the curtain commands of a document's code spans and
// shell blocks.
func curtainCalls(name, doc string) []curtainCall {
	var out []curtainCall
	assign := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
	for _, line := range shellLines(doc) {
		// A comment, a redirection or a placeholder list ends the command.
		line = regexp.MustCompile(`\s#.*$|\s\d?>.*$`).ReplaceAllString(line, "")
		for _, part := range regexp.MustCompile(`\|\||&&|[|;(]|\$\(`).Split(line, -1) {
			fields := strings.Fields(part)
			var env []string
			for len(fields) > 0 && assign.MatchString(fields[0]) {
				env = append(env, fields[0])
				fields = fields[1:]
			}
			if len(fields) == 0 || (fields[0] != "curtain" && !strings.HasSuffix(fields[0], "/curtain")) {
				continue
			}
			args := fields[1:]
			for i, a := range args {
				args[i] = strings.Trim(a, `"'`)
			}
			out = append(out, curtainCall{doc: name, line: strings.TrimSpace(part), env: env, args: args})
		}
	}
	return out
}

// TestDocumentedCommandsParse checks every curtain command the documents
// show: the command exists, its subcommand word (keys create, webhooks
// list, plugin check) is one the command takes, and each flag is one of its
// flags. A command run with variables (CURTAIN_CLICKS__BATCH_SIZE=1
// curtain serve) must have a configuration `curtain config` accepts.
func TestDocumentedCommandsParse(t *testing.T) {
	helps := map[string]string{}
	help := func(cmd string) (string, bool) {
		if h, ok := helps[cmd]; ok {
			return h, h != ""
		}
		out, err := exec.Command(curtainBin, "help", cmd).CombinedOutput()
		if err != nil {
			out = nil
		}
		helps[cmd] = string(out)
		return helps[cmd], err == nil
	}
	wordRE := regexp.MustCompile(`^[a-z]+$`)
	n := 0
	texts := docTexts(t)
	for _, name := range sortedNames(texts) {
		for _, c := range curtainCalls(name, texts[name]) {
			n++
			args := c.args
			cmd := "serve"
			if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
				cmd, args = strings.Trim(args[0], "[]"), args[1:]
			}
			if cmd == "__plugin" {
				// The hidden command the host starts a built-in plugin
				// with (architecture.md, plugins.md).
				continue
			}
			h, ok := help(cmd)
			if !ok {
				t.Errorf("%s: %q: curtain has no command %q", c.doc, c.line, cmd)
				continue
			}
			usage, _, _ := strings.Cut(h, "\n")
			var words []string
			for _, w := range strings.Fields(strings.TrimPrefix(usage, "Usage: curtain "+cmd)) {
				if wordRE.MatchString(w) && w != "flags" {
					words = append(words, w)
				}
			}
			if cmd == "help" && len(args) > 0 && wordRE.MatchString(args[0]) {
				if _, ok := help(args[0]); !ok {
					t.Errorf("%s: %q: curtain has no command %q", c.doc, c.line, args[0])
				}
			} else if len(words) > 0 && len(args) > 0 && wordRE.MatchString(args[0]) && !slices.Contains(words, args[0]) {
				t.Errorf("%s: %q: curtain %s takes %v, not %q", c.doc, c.line, cmd, words, args[0])
			}
			for _, a := range args {
				flag, _, _ := strings.Cut(a, "=")
				if !strings.HasPrefix(flag, "-") || flag == "-" {
					continue
				}
				if !regexp.MustCompile(`(^|\s)` + regexp.QuoteMeta(flag) + `[\s,=\[]`).MatchString(h) {
					t.Errorf("%s: %q: curtain %s has no flag %s", c.doc, c.line, cmd, flag)
				}
			}
			if len(c.env) > 0 && !slices.ContainsFunc(c.env, func(e string) bool { return strings.ContainsAny(e, "$…<") }) {
				env := append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, c.env...)
				for i, e := range env {
					k, v, _ := strings.Cut(e, "=")
					env[i] = k + "=" + strings.Trim(v, `"'`)
				}
				run := exec.Command(curtainBin, "config")
				run.Dir, run.Env = t.TempDir(), env
				if out, err := run.CombinedOutput(); err != nil {
					t.Errorf("%s: %q: curtain config refuses its variables: %v\n%s", c.doc, c.line, err, out)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no curtain command found in the documents")
	}
	t.Logf("%d curtain commands checked", n)
}

// otherNames are names like a metric's that name something else, with the
// file that holds them.
var otherNames = map[string]string{"curtain_adopt": "drivers/postgres/adopt_bench_test.go"}

// TestDocumentedMetricsAndAlertsExist checks the metric names of the
// documents against the names the code registers (string literals of its
// non-test files), the table names against the migrations, and the alert
// names against deploy/prometheus/alerts.yml.
func TestDocumentedMetricsAndAlertsExist(t *testing.T) {
	code := goStrings(t, false)
	var sql strings.Builder
	files, _ := filepath.Glob("../drivers/bunstore/migrations/*/*.sql")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sql.Write(data)
	}
	tables := map[string]bool{}
	for _, m := range regexp.MustCompile(`\b(curtain_[a-z_]+)\b`).FindAllStringSubmatch(sql.String(), -1) {
		tables[m[1]] = true
	}
	alerts := map[string]bool{}
	// incident-response.md's table gives each rule's for and severity.
	ir, err := os.ReadFile("incident-response.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(Curtain[A-Za-z]+)` \\|.*\\| ([0-9a-z]+) \\| ([a-z]+) \\|$").FindAllStringSubmatch(string(ir), -1) {
		rows[m[1]] = m[2:]
	}
	for _, r := range alertRules(t) {
		alerts[r.Alert] = true
		row, ok := rows[r.Alert]
		if !ok {
			t.Errorf("incident-response.md's table of alert rules lacks %s", r.Alert)
			continue
		}
		if row[0] != r.For || row[1] != r.Labels["severity"] {
			t.Errorf("incident-response.md: %s fires after %s with severity %s, not %s and %s", r.Alert, r.For, r.Labels["severity"], row[0], row[1])
		}
	}
	// A name that ends in _ or goes on with ( or { is a prefix or a
	// regular expression (curtain_clicks_(failed_total|…)), not a name;
	// one that ends a regular expression's alternative (redis_shard_fail)
	// must begin a name.
	metricRE := regexp.MustCompile(`\b((?:curtain|http|redis_shard)_[a-z0-9_]*[a-z0-9])\b([_({.]?)([)|']?)`)
	alertRE := regexp.MustCompile(`\bCurtain[A-Z][A-Za-z]+\b`)
	metrics := 0
	texts := docTexts(t)
	for _, name := range sortedNames(texts) {
		doc := texts[name]
		for _, m := range metricRE.FindAllStringSubmatch(doc, -1) {
			if m[2] != "" || m[1] == "http_code" { // curl's %{http_code}
				continue
			}
			metrics++
			if m[3] != "" && hasPrefixed(code, m[1]) {
				continue
			}
			if f, ok := otherNames[m[1]]; ok {
				if src, err := os.ReadFile("../" + f); err != nil || !bytes.Contains(src, []byte(m[1])) {
					t.Errorf("%s: %s is not in %s", name, m[1], f)
				}
				continue
			}
			if !code[m[1]] && !tables[m[1]] {
				t.Errorf("%s: %s is neither a metric the code registers nor a table of the migrations", name, m[1])
			}
		}
		for _, a := range alertRE.FindAllString(doc, -1) {
			if !alerts[a] {
				t.Errorf("%s: %s is not an alert of deploy/prometheus/alerts.yml", name, a)
			}
		}
	}
	if metrics == 0 {
		t.Fatal("no metric found in the documents")
	}
}

// testFuncs returns the Test, Benchmark and Fuzz functions of the
// repository, by package directory (relative to the repository, "."
// for the root) and by file.
func testFuncs(t *testing.T) (byDir, byFile map[string][]string) {
	t.Helper()
	byDir, byFile = map[string][]string{}, map[string][]string{}
	funcRE := regexp.MustCompile(`(?m)^func ((?:Test|Benchmark|Fuzz)[A-Za-z0-9_]*)\(`)
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("..", path)
		for _, m := range funcRE.FindAllStringSubmatch(string(data), -1) {
			byDir[filepath.Dir(rel)] = append(byDir[filepath.Dir(rel)], m[1])
			byFile[rel] = append(byFile[rel], m[1])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return byDir, byFile
}

// TestDocumentedTestsExist checks the tests the documents cite: each name
// is a test, benchmark or fuzz target of the repository (or the start of
// some, as in `TestFault*`); one cited with its file is in that file; and
// each `go test` command's -run and -bench patterns select something in
// the packages it names.
func TestDocumentedTestsExist(t *testing.T) {
	byDir, byFile := testFuncs(t)
	var all []string
	for _, names := range byDir {
		all = append(all, names...)
	}
	// A name followed by *, | or a quote is a pattern (`TestFault*`,
	// -run 'TestFault|…'), which must begin some test; any other must be
	// one.
	nameRE := regexp.MustCompile(`\b((?:Test|Benchmark|Fuzz)[A-Z][A-Za-z0-9_]*)([*|'$]?)`)
	inFileRE := regexp.MustCompile("`((?:Test|Benchmark|Fuzz)[A-Za-z0-9_]*)`,? \\(`([a-z0-9_/]+_test\\.go)`")
	texts := docTexts(t)
	commands := 0
	for _, name := range sortedNames(texts) {
		doc := texts[name]
		for _, m := range nameRE.FindAllStringSubmatch(doc, -1) {
			n, pattern := m[1], m[2] != ""
			if pattern && !slices.ContainsFunc(all, func(f string) bool { return strings.HasPrefix(f, n) }) {
				t.Errorf("%s: %s%s selects no test, benchmark or fuzz target of the repository", name, n, m[2])
			}
			if !pattern && !slices.Contains(all, n) {
				t.Errorf("%s: %s is no test, benchmark or fuzz target of the repository", name, n)
			}
		}
		for _, m := range inFileRE.FindAllStringSubmatch(doc, -1) {
			if !slices.Contains(byFile[m[2]], m[1]) {
				t.Errorf("%s: %s is not in %s", name, m[1], m[2])
			}
		}
		for _, line := range shellLines(doc) {
			_, rest, ok := strings.Cut(line, "go test ")
			if !ok {
				continue
			}
			if i := strings.IndexAny(rest, "|;&#"); i >= 0 {
				rest = rest[:i]
			}
			fields := strings.Fields(rest)
			patterns := map[string]string{}
			var dirs []string
			for i, f := range fields {
				f = strings.Trim(f, `"'`)
				switch {
				case (f == "-run" || f == "-bench") && i+1 < len(fields):
					patterns[f] = strings.Trim(fields[i+1], `"'`)
				case strings.HasPrefix(f, "./") && !strings.HasSuffix(f, "..."):
					dirs = append(dirs, filepath.Clean(f))
				}
			}
			if len(dirs) == 0 {
				continue
			}
			commands++
			for flag, p := range patterns {
				if p == "^$" || p == "x" || p == "X" {
					continue // runs nothing on purpose
				}
				prefix := map[string]string{"-run": "Test", "-bench": "Benchmark"}[flag]
				re, err := regexp.Compile(strings.Split(p, "/")[0])
				if err != nil {
					t.Errorf("%s: %q: %s %q: %v", name, line, flag, p, err)
					continue
				}
				for _, dir := range dirs {
					if !slices.ContainsFunc(byDir[dir], func(f string) bool { return strings.HasPrefix(f, prefix) && re.MatchString(f) }) {
						t.Errorf("%s: %q: %s %q selects nothing in ./%s", name, line, flag, p, dir)
					}
				}
			}
		}
	}
	t.Logf("%d go test commands checked", commands)
}

// hypothetical are paths the documents name as places something could
// move to (architecture.md).
var hypothetical = map[string]bool{"host/app/config": true}

// TestDocumentedPathsExist checks every repository path the documents
// give in code (`deploy/prometheus/alerts.yml`, `cmd/curtain`) or link to
// (../deploy/...).
func TestDocumentedPathsExist(t *testing.T) {
	pathRE := regexp.MustCompile(`^(?:\.ci|cmd|core|deploy|docs|drivers|examples|host|internal|plugins)(?:/[A-Za-z0-9_.*-]+)*/?$`)
	linkRE := regexp.MustCompile(`\]\(\.\./([^)#\s]+)`)
	texts := docTexts(t)
	n := 0
	for _, name := range sortedNames(texts) {
		doc := texts[name]
		var paths []string
		for _, span := range codeSpans(doc) {
			// deploy/NAME is also kubectl's name of a Deployment.
			if pathRE.MatchString(span) && !strings.HasPrefix(span, "deploy/curtain") {
				paths = append(paths, span)
			}
		}
		for _, m := range linkRE.FindAllStringSubmatch(doc, -1) {
			if name != "README.md" {
				paths = append(paths, m[1])
			}
		}
		for _, p := range paths {
			p = strings.TrimSuffix(p, "/...") // a package pattern
			if hypothetical[p] {
				continue
			}
			n++
			if found, _ := filepath.Glob(filepath.Join("..", p)); len(found) > 0 {
				continue
			}
			// What a test writes (cmd/curtain/browser-artifacts/) exists
			// only after it ran, and git ignores it.
			if exec.Command("git", "-C", "..", "check-ignore", "-q", p).Run() == nil {
				continue
			}
			t.Errorf("%s: %s does not exist", name, p)
		}
	}
	t.Logf("%d paths checked", n)
}

// TestMigrationChangesAreDocumented checks the table of deployment.md
// that says what an older release meets on a migrated database: every
// migration that drops or renames a table, an index or a column has a
// row, and every row is a migration.
func TestMigrationChangesAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("deployment.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\| (\d{6}) \|`).FindAllStringSubmatch(string(doc), -1) {
		rows[m[1]] = true
	}
	files, _ := filepath.Glob("../drivers/bunstore/migrations/*/*.sql")
	changes := regexp.MustCompile(`(?i)\bDROP\s+(TABLE|INDEX|COLUMN)\b|\bRENAME\b`)
	exists := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		num, _, _ := strings.Cut(filepath.Base(f), "_")
		exists[num] = true
		var sql []string
		for _, line := range strings.Split(string(data), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(line), "--") {
				sql = append(sql, line)
			}
		}
		if changes.MatchString(strings.Join(sql, "\n")) && !rows[num] {
			t.Errorf("%s drops or renames something: add it to the migrations table of deployment.md", f)
		}
	}
	for num := range rows {
		if !exists[num] {
			t.Errorf("deployment.md lists migration %s, which does not exist", num)
		}
	}
	if len(rows) == 0 {
		t.Fatal("deployment.md has no migrations table")
	}
}

// TestLoadTestingFlags checks the flags of load-testing.md against
// cmd/curtainbench: the table lists every flag of `curtainbench run` and
// only those, and each command of the page uses flags its subcommand has.
func TestLoadTestingFlags(t *testing.T) {
	flagRE := regexp.MustCompile(`fs\.(?:String|Int|Duration|Bool|Var)\((?:&\w+,\s*)?"([a-z][a-z-]*)"`)
	flagsOf := func(file string) []string {
		data, err := os.ReadFile("../cmd/curtainbench/" + file)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range flagRE.FindAllStringSubmatch(string(data), -1) {
			out = append(out, "-"+m[1])
		}
		return out
	}
	sub := map[string][]string{"run": flagsOf("run.go"), "prepare": flagsOf("db.go")}
	if len(sub["run"]) == 0 || len(sub["prepare"]) == 0 {
		t.Fatal("no flags found in cmd/curtainbench")
	}
	data, err := os.ReadFile("load-testing.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	var table []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(-[a-z][^|]*)` \\|").FindAllStringSubmatch(doc, -1) {
		for _, f := range regexp.MustCompile(`(?:^|[^a-z-])(-[a-z][a-z-]*)`).FindAllStringSubmatch(m[1], -1) {
			table = append(table, f[1])
		}
	}
	for _, f := range sub["run"] {
		if !slices.Contains(table, f) {
			t.Errorf("load-testing.md: the flag table lacks %s of curtainbench run", f)
		}
	}
	for _, f := range table {
		if !slices.Contains(sub["run"], f) {
			t.Errorf("load-testing.md: the flag table lists %s, which curtainbench run does not have", f)
		}
	}
	for _, line := range shellLines(doc) {
		m := regexp.MustCompile(`curtainbench (run|prepare)\b(.*)`).FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, f := range regexp.MustCompile(`(?:^|\s)(-[a-z][a-z-]*)`).FindAllStringSubmatch(m[2], -1) {
			if !slices.Contains(sub[m[1]], f[1]) {
				t.Errorf("load-testing.md: %q: curtainbench %s has no flag %s", line, m[1], f[1])
			}
		}
	}
}

// TestInlineBodies checks the JSON bodies the documents quote in their
// prose (`429 {"error":"Too many requests"}`): each is written as the
// program writes it (compact, keys sorted), and an error message is one
// the code has.
func TestInlineBodies(t *testing.T) {
	code := goStrings(t, false)
	var formats []*regexp.Regexp
	for s := range code {
		if strings.Contains(s, "%") && len(s) > 8 {
			q := regexp.QuoteMeta(s)
			q = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z]`).ReplaceAllString(q, ".+")
			if re, err := regexp.Compile("^" + q + "$"); err == nil {
				formats = append(formats, re)
			}
		}
	}
	known := func(msg string) bool {
		return code[msg] || slices.ContainsFunc(formats, func(re *regexp.Regexp) bool { return re.MatchString(msg) })
	}
	bodyRE := regexp.MustCompile(`^(?:[0-9]{3} )?(\{.*\})$`)
	texts := docTexts(t)
	n := 0
	for _, name := range sortedNames(texts) {
		for _, span := range codeSpans(texts[name]) {
			m := bodyRE.FindStringSubmatch(span)
			if m == nil {
				continue
			}
			var v map[string]any
			if json.Unmarshal([]byte(m[1]), &v) != nil {
				continue // a sketch with … in it
			}
			n++
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(v); err != nil {
				t.Fatal(err)
			}
			if want := strings.TrimSuffix(b.String(), "\n"); m[1] != want {
				t.Errorf("%s: `%s`: the program writes %s", name, span, want)
			}
			if msg, ok := v["error"].(string); ok && !known(msg) {
				t.Errorf("%s: `%s`: no error of the code reads %q", name, span, msg)
			}
		}
	}
	if n == 0 {
		t.Fatal("no JSON body found in the documents' prose")
	}
	t.Logf("%d bodies checked", n)
}

// TestDocumentedDefaults checks the default column of configuration.md's
// key table against what `curtain config` prints with no configuration:
// `1024`, `15ms`, `[]` and the like, several keys of a row matched in
// order (`clicks.batch_size` / `clicks.flush_interval` | `1024` / `15ms`).
func TestDocumentedDefaults(t *testing.T) {
	run := exec.Command(curtainBin, "config")
	run.Dir, run.Env = t.TempDir(), []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, err := run.Output()
	if err != nil {
		t.Fatalf("curtain config: %v", err)
	}
	var effective map[string]any
	if err := yaml.Unmarshal(out, &effective); err != nil {
		t.Fatal(err)
	}
	lookup := func(key string) (any, bool) {
		var v any = effective
		for _, part := range strings.Split(key, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[part]; !ok {
				return nil, false
			}
		}
		return v, true
	}
	same := func(doc string, got any) bool {
		g := fmt.Sprint(got)
		if list, ok := got.([]any); ok {
			var parts []string
			for _, x := range list {
				parts = append(parts, fmt.Sprint(x))
			}
			g = "[" + strings.Join(parts, ", ") + "]"
		}
		if doc == g {
			return true
		}
		d1, err1 := time.ParseDuration(doc)
		d2, err2 := time.ParseDuration(g)
		return err1 == nil && err2 == nil && d1 == d2
	}
	data, err := os.ReadFile("configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	spanRE := regexp.MustCompile("`([^`]*)`")
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		cells := strings.Split(line, " | ")
		if len(cells) < 3 || !strings.HasPrefix(cells[0], "| `") {
			continue
		}
		var keys, values []string
		for _, m := range spanRE.FindAllStringSubmatch(cells[0], -1) {
			keys = append(keys, m[1])
		}
		for _, m := range spanRE.FindAllStringSubmatch(cells[1], -1) {
			values = append(values, m[1])
		}
		if len(keys) != len(values) {
			continue // a default told in words (— , $HOSTNAME, {requests: …})
		}
		for i, key := range keys {
			if strings.ContainsAny(values[i], "$<{") {
				continue // a value made from another ($HOSTNAME, worker-<instance_id>) or a sketch
			}
			got, ok := lookup(key)
			if !ok {
				continue // an entry of a list (plugins.shards[].settings.…)
			}
			if _, isMap := got.(map[string]any); isMap {
				continue
			}
			n++
			if !same(values[i], got) {
				t.Errorf("configuration.md: %s defaults to %v, not %s", key, got, values[i])
			}
		}
	}
	if n == 0 {
		t.Fatal("no default read from configuration.md")
	}
	t.Logf("%d defaults checked", n)
}

// TestShellURLsQuoted fails for a shell command with a URL that holds a
// glob character (`?`, `*`, `[`) outside quotes: zsh stops such a command
// with "no matches found", and bash passes it on only while no file
// matches.
func TestShellURLsQuoted(t *testing.T) {
	quoted := regexp.MustCompile(`'[^']*'|"(?:[^"\\]|\\.)*"`)
	bare := regexp.MustCompile(`https?://[^\s'"]*[?*\[]`)
	texts := docTexts(t)
	for _, name := range sortedNames(texts) {
		for _, b := range blocks(texts[name]) {
			if !strings.HasPrefix(b.info, "sh") && b.info != "bash" && b.info != "console" {
				continue
			}
			for _, c := range commands(b.text) {
				if u := bare.FindString(quoted.ReplaceAllString(c, "''")); u != "" {
					t.Errorf("%s:%d: quote the URL %s…: a shell reads its glob character as a pattern\n%s", name, b.line, u, c)
				}
			}
		}
	}
}
