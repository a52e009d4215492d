package main

import (
	"context"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/curtainhq/curtain/internal/testenv"
)

// TestMissingFileHint: a missing file names the seed files only when seed
// could not read them; a missing --config file or import file gets the
// plain hint.
func TestMissingFileHint(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	seedHint := "'curtain seed DIR' needs users.csv"
	tests := []struct {
		args     []string
		seedHint bool
	}{
		{[]string{"seed", missing}, true},
		{[]string{"config", "--config", missing + ".yaml"}, false},
		{[]string{"import", "--format", "csv", missing + ".csv"}, false},
	}
	for _, tt := range tests {
		code, _, stderr := runArgs(t, tt.args...)
		if code != 1 || !strings.Contains(stderr, "hint: check the path") || strings.Contains(stderr, seedHint) != tt.seedHint {
			t.Errorf("curtain %s: exit %d, stderr:\n%s\nwant 1 and the hint 'check the path' (naming the seed files: %v)",
				strings.Join(tt.args, " "), code, stderr, tt.seedHint)
		}
	}
}

// TestNotifyAddrFlag: notify's --addr sets notify.addr, where notify
// listens, and says so in its help; the other commands' --addr is
// http.addr.
func TestNotifyAddrFlag(t *testing.T) {
	env := &cmdEnv{environ: nil, stdout: io.Discard, stderr: io.Discard}
	for _, name := range []string{"notify", "serve", "config"} {
		cfg, err := newConfigFlags(name, env).parse(env, []string{"--addr", "127.0.0.1:9"})
		if err != nil {
			t.Fatalf("%s --addr: %v", name, err)
		}
		got, other := cfg.HTTP.Addr, cfg.Notify.Addr
		if name == "notify" {
			got, other = other, got
		}
		if got != "127.0.0.1:9" || other == "127.0.0.1:9" {
			t.Errorf("curtain %s --addr 127.0.0.1:9: http.addr %q, notify.addr %q", name, cfg.HTTP.Addr, cfg.Notify.Addr)
		}
	}
	if _, stdout, _ := runArgs(t, "help", "notify"); !strings.Contains(stdout, "listen address (notify.addr)") {
		t.Errorf("help notify does not name notify.addr for --addr:\n%s", stdout)
	}
}

// TestStoreCommandUsage: a bad command line of import, keys or webhooks
// exits 2 with the problem and the usage, before the store is opened (no
// database file is made).
func TestStoreCommandUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"import"}, "curtain import: want the export FILE"},
		{[]string{"import", "links.csv"}, "curtain import: want --format bitly, yourls, shlink, kutt, csv"},
		{[]string{"import", "--format", "json", "links.csv"}, `curtain import: unknown --format "json"`},
		{[]string{"keys"}, "curtain keys: name a subcommand"},
		{[]string{"keys", "frob"}, `curtain keys: use create NAME [SCOPES], list, rotate ID or revoke ID (got "frob")`},
		{[]string{"keys", "revoke", "abc"}, `curtain keys: "abc" is not a key id`},
		{[]string{"keys", "rotate", "0"}, `curtain keys: "0" is not a key id`},
		{[]string{"webhooks"}, "curtain webhooks: use list, or redeliver ID"},
		{[]string{"webhooks", "redeliver", "x"}, `curtain webhooks: "x" is not a delivery id`},
	}
	for _, tt := range tests {
		db := filepath.Join(t.TempDir(), "c.db")
		var stdout, stderr strings.Builder
		err := run(t.Context(), tt.args, []string{"CURTAIN_STORE__SQLITE_PATH=" + db}, &stdout, &stderr)
		code := exitCode(err, &stderr)
		if code != 2 || stdout.Len() > 0 || !strings.Contains(stderr.String(), tt.want) ||
			!strings.Contains(stderr.String(), "Usage: curtain "+tt.args[0]) {
			t.Errorf("curtain %s: exit %d, stdout %q, stderr:\n%s\nwant 2, %q and the usage", strings.Join(tt.args, " "), code, stdout.String(), stderr.String(), tt.want)
		}
		if _, err := os.Stat(db); err == nil {
			t.Errorf("curtain %s opened the store", strings.Join(tt.args, " "))
		}
	}
}

// TestWebhooksListFlags: webhooks list refuses a --status that is no
// delivery state (it listed nothing, as if there were no deliveries) and
// a --limit below 1 (it listed every delivery).
func TestWebhooksListFlags(t *testing.T) {
	for _, tt := range []struct{ flag, want string }{
		{"--status=bogus", `curtain webhooks: unknown --status "bogus": use pending, delivered, failed`},
		{"--limit=0", "curtain webhooks: --limit 0: use 1 or more"},
		{"--limit=-3", "curtain webhooks: --limit -3: use 1 or more"},
	} {
		code, stdout, stderr := runArgs(t, "webhooks", "list", tt.flag)
		if code != 2 || stdout != "" || !strings.Contains(stderr, tt.want) {
			t.Errorf("curtain webhooks list %s: exit %d, stdout %q, stderr:\n%s\nwant 2 and %q", tt.flag, code, stdout, stderr, tt.want)
		}
	}
	if code, stdout, stderr := runArgs(t, "webhooks", "list", "--status", "failed", "--limit", "5"); code != 0 || !strings.HasPrefix(stdout, "ID") {
		t.Errorf("curtain webhooks list --status failed --limit 5: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
}

// TestPluginCheckUsage: plugin check refuses an unknown --kind, settings
// that are not JSON and a --parallel below 1 as usage errors (exit 2),
// before it starts the plugin; an unknown kind used to run the suite and
// fail every case.
func TestPluginCheckUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--kind", "nope", "/bin/true"}, `--kind "nope" is not a plugin kind (counter, clickshard, cache, alertsink)`},
		{[]string{"--kind", "cache", "--settings", "{bad", "/bin/true"}, "--settings is not valid JSON: {bad"},
		{[]string{"--kind", "cache", "--parallel", "0", "/bin/true"}, "--parallel 0: want 1 or more cases at once"},
	} {
		code, stdout, stderr := runArgs(t, append([]string{"plugin", "check"}, tt.args...)...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, tt.want) {
			t.Errorf("curtain plugin check %s: exit %d, stdout %q, stderr:\n%s\nwant 2 and %q", strings.Join(tt.args, " "), code, stdout, stderr, tt.want)
		}
	}
}

// TestSeedMissingDirCreatesNoStore: seed reads its files before it opens
// the store, so a wrong DIR fails (exit 1, with the seed hint) without
// leaving a new, migrated database behind.
func TestSeedMissingDirCreatesNoStore(t *testing.T) {
	db := filepath.Join(t.TempDir(), "c.db")
	var stdout, stderr strings.Builder
	err := run(t.Context(), []string{"seed", filepath.Join(t.TempDir(), "nowhere")}, []string{"CURTAIN_STORE__SQLITE_PATH=" + db}, &stdout, &stderr)
	if code := exitCode(err, &stderr); code != 1 || !strings.Contains(stderr.String(), "users.csv") {
		t.Errorf("curtain seed nowhere: exit %d, stderr:\n%s\nwant 1 naming users.csv", code, stderr.String())
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("curtain seed with a missing DIR created the store")
	}
}

// TestStopBeforeStartIsNotAFailure: a serve stopped (Ctrl-C, SIGTERM)
// while its plugins start exits 0 without an error, as a stop asked for;
// it used to exit 1 with "start abandoned: interrupt signal received".
func TestStopBeforeStartIsNotAFailure(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var stdout, stderr strings.Builder
	err := run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, []string{"CURTAIN_STORE__SQLITE_PATH=" + filepath.Join(t.TempDir(), "c.db")}, &stdout, &stderr)
	if code := exitCode(err, &stderr); code != 0 || strings.Contains(stderr.String(), "curtain: ") {
		t.Errorf("serve stopped before it started: exit %d, error %v, stderr:\n%s", code, err, stderr.String())
	}
}

// TestPluginsServerFlag: plugins refuses a --server that is not an HTTP
// base URL (exit 2) instead of falling back to starting the plugins here.
func TestPluginsServerFlag(t *testing.T) {
	code, stdout, stderr := runArgs(t, "plugins", "--server", "not a url")
	if code != 2 || stdout != "" || !strings.Contains(stderr, `--server "not a url" is not an http:// or https:// base URL`) || strings.Contains(stderr, "starting the configured plugins") {
		t.Errorf("curtain plugins --server 'not a url': exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
}

// TestBadFlagValueNamesTheFlag: a refused value that came from a flag
// names the flag as typed (--log-level), not "flag for log.level".
func TestBadFlagValueNamesTheFlag(t *testing.T) {
	code, _, stderr := runArgs(t, "migrate", "--log-level", "loud")
	if code == 0 || !strings.Contains(stderr, "log.level (from flag --log-level): invalid value loud") {
		t.Errorf("curtain migrate --log-level loud: exit %d, stderr:\n%s", code, stderr)
	}
}

// TestNoDataRows: an input without a data row (an empty file, a CSV
// header alone) is most likely the wrong file: `curtain import` and
// `curtain seed` (when every seed file is so) fail with exit 1, say so
// with a hint, and leave no new database behind; they used to report 0
// links or rows imported and exit 0. A seed directory where only some
// files are empty seeds the others with a warning naming them.
func TestNoDataRows(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const (
		usersHeader  = "id,username,email,created_at\n"
		urlsHeader   = "id,user_id,short_code,original_url,title,is_active,created_at,updated_at\n"
		eventsHeader = "id,url_id,user_id,event_type,timestamp,details\n"
	)
	empty := write("empty.csv", "")
	header := write("header.csv", "original_url,short_code\n")
	bitlyHeader := write("bitly.csv", "long_url,link\n")
	shlinkEmpty := write("shlink.json", `{"shortUrls": {"data": []}}`)
	write("headers/users.csv", usersHeader)
	write("headers/urls.csv", urlsHeader)
	write("headers/events.csv", eventsHeader)
	write("some/users.csv", usersHeader+"1,ann,ann@example.com,2024-01-01 00:00:00\n")
	write("some/urls.csv", urlsHeader)
	write("some/events.csv", eventsHeader)

	for _, tt := range []struct {
		args       []string
		code       int
		want, hint string // in stderr
	}{
		{[]string{"import", "--format", "csv", empty}, 1, "import " + empty + ": no data rows: ", "check that FILE is the export you meant and that --format matches it"},
		{[]string{"import", "--format", "csv", header}, 1, "import " + header + ": no data rows: ", "check that FILE is the export you meant"},
		{[]string{"import", "--format", "bitly", bitlyHeader}, 1, "no data rows", "check that FILE is the export you meant"},
		{[]string{"import", "--format", "shlink", shlinkEmpty}, 1, "no data rows", "check that FILE is the export you meant"},
		{[]string{"seed", filepath.Join(dir, "headers")}, 1, "no data rows: events.csv, urls.csv and users.csv have only a header", "check that DIR is the seed directory you meant"},
		{[]string{"seed", filepath.Join(dir, "some")}, 0, "curtain: warning: events.csv and urls.csv in " + filepath.Join(dir, "some") + ": no data rows", ""},
	} {
		db := filepath.Join(t.TempDir(), "c.db")
		var stdout, stderr strings.Builder
		err := run(t.Context(), tt.args, []string{"CURTAIN_STORE__SQLITE_PATH=" + db}, &stdout, &stderr)
		code := exitCode(err, &stderr)
		cmd := "curtain " + strings.Join(tt.args, " ")
		if code != tt.code || !strings.Contains(stderr.String(), tt.want) || (tt.hint != "") != strings.Contains(stderr.String(), "hint: "+tt.hint) {
			t.Errorf("%s: exit %d, stderr:\n%s\nwant exit %d, %q and the hint %q", cmd, code, stderr.String(), tt.code, tt.want, tt.hint)
		}
		if _, err := os.Stat(db); (err == nil) != (tt.code == 0) {
			t.Errorf("%s: store created = %v, want %v", cmd, err == nil, tt.code == 0)
		}
	}
}

// TestUnknownBuiltinRefusedAtLoad: a plugin entry naming a built-in the
// binary does not ship is refused when the configuration loads, naming
// its key and the built-ins there are, together with the other problems;
// it used to pass `curtain config` and fail only when serve re-executed
// itself as that plugin.
func TestUnknownBuiltinRefusedAtLoad(t *testing.T) {
	environ := []string{
		"CURTAIN_PLUGINS__COUNTER__BUILTIN=nosuch",
		"CURTAIN_PLUGINS__CACHE__BUILTIN=postgres",
		"CURTAIN_LOG__LEVEL=loud",
	}
	var stdout, stderr strings.Builder
	code := exitCode(run(t.Context(), []string{"config"}, environ, &stdout, &stderr), &stderr)
	for _, want := range []string{
		`plugins.counter.builtin: invalid value "nosuch": no built-in counter plugin has that name; use memory, postgres, redis, or path for an external plugin`,
		`plugins.cache.builtin: invalid value "postgres": no built-in cache plugin has that name; use memory, redis`,
		"log.level (from CURTAIN_LOG__LEVEL)",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("curtain config stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if code != 1 || stdout.Len() > 0 {
		t.Errorf("curtain config: exit %d, stdout %q; want 1 and nothing printed", code, stdout.String())
	}
}

// TestPluginSettingsFromEnvironmentTyped: a built-in plugin's number or
// boolean setting can be set from the environment, which gives text; the
// schema's type is applied, and text settings (a password of digits) stay
// text. 'curtain config' refused "a JSON string is not a integer", and
// the plugin refused to start.
func TestPluginSettingsFromEnvironmentTyped(t *testing.T) {
	env := &cmdEnv{stdout: io.Discard, stderr: io.Discard, environ: []string{
		"CURTAIN_PLUGINS__COUNTER__BUILTIN=redis",
		"CURTAIN_PLUGINS__COUNTER__SETTINGS__URL=redis://127.0.0.1:6379/0",
		"CURTAIN_PLUGINS__COUNTER__SETTINGS__PASSWORD=12345",
		"CURTAIN_PLUGINS__COUNTER__SETTINGS__POOL_SIZE=10",
		"CURTAIN_PLUGINS__SHARDS__0__BUILTIN=memory",
		"CURTAIN_PLUGINS__SHARDS__0__SETTINGS__MAX_BACKLOG=500",
	}}
	cfg, err := newConfigFlags("config", env).parse(env, nil)
	if err != nil {
		t.Fatal(err)
	}
	counter, shard := cfg.Plugins.Counter.Settings, cfg.Plugins.Shards[0].Settings
	if counter["pool_size"] != int64(10) || counter["password"] != "12345" || shard["max_backlog"] != int64(500) {
		t.Errorf("counter settings %#v, shard settings %#v; want pool_size and max_backlog numbers, password text", counter, shard)
	}
	if err := checkPluginSettings(cfg.Config); err != nil {
		t.Errorf("checkPluginSettings = %v", err)
	}
}

// TestConfigSaysWhatServesEachKind: after the layer that chose it, each
// kind's line names what serves it (the store driver, each plugin's
// source), secrets masked; only the layer was printed.
func TestConfigSaysWhatServesEachKind(t *testing.T) {
	environ := []string{
		"DATABASE_URL=postgres://app:s3cret@db:5432/links",
		"REDIS_URL=redis://:pw@counter:6379/0",
		"REDIS_SHARDS=a:6379,b:6379",
		"CURTAIN_STORE__SQLITE_PATH=unused.db",
	}
	var stdout, stderr strings.Builder
	if err := run(t.Context(), []string{"config"}, environ, &stdout, &stderr); err != nil {
		t.Fatalf("curtain config: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{
		"#   store     DATABASE_URL: postgres postgres://app:xxxxx@db:5432/links\n",
		"#   counter   REDIS_URL: builtin redis\n",
		"#   shards    REDIS_SHARDS: shard0: builtin redis; shard1: builtin redis\n",
		"#   cache     default (embedded): builtin memory\n",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("curtain config lacks %q:\n%s", want, stdout.String())
		}
	}
	if strings.Contains(stdout.String(), "s3cret") {
		t.Errorf("curtain config prints the database password:\n%s", stdout.String())
	}
}

// TestPostgresConnectHints: a store URL naming a database or a role the
// server does not have fails with a hint naming the fix; there was none.
func TestPostgresConnectHints(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	base, err := url.Parse(testenv.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	noDB, noRole := *base, *base
	noDB.Path = "/curtain_no_such_database"
	noRole.User = url.UserPassword("curtain_no_such_role", "x")
	for _, tt := range []struct {
		url  *url.URL
		want string
	}{
		{&noDB, "hint: the database does not exist: create it"},
		{&noRole, "hint: PostgreSQL refused the user or password"},
	} {
		var stdout, stderr strings.Builder
		code := exitCode(run(t.Context(), []string{"migrate"}, []string{"DATABASE_URL=" + tt.url.String()}, &stdout, &stderr), &stderr)
		if code != 1 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("curtain migrate on %s: exit %d, stderr:\n%s\nwant 1 and %q", tt.url.Redacted(), code, stderr.String(), tt.want)
		}
	}
}

// TestConfigMasksWebhookSecrets: `curtain config` prints webhooks.secret
// and webhooks.previous_secret masked, and refuses a previous secret equal
// to the secret, naming the setting and showing neither.
func TestConfigMasksWebhookSecrets(t *testing.T) {
	const secret, previous = "new-webhook-secret-0123456789", "old-webhook-secret-9876543210"
	environ := []string{
		"CURTAIN_WEBHOOKS__URL=https://hooks.example.com/curtain",
		"CURTAIN_WEBHOOKS__SECRET=" + secret,
		"CURTAIN_WEBHOOKS__PREVIOUS_SECRET=" + previous,
	}
	var stdout, stderr strings.Builder
	if err := run(t.Context(), []string{"config"}, environ, &stdout, &stderr); err != nil {
		t.Fatalf("curtain config: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	if strings.Contains(out, secret) || strings.Contains(out, previous) {
		t.Errorf("curtain config prints a webhook secret:\n%s", out)
	}
	for _, want := range []string{"  secret: '*****'\n", "  previous_secret: '*****'\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("curtain config lacks %q:\n%s", want, out)
		}
	}
	stdout.Reset()
	stderr.Reset()
	environ[2] = "CURTAIN_WEBHOOKS__PREVIOUS_SECRET=" + secret
	code := exitCode(run(t.Context(), []string{"config"}, environ, &stdout, &stderr), &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "webhooks.previous_secret (from CURTAIN_WEBHOOKS__PREVIOUS_SECRET)") || strings.Contains(stderr.String(), secret) {
		t.Errorf("curtain config with previous_secret = secret: exit %d, stderr:\n%s", code, stderr.String())
	}
}
