package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/httpapi"
	"github.com/curtainhq/curtain/host"
)

// readiness lists what GET /health/ready probes: the store (required:
// nothing is stored without it) and each plugin instance (optional: while
// one is down its kind degrades as the spec says and requests still
// succeed).
func readiness(driver string, store core.Store, h *host.Host) []httpapi.Check {
	checks := []httpapi.Check{{
		Name: "store", Kind: "store", Required: true,
		Probe: func(ctx context.Context) (string, error) {
			return driver, store.Ping(ctx)
		},
	}}
	for _, s := range h.Status() {
		name := s.Name
		checks = append(checks, httpapi.Check{
			Name: name, Kind: s.Kind,
			Probe: func(context.Context) (string, error) { return pluginState(h, name) },
		})
	}
	return checks
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
