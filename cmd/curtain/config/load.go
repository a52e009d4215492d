package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/curtainhq/curtain/core/httpapi"
	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// Sources are the inputs of Load beyond the defaults.
type Sources struct {
	// File is a YAML configuration file; empty for none.
	File string
	// Environ is the process environment as KEY=value lines.
	Environ []string
	// Flags are the command-line flags that were set, by config key.
	Flags map[string]any
}

// Loaded is a validated configuration with the reason each backend kind is
// served by its plugin.
type Loaded struct {
	Config
	// Why maps "store", "counter", "cache", "alertsink" and "shards" to the
	// layer that chose them.
	Why map[string]string
}

// Load builds the configuration from defaults, src.File, the environment
// and src.Flags, and validates it.
func Load(src Sources) (Loaded, error) {
	env := environMap(src.Environ)
	refWhy := map[string]string{}
	type layer struct {
		name string
		load func(k *koanf.Koanf) error
	}
	layers := []layer{
		{"default (embedded)", func(k *koanf.Koanf) error {
			return k.Load(confmap.Provider(toMap(Default()), "."), nil)
		}},
		{"config file " + src.File, func(k *koanf.Koanf) error {
			if src.File == "" {
				return nil
			}
			if err := k.Load(file.Provider(src.File), yaml.Parser()); err != nil {
				return fmt.Errorf("read config file %s: %w", src.File, err)
			}
			return nil
		}},
		{"reference environment", func(k *koanf.Koanf) error {
			m, err := referenceEnv(env)
			if err != nil {
				return err
			}
			for key, v := range m {
				if from, ok := strings.CutSuffix(key, ".from"); ok {
					refWhy[strings.TrimPrefix(from, "plugins.")] = v.(string)
					delete(m, key)
				}
			}
			return k.Load(confmap.Provider(m, "."), nil)
		}},
		{"CURTAIN_* environment", func(k *koanf.Koanf) error {
			return k.Load(confmap.Provider(curtainEnv(env), "."), nil)
		}},
		{"flags", func(k *koanf.Koanf) error {
			return k.Load(confmap.Provider(src.Flags, "."), nil)
		}},
	}

	merged := koanf.New(".")
	why := map[string]string{}
	for _, l := range layers {
		k := koanf.New(".")
		if err := l.load(k); err != nil {
			return Loaded{}, err
		}
		for _, key := range []string{"store", "plugins.counter", "plugins.cache", "plugins.alertsink", "plugins.shards"} {
			if k.Exists(key) {
				kind := strings.TrimPrefix(key, "plugins.")
				why[kind] = l.name
				if r := refWhy[kind]; r != "" {
					why[kind] = r
				}
				if key != "store" {
					// A layer that names a plugin replaces it whole, so a
					// path in a file does not mix with a default builtin.
					merged.Delete(key)
				}
			}
		}
		if err := merged.Merge(k); err != nil {
			return Loaded{}, fmt.Errorf("merge %s: %w", l.name, err)
		}
	}

	cfg := Config{}
	dec := &mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
		),
		WeaklyTypedInput: true,
		ErrorUnused:      true,
		TagName:          "koanf",
		Result:           &cfg,
	}
	if err := merged.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{DecoderConfig: dec}); err != nil {
		return Loaded{}, fmt.Errorf("configuration: %w", err)
	}
	if cfg.InstanceID == "" {
		cfg.InstanceID = env["HOSTNAME"]
		if cfg.InstanceID == "" {
			cfg.InstanceID, _ = os.Hostname()
		}
	}
	for i := range cfg.Plugins.Shards {
		if cfg.Plugins.Shards[i].Name == "" {
			cfg.Plugins.Shards[i].Name = "shard" + strconv.Itoa(i)
		}
	}
	if cfg.Consumer.Name == "" {
		cfg.Consumer.Name = "worker-" + cfg.InstanceID
	}
	if err := cfg.Validate(); err != nil {
		return Loaded{}, err
	}
	return Loaded{Config: cfg, Why: why}, nil
}

func environMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			m[k] = v
		}
	}
	return m
}

// curtainEnv maps CURTAIN_A__B_C=v to the key a.b_c.
func curtainEnv(env map[string]string) map[string]any {
	m := map[string]any{}
	for k, v := range env {
		rest, ok := strings.CutPrefix(k, "CURTAIN_")
		// CURTAIN_TEST_* belong to the tests and CURTAIN_PLUGIN* to the
		// plugin handshake and plugin logging.
		if !ok || rest == "" || strings.HasPrefix(rest, "TEST_") || strings.HasPrefix(rest, "PLUGIN") {
			continue
		}
		m[strings.ToLower(strings.ReplaceAll(rest, "__", "."))] = v
	}
	return m
}

// referenceEnv maps the reference implementation's variables (spec §12)
// onto configuration keys, so that a deployment of the original moves over
// unchanged. An unset variable leaves its kind on the embedded default.
func referenceEnv(env map[string]string) (map[string]any, error) {
	m := map[string]any{}
	if v := env["DATABASE_URL"]; v != "" {
		m["store.driver"] = "postgres"
		m["store.postgres_url"] = v
		m["store.from"] = "DATABASE_URL"
	} else if dsn := databaseParts(env); dsn != "" {
		m["store.driver"] = "postgres"
		m["store.postgres_url"] = dsn
		m["store.from"] = "DATABASE_HOST/PORT/NAME/USER/PASSWORD"
	}

	timeouts := map[string]any{}
	for name, keys := range map[string][]string{
		"REDIS_SOCKET_TIMEOUT_SECONDS":  {"read_timeout", "write_timeout"},
		"REDIS_CONNECT_TIMEOUT_SECONDS": {"dial_timeout"},
	} {
		if v := env[name]; v != "" {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f <= 0 {
				return nil, fmt.Errorf("%s: invalid value %q: use a positive number of seconds such as 0.05", name, v)
			}
			for _, k := range keys {
				timeouts[k] = time.Duration(f * float64(time.Second)).String()
			}
		}
	}
	redisPlugin := func(rawURL string) map[string]any {
		settings := map[string]any{"url": rawURL}
		for k, v := range timeouts {
			settings[k] = v
		}
		return map[string]any{"builtin": "redis", "settings": settings}
	}

	if v := env["REDIS_URL"]; v != "" {
		m["plugins.counter"] = redisPlugin(v)
		m["plugins.counter.from"] = "REDIS_URL"
	}
	if v := env["CACHE_REDIS_URL"]; v != "" {
		m["plugins.cache"] = redisPlugin(v)
		m["plugins.cache.from"] = "CACHE_REDIS_URL"
	}
	if v := env["REDIS_SHARDS"]; strings.TrimSpace(v) != "" {
		var shards []any
		for _, entry := range strings.Split(v, ",") {
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			if _, _, err := net.SplitHostPort(entry); err != nil {
				return nil, fmt.Errorf("REDIS_SHARDS: invalid entry %q: use host:port entries separated by commas", entry)
			}
			shards = append(shards, redisPlugin("redis://"+entry+"/0"))
		}
		if len(shards) > 0 {
			m["plugins.shards"] = shards
			m["plugins.shards.from"] = "REDIS_SHARDS"
		}
	} else if v := env["REDIS_URL"]; v != "" {
		u, err := url.Parse(v)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("REDIS_URL: invalid value %q: use redis://host:port/db", v)
		}
		// The single shard of spec §7.1 is database 0 of the counter's
		// server; credentials and a default port are kept (the reference
		// broke on both).
		shard := *u
		shard.Path = "/0"
		m["plugins.shards"] = []any{redisPlugin(shard.String())}
		m["plugins.shards.from"] = "REDIS_URL (single shard: REDIS_SHARDS unset)"
	}
	if v := env["ENABLE_INCIDENT_DEBUG_ROUTES"]; v != "" {
		m["debug_routes"] = httpapi.DebugRoutesEnabled(v)
	}
	if v := env["LOG_LEVEL"]; v != "" {
		m["log.level"] = strings.ToLower(v)
	}
	if v := env["STREAM_BATCH_SIZE"]; v != "" {
		m["consumer.batch_size"] = v
	}
	if v := env["STREAM_BLOCK_MS"]; v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("STREAM_BLOCK_MS: invalid value %q: use a positive number of milliseconds", v)
		}
		m["consumer.block"] = (time.Duration(n) * time.Millisecond).String()
	}
	if v := env["DISCORD_WEBHOOK_URL"]; v != "" {
		m["plugins.alertsink"] = map[string]any{"builtin": "discord", "settings": map[string]any{"url": v}}
		m["plugins.alertsink.from"] = "DISCORD_WEBHOOK_URL"
	}
	if v := env["PROMETHEUS_URL"]; v != "" {
		m["notify.prometheus_url"] = v
	}
	if v := env["NOTIFIER_POLL_SECONDS"]; v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("NOTIFIER_POLL_SECONDS: invalid value %q: use a positive whole number of seconds such as 15", v)
		}
		m["notify.poll_interval"] = (time.Duration(n) * time.Second).String()
	}
	// STREAM_POLL_INTERVAL needs no key: reads block for consumer.block
	// instead of sleeping between empty passes.
	return m, nil
}

// databaseParts builds a DSN from DATABASE_HOST/PORT/NAME/USER/PASSWORD
// when any of them is set, with the reference's defaults for the rest.
func databaseParts(env map[string]string) string {
	keys := []string{"DATABASE_HOST", "DATABASE_PORT", "DATABASE_NAME", "DATABASE_USER", "DATABASE_PASSWORD"}
	any := false
	for _, k := range keys {
		if env[k] != "" {
			any = true
		}
	}
	if !any {
		return ""
	}
	get := func(k, def string) string {
		if v := env[k]; v != "" {
			return v
		}
		return def
	}
	u := url.URL{
		Scheme: "postgres",
		User:   url.UserPassword(get("DATABASE_USER", "postgres"), get("DATABASE_PASSWORD", "postgres")),
		Host:   net.JoinHostPort(get("DATABASE_HOST", "localhost"), get("DATABASE_PORT", "5432")),
		Path:   "/" + get("DATABASE_NAME", "hackathon_db"),
	}
	return u.String()
}

func joinErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid configuration:\n  %w", errors.Join(errs...))
}
