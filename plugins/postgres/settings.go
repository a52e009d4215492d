package postgres

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/curtainhq/curtain/plugins/sdk"
)

// DefaultConnectTimeout bounds connecting to PostgreSQL when neither the
// settings ("connect_timeout") nor the URL (its connect_timeout parameter)
// set a bound, so that a server that does not answer is reported as
// unavailable instead of hanging a pool slot for minutes.
const DefaultConnectTimeout = 5 * time.Second

// maxIdentifier is PostgreSQL's longest identifier in bytes
// (NAMEDATALEN - 1); longer names would be silently truncated.
const maxIdentifier = 63

// Settings configure one PostgreSQL plugin. In JSON they are an object with
// the keys shown in the field comments; unknown keys are rejected.
type Settings struct {
	// URL ("url") is the PostgreSQL connection string, required: a URL such
	// as "postgres://user:pass@db:5432/curtain?sslmode=disable" or a
	// keyword/value string such as "host=db dbname=curtain". Anything pgx
	// accepts is accepted, including its connection parameters
	// (sslmode, connect_timeout, search_path, ...).
	URL string
	// Schema ("schema") is the schema that holds the plugin's sequence and
	// tables; it is created when missing. Empty means the connection's
	// current schema (the first existing entry of its search_path, usually
	// "public"), resolved once when the plugin first connects. It is used
	// as given, case included (it is always quoted).
	Schema string
	// PoolSize ("pool_size") caps the pool's connections; zero lets pgx
	// choose (the larger of 4 and the number of CPUs) or takes the URL's
	// pool_max_conns. A click shard that serves blocking reads holds one
	// more connection, outside the pool, for LISTEN.
	PoolSize int
	// ConnectTimeout ("connect_timeout") bounds establishing one
	// connection. In JSON it is a duration string such as "2s"; zero takes
	// the URL's connect_timeout, or DefaultConnectTimeout.
	ConnectTimeout time.Duration
}

// settingsJSON is the wire form of Settings.
type settingsJSON struct {
	URL            string `json:"url"`
	Schema         string `json:"schema,omitempty"`
	PoolSize       int    `json:"pool_size,omitempty"`
	ConnectTimeout string `json:"connect_timeout,omitempty"`
}

// knownKeys lists the settings keys for error messages.
const knownKeys = "url, schema, pool_size, connect_timeout"

// ParseSettings decodes settings from a JSON object and validates them.
// Empty input decodes as an empty object (and then fails validation, since
// a URL is required). Every problem is reported at once, each as a
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
	if err := sdk.DecodeSettings(b, &raw, knownKeys); err != nil {
		return fmt.Errorf("postgres settings: %w", err)
	}
	var timeout time.Duration
	if raw.ConnectTimeout != "" {
		d, err := time.ParseDuration(raw.ConnectTimeout)
		if err != nil {
			return fmt.Errorf("postgres settings: %w", sdk.InvalidSetting("connect_timeout", "%q is not a duration such as \"2s\"", raw.ConnectTimeout))
		}
		timeout = d
	}
	*s = Settings{URL: raw.URL, Schema: raw.Schema, PoolSize: raw.PoolSize, ConnectTimeout: timeout}
	return nil
}

// MarshalJSON encodes s in the form UnmarshalJSON reads, password included.
func (s Settings) MarshalJSON() ([]byte, error) {
	raw := settingsJSON{URL: s.URL, Schema: s.Schema, PoolSize: s.PoolSize}
	if s.ConnectTimeout != 0 {
		raw.ConnectTimeout = s.ConnectTimeout.String()
	}
	return json.Marshal(raw)
}

// Validate reports every problem with s at once, each as a
// *core.ValidationError naming its JSON key.
func (s Settings) Validate() error {
	var errs []error
	if strings.TrimSpace(s.URL) == "" {
		errs = append(errs, sdk.InvalidSetting("url", `set "url" to a PostgreSQL URL such as "postgres://postgres@127.0.0.1:5432/curtain?sslmode=disable"`))
	} else if _, err := pgxpool.ParseConfig(s.URL); err != nil {
		errs = append(errs, sdk.InvalidSetting("url", "not a PostgreSQL connection string: %v", parseError(err)))
	}
	if len(s.Schema) > maxIdentifier {
		errs = append(errs, sdk.InvalidSetting("schema", "%d bytes is longer than PostgreSQL's %d-byte identifiers", len(s.Schema), maxIdentifier))
	}
	if strings.ContainsRune(s.Schema, 0) {
		errs = append(errs, sdk.InvalidSetting("schema", "contains a NUL byte"))
	}
	if s.PoolSize < 0 {
		errs = append(errs, sdk.InvalidSetting("pool_size", "%d is negative; use a positive size or 0 for the default", s.PoolSize))
	}
	if s.ConnectTimeout < 0 {
		errs = append(errs, sdk.InvalidSetting("connect_timeout", "%s is negative; use a positive duration or leave it unset for the default", s.ConnectTimeout))
	}
	if len(errs) > 0 {
		return fmt.Errorf("postgres settings: %w", errors.Join(errs...))
	}
	return nil
}

// poolConfig returns the pgxpool configuration of valid settings.
func (s Settings) poolConfig() (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(s.URL)
	if err != nil {
		return nil, sdk.InvalidSetting("url", "not a PostgreSQL connection string: %v", parseError(err))
	}
	if s.PoolSize > 0 {
		cfg.MaxConns = int32(min(s.PoolSize, 1<<30))
	}
	switch {
	case s.ConnectTimeout > 0:
		cfg.ConnConfig.ConnectTimeout = s.ConnectTimeout
	case cfg.ConnConfig.ConnectTimeout <= 0:
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	return cfg, nil
}

// parseError describes why pgx rejected a connection string without
// repeating the string, which may carry a password that pgx's best-effort
// redaction misses.
func parseError(err error) error {
	if pe, ok := errors.AsType[*pgconn.ParseConfigError](err); ok {
		inner := pe.Unwrap()
		if ue, ok := errors.AsType[*url.Error](inner); ok {
			inner = ue.Err
		}
		if inner != nil {
			return inner
		}
		return errors.New("malformed")
	}
	return errors.New("malformed")
}

// SettingsForm is the settings object's wire form, for sdk.Plugin.Settings:
// Info publishes its JSON Schema, so `curtain config` checks postgres
// settings without starting the plugin.
func SettingsForm() any { return settingsJSON{} }
