// Package config is Curtain's one typed configuration tree. It is loaded by
// koanf in this order: defaults, a YAML file, the reference's environment
// variables, CURTAIN_* environment variables, then command-line flags; it is
// validated once at start-up, and printed by `curtain config` with secrets
// masked. Nothing else in Curtain reads the environment.
package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/curtainhq/curtain/core"
)

// Config is the whole configuration.
type Config struct {
	// InstanceID names this process in /health and logs; defaults to the
	// host name (HOSTNAME).
	InstanceID string `koanf:"instance_id"`
	// DebugRoutes enables GET /debug/fail (ENABLE_INCIDENT_DEBUG_ROUTES).
	DebugRoutes bool       `koanf:"debug_routes"`
	HTTP        HTTP       `koanf:"http"`
	Log         Log        `koanf:"log"`
	Store       Store      `koanf:"store"`
	Plugins     Plugins    `koanf:"plugins"`
	Clicks      Clicks     `koanf:"clicks"`
	Consumer    Consumer   `koanf:"consumer"`
	Codes       Codes      `koanf:"codes"`
	Notify      Notify     `koanf:"notify"`
	Links       Links      `koanf:"links"`
	RateLimits  RateLimits `koanf:"rate_limits"`
	Auth        Auth       `koanf:"auth"`
	Privacy     Privacy    `koanf:"privacy"`
	Webhooks    Webhooks   `koanf:"webhooks"`
	Analytics   Analytics  `koanf:"analytics"`
}

// Auth configures API keys.
type Auth struct {
	// RequireAPIKey requires a key (curtain keys create) on every write
	// route. Off by default, as in the reference; serve warns when off.
	RequireAPIKey bool `koanf:"require_api_key"`
}

// RateLimits limits redirects and creates per client address and per API
// key; every limit is off (requests 0) by default.
type RateLimits struct {
	Redirect RateLimit `koanf:"redirect"`
	Create   RateLimit `koanf:"create"`
	// Password limits the password attempts on one protected link per
	// client address (issue 19); always on: 10 a minute by default, and
	// requests 0 means that default.
	Password RateLimit `koanf:"password"`
	// Auth limits the failed API-key attempts (unknown or revoked keys)
	// per client address while auth.require_api_key is on; always on: 20
	// a minute by default, and requests 0 means that default.
	Auth RateLimit `koanf:"auth"`
	// RedisURL shares the counts of every instance through Redis; empty:
	// each process counts alone.
	RedisURL Secret `koanf:"redis_url"`
}

// RateLimit allows Requests per Per, with bursts of Burst.
type RateLimit struct {
	Requests int           `koanf:"requests"`
	Per      time.Duration `koanf:"per"`
	Burst    int           `koanf:"burst"`
}

// Links restricts what new links may point to and sets the defaults of
// the link options (issue 19).
type Links struct {
	// BlockedHosts are hosts (and their subdomains) new links may not
	// point to.
	BlockedHosts []string `koanf:"blocked_hosts"`
	// RedirectStatus answers redirects of links without their own
	// status: 301, 302, 307 or 308.
	RedirectStatus int `koanf:"redirect_status"`
	// PermanentMaxAge, when positive, is sent as Cache-Control max-age
	// with permanent redirects (301, 308); 0 sends none.
	PermanentMaxAge time.Duration `koanf:"permanent_max_age"`
	// ExpiredURL is where expired or exhausted links without their own
	// expired_url send visitors; empty answers 404.
	ExpiredURL string `koanf:"expired_url"`
	// RootCodes serves GET /{code} as GET /r/{code}, and the short links
	// the API hands out become /{code}; off by default, as in the
	// reference.
	RootCodes bool `koanf:"root_codes"`
	// Domains are the host names short links are served on, each with an
	// optional not-found target. Codes are global: each resolves on every
	// domain.
	Domains Domains `koanf:"domains"`
}

// Domain is one host name of links.domains.
type Domain struct {
	// Host is the host name, without scheme or port.
	Host string `koanf:"host"`
	// NotFoundURL is where redirects on Host that find no link send the
	// visitor (302); empty: the JSON 404.
	NotFoundURL string `koanf:"not_found_url"`
}

// Domains is links.domains.
type Domains []Domain

// UnmarshalText reads domains from the environment's form: comma-separated
// entries "host" or "host=not_found_url"
// (CURTAIN_LINKS__DOMAINS=go.example=https://example.com/,cur.tn).
func (ds *Domains) UnmarshalText(b []byte) error {
	*ds = nil
	for _, e := range splitList([]string{string(b)}) {
		host, target, _ := strings.Cut(e, "=")
		*ds = append(*ds, Domain{Host: strings.TrimSpace(host), NotFoundURL: strings.TrimSpace(target)})
	}
	return nil
}

// BlockedHostsNormalised returns the blocklist as core expects it;
// Validate has checked it.
func (l Links) BlockedHostsNormalised() []string {
	hosts, _ := core.NormaliseBlockedHosts(splitList(l.BlockedHosts))
	return hosts
}

// splitList splits comma-separated entries and drops empty ones.
func splitList(entries []string) []string {
	var out []string
	for _, e := range entries {
		for s := range strings.SplitSeq(e, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// Notify configures `curtain notify`.
type Notify struct {
	// Addr is the listener of POST /alert, POST /alertmanager, GET
	// /health and GET /metrics (the relay's port).
	Addr string `koanf:"addr"`
	// PrometheusURL is the Prometheus whose /api/v1/alerts is polled
	// (PROMETHEUS_URL).
	PrometheusURL string `koanf:"prometheus_url"`
	// PollInterval is the time between polls (NOTIFIER_POLL_SECONDS).
	PollInterval time.Duration `koanf:"poll_interval"`
}

// HTTP configures the API server.
type HTTP struct {
	Addr string `koanf:"addr"`
	// AccessLog logs one request.complete line per request.
	AccessLog bool `koanf:"access_log"`
	// MaxBodyBytes caps JSON request bodies.
	MaxBodyBytes int64 `koanf:"max_body_bytes"`
	// MaxUploadBytes caps the CSV upload of POST /users/bulk.
	MaxUploadBytes  int64         `koanf:"max_upload_bytes"`
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout"`
	// ShutdownDelay is how long a stopping serve keeps serving, with
	// GET /health/ready answering 503 and keep-alive off, before it
	// stops taking connections: time for a load balancer or Kubernetes
	// to stop sending it requests. 0 stops at once.
	ShutdownDelay time.Duration `koanf:"shutdown_delay"`
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout bound
	// each connection (httpapi.Timeouts); the streamed lists extend the
	// write timeout per write while the client reads.
	ReadHeaderTimeout time.Duration `koanf:"read_header_timeout"`
	ReadTimeout       time.Duration `koanf:"read_timeout"`
	WriteTimeout      time.Duration `koanf:"write_timeout"`
	IdleTimeout       time.Duration `koanf:"idle_timeout"`
	// PprofAddr serves net/http/pprof on a separate listener when set
	// (for profiling; keep it on loopback). Empty disables it.
	PprofAddr string `koanf:"pprof_addr"`
	// TrustedProxies lists the proxies (CIDRs or addresses) whose
	// X-Forwarded-For entries name the client; empty: the socket peer is
	// the client.
	TrustedProxies []string `koanf:"trusted_proxies"`
	// PublicBaseURL is the scheme and host clients use ("https://cur.tn");
	// the links of POST /shorten-ui are built from it when set.
	PublicBaseURL string `koanf:"public_base_url"`
}

// Log configures the process log.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `koanf:"level"`
	// Format is json or text.
	Format string `koanf:"format"`
}

// Store selects the durable store.
type Store struct {
	// Driver is sqlite (the embedded default) or postgres.
	Driver string `koanf:"driver"`
	// SQLitePath is the SQLite database file.
	SQLitePath string `koanf:"sqlite_path"`
	// PostgresURL is the PostgreSQL DSN (DATABASE_URL).
	PostgresURL Secret `koanf:"postgres_url"`
	// QueryTimeout bounds each store call a request makes; a store that
	// does not answer within it answers 503. 0: no bound.
	QueryTimeout time.Duration `koanf:"query_timeout"`
}

// Plugins chooses the plugin serving each backend kind.
type Plugins struct {
	Counter   Plugin   `koanf:"counter"`
	Cache     Plugin   `koanf:"cache"`
	AlertSink Plugin   `koanf:"alertsink"`
	Shards    []Plugin `koanf:"shards"`
	// CallTimeout bounds every plugin call.
	CallTimeout time.Duration `koanf:"call_timeout"`
	// StartTimeout bounds a plugin's start-up handshake.
	StartTimeout time.Duration `koanf:"start_timeout"`
}

// Plugin is one plugin instance: a built-in by name, or an external
// executable by path.
type Plugin struct {
	// Name is the instance name; shards default to shard0, shard1, ...
	Name string `koanf:"name"`
	// Builtin names a plugin shipped inside the curtain binary.
	Builtin string `koanf:"builtin"`
	// Path is an external plugin executable.
	Path string `koanf:"path"`
	// SHA256 is the expected checksum of Path, checked before start.
	SHA256 string `koanf:"sha256"`
	// Reattach is go-plugin's reattach configuration (JSON) of an external
	// plugin started by hand, for debugging.
	Reattach string `koanf:"reattach"`
	// Settings are passed to the plugin's Configure call as JSON.
	Settings map[string]any `koanf:"settings"`
}

// backendLabel names the plugin and, when its settings have one, the
// masked url of its backend, for messages.
func (p Plugin) backendLabel() string {
	label := p.Builtin
	if label == "" {
		label = p.Path
	}
	if u, ok := p.Settings["url"].(string); ok {
		label += " " + Mask(u)
	}
	return label
}

// SettingsJSON returns Settings as a JSON object. Validate has checked
// that they encode.
func (p Plugin) SettingsJSON() json.RawMessage {
	b, err := json.Marshal(p.Settings)
	if err != nil || len(p.Settings) == 0 {
		return json.RawMessage("{}")
	}
	return b
}

// Source describes where the plugin comes from, for listings.
func (p Plugin) Source() string {
	switch {
	case p.Reattach != "":
		return "reattach"
	case p.Path != "":
		return "path " + p.Path
	default:
		return "builtin " + p.Builtin
	}
}

// Clicks configures click batching on the redirect path.
type Clicks struct {
	BatchSize     int           `koanf:"batch_size"`
	FlushInterval time.Duration `koanf:"flush_interval"`
	QueueSize     int           `koanf:"queue_size"`
	// EnqueueWait is how long a redirect waits for room in a full queue
	// before its click is refused.
	EnqueueWait time.Duration `koanf:"enqueue_wait"`
	// NearCacheTTL keeps hot redirect targets in process; 0 disables it.
	NearCacheTTL  time.Duration `koanf:"near_cache_ttl"`
	NearCacheSize int           `koanf:"near_cache_size"`
	// FinalFlushTimeout is the time the last flush of queued clicks gets
	// at shutdown, after the HTTP server has stopped.
	FinalFlushTimeout time.Duration `koanf:"final_flush_timeout"`
	// Durability is DurabilityFast (a 302 is sent once its click is
	// queued) or DurabilityDurable (once it is stored where a crash
	// cannot take it, group-committed).
	Durability string `koanf:"durability"`
	// AckTimeout bounds how long a redirect waits for its click to be
	// stored in the durable mode before it answers 503.
	AckTimeout time.Duration `koanf:"ack_timeout"`
	// Events is how served clicks become events: EventsStream (each
	// shard appends its clicks to their code's stream, and the consumer
	// stores them) or EventsDirect (the host stores each batch itself,
	// then sends it to the shards for the real-time figures; the streams
	// carry only the clicks the store did not take).
	Events string `koanf:"events"`
	// EventsInterval is how long clicks gather before the host stores
	// them, in the direct events mode; it replaces FlushInterval there.
	EventsInterval time.Duration `koanf:"events_interval"`
}

// The values of clicks.events.
const (
	EventsStream = "stream"
	EventsDirect = "direct"
)

// The values of clicks.durability.
const (
	DurabilityFast    = "fast"
	DurabilityDurable = "durable"
)

// Consumer configures the loop that stores the shards' click streams.
type Consumer struct {
	// InServe runs the consumer inside `curtain serve`.
	InServe bool `koanf:"in_serve"`
	// Group is the stream consumer group.
	Group string `koanf:"group"`
	// Name identifies this consumer in its group; defaults to the instance
	// id, so a restarted consumer picks up its own pending entries.
	Name      string `koanf:"name"`
	BatchSize int    `koanf:"batch_size"`
	// Block is how long a read waits for new entries before it returns
	// empty; it replaces the reference's sleep between empty passes.
	Block time.Duration `koanf:"block"`
	// MinIdle is how long an entry may stay unacknowledged by a consumer
	// before another consumer claims it.
	MinIdle time.Duration `koanf:"min_idle"`
	// Linger is how long the consumer pauses after a read that did not
	// fill a batch, so that under load batches fill; 0 reads again at once.
	Linger time.Duration `koanf:"linger"`
	// Writers is how many batches of a shard are stored at once.
	Writers int `koanf:"writers"`
}

// Codes configures short-code allocation.
type Codes struct {
	// BlockSize is how many counter values one Reserve call takes.
	BlockSize int64 `koanf:"block_size"`
}

// Default returns the embedded default: SQLite in the working directory
// and the memory plugins.
func Default() Config {
	return Config{
		HTTP: HTTP{
			Addr:            ":5000",
			MaxBodyBytes:    1 << 20,  // = httpapi.DefaultMaxBodyBytes (host/app tests it)
			MaxUploadBytes:  10 << 20, // = httpapi.DefaultMaxUploadBytes
			ShutdownTimeout: 10 * time.Second,

			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
		},
		Log:   Log{Level: "info", Format: "json"},
		Store: Store{Driver: "sqlite", SQLitePath: "curtain.db", QueryTimeout: 5 * time.Second}, // = httpapi.DefaultTimeouts.Store
		Plugins: Plugins{
			Counter:      Plugin{Builtin: "memory"},
			Cache:        Plugin{Builtin: "memory"},
			AlertSink:    Plugin{Builtin: "memory"},
			Shards:       []Plugin{{Builtin: "memory"}},
			CallTimeout:  2 * time.Second,
			StartTimeout: 10 * time.Second,
		},
		Clicks: Clicks{
			BatchSize:     1024,
			FlushInterval: 15 * time.Millisecond,
			QueueSize:     1 << 16,
			EnqueueWait:   100 * time.Millisecond,
			NearCacheTTL:  2 * time.Second,
			NearCacheSize: 4096,

			FinalFlushTimeout: 10 * time.Second,
			Durability:        DurabilityFast,
			Events:            EventsStream,
			EventsInterval:    25 * time.Millisecond,
			AckTimeout:        3 * time.Second,
		},
		Consumer: Consumer{
			InServe:   true,
			Group:     "pg_writers",
			BatchSize: 4000,
			Block:     time.Second,
			MinIdle:   30 * time.Second,
			Linger:    250 * time.Millisecond,
			Writers:   2,
		},
		Codes: Codes{BlockSize: 100},
		Links: Links{RedirectStatus: 302},
		Privacy: Privacy{
			RetentionBatch:    1000,
			StoreUserAgent:    true,
			StoreReferrer:     true,
			RetentionInterval: time.Hour,
		},
		Webhooks: Webhooks{
			Events:       []string{"links", "clicks"},
			Timeout:      10 * time.Second,
			MaxAttempts:  10,
			Backoff:      10 * time.Second,
			MaxBackoff:   time.Hour,
			PollInterval: time.Second,
			BatchSize:    500,
		},
		Notify: Notify{
			Addr:          ":8080",
			PrometheusURL: "http://prometheus:9090",
			PollInterval:  15 * time.Second,
		},
		RateLimits: RateLimits{
			Redirect: RateLimit{Per: time.Second},
			Create:   RateLimit{Per: time.Minute},
			Password: RateLimit{Requests: 10, Per: time.Minute, Burst: 10},
			Auth:     RateLimit{Requests: 20, Per: time.Minute, Burst: 20},
		},
	}
}

// Secret is a string that prints masked.
type Secret string

// String masks the secret; a URL keeps its scheme and host.
func (s Secret) String() string { return Mask(string(s)) }

// LogValue masks the secret in structured logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Reveal returns the secret in clear.
func (s Secret) Reveal() string { return string(s) }

// MarshalText masks the secret wherever it is encoded as text (JSON, YAML).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Mask hides a secret value. A URL keeps its scheme, host and the first
// segment of its path (a database name, a Redis database number); its
// password, query, the rest of its path (where webhooks carry their
// tokens: Slack's /services/T/B/TOKEN) and a first segment that looks
// like a token become "xxxxx". Anything else becomes "*****".
func Mask(v string) string {
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "*****"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	if u.RawQuery != "" {
		u.RawQuery = "xxxxx"
	}
	// A chat webhook's token is its path (Discord: /api/webhooks/ID/TOKEN).
	if i := strings.Index(u.Path, "/webhooks/"); i >= 0 {
		u.Path, u.RawPath = u.Path[:i]+"/webhooks/xxxxx", ""
		return u.String()
	}
	first, rest, more := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if tokenLike(first) {
		first, more = "xxxxx", false
	}
	if more && rest != "" {
		first += "/xxxxx"
	}
	if u.Path != "" {
		u.Path, u.RawPath = "/"+first, ""
	}
	return u.String()
}

// tokenLike reports whether a path segment looks like a generated secret:
// 20 or more letters, digits, '-' and '_', with a digit among them.
func tokenLike(s string) bool {
	if len(s) < 20 || !strings.ContainsAny(s, "0123456789") {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// valueError is a value the configuration refuses: its key, and, where
// Load knows it, the layer it came from (a file, a variable, a flag).
type valueError struct {
	key, value, fix, from string
}

func (e *valueError) Error() string {
	where := ""
	if e.from != "" {
		where = " (from " + e.from + ")"
	}
	return fmt.Sprintf("%s%s: invalid value %s: %s", e.key, where, e.value, e.fix)
}

// invalidValue is the valueError of key.
func invalidValue(key string, value any, fix string) error {
	return &valueError{key: key, value: fmt.Sprint(value), fix: fix}
}

// Validate reports every problem at once, each naming its key.
func (c *Config) Validate() error { return joinErrors(c.problems()) }

// problems lists what Validate reports.
func (c *Config) problems() []error {
	var errs []error
	bad := func(key string, value any, fix string) {
		errs = append(errs, invalidValue(key, value, fix))
	}
	if c.HTTP.Addr == "" {
		bad("http.addr", `""`, `set a listen address such as ":5000"`)
	} else if !listenAddr(c.HTTP.Addr) {
		bad("http.addr", c.HTTP.Addr, `use host:port or :port, such as ":5000" or "127.0.0.1:5000"`)
	}
	if c.HTTP.PprofAddr != "" && !listenAddr(c.HTTP.PprofAddr) {
		bad("http.pprof_addr", c.HTTP.PprofAddr, `use host:port, such as "127.0.0.1:6060"`)
	}
	if c.HTTP.MaxBodyBytes <= 0 {
		bad("http.max_body_bytes", c.HTTP.MaxBodyBytes, "must be a positive number of bytes")
	}
	if c.HTTP.ShutdownTimeout < 0 {
		bad("http.shutdown_timeout", c.HTTP.ShutdownTimeout, `use 0 to stop at once or a positive duration such as "10s"`)
	}
	if c.HTTP.ShutdownDelay < 0 {
		bad("http.shutdown_delay", c.HTTP.ShutdownDelay, `use 0 to stop taking connections at once or a positive duration such as "5s"`)
	}
	if c.HTTP.MaxUploadBytes <= 0 {
		bad("http.max_upload_bytes", c.HTTP.MaxUploadBytes, "must be a positive number of bytes")
	}
	if _, err := ParseTrustedProxies(c.HTTP.TrustedProxies); err != nil {
		bad("http.trusted_proxies", c.HTTP.TrustedProxies, err.Error()+"; list CIDRs such as 10.0.0.0/8")
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"http.read_header_timeout", c.HTTP.ReadHeaderTimeout}, {"http.read_timeout", c.HTTP.ReadTimeout},
		{"http.write_timeout", c.HTTP.WriteTimeout}, {"http.idle_timeout", c.HTTP.IdleTimeout}} {
		if d.v <= 0 {
			bad(d.key, d.v, `use a positive duration such as "30s"`)
		}
	}
	if b := c.HTTP.PublicBaseURL; b != "" {
		u, err := url.Parse(b)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			bad("http.public_base_url", b, `use the scheme and host clients reach, such as "https://cur.tn"`)
		}
	}
	for key, l := range map[string]RateLimit{"rate_limits.redirect": c.RateLimits.Redirect, "rate_limits.create": c.RateLimits.Create, "rate_limits.password": c.RateLimits.Password, "rate_limits.auth": c.RateLimits.Auth} {
		if l.Requests < 0 {
			bad(key+".requests", l.Requests, "use 0 (off) or a positive number of requests")
		}
		if l.Burst < 0 {
			bad(key+".burst", l.Burst, "use 0 or a positive number of requests at once (0 allows one)")
		}
		if l.Requests > 0 && l.Per <= 0 {
			bad(key+".per", l.Per, `use a positive duration such as "1s" or "1m"`)
		}
	}
	if u := c.RateLimits.RedisURL; u != "" {
		if p, err := url.Parse(u.Reveal()); err != nil || (p.Scheme != "redis" && p.Scheme != "rediss") {
			bad("rate_limits.redis_url", u, "use a redis://host:port/db URL")
		}
	}
	if _, err := core.NormaliseBlockedHosts(splitList(c.Links.BlockedHosts)); err != nil {
		bad("links.blocked_hosts", c.Links.BlockedHosts, err.Error())
	}
	if !core.ValidRedirectStatus(c.Links.RedirectStatus) {
		bad("links.redirect_status", c.Links.RedirectStatus, "use 301, 302, 307 or 308")
	}
	for i, d := range c.Links.Domains {
		key := fmt.Sprintf("links.domains.%d", i)
		if !validDomainHost(d.Host) {
			bad(key+".host", d.Host, "use a host name such as go.example.com, without scheme or port")
		}
		if d.NotFoundURL != "" && !core.ValidHTTPURL(d.NotFoundURL) {
			bad(key+".not_found_url", d.NotFoundURL, "use an http or https URL, or leave it empty for 404")
		}
	}
	if u := c.Links.ExpiredURL; u != "" && !core.ValidHTTPURL(u) {
		bad("links.expired_url", u, "use an http or https URL, or leave it empty for 404")
	}
	if c.Links.PermanentMaxAge < 0 {
		bad("links.permanent_max_age", c.Links.PermanentMaxAge, `use 0 (no Cache-Control) or a positive duration such as "1h"`)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "warning", "error":
	default:
		bad("log.level", c.Log.Level, "use debug, info, warn or error")
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		bad("log.format", c.Log.Format, "use json or text")
	}
	switch c.Store.Driver {
	case "sqlite":
		if c.Store.SQLitePath == "" {
			bad("store.sqlite_path", `""`, "name the SQLite database file")
		}
	case "postgres":
		if c.Store.PostgresURL == "" {
			bad("store.postgres_url", `""`, "set DATABASE_URL or store.postgres_url to a postgres:// URL")
		} else if u, err := url.Parse(c.Store.PostgresURL.Reveal()); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("store.postgres_url", c.Store.PostgresURL, "use a postgres://user:password@host:port/dbname URL")
		}
	default:
		bad("store.driver", c.Store.Driver, "use sqlite or postgres")
	}
	if c.Store.QueryTimeout < 0 {
		bad("store.query_timeout", c.Store.QueryTimeout, `use 0 (no bound) or a positive duration such as "5s"`)
	}
	// Each plugin entry is checked by the host's rules (app.CheckPlugins);
	// what is config's own is that its settings encode as JSON.
	plugins := map[string]Plugin{"plugins.counter": c.Plugins.Counter, "plugins.cache": c.Plugins.Cache, "plugins.alertsink": c.Plugins.AlertSink}
	for i, s := range c.Plugins.Shards {
		plugins[fmt.Sprintf("plugins.shards.%d", i)] = s
	}
	for _, key := range slices.Sorted(maps.Keys(plugins)) {
		if _, err := json.Marshal(plugins[key].Settings); err != nil {
			bad(key+".settings", "", "settings must be a JSON-encodable object: "+err.Error())
		}
	}
	if len(c.Plugins.Shards) == 0 {
		bad("plugins.shards", "[]", "configure at least one click shard")
	}
	// The same backend twice would stand on the ring twice. Memory shards
	// are each a process of their own, so only other plugins can repeat.
	sameShard := map[string]int{}
	for i, s := range c.Plugins.Shards {
		if s.Builtin == "memory" {
			continue
		}
		backend := s.Builtin + "\x00" + s.Path + "\x00" + string(s.SettingsJSON())
		if j, ok := sameShard[backend]; ok {
			bad(fmt.Sprintf("plugins.shards.%d", i), s.backendLabel(), fmt.Sprintf("it is the same shard as plugins.shards.%d: list each shard once", j))
			continue
		}
		sameShard[backend] = i
	}
	if c.Plugins.CallTimeout <= 0 {
		bad("plugins.call_timeout", c.Plugins.CallTimeout, `use a positive duration such as "2s"`)
	}
	if c.Plugins.StartTimeout <= 0 {
		bad("plugins.start_timeout", c.Plugins.StartTimeout, `use a positive duration such as "10s"`)
	}
	if c.Clicks.BatchSize < 1 {
		bad("clicks.batch_size", c.Clicks.BatchSize, "must be at least 1")
	}
	if c.Clicks.FlushInterval <= 0 {
		bad("clicks.flush_interval", c.Clicks.FlushInterval, `use a positive duration such as "15ms"`)
	}
	if c.Clicks.EnqueueWait <= 0 {
		bad("clicks.enqueue_wait", c.Clicks.EnqueueWait, `use a duration such as "100ms"`)
	}
	if c.Clicks.QueueSize < c.Clicks.BatchSize {
		bad("clicks.queue_size", c.Clicks.QueueSize, "must be at least clicks.batch_size")
	}
	if c.Clicks.FinalFlushTimeout <= 0 {
		bad("clicks.final_flush_timeout", c.Clicks.FinalFlushTimeout, `use a positive duration such as "10s"`)
	}
	if c.Clicks.Durability != DurabilityFast && c.Clicks.Durability != DurabilityDurable {
		bad("clicks.durability", c.Clicks.Durability, `use "fast" or "durable"`)
	}
	if c.Clicks.Events != EventsStream && c.Clicks.Events != EventsDirect {
		bad("clicks.events", c.Clicks.Events, `use "stream" or "direct"`)
	}
	if c.Clicks.EventsInterval <= 0 {
		bad("clicks.events_interval", c.Clicks.EventsInterval, `use a positive duration such as "25ms"`)
	}
	if c.Clicks.AckTimeout <= 0 {
		bad("clicks.ack_timeout", c.Clicks.AckTimeout, `use a positive duration such as "3s"`)
	}
	if c.Clicks.NearCacheTTL < 0 {
		bad("clicks.near_cache_ttl", c.Clicks.NearCacheTTL, "use 0 to disable or a positive duration")
	}
	if c.Clicks.NearCacheSize < 1 {
		bad("clicks.near_cache_size", c.Clicks.NearCacheSize, `must be at least 1 (to disable the near cache, set clicks.near_cache_ttl to "0s")`)
	}
	if c.Consumer.Group == "" {
		bad("consumer.group", `""`, "name the consumer group, e.g. pg_writers")
	}
	if c.Consumer.BatchSize < 1 {
		bad("consumer.batch_size", c.Consumer.BatchSize, "must be at least 1")
	}
	if c.Consumer.Block <= 0 {
		bad("consumer.block", c.Consumer.Block, `use a positive duration such as "1s"`)
	}
	if c.Consumer.MinIdle <= 0 {
		bad("consumer.min_idle", c.Consumer.MinIdle, `use a positive duration such as "30s"`)
	}
	if c.Consumer.Writers < 1 {
		bad("consumer.writers", c.Consumer.Writers, "must be at least 1")
	}
	if c.Consumer.Linger < 0 {
		bad("consumer.linger", c.Consumer.Linger, `use a duration such as "100ms", or "0s" for none`)
	}
	if c.Notify.Addr == "" {
		bad("notify.addr", `""`, `set a listen address such as ":8080"`)
	} else if !listenAddr(c.Notify.Addr) {
		bad("notify.addr", c.Notify.Addr, `use host:port or :port, such as ":8080"`)
	}
	if !WebURL(c.Notify.PrometheusURL) {
		bad("notify.prometheus_url", c.Notify.PrometheusURL, "use an http:// URL of Prometheus, such as http://prometheus:9090")
	}
	if c.Notify.PollInterval <= 0 {
		bad("notify.poll_interval", c.Notify.PollInterval, `use a positive duration such as "15s" (NOTIFIER_POLL_SECONDS: whole seconds)`)
	}
	if c.Codes.BlockSize < 1 {
		bad("codes.block_size", c.Codes.BlockSize, "must be at least 1")
	}
	errs = append(errs, c.Privacy.validate()...)
	errs = append(errs, c.Webhooks.validate()...)
	return errs
}

// validDomainHost reports whether h is a host name or IP address of
// letters, digits, dots, hyphens and colons (no scheme, path or port).
func validDomainHost(h string) bool {
	if h == "" || strings.HasPrefix(h, ".") {
		return false
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// listenAddr reports whether addr has the host:port form net.Listen
// takes: a port number (0 to 65535) or a service name, after an optional
// host.
func listenAddr(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return false
	}
	if n, err := strconv.Atoi(port); err == nil {
		return n >= 0 && n <= 65535
	}
	_, err = net.LookupPort("tcp", port)
	return err == nil
}
