package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/host"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// app is the running backends of a serve or consume process.
type app struct {
	cfg     config.Loaded
	log     *slog.Logger
	reg     *prometheus.Registry
	store   core.Store
	host    *host.Host
	clicks  *host.ClickBatcher
	service *core.Service
}

// hostConfig maps the plugin configuration onto the host's.
func hostConfig(cfg config.Config) host.Config {
	one := func(kind string, p config.Plugin) host.PluginConfig {
		name := p.Name
		if name == "" {
			name = kind
		}
		return host.PluginConfig{
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
	}
	hc := host.Config{Plugins: []host.PluginConfig{
		one("counter", cfg.Plugins.Counter),
		one("cache", cfg.Plugins.Cache),
		one("alertsink", cfg.Plugins.AlertSink),
	}}
	for _, s := range cfg.Plugins.Shards {
		hc.Plugins = append(hc.Plugins, one("clickshard", s))
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

// startHost starts every configured plugin.
func startHost(cfg config.Config, log *slog.Logger, reg *prometheus.Registry) (*host.Host, error) {
	self, err := selfExec()
	if err != nil {
		return nil, err
	}
	h, err := host.New(hostConfig(cfg), host.Options{Logger: log, Registry: reg, SelfExec: self})
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
	if a.host, err = startHost(cfg.Config, log, a.reg); err != nil {
		a.store.Close()
		return nil, err
	}
	a.clicks, err = host.NewClickBatcher(a.host.Shards(), a.store, host.BatcherConfig{
		QueueSize:     cfg.Clicks.QueueSize,
		BatchSize:     cfg.Clicks.BatchSize,
		FlushInterval: cfg.Clicks.FlushInterval,
		CallTimeout:   cfg.Plugins.CallTimeout,
	}, host.Options{Logger: log, Registry: a.reg})
	if err != nil {
		a.close(ctx)
		return nil, err
	}
	var cache core.Cache = a.host.Cache()
	if cfg.Clicks.NearCacheTTL > 0 {
		cache = host.NewNearCache(cache, host.NearCacheConfig{TTL: cfg.Clicks.NearCacheTTL, Size: cfg.Clicks.NearCacheSize})
	}
	a.service = core.NewService(a.store, core.ServiceConfig{
		Counter:       a.host.Counter(),
		Cache:         cache,
		Clicks:        a.clicks,
		Shards:        a.clicks,
		Logger:        log,
		CodeBlockSize: cfg.Codes.BlockSize,
		BlockedHosts:  cfg.Links.BlockedHostsNormalised(),
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
	if a.host != nil {
		errs = append(errs, a.host.Close(ctx))
	}
	if a.store != nil {
		errs = append(errs, a.store.Close())
	}
	return errors.Join(errs...)
}
