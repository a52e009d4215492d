package redis

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/curtainhq/curtain/plugins/sdk"
)

// Defaults for the timeouts a [Settings] leaves at zero. They are the
// reference's REDIS_CONNECT_TIMEOUT_SECONDS and REDIS_SOCKET_TIMEOUT_SECONDS
// defaults (spec §12). Blocking stream reads are not bound by ReadTimeout:
// they wait for their own block time plus a margin.
const (
	DefaultDialTimeout  = 50 * time.Millisecond
	DefaultReadTimeout  = 50 * time.Millisecond
	DefaultWriteTimeout = 50 * time.Millisecond
)

// Settings configure one Redis plugin. In JSON they are an object with the
// keys shown in the field comments; unknown keys are rejected. Exactly one
// of URL and Cluster must be set.
type Settings struct {
	// URL ("url") addresses a single Redis server, such as
	// "redis://127.0.0.1:6379/0"; "rediss://" selects TLS and
	// "unix:///path?db=0" a Unix socket. Credentials go in the URL.
	URL string
	// Cluster ("cluster") lists seed addresses ("host:port") of a Redis
	// Cluster.
	Cluster []string
	// Username ("username") and Password ("password") authenticate to the
	// cluster; only with Cluster.
	Username string
	Password string
	// DialTimeout ("dial_timeout"), ReadTimeout ("read_timeout") and
	// WriteTimeout ("write_timeout") bound connecting and each socket read
	// and write. In JSON they are duration strings such as "50ms"; zero
	// selects the Default* constants.
	DialTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// PoolSize ("pool_size") caps the connections per server; zero lets
	// go-redis choose (10 per CPU).
	PoolSize int
	// KeyPrefix ("key_prefix") is put in front of every key the plugin
	// touches, so several plugins or tests can share one server. Empty by
	// default, which gives exactly the reference's key layout.
	KeyPrefix string
	// WaitReplicas ("wait_replicas") is, for a click shard, how many
	// replicas each Record waits for (WAIT, on every master of a cluster)
	// before it returns; zero waits for none. A click shard on a server
	// with replicas reports the durable capability only when it waits for
	// at least one, since a failover can otherwise lose what it
	// acknowledged.
	WaitReplicas int
	// DurableOnReplicas ("durable_on_replicas") lets a click shard report
	// the durable capability when its writes reach WaitReplicas replicas
	// (at least 1), without appendfsync always: a click acknowledged is
	// then in the memory of two machines, so a crash of either cannot take
	// it, though losing power on both at once can. It trades the local
	// fsync (milliseconds per write) for a replica's acknowledgement (a
	// network round trip).
	DurableOnReplicas bool
}

// settingsJSON is the wire form of Settings.
type settingsJSON struct {
	URL          string   `json:"url"`
	Cluster      []string `json:"cluster"`
	Username     string   `json:"username"`
	Password     string   `json:"password"`
	DialTimeout  string   `json:"dial_timeout"`
	ReadTimeout  string   `json:"read_timeout"`
	WriteTimeout string   `json:"write_timeout"`
	PoolSize     int      `json:"pool_size"`
	KeyPrefix    string   `json:"key_prefix"`
	WaitReplicas int      `json:"wait_replicas"`
	OnReplicas   bool     `json:"durable_on_replicas"`
}

// ParseSettings decodes settings from a JSON object and validates them.
// Empty input decodes as an empty object (and then fails validation, since
// a server is required). Every problem is reported at once, each as a
// *core.ValidationError naming its key (so the error matches
// core.ErrInvalid).
func ParseSettings(b []byte) (Settings, error) {
	var s Settings
	if err := s.UnmarshalJSON(b); err != nil {
		return Settings{}, err
	}
	if err := s.Validate(); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// UnmarshalJSON decodes s from a JSON object, strictly: unknown keys,
// trailing data and malformed durations are *core.ValidationError errors
// naming the key. It does not validate; see [Settings.Validate].
func (s *Settings) UnmarshalJSON(b []byte) error {
	var raw settingsJSON
	if err := sdk.DecodeSettings(b, &raw, "url, cluster, username, password, dial_timeout, read_timeout, write_timeout, pool_size, key_prefix, wait_replicas, durable_on_replicas"); err != nil {
		return fmt.Errorf("redis settings: %w", err)
	}
	var errs []error
	duration := func(key, v string) time.Duration {
		if v == "" {
			return 0
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, sdk.InvalidSetting(key, "%q is not a duration such as \"50ms\"", v))
		}
		return d
	}
	*s = Settings{
		URL:               raw.URL,
		Cluster:           raw.Cluster,
		Username:          raw.Username,
		Password:          raw.Password,
		DialTimeout:       duration("dial_timeout", raw.DialTimeout),
		ReadTimeout:       duration("read_timeout", raw.ReadTimeout),
		WriteTimeout:      duration("write_timeout", raw.WriteTimeout),
		PoolSize:          raw.PoolSize,
		KeyPrefix:         raw.KeyPrefix,
		WaitReplicas:      raw.WaitReplicas,
		DurableOnReplicas: raw.OnReplicas,
	}
	if len(errs) > 0 {
		return fmt.Errorf("redis settings: %w", errors.Join(errs...))
	}
	return nil
}

// MarshalJSON encodes s in the form UnmarshalJSON reads, password included.
func (s Settings) MarshalJSON() ([]byte, error) {
	duration := func(d time.Duration) string {
		if d == 0 {
			return ""
		}
		return d.String()
	}
	return json.Marshal(settingsJSON{
		URL:          s.URL,
		Cluster:      s.Cluster,
		Username:     s.Username,
		Password:     s.Password,
		DialTimeout:  duration(s.DialTimeout),
		ReadTimeout:  duration(s.ReadTimeout),
		WriteTimeout: duration(s.WriteTimeout),
		PoolSize:     s.PoolSize,
		KeyPrefix:    s.KeyPrefix,
		WaitReplicas: s.WaitReplicas,
		OnReplicas:   s.DurableOnReplicas,
	})
}

// Validate reports every problem with s at once, each as a
// *core.ValidationError naming its JSON key.
func (s Settings) Validate() error {
	var errs []error
	switch {
	case s.URL == "" && len(s.Cluster) == 0:
		errs = append(errs, sdk.InvalidSetting("url", `set "url" to a Redis URL such as "redis://127.0.0.1:6379/0", or "cluster" to seed addresses`))
	case s.URL != "" && len(s.Cluster) > 0:
		errs = append(errs, sdk.InvalidSetting("url", `set either "url" or "cluster", not both`))
	case s.URL != "":
		if o, err := goredis.ParseURL(s.URL); err != nil {
			errs = append(errs, sdk.InvalidSetting("url", "not a Redis URL: %v", redactURLError(err)))
		} else if o.Network != "unix" && !validPort(o.Addr) {
			// url.Parse takes any digits as a port; a dial would fail
			// on every command.
			errs = append(errs, sdk.InvalidSetting("url", "not a Redis URL: the port must be 1 to 65535"))
		}
		if s.Username != "" || s.Password != "" {
			errs = append(errs, sdk.InvalidSetting("username", `with "url", put the credentials in the URL; "username" and "password" are for "cluster"`))
		}
	default:
		for i, addr := range s.Cluster {
			host, _, err := net.SplitHostPort(addr)
			if err != nil || host == "" {
				errs = append(errs, sdk.InvalidSetting(fmt.Sprintf("cluster[%d]", i), "%q is not a host:port address", addr))
				continue
			}
			if !validPort(addr) {
				errs = append(errs, sdk.InvalidSetting(fmt.Sprintf("cluster[%d]", i), "%q has no valid port", addr))
			}
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"dial_timeout", s.DialTimeout},
		{"read_timeout", s.ReadTimeout},
		{"write_timeout", s.WriteTimeout},
	} {
		if d.v < 0 {
			errs = append(errs, sdk.InvalidSetting(d.key, "%s is negative; use a positive duration or leave it unset for the default", d.v))
		}
	}
	if s.WaitReplicas < 0 {
		errs = append(errs, sdk.InvalidSetting("wait_replicas", "%d is negative; use the number of replicas a click shard's write must reach, or 0", s.WaitReplicas))
	}
	if s.DurableOnReplicas && s.WaitReplicas < 1 {
		errs = append(errs, sdk.InvalidSetting("durable_on_replicas", "needs wait_replicas of at least 1: the replicas' acknowledgement is what makes a write durable"))
	}
	if s.PoolSize < 0 {
		errs = append(errs, sdk.InvalidSetting("pool_size", "%d is negative; use a positive size or 0 for the default", s.PoolSize))
	}
	if len(errs) > 0 {
		return fmt.Errorf("redis settings: %w", errors.Join(errs...))
	}
	return nil
}

// validPort reports whether addr is host:port with a port of 1 to 65535.
func validPort(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

// redactURLError drops the URL from a url.Parse error, since the URL may
// carry a password.
func redactURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

// newClient opens a client for valid settings. It does not connect: the
// first command does.
func newClient(s Settings) goredis.UniversalClient {
	dial := orDefault(s.DialTimeout, DefaultDialTimeout)
	read := orDefault(s.ReadTimeout, DefaultReadTimeout)
	write := orDefault(s.WriteTimeout, DefaultWriteTimeout)
	// No retries: a command that timed out may have run, and retrying a
	// click pipeline would count it twice. The caller (the host) decides.
	// A cluster client retries on MaxRedirects, not MaxRetries, and that
	// covers timeouts as well as MOVED and ASK: -1 turns both off, and a
	// moved slot fails one call, whose failure reloads the slot map
	// (conn.failed).
	// One dial attempt, so a dead server is reported within DialTimeout.
	// Maintenance notifications are a Redis Cloud feature; probing for them
	// costs a round trip per connection.
	maint := &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	if len(s.Cluster) > 0 {
		return goredis.NewClusterClient(&goredis.ClusterOptions{
			// go-redis appends discovered nodes to Addrs in place: give each
			// client its own full-capacity copy, so that clients made from
			// the same Settings never share (and race on) a backing array.
			Addrs:                    slices.Clip(slices.Clone(s.Cluster)),
			Username:                 s.Username,
			Password:                 s.Password,
			MaxRetries:               -1,
			MaxRedirects:             -1,
			DialTimeout:              dial,
			DialerRetries:            1,
			ReadTimeout:              read,
			WriteTimeout:             write,
			ContextTimeoutEnabled:    true,
			PoolSize:                 s.PoolSize,
			DisableIdentity:          true,
			MaintNotificationsConfig: maint,
		})
	}
	opt, err := goredis.ParseURL(s.URL)
	if err != nil {
		// Validate has accepted the URL; this cannot happen.
		panic(fmt.Sprintf("redis: validated url does not parse: %v", redactURLError(err)))
	}
	opt.MaxRetries = -1
	opt.DialTimeout = dial
	opt.DialerRetries = 1
	opt.ReadTimeout = read
	opt.WriteTimeout = write
	opt.ContextTimeoutEnabled = true
	if s.PoolSize > 0 {
		opt.PoolSize = s.PoolSize
	}
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = maint
	return goredis.NewClient(opt)
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// SettingsForm is the settings object's wire form, for sdk.Plugin.Settings:
// Info publishes its JSON Schema, so `curtain config` checks redis settings
// without starting the plugin.
func SettingsForm() any { return settingsJSON{} }
