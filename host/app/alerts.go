package app

import (
	"context"
	"log/slog"
	"strings"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/host"
)

// logSink stands in for an alert sink when none is configured: it logs
// each batch as the relay did without DISCORD_WEBHOOK_URL, and reports it
// discarded (host.ErrDiscarded), so that the queue counts it as dropped,
// not sent.
type logSink struct{ log *slog.Logger }

func (s logSink) Send(_ context.Context, alerts []core.Alert) error {
	names := make([]string, len(alerts))
	for i, a := range alerts {
		names[i] = "[" + strings.ToUpper(a.Status) + "] " + a.Labels["alertname"]
	}
	s.log.Warn("discord.webhook_missing", "alert_count", len(alerts), "alerts", names)
	return host.ErrDiscarded
}
