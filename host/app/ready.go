package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"syscall"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/httpapi"
	"github.com/curtainhq/curtain/host"
)

// readiness lists what GET /health/ready probes: the store (required:
// nothing is stored without it) and each plugin instance (optional: while
// one is down its kind degrades as the spec says and requests still
// succeed).
func readiness(driver string, store core.Store, h *host.Host, log *slog.Logger) []httpapi.Check {
	checks := []httpapi.Check{storeCheck(driver, store, log)}
	for _, s := range h.Status() {
		name := s.Name
		checks = append(checks, httpapi.Check{
			Name: name, Kind: s.Kind,
			Probe: func(context.Context) (string, error) { return pluginState(h, name) },
		})
	}
	return checks
}

// storeCheck probes the store: the route is open to anyone, so a failure
// is logged whole and answered only by its kind (see storeDown).
func storeCheck(driver string, store core.Store, log *slog.Logger) httpapi.Check {
	return httpapi.Check{
		Name: "store", Kind: "store", Required: true,
		Probe: func(ctx context.Context) (string, error) {
			err := store.Ping(ctx)
			if err != nil {
				log.Warn("health.store_down", "error", err.Error())
				err = storeDown(err)
			}
			return driver, err
		},
	}
}

// storeDown is what GET /health/ready says of a store it could not ping:
// whether it did not answer in time or could not be reached, with the
// system's reason (such as "connection refused") where there is one, but
// not the driver's text, which names the database, its user and address.
func storeDown(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("the store did not answer in time (the log has the error)")
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Errorf("the store cannot be reached: %s (the log has the error)", errno.Error())
	}
	return errors.New("the store cannot be reached (the log has the error)")
}

// pluginState describes the named plugin instance as the host sees it now.
func pluginState(h *host.Host, name string) (string, error) {
	for _, s := range h.Status() {
		if s.Name != name {
			continue
		}
		detail := fmt.Sprintf("%s, %d restarts", s.Source, s.Restarts)
		if !s.Healthy {
			return detail, errors.New("not running or failing its health check")
		}
		return fmt.Sprintf("%s %s, pid %d, %d restarts", s.Source, s.Version, s.PID, s.Restarts), nil
	}
	return "", errors.New("unknown plugin")
}
