package app

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/curtainhq/curtain/core"
)

// sentState keeps, in the durable store, the firing alerts notify has
// delivered and whose resolution it has not delivered yet (table
// curtain_alert_notifications), so that a restart sends no duplicate.
type sentState struct {
	db *bun.DB
}

// sentAlert is one row: the alert as delivered.
type sentAlert struct {
	Alert  core.Alert
	SentAt time.Time
}

// load returns the delivered, unresolved alerts by fingerprint.
func (s sentState) load(ctx context.Context) (map[string]sentAlert, error) {
	var rows []struct {
		Fingerprint string    `bun:"fingerprint"`
		Alert       string    `bun:"alert"`
		SentAt      time.Time `bun:"sent_at"`
	}
	if err := s.db.NewRaw("SELECT fingerprint, alert, sent_at FROM curtain_alert_notifications").Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("load sent alerts: %w", err)
	}
	out := make(map[string]sentAlert, len(rows))
	for _, r := range rows {
		var a core.Alert
		if err := json.Unmarshal([]byte(r.Alert), &a); err != nil {
			return nil, fmt.Errorf("load sent alert %s: %w", r.Fingerprint, err)
		}
		out[r.Fingerprint] = sentAlert{Alert: a, SentAt: r.SentAt}
	}
	return out, nil
}

// record notes delivered alerts, each with when it was delivered: a
// firing one is kept, a resolved one removed.
func (s sentState) record(ctx context.Context, alerts []sentAlert) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, sa := range alerts {
			a := sa.Alert
			if a.Status != statusFiring {
				if _, err := tx.ExecContext(ctx, "DELETE FROM curtain_alert_notifications WHERE fingerprint = ?", a.Fingerprint); err != nil {
					return fmt.Errorf("record resolved alert %s: %w", a.Fingerprint, err)
				}
				continue
			}
			b, err := json.Marshal(a)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO curtain_alert_notifications (fingerprint, alert, sent_at) VALUES (?, ?, ?)
ON CONFLICT (fingerprint) DO UPDATE SET alert = EXCLUDED.alert, sent_at = EXCLUDED.sent_at`, a.Fingerprint, string(b), sa.SentAt.UTC())
			if err != nil {
				return fmt.Errorf("record firing alert %s: %w", a.Fingerprint, err)
			}
		}
		return nil
	})
}

// dbOf returns the bun database under a store opened by openStore.
func dbOf(s core.Store) (*bun.DB, error) {
	d, ok := s.(interface{ DB() *bun.DB })
	if !ok {
		return nil, fmt.Errorf("store %T keeps no SQL database for notify's state", s)
	}
	return d.DB(), nil
}
