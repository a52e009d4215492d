package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/host"
	"github.com/curtainhq/curtain/plugins/sdk"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// app is the running backends of a serve or consume process.
type app struct {
	cfg   config.Loaded
	log   *slog.Logger
	reg   *prometheus.Registry
	store core.Store
	// events is the store the service and the stream consumer write
	// through: store itself, or store telling webhooks what committed.
	events  core.Store
	host    *host.Host
	clicks  *host.ClickBatcher
	near    *host.NearCache
	service *core.Service
}

// Plugin kinds each command runs: serve and consume never call an alert
// sink, and notify calls nothing else.
var (
	apiKinds    = []string{sdk.KindCounter, sdk.KindCache, sdk.KindClickShard}
	notifyKinds = []string{sdk.KindAlertSink}
)

// alertSinkCallTimeout bounds one delivery to the alert sink, which may
// wait out a chat service's rate limit and retry within the call.
const alertSinkCallTimeout = 30 * time.Second

// hostConfig maps the configuration of the plugins of kinds onto the
// host's.
func hostConfig(cfg config.Config, kinds ...string) host.Config {
	one := func(kind string, p config.Plugin) host.PluginConfig {
		name := p.Name
		if name == "" {
			name = kind
		}
		pc := host.PluginConfig{
			Name:         name,
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
		return pc
	}
	var hc host.Config
	for _, kind := range kinds {
		switch kind {
		case sdk.KindCounter:
			hc.Plugins = append(hc.Plugins, one(kind, cfg.Plugins.Counter))
		case sdk.KindCache:
			hc.Plugins = append(hc.Plugins, one(kind, cfg.Plugins.Cache))
		case sdk.KindAlertSink:
			hc.Plugins = append(hc.Plugins, one(kind, cfg.Plugins.AlertSink))
		case sdk.KindClickShard:
			for _, s := range cfg.Plugins.Shards {
				hc.Plugins = append(hc.Plugins, one(kind, s))
			}
		}
	}
	return hc
}

// selfExec returns the command that re-executes this binary for a plugin.
func selfExec() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	return []string{exe, pluginCommand}, nil
}

// startHost starts the configured plugins of kinds.
func startHost(cfg config.Config, log *slog.Logger, reg *prometheus.Registry, kinds ...string) (*host.Host, error) {
	self, err := selfExec()
	if err != nil {
		return nil, err
	}
	h, err := host.New(hostConfig(cfg, kinds...), host.Options{Logger: log, Registry: reg, SelfExec: self})
	if err != nil {
		return nil, fmt.Errorf("start plugins: %w", err)
	}
	return h, nil
}

// newRegistry returns a metrics registry with the process and Go runtime
// collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
	)
	return reg
}

// openApp opens the store, starts the plugins and builds the service.
func openApp(ctx context.Context, cfg config.Loaded, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg, log: log, reg: newRegistry()}
	var err error
	if a.store, err = openStore(ctx, cfg.Store); err != nil {
		return nil, err
	}
	if a.host, err = startHost(cfg.Config, log, a.reg, apiKinds...); err != nil {
		a.store.Close()
		return nil, err
	}
	a.clicks, err = host.NewClickBatcher(a.host.Shards(), a.store, host.BatcherConfig{
		QueueSize:     cfg.Clicks.QueueSize,
		BatchSize:     cfg.Clicks.BatchSize,
		FlushInterval: cfg.Clicks.FlushInterval,
		CallTimeout:   cfg.Plugins.CallTimeout,
		Durable:       cfg.Clicks.Durability == config.DurabilityDurable,
		AckTimeout:    cfg.Clicks.AckTimeout,
	}, host.Options{Logger: log, Registry: a.reg})
	if err != nil {
		a.close(ctx)
		return nil, err
	}
	var cache core.Cache = a.host.Cache()
	if cfg.Clicks.NearCacheTTL > 0 {
		a.near = host.NewNearCache(cache, host.NearCacheConfig{TTL: cfg.Clicks.NearCacheTTL, Size: cfg.Clicks.NearCacheSize, Logger: log})
		cache = a.near
	}
	a.events = a.withWebhooks(a.store)
	a.service = core.NewService(a.events, core.ServiceConfig{
		Counter:       a.host.Counter(),
		Cache:         cache,
		Clicks:        a.clicks,
		Shards:        a.clicks,
		Logger:        log,
		CodeBlockSize: cfg.Codes.BlockSize,
		BlockedHosts:  cfg.Links.BlockedHostsNormalised(),
		// Link option defaults (issue 19).
		RedirectStatus:  cfg.Links.RedirectStatus,
		PermanentMaxAge: cfg.Links.PermanentMaxAge,
		ExpiredURL:      cfg.Links.ExpiredURL,
	})
	return a, nil
}

// shutdown closes the app within the configured shutdown timeout, even
// when ctx is already cancelled, and logs what went wrong.
func (a *app) shutdown(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.HTTP.ShutdownTimeout)
	defer cancel()
	if err := a.close(ctx); err != nil {
		a.log.Error("shutdown", "error", err.Error())
	}
}

// close flushes queued clicks, then stops the plugins and the store.
// Closing the click batcher again is harmless.
func (a *app) close(ctx context.Context) error {
	var errs []error
	if a.clicks != nil {
		errs = append(errs, a.clicks.Close(ctx))
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
