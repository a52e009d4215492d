package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/consumer"
	"github.com/curtainhq/curtain/core/httpapi"
)

// Serve serves the API on cfg.HTTP.Addr until ctx ends, then shuts down
// in order: the HTTP server (after http.shutdown_delay of serving with
// readiness down, within http.shutdown_timeout), the click
// batcher handing every queued click to the shards, the in-serve consumer
// draining the streams into the store (both within
// clicks.final_flush_timeout), the service's pending cache deletes, and
// the backends. With consumer.in_serve
// (the embedded default) it also runs the stream consumer. It closes the
// App when it returns.
func (a *App) Serve(ctx context.Context) error {
	if a.role != Serve {
		return fmt.Errorf("serve on an application started for %s", a.role)
	}
	cfg, log := a.cfg, a.log
	trusted, err := cfg.HTTP.TrustedProxyPrefixes()
	if err != nil { // Validate has checked them
		a.shutdown(ctx)
		return fmt.Errorf("http.trusted_proxies: %w", err)
	}
	limits, closeLimits, err := rateLimits(ctx, cfg.RateLimits)
	if err != nil {
		a.shutdown(ctx)
		return err
	}
	defer closeLimits()
	keys, _ := a.store.(core.KeyStore)
	country, closeGeoIP, err := geoIPCountry(cfg.Analytics)
	if err != nil {
		a.shutdown(ctx)
		return err
	}
	defer closeGeoIP()
	if !cfg.Auth.RequireAPIKey {
		log.Warn("auth.disabled", "hint", "anyone can create, change and delete links and users; set auth.require_api_key (CURTAIN_AUTH__REQUIRE_API_KEY=true) and make keys with curtain keys create")
	}
	var stopping atomic.Bool // set for http.shutdown_delay
	api := httpapi.New(a.service, httpapi.Options{
		Logger:         log,
		Registry:       a.reg,
		InstanceID:     cfg.InstanceID,
		DebugRoutes:    func() bool { return cfg.DebugRoutes },
		AccessLog:      cfg.HTTP.AccessLog,
		MaxBodyBytes:   cfg.HTTP.MaxBodyBytes,
		MaxUploadBytes: cfg.HTTP.MaxUploadBytes,
		Readiness:      readiness(cfg.Store.Driver, a.store, a.host, log),
		Stopping:       stopping.Load,
		PluginStatus:   func() any { return a.host.Status() },
		TrustedProxies: trusted,
		PublicBaseURL:  cfg.HTTP.PublicBaseURL,
		WriteTimeout:   cfg.HTTP.WriteTimeout,
		RateLimits:     limits,
		Auth:           httpapi.Auth{RequireAPIKey: cfg.Auth.RequireAPIKey, Keys: keys},
		VisitorKey:     visitorKey(cfg.Privacy),
		RootCodes:      cfg.Links.RootCodes,
		Domains:        domains(cfg.Links.Domains),
		DropUserAgent:  !cfg.Privacy.StoreUserAgent,
		DropReferrer:   !cfg.Privacy.StoreReferrer,
		Country:        country,
	})
	timeouts := serverTimeouts(cfg.HTTP)
	timeouts.Store = cfg.Store.QueryTimeout
	srv := httpapi.NewServer(api, timeouts)

	ln, err := httpapi.Listen(cfg.HTTP.Addr)
	if err != nil {
		a.shutdown(ctx)
		return fmt.Errorf("listen %s: %w", cfg.HTTP.Addr, err)
	}
	// The logger names the instance on every line (cmd/curtain newLogger);
	// a second "instance" key here would repeat it.
	log.Info("serve.listening", "addr", ln.Addr().String(), "store", cfg.Store.Driver)

	if cfg.HTTP.PprofAddr != "" {
		stopPprof, err := servePprof(cfg.HTTP.PprofAddr)
		if err != nil {
			ln.Close()
			a.shutdown(ctx)
			return err
		}
		defer stopPprof()
		log.Info("serve.pprof", "addr", cfg.HTTP.PprofAddr)
	}

	consumerCtx, stopConsumer := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	var cons *consumer.Consumer
	if cfg.Consumer.InServe {
		cons = a.newConsumer()
		wg.Go(func() { cons.Run(consumerCtx) })
		wg.Go(a.runBeside(consumerCtx))
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		if d := cfg.HTTP.ShutdownDelay; d > 0 {
			// Keep serving while load balancers notice the readiness
			// failure; Connection: close moves keep-alive clients on.
			log.Info("serve.stopping", "delay", d.String())
			stopping.Store(true)
			srv.SetKeepAlivesEnabled(false)
			select {
			case err = <-errc:
			case <-time.After(d):
			}
		}
	}

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.HTTP.ShutdownTimeout)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		// Connections still busy (a client that never reads) are cut.
		log.Warn("serve.http_shutdown", "error", serr.Error())
		srv.Close()
	}
	// Hand queued clicks to the shards, then drain the streams into the
	// store so that clicks held by in-memory shards are not lost. This
	// gets its own time: a slow client may have used up sctx.
	fctx, cancelFlush := context.WithTimeout(context.WithoutCancel(ctx), cfg.Clicks.FinalFlushTimeout)
	defer cancelFlush()
	if err := a.clicks.Close(fctx); err != nil {
		log.Warn("serve.clicks_flush", "error", err.Error())
	}
	stopConsumer()
	wg.Wait()
	if cons != nil {
		if ferr := cons.Flush(fctx); ferr != nil {
			log.Warn("serve.consumer_flush", "error", ferr.Error())
		}
	}
	a.shutdown(ctx)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// servePprof serves the net/http/pprof handlers on addr until the returned
// function is called.
func servePprof(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s (http.pprof_addr): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return func() { srv.Close() }, nil
}

// domains converts links.domains to the HTTP API's form.
func domains(ds config.Domains) []httpapi.Domain {
	out := make([]httpapi.Domain, 0, len(ds))
	for _, d := range ds {
		out = append(out, httpapi.Domain{Host: d.Host, NotFoundURL: d.NotFoundURL})
	}
	return out
}

// serverTimeouts are the http.*_timeout settings, which bound every
// connection of serve's API and of notify's listener.
func serverTimeouts(h config.HTTP) httpapi.Timeouts {
	return httpapi.Timeouts{Read: h.ReadTimeout, ReadHeader: h.ReadHeaderTimeout, Write: h.WriteTimeout, Idle: h.IdleTimeout}
}
