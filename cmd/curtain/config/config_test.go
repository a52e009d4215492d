package config

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadDefault(t *testing.T) {
	got, err := Load(Sources{Environ: []string{"HOSTNAME=probe-host"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Store.Driver != "sqlite" || got.Store.SQLitePath != "curtain.db" {
		t.Errorf("store = %+v, want the embedded SQLite default", got.Store)
	}
	if got.Plugins.Counter.Builtin != "memory" || len(got.Plugins.Shards) != 1 || got.Plugins.Shards[0].Name != "shard0" {
		t.Errorf("plugins = %+v, want memory plugins and one shard0", got.Plugins)
	}
	if got.InstanceID != "probe-host" {
		t.Errorf("InstanceID = %q, want probe-host", got.InstanceID)
	}
	if got.Why["counter"] != "default (embedded)" {
		t.Errorf("Why[counter] = %q", got.Why["counter"])
	}
}

func TestLoadReferenceEnvironment(t *testing.T) {
	got, err := Load(Sources{Environ: []string{
		"DATABASE_URL=postgresql://postgres:postgres@db:5432/hackathon_db",
		"REDIS_URL=redis://redis:6379/0",
		"CACHE_REDIS_URL=redis://redis_cache:6379/0",
		"REDIS_SHARDS= redis_shard0:6379, ,redis_shard1:6379",
		"REDIS_SOCKET_TIMEOUT_SECONDS=0.05",
		"ENABLE_INCIDENT_DEBUG_ROUTES=TRUE",
		"STREAM_BLOCK_MS=5000",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Store.Driver != "postgres" || got.Store.PostgresURL.Reveal() != "postgresql://postgres:postgres@db:5432/hackathon_db" {
		t.Errorf("store = %+v", got.Store)
	}
	if got.Why["store"] != "DATABASE_URL" || got.Why["shards"] != "REDIS_SHARDS" || got.Why["cache"] != "CACHE_REDIS_URL" {
		t.Errorf("Why = %v", got.Why)
	}
	if len(got.Plugins.Shards) != 2 || got.Plugins.Shards[1].Name != "shard1" ||
		got.Plugins.Shards[1].Settings["url"] != "redis://redis_shard1:6379/0" ||
		got.Plugins.Shards[1].Settings["read_timeout"] != "50ms" {
		t.Errorf("shards = %+v", got.Plugins.Shards)
	}
	if got.Plugins.Counter.Builtin != "redis" || got.Plugins.Counter.Settings["url"] != "redis://redis:6379/0" {
		t.Errorf("counter = %+v", got.Plugins.Counter)
	}
	if !got.DebugRoutes || got.Consumer.Block != 5*time.Second {
		t.Errorf("debug=%v block=%v", got.DebugRoutes, got.Consumer.Block)
	}
	if got.Plugins.AlertSink.Builtin != "memory" {
		t.Errorf("alertsink = %+v, want the embedded default", got.Plugins.AlertSink)
	}
}

// TestLoadShardURLs: a REDIS_SHARDS entry may be a URL, for a shard with
// a password or TLS, beside host:port entries.
func TestLoadShardURLs(t *testing.T) {
	got, err := Load(Sources{Environ: []string{"REDIS_SHARDS=rediss://:s3cret@shard0.example:6380, shard1:6379 ,redis://shard2:6379/2"}})
	if err != nil {
		t.Fatal(err)
	}
	var urls []any
	for _, sh := range got.Plugins.Shards {
		urls = append(urls, sh.Settings["url"])
	}
	want := []any{"rediss://:s3cret@shard0.example:6380/0", "redis://shard1:6379/0", "redis://shard2:6379/2"}
	if !slices.Equal(urls, want) || got.Plugins.Shards[2].Name != "shard2" {
		t.Errorf("shard urls = %v, want %v", urls, want)
	}
}

func TestLoadSingleShardFromRedisURL(t *testing.T) {
	got, err := Load(Sources{Environ: []string{"REDIS_URL=redis://:pw@redis/3"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Plugins.Shards); n != 1 || got.Plugins.Shards[0].Settings["url"] != "redis://:pw@redis/0" {
		t.Errorf("shards = %+v, want one shard on database 0 of REDIS_URL", got.Plugins.Shards)
	}
}

// TestLoadFileShardsKeptWithRedisURL checks that REDIS_URL, which implies
// the single click shard only while nothing else lists shards, leaves the
// shards of a config file alone.
func TestLoadFileShardsKeptWithRedisURL(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	yaml := "plugins:\n  shards:\n    - builtin: redis\n      settings: {url: \"redis://a:6379/0\"}\n    - builtin: redis\n      settings: {url: \"redis://b:6379/0\"}\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(Sources{File: file, Environ: []string{"REDIS_URL=redis://counter:6379/0"}})
	if err != nil {
		t.Fatal(err)
	}
	var urls []any
	for _, s := range got.Plugins.Shards {
		urls = append(urls, s.Settings["url"])
	}
	if diff := cmp.Diff([]any{"redis://a:6379/0", "redis://b:6379/0"}, urls); diff != "" {
		t.Errorf("shard urls (-want +got):\n%s", diff)
	}
	if got.Why["shards"] != "config file "+file || got.Plugins.Counter.Settings["url"] != "redis://counter:6379/0" {
		t.Errorf("why shards = %q, counter = %+v; want the file's shards and REDIS_URL's counter", got.Why["shards"], got.Plugins.Counter)
	}
	// REDIS_SHARDS still overrides the file, as every variable does.
	got, err = Load(Sources{File: file, Environ: []string{"REDIS_URL=redis://counter:6379/0", "REDIS_SHARDS=c:6379"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Plugins.Shards); n != 1 || got.Plugins.Shards[0].Settings["url"] != "redis://c:6379/0" {
		t.Errorf("shards = %+v, want REDIS_SHARDS's one shard", got.Plugins.Shards)
	}
}

func TestLoadLayersOrder(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	yaml := "http:\n  addr: \":7000\"\nplugins:\n  counter:\n    path: /opt/counter\n    sha256: " + strings.Repeat("a", 64) + "\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(Sources{File: file, Environ: []string{"CURTAIN_HTTP__ADDR=:7001", "CURTAIN_CLICKS__BATCH_SIZE=64", "CURTAIN_CONSUMER__WRITERS=3"}, Flags: map[string]any{"http.addr": ":7002"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.HTTP.Addr != ":7002" || got.Clicks.BatchSize != 64 || got.Consumer.Writers != 3 {
		t.Errorf("addr=%q batch=%d writers=%d, want flags over env over file", got.HTTP.Addr, got.Clicks.BatchSize, got.Consumer.Writers)
	}
	if got.Plugins.Counter.Path != "/opt/counter" || got.Plugins.Counter.Builtin != "" {
		t.Errorf("counter = %+v, want the file's plugin replacing the default whole", got.Plugins.Counter)
	}
	if !strings.HasPrefix(got.Why["counter"], "config file") {
		t.Errorf("Why[counter] = %q", got.Why["counter"])
	}
}

// TestStoreQueryTimeout: store.query_timeout is 5s by default, read from
// CURTAIN_STORE__QUERY_TIMEOUT, and 0 turns the bound off.
func TestStoreQueryTimeout(t *testing.T) {
	for _, tt := range []struct {
		environ []string
		want    time.Duration
	}{
		{nil, 5 * time.Second},
		{[]string{"CURTAIN_STORE__QUERY_TIMEOUT=300ms"}, 300 * time.Millisecond},
		{[]string{"CURTAIN_STORE__QUERY_TIMEOUT=0"}, 0},
	} {
		got, err := Load(Sources{Environ: tt.environ})
		if err != nil {
			t.Fatalf("%v: %v", tt.environ, err)
		}
		if got.Store.QueryTimeout != tt.want {
			t.Errorf("%v: store.query_timeout = %v, want %v", tt.environ, got.Store.QueryTimeout, tt.want)
		}
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		yaml    string
		want    []string
	}{
		{"unknown key", nil, "htp:\n  addr: x\n", []string{"htp"}},
		{"bad driver and level", []string{"CURTAIN_STORE__DRIVER=mysql", "LOG_LEVEL=loud"}, "", []string{"store.driver", "log.level"}},
		{"postgres without url", []string{"CURTAIN_STORE__DRIVER=postgres"}, "", []string{"store.postgres_url"}},
		{"bad shard entry", []string{"REDIS_SHARDS=nohostport"}, "", []string{"REDIS_SHARDS"}},
		{"shard port out of range", []string{"REDIS_SHARDS=127.0.0.1:6379,127.0.0.1:99999"}, "", []string{`REDIS_SHARDS: invalid entry "127.0.0.1:99999"`, "1 to 65535"}},
		{"redis url port out of range", []string{"REDIS_URL=redis://127.0.0.1:99999/0", "CACHE_REDIS_URL=redis://:pw@127.0.0.1:0/0"}, "", []string{"REDIS_URL: invalid value", "CACHE_REDIS_URL: invalid value", "1 to 65535"}},
		{"shard url port out of range", []string{"REDIS_SHARDS=redis://:pw@127.0.0.1:99999/0"}, "", []string{`REDIS_SHARDS: invalid entry "redis://:xxxxx@127.0.0.1:99999/0"`, "1 to 65535"}},
		{"shard url scheme", []string{"REDIS_SHARDS=http://127.0.0.1:6379"}, "", []string{`REDIS_SHARDS: invalid entry "http://127.0.0.1:6379"`, "rediss://"}},
		{"shard port missing", []string{"REDIS_SHARDS=redis_shard0:"}, "", []string{`REDIS_SHARDS: invalid entry "redis_shard0:"`}},
		{"shard listed twice", []string{"REDIS_SHARDS=127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7001"}, "", []string{"plugins.shards.2 (from REDIS_SHARDS)", "same shard as plugins.shards.0"}},
		{"shard listed twice, once as a URL", []string{"REDIS_SHARDS=127.0.0.1:7001,redis://127.0.0.1:7001"}, "", []string{"plugins.shards.1 (from REDIS_SHARDS)", "same shard as plugins.shards.0"}},
		{"shard file entry twice", nil, "plugins:\n  shards:\n    - builtin: redis\n      settings: {url: \"redis://:pw@10.0.0.1:6379/0\"}\n    - builtin: redis\n      settings: {url: \"redis://:pw@10.0.0.1:6379/0\"}\n", []string{"plugins.shards.1", "same shard as plugins.shards.0", "xxxxx@10.0.0.1"}},
		{"bad timeout", []string{"REDIS_SOCKET_TIMEOUT_SECONDS=fast"}, "", []string{"REDIS_SOCKET_TIMEOUT_SECONDS"}},
		{"bad duration", []string{"CURTAIN_CLICKS__FLUSH_INTERVAL=soon"}, "", []string{"flush_interval"}},
		{"no consumer writers", []string{"CURTAIN_CONSUMER__WRITERS=0"}, "", []string{"consumer.writers"}},
		{"no enqueue wait", []string{"CURTAIN_CLICKS__ENQUEUE_WAIT=0s"}, "", []string{"clicks.enqueue_wait"}},
		{"negative query timeout", []string{"CURTAIN_STORE__QUERY_TIMEOUT=-1s"}, "", []string{"store.query_timeout"}},
		{"bad query timeout", []string{"CURTAIN_STORE__QUERY_TIMEOUT=soon"}, "", []string{"query_timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := Sources{Environ: tt.environ}
			if tt.yaml != "" {
				src.File = filepath.Join(t.TempDir(), "c.yaml")
				if err := os.WriteFile(src.File, []byte(tt.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(src)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

func TestYAMLMasksSecrets(t *testing.T) {
	got, err := Load(Sources{Environ: []string{
		"DATABASE_URL=postgres://app:hunter2@db:5432/curtain",
		"CACHE_REDIS_URL=redis://:s3cret@cache:6379/0",
	}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := got.YAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"hunter2", "s3cret"} {
		if strings.Contains(string(out), leak) {
			t.Errorf("config output leaks %q:\n%s", leak, out)
		}
	}
	if !strings.Contains(string(out), "db:5432") {
		t.Errorf("config output lost the host:\n%s", out)
	}
}

func TestLoadDebugRoutesSwitch(t *testing.T) {
	for v, want := range map[string]bool{"true": true, "TRUE": true, "1": true, "yes": true, "false": false, "no": false} {
		got, err := Load(Sources{Environ: []string{"ENABLE_INCIDENT_DEBUG_ROUTES=" + v}})
		if err != nil {
			t.Fatal(err)
		}
		if got.DebugRoutes != want {
			t.Errorf("ENABLE_INCIDENT_DEBUG_ROUTES=%s: debug_routes = %v, want %v", v, got.DebugRoutes, want)
		}
	}
}

// TestLoadNamesTheVariableOfABadValue: a value the configuration refuses
// is reported with the variable it came from, before anything starts.
func TestLoadNamesTheVariableOfABadValue(t *testing.T) {
	for _, tt := range []struct{ env, want string }{
		{"LOG_LEVEL=bogus", "log.level (from LOG_LEVEL)"},
		{"CURTAIN_LOG__FORMAT=xml", "log.format (from CURTAIN_LOG__FORMAT)"},
		{"DATABASE_PORT=abc", "DATABASE_PORT"},
		{"REDIS_URL=http://x", "REDIS_URL"},
		{"CACHE_REDIS_URL=localhost:6380", "CACHE_REDIS_URL"},
	} {
		_, err := Load(Sources{Environ: []string{tt.env}})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%s) error = %v, want one naming %s", tt.env, err, tt.want)
		}
	}
	_, err := Load(Sources{Environ: []string{"REDIS_URL=http://u:hunter2@x"}})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a refused REDIS_URL: error = %v, want one without its password", err)
	}
}

// TestLoadPythonLogLevels: LOG_LEVEL takes every level name of Python's
// logging, as the reference's does.
func TestLoadPythonLogLevels(t *testing.T) {
	for v, want := range map[string]string{"DEBUG": "debug", "INFO": "info", "WARNING": "warning", "WARN": "warn",
		"ERROR": "error", "CRITICAL": "error", "FATAL": "error", "NOTSET": "debug", " info ": "info"} {
		got, err := Load(Sources{Environ: []string{"LOG_LEVEL=" + v}})
		if err != nil {
			t.Errorf("LOG_LEVEL=%q: %v", v, err)
			continue
		}
		if got.Log.Level != want {
			t.Errorf("LOG_LEVEL=%q: log.level = %q, want %q", v, got.Log.Level, want)
		}
	}
}

func TestLoadIgnoresPluginAndTestVariables(t *testing.T) {
	_, err := Load(Sources{Environ: []string{"CURTAIN_PLUGIN_LOG_LEVEL=debug", "CURTAIN_PLUGIN=x", "CURTAIN_TEST_POSTGRES_URL=postgres://x"}})
	if err != nil {
		t.Errorf("Load with plugin and test variables set: %v", err)
	}
}

func TestLoadPluginsVariables(t *testing.T) {
	got, err := Load(Sources{Environ: []string{"CURTAIN_PLUGINS__CALL_TIMEOUT=500ms", "CURTAIN_PLUGINS__START_TIMEOUT=3s"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Plugins.CallTimeout != 500*time.Millisecond || got.Plugins.StartTimeout != 3*time.Second {
		t.Errorf("call_timeout=%v start_timeout=%v, want 500ms and 3s from CURTAIN_PLUGINS__*", got.Plugins.CallTimeout, got.Plugins.StartTimeout)
	}
}

func TestLoadReportsEveryTypeErrorWithItsVariable(t *testing.T) {
	_, err := Load(Sources{Environ: []string{
		"CURTAIN_CLICKS__FLUSH_INTERVAL=soon",
		"CURTAIN_HTTP__MAX_BODY_BYTES=big",
		"CURTAIN_CONSUMER__IN_SERVE=perhaps",
	}})
	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	for _, want := range []string{
		"clicks.flush_interval", "CURTAIN_CLICKS__FLUSH_INTERVAL", `"soon"`, "duration such as",
		"http.max_body_bytes", "CURTAIN_HTTP__MAX_BODY_BYTES", "whole number",
		"consumer.in_serve", "CURTAIN_CONSUMER__IN_SERVE", "true or false",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

// TestLoadReportsEveryProblemAtOnce: bad reference variables, a CURTAIN_*
// value Validate refuses and a bad LOG_LEVEL are all reported together,
// not only the first.
func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	_, err := Load(Sources{Environ: []string{
		"DATABASE_PORT=abc", "STREAM_BLOCK_MS=-1", "NOTIFIER_POLL_SECONDS=x",
		"CURTAIN_CLICKS__DURABILITY=slow", "LOG_LEVEL=LOUD",
	}})
	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	for _, want := range []string{"DATABASE_PORT", "STREAM_BLOCK_MS", "NOTIFIER_POLL_SECONDS",
		"clicks.durability (from CURTAIN_CLICKS__DURABILITY)", "log.level (from LOG_LEVEL)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

// TestLoadStreamBlockZero: STREAM_BLOCK_MS=0, the reference's "block until
// entries come", keeps the default bound, since a read returns as soon as
// clicks come anyway.
func TestLoadStreamBlockZero(t *testing.T) {
	got, err := Load(Sources{Environ: []string{"STREAM_BLOCK_MS=0"}})
	if err != nil {
		t.Fatalf("STREAM_BLOCK_MS=0: %v", err)
	}
	if got.Consumer.Block != Default().Consumer.Block {
		t.Errorf("consumer.block = %v, want the default %v", got.Consumer.Block, Default().Consumer.Block)
	}
}

// TestLoadWarnsOnAnUnknownSection: a CURTAIN_* variable below a section
// Curtain does not have is a warning naming the variable, like any other
// unknown CURTAIN_* variable.
func TestLoadWarnsOnAnUnknownSection(t *testing.T) {
	got, err := Load(Sources{Environ: []string{"CURTAIN_FOO__BAR=1"}})
	if err != nil {
		t.Fatalf("Load = %v, want a warning only", err)
	}
	if len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], "CURTAIN_FOO__BAR") {
		t.Errorf("warnings = %q, want one naming CURTAIN_FOO__BAR", got.Warnings)
	}
}

func TestLoadRejectsNegativeShutdownTimeout(t *testing.T) {
	_, err := Load(Sources{Environ: []string{"CURTAIN_HTTP__SHUTDOWN_TIMEOUT=-5s"}})
	if err == nil || !strings.Contains(err.Error(), "http.shutdown_timeout") {
		t.Fatalf("Load = %v, want an error naming http.shutdown_timeout", err)
	}
}

// TestLoadNamesTheRateLimitFieldAndItsVariable: a negative rate limit
// field is reported under its own key with the variable that set it, not
// as the whole section "from default".
func TestLoadNamesTheRateLimitFieldAndItsVariable(t *testing.T) {
	for env, want := range map[string]string{
		"CURTAIN_RATE_LIMITS__REDIRECT__REQUESTS=-1": "rate_limits.redirect.requests (from CURTAIN_RATE_LIMITS__REDIRECT__REQUESTS): invalid value -1",
		"CURTAIN_RATE_LIMITS__PASSWORD__REQUESTS=-3": "rate_limits.password.requests (from CURTAIN_RATE_LIMITS__PASSWORD__REQUESTS): invalid value -3",
		"CURTAIN_RATE_LIMITS__CREATE__BURST=-2":      "rate_limits.create.burst (from CURTAIN_RATE_LIMITS__CREATE__BURST): invalid value -2",
		"CURTAIN_RATE_LIMITS__AUTH__BURST=-4":        "rate_limits.auth.burst (from CURTAIN_RATE_LIMITS__AUTH__BURST): invalid value -4",
	} {
		_, err := Load(Sources{Environ: []string{env}})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%s) = %v, want %q", env, err, want)
		}
	}
}

// TestLoadWarnsOnUnknownVariables: a Kubernetes Service named curtain
// injects CURTAIN_PORT=tcp://… and friends; they must not stop the pod.
func TestLoadWarnsOnUnknownVariables(t *testing.T) {
	got, err := Load(Sources{Environ: []string{
		"CURTAIN_PORT=tcp://10.0.0.1:80",
		"CURTAIN_SERVICE_HOST=10.0.0.1",
		"CURTAIN_PORT_80_TCP_ADDR=10.0.0.1",
		"CURTAIN_HTTP__ADDR=:7000",
	}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got.HTTP.Addr != ":7000" {
		t.Errorf("http.addr = %q, want :7000", got.HTTP.Addr)
	}
	joined := strings.Join(got.Warnings, "\n")
	for _, name := range []string{"CURTAIN_PORT", "CURTAIN_SERVICE_HOST", "CURTAIN_PORT_80_TCP_ADDR"} {
		if !strings.Contains(joined, name) {
			t.Errorf("no warning names %s:\n%s", name, joined)
		}
	}
	// The same mistake in a file stays an error.
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("http:\n  adr: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Sources{File: file}); err == nil || !strings.Contains(err.Error(), "http.adr") || !strings.Contains(err.Error(), "addr") {
		t.Errorf("Load(file with http.adr) = %v, want an error naming http.adr and the known keys", err)
	}
}

func TestYAMLMasksSecretsByTypeAndSettingsByName(t *testing.T) {
	got, out := printedConfig(t, "store:\n  driver: postgres\n  postgres_url: postgres://app@db/curtain?password=hunter2\n"+
		"plugins:\n  cache:\n    path: /bin/true\n    settings:\n      credentials: s3cret-creds\n      api_key: k3y\n      region: eu-west-1\n",
		"hunter2", "s3cret-creds", "k3y")
	if !strings.Contains(string(out), "eu-west-1") {
		t.Errorf("config output masked a plain setting:\n%s", out)
	}
	text, err := got.Store.PostgresURL.MarshalText()
	if err != nil || strings.Contains(string(text), "hunter2") {
		t.Errorf("Secret.MarshalText = %q, %v", text, err)
	}
}

func TestLoadClickDurability(t *testing.T) {
	got, err := Load(Sources{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Clicks.Durability != DurabilityFast || got.Clicks.AckTimeout != 3*time.Second {
		t.Errorf("default durability %q, ack_timeout %v; want fast and 3s", got.Clicks.Durability, got.Clicks.AckTimeout)
	}
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("clicks:\n  durability: durable\n  ack_timeout: 1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = Load(Sources{File: file})
	if err != nil {
		t.Fatal(err)
	}
	if got.Clicks.Durability != DurabilityDurable || got.Clicks.AckTimeout != time.Second {
		t.Errorf("from the file: durability %q, ack_timeout %v; want durable and 1s", got.Clicks.Durability, got.Clicks.AckTimeout)
	}
	got, err = Load(Sources{Environ: []string{"CURTAIN_CLICKS__DURABILITY=durable"}})
	if err != nil || got.Clicks.Durability != DurabilityDurable {
		t.Errorf("CURTAIN_CLICKS__DURABILITY=durable: %q, %v", got.Clicks.Durability, err)
	}
	_, err = Load(Sources{Environ: []string{"CURTAIN_CLICKS__DURABILITY=safe"}})
	if err == nil || !strings.Contains(err.Error(), "clicks.durability") || !strings.Contains(err.Error(), `"durable"`) {
		t.Errorf("durability safe: %v, want an error naming clicks.durability and its values", err)
	}
}

func TestLoadClickEvents(t *testing.T) {
	got, err := Load(Sources{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Clicks.Events != EventsStream || got.Clicks.EventsInterval != 25*time.Millisecond {
		t.Errorf("default events %q, events_interval %v; want stream and 25ms", got.Clicks.Events, got.Clicks.EventsInterval)
	}
	got, err = Load(Sources{Environ: []string{"CURTAIN_CLICKS__EVENTS=direct", "CURTAIN_CLICKS__EVENTS_INTERVAL=250ms"}})
	if err != nil || got.Clicks.Events != EventsDirect || got.Clicks.EventsInterval != 250*time.Millisecond {
		t.Errorf("CURTAIN_CLICKS__EVENTS=direct, _INTERVAL=250ms: %q, %v, %v", got.Clicks.Events, got.Clicks.EventsInterval, err)
	}
	for env, key := range map[string]string{
		"CURTAIN_CLICKS__EVENTS=inline":        "clicks.events",
		"CURTAIN_CLICKS__EVENTS_INTERVAL=-1ms": "clicks.events_interval",
	} {
		_, err = Load(Sources{Environ: []string{env}})
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: %v, want an error naming %s", env, err, key)
		}
	}
}

func TestMaskURLs(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://app:hunter2@db:5432/curtain?sslmode=disable":              "postgres://app:xxxxx@db:5432/curtain?xxxxx",
		"redis://:s3cret@cache:6379/0":                                        "redis://:xxxxx@cache:6379/0",
		"https://discord.com/api/webhooks/123456/AbCdEf-token":                "https://discord.com/api/webhooks/xxxxx",
		"https://hooks.slack.com/services/T01ABC/B02DEF/abcdefSECRETtoken123": "https://hooks.slack.com/services/xxxxx",
		"https://webhook.site/6f1c2a9e-0d3b-4c55-9e7a-1b2c3d4e5f60":           "https://webhook.site/xxxxx",
		"https://alerts.example.com/curtain":                                  "https://alerts.example.com/curtain",
		"https://alerts.example.com":                                          "https://alerts.example.com",
		"not a url":                                                           "*****",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPostgresURLAloneSelectsPostgres: a PostgreSQL URL from any layer,
// with no driver set, selects the PostgreSQL store (it used to leave the
// default SQLite file in use, silently); an explicit driver still wins.
func TestPostgresURLAloneSelectsPostgres(t *testing.T) {
	for _, tt := range []struct {
		name string
		src  Sources
		want string
	}{
		{"variable", Sources{Environ: []string{"CURTAIN_STORE__POSTGRES_URL=postgres://db/curtain"}}, "postgres"},
		{"flag", Sources{Flags: map[string]any{"store.postgres_url": "postgres://db/curtain"}}, "postgres"},
		{"explicit sqlite wins", Sources{Environ: []string{"CURTAIN_STORE__POSTGRES_URL=postgres://db/curtain", "CURTAIN_STORE__DRIVER=sqlite"}}, "sqlite"},
		{"nothing", Sources{}, "sqlite"},
	} {
		got, err := Load(tt.src)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got.Store.Driver != tt.want {
			t.Errorf("%s: store.driver = %q, want %q", tt.name, got.Store.Driver, tt.want)
		}
	}
}

// TestLoadRejectsBadListenAddresses: a listen address without a port is
// refused with the configuration's other problems, naming its key, not
// after the plugins started.
func TestLoadRejectsBadListenAddresses(t *testing.T) {
	for _, tt := range []struct{ env, key string }{
		{"CURTAIN_HTTP__ADDR=bogus", "http.addr"},
		{"CURTAIN_HTTP__ADDR=:99999", "http.addr"},
		{"CURTAIN_NOTIFY__ADDR=8080", "notify.addr"},
		{"CURTAIN_HTTP__PPROF_ADDR=localhost", "http.pprof_addr"},
	} {
		_, err := Load(Sources{Environ: []string{tt.env}})
		if err == nil || !strings.Contains(err.Error(), tt.key+" (from CURTAIN_") {
			t.Errorf("%s: Load = %v, want an error naming %s", tt.env, err, tt.key)
		}
	}
	for _, addr := range []string{":5000", "127.0.0.1:0", "[::1]:5000", "localhost:http"} {
		if _, err := Load(Sources{Environ: []string{"CURTAIN_HTTP__ADDR=" + addr}}); err != nil {
			t.Errorf("CURTAIN_HTTP__ADDR=%s: %v", addr, err)
		}
	}
}

// TestLoadDatabasePartsPassword: DATABASE_PASSWORD set empty means no
// password, as the reference's os.environ.get read it; unset takes the
// reference's default postgres. The empty value used to count as unset.
func TestLoadDatabasePartsPassword(t *testing.T) {
	for _, tt := range []struct {
		name    string
		environ []string
		want    string
	}{
		{"unset", []string{"DATABASE_HOST=db"}, "postgres://postgres:postgres@db:5432/hackathon_db"},
		{"empty", []string{"DATABASE_HOST=db", "DATABASE_PASSWORD="}, "postgres://postgres@db:5432/hackathon_db"},
		{"set", []string{"DATABASE_HOST=db", "DATABASE_PASSWORD=s3cret"}, "postgres://postgres:s3cret@db:5432/hackathon_db"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(Sources{Environ: tt.environ})
			if err != nil {
				t.Fatalf("Load(%q): %v", tt.environ, err)
			}
			if got.Store.Driver != "postgres" || got.Store.PostgresURL.Reveal() != tt.want {
				t.Errorf("Load(%q) store = %s %q, want postgres %q", tt.environ, got.Store.Driver, got.Store.PostgresURL.Reveal(), tt.want)
			}
		})
	}
}

// TestLoadRejectsDurationsWithoutUnit: a YAML number for a duration was
// taken as nanoseconds, so "shutdown_timeout: 10" stopped at once instead
// of after 10 s; only 0, the same in every unit, is accepted bare.
func TestLoadRejectsDurationsWithoutUnit(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("http:\n  shutdown_timeout: 10\nclicks:\n  flush_interval: 1.5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(Sources{File: bad})
	for _, want := range []string{
		`http.shutdown_timeout (from config file ` + bad + `): invalid value "10": write the unit, such as "10s"`,
		`clicks.flush_interval (from config file ` + bad + `): invalid value "1.5": write the unit`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load = %v, want an error containing %q", err, want)
		}
	}
	zero := filepath.Join(dir, "zero.yaml")
	if err := os.WriteFile(zero, []byte("clicks:\n  near_cache_ttl: 0\nhttp:\n  shutdown_timeout: 3s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(Sources{File: zero})
	if err != nil {
		t.Fatal(err)
	}
	if got.Clicks.NearCacheTTL != 0 || got.HTTP.ShutdownTimeout != 3*time.Second {
		t.Errorf("near_cache_ttl = %v, shutdown_timeout = %v; want 0 and 3s", got.Clicks.NearCacheTTL, got.HTTP.ShutdownTimeout)
	}
}

// TestLoadIndentsEveryProblem: each problem is a line of its own,
// indented under "invalid configuration:"; only the first was indented.
func TestLoadIndentsEveryProblem(t *testing.T) {
	_, err := Load(Sources{Environ: []string{"CURTAIN_CLICKS__DURABILITY=slow", "LOG_LEVEL=LOUD", "CURTAIN_CONSUMER__WRITERS=0"}})
	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	lines := strings.Split(err.Error(), "\n")
	if lines[0] != "invalid configuration:" || len(lines) != 4 {
		t.Fatalf("error = %q, want a heading and three problems", err)
	}
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "  ") || strings.HasPrefix(l, "   ") {
			t.Errorf("line %q is not indented by two spaces", l)
		}
	}
}

// TestLoadShardsFromNumberedVariables: CURTAIN_PLUGINS__SHARDS__N__…
// sets the click shards from the environment, replacing the default list
// whole; they were refused as "use a list", blamed on the default. A gap
// in the numbers is refused naming the variable.
func TestLoadShardsFromNumberedVariables(t *testing.T) {
	got, err := Load(Sources{Environ: []string{
		"CURTAIN_PLUGINS__SHARDS__0__BUILTIN=memory",
		"CURTAIN_PLUGINS__SHARDS__1__BUILTIN=redis",
		"CURTAIN_PLUGINS__SHARDS__1__SETTINGS__URL=redis://10.0.0.2:6379/0",
	}})
	if err != nil {
		t.Fatal(err)
	}
	var shards []string
	for _, s := range got.Plugins.Shards {
		shards = append(shards, s.Name+" "+s.Builtin+" "+fmt.Sprint(s.Settings["url"]))
	}
	if diff := cmp.Diff([]string{"shard0 memory <nil>", "shard1 redis redis://10.0.0.2:6379/0"}, shards); diff != "" {
		t.Errorf("shards (-want +got):\n%s", diff)
	}
	if got.Why["shards"] != "CURTAIN_* environment" {
		t.Errorf("Why[shards] = %q, want the CURTAIN_* environment", got.Why["shards"])
	}
	_, err = Load(Sources{Environ: []string{"CURTAIN_PLUGINS__SHARDS__1__BUILTIN=redis"}})
	if want := "plugins.shards (from CURTAIN_PLUGINS__SHARDS__1__BUILTIN): invalid value \"[1]\": number the entries 0, 1, 2"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("a gap: Load = %v, want an error containing %q", err, want)
	}
}

// TestLoadKeepsWarningsWhenRefused: a refused configuration still carries
// the warnings of unknown variables, since a mistyped name often
// explains the problem; they were dropped with the error.
func TestLoadKeepsWarningsWhenRefused(t *testing.T) {
	for _, environ := range [][]string{
		{"CURTAIN_HTTP__ADRR=:1", "CURTAIN_LOG__LEVEL=loud"},
		{"CURTAIN_HTTP__ADRR=:1", "CURTAIN_CLICKS__BATCH_SIZE=many"},
	} {
		got, err := Load(Sources{Environ: environ})
		if err == nil || len(got.Warnings) != 1 || !strings.Contains(got.Warnings[0], "CURTAIN_HTTP__ADRR") {
			t.Errorf("Load(%q) = warnings %q, error %v; want an error and the warning naming CURTAIN_HTTP__ADRR", environ, got.Warnings, err)
		}
	}
}

// TestYAMLMasksListsOfSecrets: a list under a secret's key (urls,
// tokens) is masked entry by entry; it printed in clear, passwords and
// webhook tokens included. Lists under other keys stay as they are.
func TestYAMLMasksListsOfSecrets(t *testing.T) {
	_, out := printedConfig(t, "plugins:\n  alertsink:\n    path: /bin/true\n    settings:\n"+
		"      urls: [\"https://u:hunter2@hooks.example.com/services/T0/B0/tok3n\"]\n"+
		"      tokens: [\"plain-t0ken\"]\n      regions: [eu-west-1]\n",
		"hunter2", "tok3n", "plain-t0ken")
	if !strings.Contains(string(out), "eu-west-1") || !strings.Contains(string(out), "https://u:xxxxx@hooks.example.com/services/xxxxx") {
		t.Errorf("config output, want the region in clear and the URL masked:\n%s", out)
	}
}

// TestLoadSingleShardFromRedisSocket: a REDIS_URL on a Unix socket, which
// the variable accepts, also gives the single click shard (database 0 of
// the same socket); the shards silently stayed on the memory default.
func TestLoadSingleShardFromRedisSocket(t *testing.T) {
	got, err := Load(Sources{Environ: []string{"REDIS_URL=unix:///run/redis.sock?db=2"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Plugins.Shards); n != 1 || got.Plugins.Shards[0].Builtin != "redis" || got.Plugins.Shards[0].Settings["url"] != "unix:///run/redis.sock?db=0" {
		t.Errorf("shards = %+v, want one redis shard on database 0 of the socket", got.Plugins.Shards)
	}
}

// TestLoadSuggestsTheDoubleUnderscore: an unknown variable that names a
// key but for a single underscore where __ separates its parts is warned
// of with the variable meant; the warning listed only a section's keys.
func TestLoadSuggestsTheDoubleUnderscore(t *testing.T) {
	got, err := Load(Sources{Environ: []string{"CURTAIN_HTTP_ADDR=:1", "CURTAIN_RATE_LIMITS_REDIRECT__REQUESTS=3", "CURTAIN_SERVICE_HOST=10.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"CURTAIN_HTTP_ADDR":                      "did you mean CURTAIN_HTTP__ADDR ",
		"CURTAIN_RATE_LIMITS_REDIRECT__REQUESTS": "did you mean CURTAIN_RATE_LIMITS__REDIRECT__REQUESTS ",
		"CURTAIN_SERVICE_HOST":                   "known keys here",
	}
	if len(got.Warnings) != len(want) {
		t.Fatalf("warnings = %q, want %d", got.Warnings, len(want))
	}
	for _, w := range got.Warnings {
		name := strings.Fields(strings.TrimPrefix(w, "ignoring "))[0]
		if hint := want[strings.TrimSuffix(name, ":")]; hint == "" || !strings.Contains(w, hint) {
			t.Errorf("warning %q, want it to contain %q", w, hint)
		}
	}
}

// TestLoadRejectsNearCacheSizeBelowOne: a near_cache_size of 0 or less
// was accepted and silently became 4096 in the host; it is refused with
// the way to disable the near cache.
func TestLoadRejectsNearCacheSizeBelowOne(t *testing.T) {
	for _, v := range []string{"0", "-1"} {
		_, err := Load(Sources{Environ: []string{"CURTAIN_CLICKS__NEAR_CACHE_SIZE=" + v}})
		if want := "clicks.near_cache_size (from CURTAIN_CLICKS__NEAR_CACHE_SIZE): invalid value " + v + ": must be at least 1"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("near_cache_size %s: Load = %v, want an error containing %q", v, err, want)
		}
	}
}

// TestLoadChecksWebhookSettingsWhileOff: webhooks' numbers and events are
// checked without webhooks.url too; a negative batch size or an unknown
// family was accepted until webhooks were turned on.
func TestLoadChecksWebhookSettingsWhileOff(t *testing.T) {
	_, err := Load(Sources{Environ: []string{"CURTAIN_WEBHOOKS__BATCH_SIZE=-1", "CURTAIN_WEBHOOKS__MAX_ATTEMPTS=0", "CURTAIN_WEBHOOKS__EVENTS=links,klicks"}})
	for _, want := range []string{"webhooks.batch_size (from CURTAIN_WEBHOOKS__BATCH_SIZE)", "webhooks.max_attempts", "webhooks.events"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load = %v, want an error containing %q", err, want)
		}
	}
	if _, err := Load(Sources{}); err != nil {
		t.Errorf("Load of the defaults (webhooks off) = %v", err)
	}
}

// printedConfig loads the configuration file text yamlText and returns it
// with what `curtain config` prints of it, failing the test for each of
// leaks that the output shows.
func printedConfig(t *testing.T, yamlText string, leaks ...string) (Loaded, []byte) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte(yamlText), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(Sources{File: file})
	if err != nil {
		t.Fatal(err)
	}
	out, err := got.YAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range leaks {
		if strings.Contains(string(out), leak) {
			t.Errorf("config output leaks %q:\n%s", leak, out)
		}
	}
	return got, out
}

// TestWhyNamesTheLayerThatWon: a CURTAIN_* variable or a flag that
// replaces a backend the reference's variables chose is named as its
// chooser, not the reference's variable it overrode.
func TestWhyNamesTheLayerThatWon(t *testing.T) {
	got, err := Load(Sources{
		Environ: []string{
			"REDIS_URL=redis://redis:6379/0",
			"REDIS_SHARDS=redis_shard0:6379",
			"DATABASE_URL=postgres://db/curtain",
			"CURTAIN_PLUGINS__COUNTER__BUILTIN=memory",
			"CURTAIN_PLUGINS__SHARDS__0__BUILTIN=redis",
			"CURTAIN_PLUGINS__SHARDS__0__SETTINGS__URL=redis://:pw@redis_shard0:6379/0",
		},
		Flags:     map[string]any{"store.driver": "sqlite"},
		FlagNames: map[string]string{"store.driver": "store-driver"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"counter": "CURTAIN_* environment",
		"shards":  "CURTAIN_* environment",
		"store":   "flags",
		"cache":   "default (embedded)",
	}
	for kind, w := range want {
		if got.Why[kind] != w {
			t.Errorf("Why[%s] = %q, want %q", kind, got.Why[kind], w)
		}
	}
	// A SQLite path the PostgreSQL store ignores chooses nothing.
	got, err = Load(Sources{Environ: []string{"DATABASE_URL=postgres://db/curtain", "CURTAIN_STORE__SQLITE_PATH=unused.db"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Why["store"] != "DATABASE_URL" {
		t.Errorf("Why[store] = %q, want DATABASE_URL", got.Why["store"])
	}
}

// TestLoadWebhookPreviousSecret: webhooks.previous_secret is read from
// CURTAIN_WEBHOOKS__PREVIOUS_SECRET beside the secret, and refused, naming
// it, when it equals webhooks.secret or is set without one (webhooks on or
// off); it is masked in the printed configuration.
func TestLoadWebhookPreviousSecret(t *testing.T) {
	const url, secret, previous = "CURTAIN_WEBHOOKS__URL=https://hooks.example.com/curtain", "new-secret-0123456789abcdef", "old-secret-fedcba9876543210"
	got, err := Load(Sources{Environ: []string{url, "CURTAIN_WEBHOOKS__SECRET=" + secret, "CURTAIN_WEBHOOKS__PREVIOUS_SECRET=" + previous}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Webhooks.PreviousSecret.Reveal() != previous {
		t.Errorf("previous_secret = %q, want %q", got.Webhooks.PreviousSecret.Reveal(), previous)
	}
	out, err := got.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), previous) || !strings.Contains(string(out), "previous_secret: '*****'") {
		t.Errorf("config output, want previous_secret masked:\n%s", out)
	}
	for name, environ := range map[string][]string{
		"equal":            {url, "CURTAIN_WEBHOOKS__SECRET=" + secret, "CURTAIN_WEBHOOKS__PREVIOUS_SECRET=" + secret},
		"no secret":        {url, "CURTAIN_WEBHOOKS__PREVIOUS_SECRET=" + previous},
		"no secret, off":   {"CURTAIN_WEBHOOKS__PREVIOUS_SECRET=" + previous},
		"equal, from file": nil,
	} {
		src := Sources{Environ: environ}
		want := "webhooks.previous_secret (from CURTAIN_WEBHOOKS__PREVIOUS_SECRET): invalid value *****: "
		if environ == nil {
			file := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(file, []byte("webhooks:\n  secret: "+secret+"\n  previous_secret: "+secret+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			src = Sources{File: file}
			want = "webhooks.previous_secret (from config file " + file + "): invalid value *****: "
		}
		_, err := Load(src)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Load = %v, want an error containing %q", name, err, want)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), previous) {
			t.Errorf("%s: the error shows a secret: %v", name, err)
		}
		if name == "equal" && !strings.Contains(err.Error(), "it equals webhooks.secret") ||
			strings.HasPrefix(name, "no secret") && !strings.Contains(err.Error(), "set webhooks.secret too") {
			t.Errorf("%s: Load = %v, want the reason", name, err)
		}
	}
}
