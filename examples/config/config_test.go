// Package config_test loads each example configuration file with
// Curtain's own loader, so the examples cannot drift from the keys and
// rules `curtain --config FILE` enforces.
package config_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/curtainhq/curtain/cmd/curtain/config"
)

const pgURL = "postgres://curtain:curtain@127.0.0.1:5432/curtain?sslmode=disable"

func TestExampleFiles(t *testing.T) {
	embedded := config.Default()
	embedded.Plugins.Shards[0].Name = "shard0"

	tests := []struct {
		file string
		// want holds what the file chooses; InstanceID and Consumer.Name
		// are filled in from the loaded result (they come from the host
		// name).
		want config.Config
		// fromFile lists the kinds the file itself chose.
		fromFile []string
	}{
		{
			file:     "embedded.yaml",
			want:     embedded,
			fromFile: []string{"store", "counter", "cache", "alertsink", "shards"},
		},
		{
			file: "redis.yaml",
			want: with(func(c *config.Config) {
				c.Store.Driver, c.Store.PostgresURL = "postgres", pgURL
				c.Plugins.Counter = config.Plugin{Builtin: "redis", Settings: map[string]any{"url": "redis://127.0.0.1:6379/0"}}
				c.Plugins.Cache = config.Plugin{Builtin: "redis", Settings: map[string]any{"url": "redis://127.0.0.1:6380/0", "read_timeout": "50ms"}}
				c.Plugins.AlertSink = config.Plugin{Builtin: "memory"}
				c.Plugins.Shards = []config.Plugin{
					{Name: "shard0", Builtin: "redis", Settings: map[string]any{"url": "redis://127.0.0.1:6381/0"}},
					{Name: "shard1", Builtin: "redis", Settings: map[string]any{"url": "redis://127.0.0.1:6382/0"}},
				}
				c.Consumer.InServe = false
			}),
			fromFile: []string{"store", "counter", "cache", "alertsink", "shards"},
		},
		{
			file: "postgres.yaml",
			want: with(func(c *config.Config) {
				c.Store.Driver, c.Store.PostgresURL = "postgres", pgURL
				c.Plugins.Counter = config.Plugin{Builtin: "postgres", Settings: map[string]any{"url": pgURL}}
				c.Plugins.Cache = config.Plugin{Builtin: "memory"}
				c.Plugins.AlertSink = config.Plugin{Builtin: "memory"}
				c.Plugins.Shards = []config.Plugin{
					{Name: "shard0", Builtin: "postgres", Settings: map[string]any{"url": pgURL}},
				}
			}),
			fromFile: []string{"store", "counter", "cache", "alertsink", "shards"},
		},
		{
			file: "filecounter.yaml",
			want: with(func(c *config.Config) {
				c.Store.SQLitePath = "/var/lib/curtain/curtain.db"
				c.Plugins.Counter = config.Plugin{
					Path:     "/usr/local/lib/curtain/filecounter",
					Settings: map[string]any{"path": "/var/lib/curtain/counter"},
				}
				c.Plugins.Shards[0].Name = "shard0"
			}),
			fromFile: []string{"store", "counter"},
		},
	}

	var covered []string
	for _, tt := range tests {
		covered = append(covered, tt.file)
		t.Run(tt.file, func(t *testing.T) {
			got, err := config.Load(config.Sources{File: tt.file})
			if err != nil {
				t.Fatalf("Load(%s) error: %v", tt.file, err)
			}
			want := tt.want
			want.InstanceID, want.Consumer.Name = got.InstanceID, got.Consumer.Name
			// Settings left out of the file load as an empty map.
			if diff := cmp.Diff(want, got.Config, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Load(%s) config (-want +got):\n%s", tt.file, diff)
			}
			for _, kind := range []string{"store", "counter", "cache", "alertsink", "shards"} {
				layer := "default (embedded)"
				if slices.Contains(tt.fromFile, kind) {
					layer = "config file " + tt.file
				}
				if got.Why[kind] != layer {
					t.Errorf("Load(%s) chose %s by %q, want %q", tt.file, kind, got.Why[kind], layer)
				}
			}
			// What `curtain config` prints never shows a password.
			printed, err := got.YAML()
			if err != nil {
				t.Fatalf("YAML() error: %v", err)
			}
			if strings.Contains(string(printed), "curtain:curtain@") {
				t.Errorf("YAML() of %s shows the database password:\n%s", tt.file, printed)
			}
		})
	}

	// Every example file is checked here.
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	slices.Sort(covered)
	if diff := cmp.Diff(files, covered); diff != "" {
		t.Errorf("example files (-on disk +tested):\n%s", diff)
	}
}

// with returns the embedded default changed by edit.
func with(edit func(c *config.Config)) config.Config {
	c := config.Default()
	edit(&c)
	return c
}

// TestEnvironmentOverridesFile checks the layering the files' comments
// promise: a secret set in the environment wins over the file.
func TestEnvironmentOverridesFile(t *testing.T) {
	const url = "postgres://app:s3cret@db.internal:5432/curtain"
	got, err := config.Load(config.Sources{
		File:    "redis.yaml",
		Environ: []string{"CURTAIN_STORE__POSTGRES_URL=" + url},
	})
	if err != nil {
		t.Fatalf("Load(redis.yaml) error: %v", err)
	}
	if got.Store.PostgresURL.Reveal() != url {
		t.Errorf("store.postgres_url = %q, want %q from the environment", got.Store.PostgresURL.Reveal(), url)
	}
	if got.Plugins.Counter.Builtin != "redis" || got.Plugins.CallTimeout != 2*time.Second {
		t.Errorf("the rest of redis.yaml was lost: counter %+v, call_timeout %v", got.Plugins.Counter, got.Plugins.CallTimeout)
	}
}
