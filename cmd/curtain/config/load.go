package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/structs"
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
	// FlagNames names the flag that set each key of Flags ("log-level"),
	// so that a refused value names the flag the user typed.
	FlagNames map[string]string
	// Check, when set, adds the caller's own problems of the decoded
	// configuration (plugin entries, built-in names) to Load's, so that
	// every problem is reported at once.
	Check func(Config) error
}

// Loaded is a validated configuration with the reason each backend kind is
// served by its plugin.
type Loaded struct {
	Config
	// Why maps "store", "counter", "cache", "alertsink" and "shards" to the
	// layer that chose them.
	Why map[string]string
	// FromEnv names the CURTAIN_* variable that set each key it set, such
	// as plugins.shards.0.settings.max_backlog: values that are text
	// whatever they were meant to be.
	FromEnv map[string]string
	// Warnings are problems that did not stop the load, such as CURTAIN_*
	// environment variables that name no key (Kubernetes injects
	// CURTAIN_PORT and the like for a Service named curtain).
	Warnings []string
}

// layer is one source of configuration, in the order of precedence.
type layer struct {
	name string
	// origin names where a key of this layer came from, for messages.
	origin func(key string) string
	// lenient layers turn unknown keys into warnings instead of errors.
	lenient bool
	// why, when set, names what in this layer chose a backend kind (the
	// variable), instead of the layer's name.
	why  func(kind string) string
	load func(k *koanf.Koanf) error
}

// pluginKeys are the keys a layer replaces whole when it names them.
var pluginKeys = []string{"store", "plugins.counter", "plugins.cache", "plugins.alertsink", "plugins.shards"}

// Load builds the configuration from defaults, src.File, the environment
// and src.Flags, and validates it. Every problem is reported at once, each
// naming its key, where the value came from and the fix. A configuration
// refused still carries its Warnings, which may explain a problem (a
// mistyped variable name).
func Load(src Sources) (Loaded, error) {
	envMap := environMap(src.Environ)
	refWhy := map[string]string{}
	refOrigin := map[string]string{}
	curtainVar := map[string]string{}
	// fileShards is set when the config file lists click shards: REDIS_URL
	// then names only the counter, not the single shard of spec §7.1.
	fileShards := false
	var refErr error // the reference variables' problems
	layers := []layer{
		{name: "default (embedded)", origin: func(string) string { return "default" },
			load: func(k *koanf.Koanf) error {
				return k.Load(structs.Provider(Default(), "koanf"), nil)
			}},
		{name: "config file " + src.File, origin: func(string) string { return "config file " + src.File },
			load: func(k *koanf.Koanf) error {
				if src.File == "" {
					return nil
				}
				if err := k.Load(file.Provider(src.File), yaml.Parser()); err != nil {
					return fmt.Errorf("read config file %s: %w", src.File, err)
				}
				fileShards = k.Exists("plugins.shards")
				return nil
			}},
		{name: "reference environment", origin: func(key string) string { v, _ := nearest(refOrigin, key); return v },
			why: func(kind string) string { return refWhy[kind] },
			load: func(k *koanf.Koanf) error {
				m, err := referenceEnv(envMap, refOrigin, fileShards)
				refErr = err // reported with every other problem
				for key, from := range refOrigin {
					if kind, ok := strings.CutPrefix(key, "plugins."); ok || key == "store" {
						if !ok {
							kind = key
						}
						refWhy[kind] = from
					}
				}
				return k.Load(confmap.Provider(m, "."), nil)
			}},
		{name: "CURTAIN_* environment", lenient: true,
			origin: func(key string) string { v, _ := nearest(curtainVar, key); return v },
			load: func(k *koanf.Koanf) error {
				vars := koanf.New(".")
				err := vars.Load(env.Provider(".", env.Opt{
					Prefix:      "CURTAIN_",
					EnvironFunc: func() []string { return src.Environ },
					TransformFunc: func(name, v string) (string, any) {
						key := curtainKey(name)
						if key != "" {
							curtainVar[key] = name
						}
						return key, v
					},
				}), nil)
				if err != nil {
					return err
				}
				// CURTAIN_PLUGINS__SHARDS__0__BUILTIN numbers the entries of
				// a list: make them one.
				return k.Load(confmap.Provider(listsFromIndices(vars.Raw(), configType).(map[string]any), ""), nil)
			}},
		{name: "flags", origin: func(key string) string {
			if name := src.FlagNames[key]; name != "" {
				return "flag --" + name
			}
			return "flag for " + key
		},
			load: func(k *koanf.Koanf) error {
				return k.Load(confmap.Provider(src.Flags, "."), nil)
			}},
	}

	merged := koanf.New(".")
	why := map[string]string{}
	origins := map[string]layer{}
	for _, l := range layers {
		k := koanf.New(".")
		if err := l.load(k); err != nil {
			return Loaded{}, err
		}
		for _, key := range pluginKeys {
			if k.Exists(key) {
				kind := strings.TrimPrefix(key, "plugins.")
				// The store is merged key by key: a later layer chose it
				// only if it set its driver or URL, not a SQLite path the
				// PostgreSQL store then ignores.
				if key != "store" || why[kind] == "" || why[kind] == layers[0].name || k.Exists("store.driver") || k.Exists("store.postgres_url") {
					why[kind] = l.name
					if l.why != nil && l.why(kind) != "" {
						why[kind] = l.why(kind)
					}
				}
				if key != "store" {
					// A layer that names a plugin replaces it whole, so a
					// path in a file does not mix with a default builtin.
					merged.Delete(key)
					for o := range origins {
						if o == key || strings.HasPrefix(o, key+".") {
							delete(origins, o)
						}
					}
				}
			}
		}
		for _, key := range k.Keys() {
			origins[key] = l
		}
		if err := merged.Merge(k); err != nil {
			return Loaded{}, fmt.Errorf("merge %s: %w", l.name, err)
		}
	}

	// A PostgreSQL URL given without a driver (--postgres-url,
	// CURTAIN_STORE__POSTGRES_URL, a file's store.postgres_url) means the
	// PostgreSQL store, as DATABASE_URL does, not the default SQLite file.
	if l, ok := origins["store.postgres_url"]; ok && merged.String("store.postgres_url") != "" && origins["store.driver"].name == layers[0].name {
		if err := merged.Set("store.driver", "postgres"); err != nil {
			return Loaded{}, err
		}
		origins["store.driver"] = l
	}

	chk := checker{origins: origins}
	chk.walk("", merged.Raw(), configType)
	for _, key := range chk.dropped {
		merged.Delete(key)
	}
	var problems []error
	if refErr != nil {
		problems = append(problems, refErr)
	}
	if len(chk.errs) > 0 {
		// Values of the wrong type cannot be decoded to validate the rest.
		return Loaded{Warnings: chk.warnings}, joinErrors(append(problems, chk.errs...))
	}

	cfg := Config{}
	dec := &mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
			mapstructure.TextUnmarshallerHookFunc(),
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
		cfg.InstanceID = envMap["HOSTNAME"]
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
	for _, p := range cfg.problems() {
		if ve, ok := errors.AsType[*valueError](p); ok {
			ve.from, _ = chk.from(ve.key)
		}
		problems = append(problems, p)
	}
	if src.Check != nil {
		if err := src.Check(cfg); err != nil {
			problems = append(problems, err)
		}
	}
	if err := joinErrors(problems); err != nil {
		return Loaded{Warnings: chk.warnings}, err
	}
	for _, key := range chk.dropped {
		delete(curtainVar, key)
	}
	return Loaded{Config: cfg, Why: why, FromEnv: curtainVar, Warnings: chk.warnings}, nil
}

// nearest returns the value of m for key or for the nearest parent of key
// (plugins.shards for plugins.shards.0.url), and whether there is one.
func nearest[V any](m map[string]V, key string) (V, bool) {
	for k := key; ; {
		if v, ok := m[k]; ok {
			return v, true
		}
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			var zero V
			return zero, false
		}
		k = k[:i]
	}
}

// listsFromIndices returns v, found where t is expected, with every
// mapping whose keys number the entries of a list type (0, 1, … without
// a gap) made that list. Anything else is left for the checker to judge.
func listsFromIndices(v any, t reflect.Type) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	switch t.Kind() {
	case reflect.Struct:
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			fields[t.Field(i).Tag.Get("koanf")] = t.Field(i).Type
		}
		for k, e := range m {
			if ft, ok := fields[k]; ok {
				m[k] = listsFromIndices(e, ft)
			}
		}
	case reflect.Slice:
		list := make([]any, len(m))
		for k, e := range m {
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(m) || strconv.Itoa(i) != k {
				return v
			}
			list[i] = listsFromIndices(e, t.Elem())
		}
		return list
	}
	return v
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

// curtainKey maps CURTAIN_A__B_C to the key a.b_c, or "" for variables
// that belong to others: CURTAIN_TEST_* to the tests, CURTAIN_PLUGIN and
// CURTAIN_PLUGIN_* to the plugin handshake and plugin logging.
func curtainKey(name string) string {
	rest, _ := strings.CutPrefix(name, "CURTAIN_")
	if rest == "" || rest == "PLUGIN" || strings.HasPrefix(rest, "TEST_") || strings.HasPrefix(rest, "PLUGIN_") {
		return ""
	}
	return strings.ToLower(strings.ReplaceAll(rest, "__", "."))
}

// validPort reports whether port is empty (the default) or 1 to 65535.
func validPort(port string) bool {
	if port == "" {
		return true
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

// referenceEnv maps the reference implementation's variables (spec §12)
// onto configuration keys, so that a deployment of the original moves over
// unchanged, and records in origin the variable behind each key. An unset
// variable leaves its kind on the embedded default. REDIS_URL implies a
// single click shard only when neither REDIS_SHARDS nor the config file
// (haveShards) lists the shards.
func referenceEnv(env map[string]string, origin map[string]string, haveShards bool) (map[string]any, error) {
	m := map[string]any{}
	set := func(key string, v any, from string) {
		m[key] = v
		origin[key] = from
	}
	var errs []error // every bad variable, not only the first
	bad := func(err error) { errs = append(errs, err) }
	if v := env["DATABASE_URL"]; v != "" {
		set("store.driver", "postgres", "DATABASE_URL")
		set("store.postgres_url", v, "DATABASE_URL")
		origin["store"] = "DATABASE_URL"
	} else if dsn, err := databaseParts(env); err != nil {
		bad(err)
	} else if dsn != "" {
		const from = "DATABASE_HOST/PORT/NAME/USER/PASSWORD"
		set("store.driver", "postgres", from)
		set("store.postgres_url", dsn, from)
		origin["store"] = from
	}

	timeouts := map[string]any{}
	for name, keys := range map[string][]string{
		"REDIS_SOCKET_TIMEOUT_SECONDS":  {"read_timeout", "write_timeout"},
		"REDIS_CONNECT_TIMEOUT_SECONDS": {"dial_timeout"},
	} {
		if v := env[name]; v != "" {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f <= 0 {
				bad(fmt.Errorf("%s: invalid value %q: use a positive number of seconds such as 0.05", name, v))
				continue
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

	for _, name := range []string{"REDIS_URL", "CACHE_REDIS_URL"} {
		if v := env[name]; v != "" {
			if _, err := parseRedisURL(v); err != nil {
				bad(fmt.Errorf("%s: invalid value %q: %w", name, redactURL(v), err))
			}
		}
	}
	if v := env["REDIS_URL"]; v != "" {
		set("plugins.counter", redisPlugin(v), "REDIS_URL")
	}
	if v := env["CACHE_REDIS_URL"]; v != "" {
		set("plugins.cache", redisPlugin(v), "CACHE_REDIS_URL")
	}
	if v := env["REDIS_SHARDS"]; strings.TrimSpace(v) != "" {
		var shards []any
		for _, entry := range strings.Split(v, ",") {
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			if strings.Contains(entry, "://") {
				// A URL, for a shard with a password or TLS: as
				// REDIS_URL, on database 0 unless it names one.
				u, err := parseRedisURL(entry)
				if err != nil {
					bad(fmt.Errorf("REDIS_SHARDS: invalid entry %q: %w", redactURL(entry), err))
					continue
				}
				// Database 0 spelled out, so that the same server given
				// as host:port and as a URL is seen to be listed twice.
				if u.Scheme != "unix" && (u.Path == "" || u.Path == "/") {
					u.Path = "/0"
					entry = u.String()
				}
				shards = append(shards, redisPlugin(entry))
				continue
			}
			if _, port, err := net.SplitHostPort(entry); err != nil {
				bad(fmt.Errorf("REDIS_SHARDS: invalid entry %q: use host:port entries (or redis:// URLs) separated by commas", entry))
				continue
			} else if port == "" || !validPort(port) {
				bad(fmt.Errorf("REDIS_SHARDS: invalid entry %q: the port must be 1 to 65535", entry))
				continue
			}
			shards = append(shards, redisPlugin("redis://"+entry+"/0"))
		}
		if len(shards) > 0 {
			set("plugins.shards", shards, "REDIS_SHARDS")
		}
	} else if v := env["REDIS_URL"]; v != "" && !haveShards {
		// The single shard of spec §7.1 is database 0 of the counter's
		// server; credentials and a default port are kept (the reference
		// broke on both). A REDIS_URL that does not parse is reported
		// above.
		if u, err := parseRedisURL(v); err == nil && (u.Host != "" || u.Scheme == "unix") {
			shard := *u
			if u.Scheme == "unix" {
				// A socket names its database in the query.
				q := u.Query()
				q.Set("db", "0")
				shard.RawQuery = q.Encode()
			} else {
				shard.Path = "/0"
			}
			set("plugins.shards", []any{redisPlugin(shard.String())}, "REDIS_URL (single shard: REDIS_SHARDS unset)")
		}
	}
	if v := env["ENABLE_INCIDENT_DEBUG_ROUTES"]; v != "" {
		set("debug_routes", debugRoutesEnabled(v), "ENABLE_INCIDENT_DEBUG_ROUTES")
	}
	if v := env["LOG_LEVEL"]; v != "" {
		set("log.level", pythonLevel(v), "LOG_LEVEL")
	}
	if v := env["STREAM_BATCH_SIZE"]; v != "" {
		set("consumer.batch_size", v, "STREAM_BATCH_SIZE")
	}
	if v := env["STREAM_BLOCK_MS"]; v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		switch {
		case err != nil || n < 0:
			bad(fmt.Errorf("STREAM_BLOCK_MS: invalid value %q: use a number of milliseconds (0: block until clicks come)", v))
		case n == 0:
			// The reference's BLOCK 0 waits until entries come; a read
			// here returns as soon as they do whatever its bound, so the
			// default bound serves the same.
		default:
			set("consumer.block", (time.Duration(n) * time.Millisecond).String(), "STREAM_BLOCK_MS")
		}
	}
	if v := env["DISCORD_WEBHOOK_URL"]; v != "" {
		if !WebURL(v) {
			bad(fmt.Errorf("DISCORD_WEBHOOK_URL: invalid value %q: use the https://discord.com/api/webhooks/ID/TOKEN URL of the channel's webhook", Mask(v)))
		} else {
			set("plugins.alertsink", map[string]any{"builtin": "discord", "settings": map[string]any{"url": v}}, "DISCORD_WEBHOOK_URL")
		}
	} else if v := env["NOTIFIER_WEBHOOK_URL"]; v != "" && v != referenceRelayURL {
		// The reference's notifier posts {"alerts": [...]} there; the
		// webhook sink posts the same shape. The relay's own URL needs no
		// sink: notify is the relay.
		if !WebURL(v) {
			bad(fmt.Errorf("NOTIFIER_WEBHOOK_URL: invalid value %q: use an http or https URL", redactURL(v)))
		} else {
			set("plugins.alertsink", map[string]any{"builtin": "webhook", "settings": map[string]any{"url": v}}, "NOTIFIER_WEBHOOK_URL")
		}
	}
	if v := env["PROMETHEUS_URL"]; v != "" {
		set("notify.prometheus_url", v, "PROMETHEUS_URL")
	}
	if v := env["NOTIFIER_POLL_SECONDS"]; v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n <= 0 {
			bad(fmt.Errorf("NOTIFIER_POLL_SECONDS: invalid value %q: use a positive whole number of seconds such as 15", v))
		} else {
			set("notify.poll_interval", (time.Duration(n) * time.Second).String(), "NOTIFIER_POLL_SECONDS")
		}
	}
	// STREAM_POLL_INTERVAL needs no key: reads block for consumer.block
	// instead of sleeping between empty passes.
	return m, errors.Join(errs...)
}

// WebURL reports whether v is an absolute http or https URL.
func WebURL(v string) bool {
	u, err := url.Parse(v)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// referenceRelayURL is NOTIFIER_WEBHOOK_URL's default in the reference:
// its Discord relay, which curtain notify is itself.
const referenceRelayURL = "http://discord_relay:8080/alert"

// databaseParts builds a DSN from DATABASE_HOST/PORT/NAME/USER/PASSWORD
// when any of them is set, with the reference's defaults for the rest. A
// DATABASE_PASSWORD set empty means no password, as the reference's
// os.environ.get("DATABASE_PASSWORD", "postgres") reads it, not the
// default postgres: the server's trust rules or a ~/.pgpass decide.
func databaseParts(env map[string]string) (string, error) {
	keys := []string{"DATABASE_HOST", "DATABASE_PORT", "DATABASE_NAME", "DATABASE_USER", "DATABASE_PASSWORD"}
	any := false
	for _, k := range keys {
		if env[k] != "" {
			any = true
		}
	}
	if !any {
		return "", nil
	}
	if v := env["DATABASE_PORT"]; v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("DATABASE_PORT: invalid value %q: use a port number such as 5432", v)
		}
	}
	get := func(k, def string) string {
		if v := env[k]; v != "" {
			return v
		}
		return def
	}
	name := get("DATABASE_USER", "postgres")
	user := url.UserPassword(name, get("DATABASE_PASSWORD", "postgres"))
	if password, set := env["DATABASE_PASSWORD"]; set && password == "" {
		user = url.User(name)
	}
	u := url.URL{
		Scheme: "postgres",
		User:   user,
		Host:   net.JoinHostPort(get("DATABASE_HOST", "localhost"), get("DATABASE_PORT", "5432")),
		Path:   "/" + get("DATABASE_NAME", "hackathon_db"),
	}
	return u.String(), nil
}

func joinErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return problemList(errs)
}

// problemList is Load's error: every problem, each line indented under
// "invalid configuration:".
type problemList []error

func (p problemList) Error() string {
	var b strings.Builder
	b.WriteString("invalid configuration:")
	for line := range strings.Lines(errors.Join(p...).Error()) {
		b.WriteString("\n  ")
		b.WriteString(strings.TrimSuffix(line, "\n"))
	}
	return b.String()
}

func (p problemList) Unwrap() []error { return p }

// pythonLevel maps a level name of Python's logging, which the
// reference's LOG_LEVEL takes, onto Curtain's: CRITICAL and FATAL log
// errors (Curtain has no level above), NOTSET everything.
func pythonLevel(v string) string {
	switch v = strings.ToLower(strings.TrimSpace(v)); v {
	case "critical", "fatal":
		return "error"
	case "notset":
		return "debug"
	}
	return v
}

// redactURL is raw for a message, its password hidden; a value that does
// not parse as a URL is hidden whole.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "*****"
	}
	return u.Redacted()
}

// parseRedisURL parses a Redis URL of the reference's variables, or says
// what is wrong with it in words that say the fix.
func parseRedisURL(v string) (*url.URL, error) {
	u, err := url.Parse(v)
	switch {
	case err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix"):
		return nil, errors.New("use redis://host:port/db (rediss:// for TLS, unix:///path for a socket)")
	case !validPort(u.Port()):
		return nil, errors.New("the port must be 1 to 65535")
	}
	return u, nil
}
