package host

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/sdk"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Config lists the plugin instances a Host runs and tunes supervision.
// Durations left zero take their defaults.
type Config struct {
	// Plugins are the instances: at most one each of kind counter, cache
	// and alertsink, and any number of click shards, whose order is their
	// ring order.
	Plugins []PluginConfig
	// HealthInterval is how often each instance is checked: process exit
	// and the gRPC health service (default 500ms).
	HealthInterval time.Duration
	// HealthFailures is how many health checks in a row must go
	// unanswered by a live process before it is restarted (default 3),
	// and only once they have for at least HealthGrace. A process that
	// exited is restarted at once; one that answers NOT_SERVING never is.
	HealthFailures int
	// HealthGrace is how long a live process may leave its health checks
	// unanswered (slow or hung) before it is restarted (default 10s): a
	// stateful plugin is not thrown away for a slow answer under load.
	HealthGrace time.Duration
	// RestartMin and RestartMax bound the jittered exponential backoff
	// between restart attempts (defaults 50ms and 2s).
	RestartMin, RestartMax time.Duration
}

// PluginConfig is one plugin instance. Exactly one of Builtin, Path and
// Reattach says where it comes from.
type PluginConfig struct {
	// Name identifies the instance in logs, metrics and Status. It
	// defaults to the kind, or to shard0, shard1, … for click shards (in
	// their order); a click shard's name is its ring id.
	Name string
	// Kind is one of counter, clickshard, cache, alertsink.
	Kind string
	// Builtin names a plugin shipped inside the curtain binary ("memory",
	// "redis", …); the host runs it as Options.SelfExec + [Kind, Builtin].
	Builtin string
	// Path is an external plugin executable, run without arguments.
	Path string
	// SHA256 is the hex SHA-256 Path must have; it is checked before every
	// start. Empty skips the check.
	SHA256 string
	// Settings is the JSON object passed to the plugin's Configure call
	// after every start; empty means no settings.
	Settings json.RawMessage
	// Reattach is go-plugin's reattach configuration of a plugin started
	// by hand, as JSON: {"Protocol":"grpc","ProtocolVersion":1,"Pid":123,
	// "Addr":{"Network":"unix","String":"/tmp/plugin123"}}. For debugging.
	Reattach string
	// CallTimeout bounds each call to the plugin (default 1s).
	CallTimeout time.Duration
	// StartTimeout bounds the start of the plugin process up to its
	// handshake (default 10s).
	StartTimeout time.Duration
	// PassEnv names variables of the host's environment the plugin gets
	// besides sdk.EnvAllowList. Nothing else of the host's environment
	// reaches a plugin.
	PassEnv []string
}

// Source is where the plugin comes from, as PluginStatus reports it:
// "builtin <name>", the executable's path, or "reattach".
func (p PluginConfig) Source() string {
	switch {
	case p.Builtin != "":
		return "builtin " + p.Builtin
	case p.Reattach != "":
		return "reattach"
	}
	return p.Path
}

// PluginStatus describes an instance as the host sees it, for `curtain
// plugins` and the server's plugin status route.
type PluginStatus struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Source is where the plugin comes from: "builtin <name>", the
	// executable's path, or "reattach".
	Source string `json:"source"`
	// Version is the version the plugin reported, empty while it is down.
	Version string `json:"version"`
	// PID is the plugin's process id, 0 while it is down.
	PID int `json:"pid"`
	// State is StateRunning, StateRestarting or StateStopped.
	State string `json:"state"`
	// Healthy reports whether the process runs and its last health check
	// answered SERVING.
	Healthy bool `json:"healthy"`
	// Reason says why the instance is not healthy (the last health check's
	// answer or the last failed start); empty while it is healthy.
	Reason string `json:"reason,omitempty"`
	// Since is when Healthy or Reason last changed.
	Since time.Time `json:"since"`
	// Restarts counts restarts since the host started.
	Restarts int64 `json:"restarts"`
}

// The states of PluginStatus.State.
const (
	StateRunning    = "running"
	StateRestarting = "restarting"
	StateStopped    = "stopped"
)

// Host runs the configured plugin instances, supervises them, and exposes
// each as a stable core value: calls get a deadline and metrics, and while
// an instance is down or restarting they fail at once with an error
// wrapping core.ErrUnavailable. A Host is safe for concurrent use.
type Host struct {
	cfg       Config
	opts      Options
	log       *slog.Logger
	instances []*instance
	m         *hostMetrics

	counter core.Counter
	cache   core.Cache
	alerts  core.AlertSink
	shards  []core.NamedShard

	// runCtx is the host's lifetime: supervisors and restarts run until
	// Close cancels it.
	runCtx context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	closeOnce  sync.Once
	closeError error
}

type hostMetrics struct {
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	restarts *prometheus.CounterVec
	up       *prometheus.GaugeVec
}

func newHostMetrics(reg *prometheus.Registry) *hostMetrics {
	f := promauto.With(reg)
	return &hostMetrics{
		calls: f.NewCounterVec(prometheus.CounterOpts{
			Name: "curtain_plugin_rpc_total",
			Help: "Calls to plugins by kind, plugin, method and gRPC status code.",
		}, []string{"kind", "plugin", "method", "code"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "curtain_plugin_rpc_duration_seconds",
			Help:    "Duration of calls to plugins, in seconds.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"kind", "plugin", "method"}),
		restarts: f.NewCounterVec(prometheus.CounterOpts{
			Name: "curtain_plugin_restarts_total",
			Help: "Restarts of plugin instances after an exit or failed health checks.",
		}, []string{"kind", "plugin"}),
		up: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "curtain_plugin_up",
			Help: "1 when the plugin instance runs and passes its health check, else 0.",
		}, []string{"kind", "plugin"}),
	}
}

// WithDefaults returns c with every duration, count and plugin name left
// unset filled in: the one place plugin entries are defaulted. New applies
// it; callers that list the entries before starting them (curtain config,
// the settings check) call it themselves.
func (c Config) WithDefaults() Config {
	orDefault(&c.HealthInterval, 500*time.Millisecond)
	orDefault(&c.HealthFailures, 3)
	orDefault(&c.HealthGrace, 10*time.Second)
	orDefault(&c.RestartMin, 50*time.Millisecond)
	orDefault(&c.RestartMax, 2*time.Second)
	c.RestartMax = max(c.RestartMax, c.RestartMin)
	c.Plugins = slices.Clone(c.Plugins)
	shard := 0
	for i := range c.Plugins {
		p := &c.Plugins[i]
		orDefault(&p.CallTimeout, time.Second)
		orDefault(&p.StartTimeout, 10*time.Second)
		if p.Kind == sdk.KindClickShard {
			if p.Name == "" {
				p.Name = fmt.Sprintf("shard%d", shard)
			}
			shard++
		}
		if p.Name == "" {
			p.Name = p.Kind
		}
	}
	return c
}

// PluginError is a problem of one plugin entry of a Config.
type PluginError struct {
	// Index is the entry's position in Config.Plugins.
	Index int
	// Name is the entry's name (after WithDefaults).
	Name string
	// Err says what is wrong and how to fix it.
	Err error
}

func (e *PluginError) Error() string {
	return fmt.Sprintf("plugin %d (%s): %v", e.Index, e.Name, e.Err)
}

func (e *PluginError) Unwrap() error { return e.Err }

// Validate reports every problem of the plugin entries at once, each a
// *PluginError: an unknown kind, a name used twice, a second counter,
// cache or alert sink, not exactly one of Builtin, Path and Reattach, a
// SHA256 that is not 64 hex digits or not on a Path, Settings that are not
// JSON. It is the one place these rules live; New applies it, and
// host/app applies it to the configuration file's entries. Call it on
// c.WithDefaults().
func (c Config) Validate() error {
	var errs []error
	bad := func(i int, format string, args ...any) {
		errs = append(errs, &PluginError{Index: i, Name: c.Plugins[i].Name, Err: fmt.Errorf(format, args...)})
	}
	names := map[string]bool{}
	single := map[string]bool{}
	for i, p := range c.Plugins {
		if !slices.Contains(sdk.Kinds(), p.Kind) {
			bad(i, "kind %q is unknown, use one of %v", p.Kind, sdk.Kinds())
		}
		if names[p.Name] {
			bad(i, "name %q is used twice: name each instance differently", p.Name)
		}
		names[p.Name] = true
		if p.Kind != sdk.KindClickShard {
			if single[p.Kind] {
				bad(i, "a second %s plugin: configure at most one", p.Kind)
			}
			single[p.Kind] = true
		}
		sources := 0
		for _, s := range []string{p.Builtin, p.Path, p.Reattach} {
			if s != "" {
				sources++
			}
		}
		if sources != 1 {
			bad(i, "set exactly one of builtin, path and reattach")
		}
		if p.SHA256 != "" {
			if p.Path == "" {
				bad(i, "sha256 applies only to a plugin with a path")
			}
			if b, err := hex.DecodeString(p.SHA256); err != nil || len(b) != 32 {
				bad(i, "sha256 %q is not 64 hex digits: use the executable's sha256sum", p.SHA256)
			}
		}
		if len(p.Settings) > 0 && !json.Valid(p.Settings) {
			bad(i, "settings are not valid JSON")
		}
	}
	return errors.Join(errs...)
}

// validate is Validate plus what New needs: a way to run built-ins.
func (c Config) validate(opts Options) error {
	errs := []error{c.Validate()}
	for i, p := range c.Plugins {
		if p.Builtin != "" && len(opts.SelfExec) == 0 {
			errs = append(errs, &PluginError{Index: i, Name: p.Name, Err: fmt.Errorf("builtin %q needs Options.SelfExec to re-execute curtain", p.Builtin)})
		}
	}
	return errors.Join(errs...)
}

// New starts every configured plugin instance and returns once each has
// passed its identity check (kind and contract version) and taken its
// settings. If one cannot start, New stops the others and returns an error
// naming it. Call Close to stop the host.
func New(cfg Config, opts Options) (*Host, error) {
	return Start(context.Background(), cfg, opts)
}

// Start is New bounded by ctx: if ctx ends before every instance has
// started, the starts are abandoned, the instances stopped, and Start
// returns an error. ctx bounds only the start-up; the host runs until
// Close.
func Start(ctx context.Context, cfg Config, opts Options) (*Host, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(opts); err != nil {
		return nil, fmt.Errorf("plugin configuration: %w", err)
	}
	startCtx := ctx
	ctx, cancel := context.WithCancel(context.Background())
	stopOnCancel := context.AfterFunc(startCtx, cancel)
	defer stopOnCancel()
	h := &Host{
		cfg:    cfg,
		opts:   opts,
		log:    opts.logger().With("component", "host"),
		m:      newHostMetrics(opts.registry()),
		runCtx: ctx,
		cancel: cancel,
	}
	for _, p := range cfg.Plugins {
		h.instances = append(h.instances, newInstance(h, p))
	}

	errs := make([]error, len(h.instances))
	var wg sync.WaitGroup
	for i, in := range h.instances {
		wg.Go(func() {
			c, err := in.start(ctx)
			if err != nil {
				errs[i] = err
				return
			}
			in.setConn(c)
		})
	}
	wg.Wait()
	if !stopOnCancel() && startCtx.Err() != nil {
		errs = append(errs, fmt.Errorf("start abandoned: %w", context.Cause(startCtx)))
	}
	if err := errors.Join(errs...); err != nil {
		cancel()
		for _, in := range h.instances {
			in.kill()
		}
		return nil, fmt.Errorf("start plugins: %w", err)
	}

	for _, in := range h.instances {
		switch in.cfg.Kind {
		case sdk.KindCounter:
			h.counter = counterHandle{in}
		case sdk.KindCache:
			h.cache = cacheHandle{in}
		case sdk.KindAlertSink:
			h.alerts = alertSinkHandle{in}
		case sdk.KindClickShard:
			h.shards = append(h.shards, core.NamedShard{Name: in.cfg.Name, Shard: clickShardHandle{in}})
		}
		h.wg.Go(in.supervise)
	}
	return h, nil
}

// Counter returns the counter plugin, or nil when none is configured.
func (h *Host) Counter() core.Counter { return h.counter }

// Cache returns the cache plugin, or nil when none is configured.
func (h *Host) Cache() core.Cache { return h.cache }

// AlertSink returns the alert-sink plugin, or nil when none is
// configured.
func (h *Host) AlertSink() core.AlertSink { return h.alerts }

// Shards returns the click-shard plugins in configuration order, named by
// their ring ids.
func (h *Host) Shards() []core.NamedShard { return slices.Clone(h.shards) }

// Status describes every instance in configuration order.
func (h *Host) Status() []PluginStatus {
	out := make([]PluginStatus, len(h.instances))
	for i, in := range h.instances {
		out[i] = in.status()
	}
	return out
}

// Close stops supervision and kills every plugin process. It waits for
// them until ctx is done. Calling it again returns the first result.
func (h *Host) Close(ctx context.Context) error {
	h.closeOnce.Do(func() {
		h.cancel()
		done := make(chan struct{})
		go func() {
			// Kill first: a supervisor may be waiting on a start, which
			// the cancelled context and the refused tracking then end.
			var wg sync.WaitGroup
			for _, in := range h.instances {
				wg.Go(in.kill)
			}
			wg.Wait()
			h.wg.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			h.closeError = fmt.Errorf("close plugin host: %w", ctx.Err())
		}
	})
	return h.closeError
}
