package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/host/app"
)

const webhooksAbout = `Shows and resends outbound webhook deliveries (docs/webhooks.md).
  curtain webhooks list [--status pending|delivered|failed] [--limit N]
      the newest deliveries: id, event, state, attempts, last answer
  curtain webhooks redeliver ID
      sends delivery ID again now, whatever its state, and records the
      attempt; exits 1 when the receiver did not answer 2xx`

// webhookStates are the states --status takes.
var webhookStates = []string{core.WebhookPending, core.WebhookDelivered, core.WebhookFailed}

// runWebhooksCmd lists deliveries or redelivers one.
func runWebhooksCmd(ctx context.Context, env *cmdEnv, args []string) error {
	f := newConfigFlags("webhooks", env)
	status := f.fs.String("status", "", "list only deliveries in this state: pending, delivered or failed")
	limit := f.fs.Int("limit", 50, "list at most this many deliveries")
	f.check = func(args []string) string {
		switch {
		case len(args) == 1 && args[0] == "list":
			if *status != "" && !slices.Contains(webhookStates, *status) {
				return fmt.Sprintf("unknown --status %q: use %s", *status, strings.Join(webhookStates, ", "))
			}
			if *limit < 1 {
				return fmt.Sprintf("--limit %d: use 1 or more", *limit)
			}
		case len(args) == 2 && args[0] == "redeliver":
			if _, err := strconv.ParseInt(args[1], 10, 64); err != nil {
				return fmt.Sprintf("%q is not a delivery id (see curtain webhooks list)", args[1])
			}
		default:
			return "use list, or redeliver ID"
		}
		return ""
	}
	return withStoreFlags(ctx, env, f, args, func(store core.Store, cfg config.Loaded, args []string) error {
		outbox, ok := store.(core.WebhookLog)
		if !ok {
			return errors.New("webhooks: the store keeps no webhook outbox")
		}
		switch {
		case len(args) == 1 && args[0] == "list":
			ds, err := outbox.ListWebhooks(ctx, *status, *limit)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tEVENT\tSTATE\tATTEMPTS\tCREATED\tLAST ANSWER")
			for _, d := range ds {
				last := "-"
				if d.LastAttemptAt != nil {
					last = strconv.Itoa(d.LastStatus)
					if d.LastError != "" {
						last += " " + d.LastError
					}
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.EventType, d.Status, d.Attempts, d.CreatedAt.Format(time.RFC3339), last)
			}
			return tw.Flush()
		case len(args) == 2 && args[0] == "redeliver":
			id, _ := strconv.ParseInt(args[1], 10, 64) // checked by f.check
			if !cfg.Webhooks.Enabled() {
				return errors.New("webhooks redeliver: webhooks.url is not set")
			}
			a, err := app.NewWebhookWorker(cfg.Webhooks, outbox, nil).Redeliver(ctx, id)
			if errors.Is(err, core.ErrNotFound) {
				return fmt.Errorf("webhooks redeliver: no delivery %d", id)
			}
			if err != nil {
				return err
			}
			if a.Status != core.WebhookDelivered {
				return fmt.Errorf("webhooks redeliver %d: %s", id, a.Error)
			}
			fmt.Fprintf(env.stdout, "Delivered %d: %d\n", id, a.HTTPStatus)
			return nil
		}
		return errors.New("webhooks takes list, or redeliver ID")
	})
}
