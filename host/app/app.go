package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/uaclass"
	"github.com/curtainhq/curtain/host"
	"github.com/curtainhq/curtain/host/passwords"
	"github.com/curtainhq/curtain/plugins/sdk"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Role is what a process runs; each role starts only the backends it
// calls.
type Role int

const (
	// Serve runs the HTTP API (and, with consumer.in_serve, the stream
	// consumer): the store, the counter, the cache and the click shards.
	Serve Role = iota
	// Consume runs the stream consumer: the store and the click shards.
	Consume
	// Notify delivers alerts: the store (for the notifier's state) and the
	// alert sink.
	Notify
)

// Kinds returns the plugin kinds r calls, in start order.
func (r Role) Kinds() []string {
	switch r {
	case Consume:
		return []string{sdk.KindClickShard}
	case Notify:
		return []string{sdk.KindAlertSink}
	default:
		return []string{sdk.KindCounter, sdk.KindCache, sdk.KindClickShard}
	}
}

// String names the role as its curtain subcommand.
func (r Role) String() string {
	switch r {
	case Consume:
		return "consume"
	case Notify:
		return "notify"
	default:
		return "serve"
	}
}

// Options carries what the embedding program provides. Its zero value
// works except for built-in plugins, which need SelfExec.
type Options struct {
	// Logger receives the application's logs; nil discards them.
	Logger *slog.Logger
	// Registry receives the metrics; nil makes one with the process and
	// Go runtime collectors (see NewRegistry).
	Registry *prometheus.Registry
	// SelfExec is the command that re-executes the curtain binary to
	// serve a built-in plugin (host.Options.SelfExec).
	SelfExec []string
	// ConsumerShards, when set, wraps the click shards the stream
	// consumer reads (cmd/curtain shows catch-up progress with it).
	ConsumerShards func(core.ShardSet) core.ShardSet
}

// App is a running application: the backends of one role. Serve, Consume
// and Notify run the role's work until their context ends and then close
// the App; a caller that uses the backends itself calls Close. An App
// serves one run.
type App struct {
	cfg  config.Loaded
	role Role
	log  *slog.Logger
	reg  *prometheus.Registry

	store core.Store
	// events is the store the service and the stream consumer write
	// through: store itself, or store telling webhooks what committed.
	events  core.Store
	host    *host.Host
	clicks  *host.ClickBatcher
	near    *host.NearCache
	service *core.Service
	// consumerShards is Options.ConsumerShards.
	consumerShards func(core.ShardSet) core.ShardSet
}

// alertSinkCallTimeout bounds one delivery to the alert sink, which may
// wait out a chat service's rate limit and retry within the call.
const alertSinkCallTimeout = 30 * time.Second

// HostConfig maps the configuration of the plugins of kinds onto the
// host's, with the host's defaults applied (host.Config.WithDefaults).
func HostConfig(cfg config.Config, kinds ...string) host.Config {
	hc, _ := hostConfig(cfg, kinds...)
	return hc
}

// hostConfig is HostConfig, and the configuration key of each entry.
func hostConfig(cfg config.Config, kinds ...string) (host.Config, []string) {
	var hc host.Config
	var keys []string
	one := func(key, kind string, p config.Plugin) {
		pc := host.PluginConfig{
			Name:         p.Name,
			Kind:         kind,
			Builtin:      p.Builtin,
			Path:         p.Path,
			SHA256:       p.SHA256,
			Reattach:     p.Reattach,
			Settings:     p.SettingsJSON(),
			CallTimeout:  cfg.Plugins.CallTimeout,
			StartTimeout: cfg.Plugins.StartTimeout,
		}
		if kind == sdk.KindAlertSink {
			pc.CallTimeout = max(pc.CallTimeout, alertSinkCallTimeout)
		}
		hc.Plugins = append(hc.Plugins, pc)
		keys = append(keys, key)
	}
	for _, kind := range kinds {
		switch kind {
		case sdk.KindCounter:
			one("plugins.counter", kind, cfg.Plugins.Counter)
		case sdk.KindCache:
			one("plugins.cache", kind, cfg.Plugins.Cache)
		case sdk.KindAlertSink:
			one("plugins.alertsink", kind, cfg.Plugins.AlertSink)
		case sdk.KindClickShard:
			for i, s := range cfg.Plugins.Shards {
				one(fmt.Sprintf("plugins.shards.%d", i), kind, s)
			}
		}
	}
	return hc.WithDefaults(), keys
}

// CheckPlugins reports every problem of the configuration's plugin
// entries at once, each naming its key, by the host's own rules
// (host.Config.Validate): the one place plugin entries are validated.
func CheckPlugins(cfg config.Config) error {
	hc, keys := hostConfig(cfg, sdk.Kinds()...)
	err := hc.Validate()
	if err == nil {
		return nil
	}
	var errs []error
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var pe *host.PluginError
		if errors.As(e, &pe) {
			errs = append(errs, fmt.Errorf("%s: %w", keys[pe.Index], pe.Err))
			continue
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// StartHost starts the configured plugins of kinds; ctx bounds the
// start-up (host.Start).
func StartHost(ctx context.Context, cfg config.Config, opts Options, kinds ...string) (*host.Host, error) {
	// host.Start's errors already begin with "start plugins".
	return host.Start(ctx, HostConfig(cfg, kinds...), host.Options{Logger: opts.Logger, Registry: opts.Registry, SelfExec: opts.SelfExec})
}

// NewRegistry returns a metrics registry with the process and Go runtime
// collectors and curtain_build_info.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		buildInfoGauge(ReadBuildInfo()),
	)
	return reg
}

// New opens the store and starts the backends role calls: for Serve the
// counter, cache and click-shard plugins, the click batcher, the
// near-cache and the service; for Consume the click shards and the
// batcher over them; for Notify the alert sink, unless it is the built-in
// memory one, which has nowhere to deliver (AlertSink then logs). ctx
// bounds the start-up. On an error, whatever was started is stopped.
func New(ctx context.Context, cfg config.Loaded, role Role, opts Options) (*App, error) {
	a := &App{cfg: cfg, role: role, log: opts.Logger, reg: opts.Registry, consumerShards: opts.ConsumerShards}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.reg == nil {
		a.reg = NewRegistry()
	}
	opts.Logger, opts.Registry = a.log, a.reg
	var err error
	if a.store, err = OpenStore(ctx, cfg.Store); err != nil {
		return nil, err
	}
	a.events = a.store
	kinds := role.Kinds()
	if role == Notify && cfg.Plugins.AlertSink.Builtin == "memory" {
		kinds = nil
	}
	if len(kinds) > 0 {
		if a.host, err = StartHost(ctx, cfg.Config, opts, kinds...); err != nil {
			a.store.Close()
			return nil, err
		}
	}
	if role == Notify {
		return a, nil
	}
	// The batcher stores clicks too (the direct events mode, the durable
	// mode, the fallback), and webhooks are told of those as well.
	a.events = WebhookStore(cfg.Webhooks, a.store, a.log)
	a.clicks, err = host.NewClickBatcher(a.host.Shards(), a.events, host.BatcherConfig{
		QueueSize:      cfg.Clicks.QueueSize,
		EnqueueWait:    cfg.Clicks.EnqueueWait,
		BatchSize:      cfg.Clicks.BatchSize,
		FlushInterval:  cfg.Clicks.FlushInterval,
		CallTimeout:    cfg.Plugins.CallTimeout,
		Durable:        cfg.Clicks.Durability == config.DurabilityDurable,
		AckTimeout:     cfg.Clicks.AckTimeout,
		DirectEvents:   cfg.Clicks.Events == config.EventsDirect,
		EventsInterval: cfg.Clicks.EventsInterval,
	}, host.Options{Logger: a.log, Registry: a.reg})
	if err != nil {
		a.Close(ctx)
		return nil, err
	}
	if role == Consume {
		return a, nil
	}
	var cache core.Cache = a.host.Cache()
	if isPrivateCache(cfg.Config) {
		private := newPrivateCache(cache, cfg.Clicks.NearCacheTTL)
		cache = private
		a.log.Info("cache.private", "hint", "the memory cache plugin serves this instance only while the store is shared: "+
			"changes made by other instances are seen within clicks.near_cache_ttl; set CACHE_REDIS_URL to share a cache and see them at once",
			"bound", private.bound.String())
	}
	if cfg.Clicks.NearCacheTTL > 0 {
		a.near = host.NewNearCache(cache, host.NearCacheConfig{TTL: cfg.Clicks.NearCacheTTL, Size: cfg.Clicks.NearCacheSize, Logger: a.log})
		cache = a.near
	}
	a.service = core.NewService(a.events, core.ServiceConfig{
		Counter:       a.host.Counter(),
		Cache:         cache,
		Clicks:        a.clicks,
		Shards:        a.clicks,
		Logger:        a.log,
		CodeBlockSize: cfg.Codes.BlockSize,
		BlockedHosts:  cfg.Links.BlockedHostsNormalised(),
		// Link option defaults (issue 19).
		RedirectStatus:  cfg.Links.RedirectStatus,
		PermanentMaxAge: cfg.Links.PermanentMaxAge,
		ExpiredURL:      cfg.Links.ExpiredURL,
		Passwords:       passwords.Bcrypt{},
		ClassifyAgent:   uaclass.ClassifyAgent,
	})
	return a, nil
}

// Store returns the durable store.
func (a *App) Store() core.Store { return a.store }

// Registry returns the registry of the application's metrics.
func (a *App) Registry() *prometheus.Registry { return a.reg }

// Service returns the service the HTTP API calls; nil unless the role is
// Serve.
func (a *App) Service() *core.Service { return a.service }

// Counter returns the counter plugin; nil unless the role is Serve.
func (a *App) Counter() core.Counter {
	if a.host == nil || a.role != Serve {
		return nil
	}
	return a.host.Counter()
}

// Plugins describes the running plugin instances in configuration order.
func (a *App) Plugins() []host.PluginStatus {
	if a.host == nil {
		return nil
	}
	return a.host.Status()
}

// AlertSink returns the alert sink of a Notify application: the plugin,
// or, when the sink is the built-in memory one, a sink that logs each
// batch as the reference relay did without DISCORD_WEBHOOK_URL.
func (a *App) AlertSink() core.AlertSink {
	if a.host == nil || a.host.AlertSink() == nil {
		return logSink{a.log.With("component", "notify")}
	}
	return a.host.AlertSink()
}

// shutdown closes the app within the configured shutdown timeout, even
// when ctx is already cancelled, and logs what went wrong.
func (a *App) shutdown(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.HTTP.ShutdownTimeout)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		a.log.Error("shutdown", "error", err.Error())
	}
}

// Close flushes queued clicks and the service's pending cache deletes,
// then stops the near-cache, the plugins and the store, in that order.
// Call it once, unless Serve or Consume ran.
func (a *App) Close(ctx context.Context) error {
	var errs []error
	if a.clicks != nil {
		errs = append(errs, a.clicks.Close(ctx))
	}
	if a.service != nil {
		a.service.Drain()
	}
	if a.near != nil {
		a.near.Close()
	}
	if a.host != nil {
		errs = append(errs, a.host.Close(ctx))
	}
	if a.store != nil {
		errs = append(errs, a.store.Close())
	}
	return errors.Join(errs...)
}
