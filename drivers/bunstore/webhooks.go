package bunstore

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/curtainhq/curtain/core"
)

var _ core.WebhookLog = (*Store)(nil)

// webhookRow is one row of curtain_webhook_deliveries.
type webhookRow struct {
	bun.BaseModel `bun:"table:curtain_webhook_deliveries,alias:w"`

	ID            int64  `bun:"id,pk,autoincrement"`
	EventType     string `bun:"event_type,notnull"`
	Payload       string `bun:"payload,notnull"`
	CreatedAt     stamp  `bun:"created_at,notnull"`
	Status        string `bun:"status,notnull"`
	Attempts      int    `bun:"attempts,notnull"`
	NextAttemptAt stamp  `bun:"next_attempt_at,notnull"`
	LastAttemptAt stamp  `bun:"last_attempt_at,nullzero"`
	LastStatus    int    `bun:"last_status,notnull"`
	LastError     string `bun:"last_error,notnull"`
}

func (r webhookRow) delivery() core.WebhookDelivery {
	d := core.WebhookDelivery{
		ID: r.ID, EventType: r.EventType, Payload: r.Payload, CreatedAt: r.CreatedAt.Time(),
		Status: r.Status, Attempts: r.Attempts, NextAttemptAt: r.NextAttemptAt.Time(),
		LastStatus: r.LastStatus, LastError: r.LastError,
	}
	if t := r.LastAttemptAt.Time(); !t.IsZero() && t.Year() > 1 {
		d.LastAttemptAt = &t
	}
	return d
}

// EnqueueWebhooks inserts pending deliveries due at their CreatedAt.
func (s *Store) EnqueueWebhooks(ctx context.Context, deliveries []core.WebhookDelivery) ([]int64, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	if len(deliveries) == 0 {
		return nil, nil
	}
	rows := make([]webhookRow, len(deliveries))
	for i, d := range deliveries {
		rows[i] = webhookRow{
			EventType: d.EventType, Payload: d.Payload, CreatedAt: newStamp(d.CreatedAt),
			Status: core.WebhookPending, NextAttemptAt: newStamp(d.CreatedAt),
		}
	}
	if _, err := s.w.NewInsert().Model(&rows).Returning("id").Exec(ctx); err != nil {
		return nil, wrapf(err, "enqueue %d webhooks", len(rows))
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids, nil
}

// ClaimWebhooks leases due pending deliveries in one transaction; on
// PostgreSQL rows another process is claiming are skipped.
func (s *Store) ClaimWebhooks(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]core.WebhookDelivery, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	var out []core.WebhookDelivery
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var rows []webhookRow
		q := tx.NewSelect().Model(&rows).
			Where("w.status = ?", core.WebhookPending).
			Where("w.next_attempt_at <= ?", newStamp(now)).
			OrderExpr("w.id").Limit(int64(limit))
		if s.pg {
			q = q.For("UPDATE SKIP LOCKED")
		}
		if err := q.Scan(ctx); err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		ids := make([]int64, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
			out = append(out, r.delivery())
		}
		_, err := tx.NewUpdate().Model((*webhookRow)(nil)).
			Set("next_attempt_at = ?", newStamp(now.Add(lease))).
			Where("id IN (?)", bun.List(ids)).Exec(ctx)
		return err
	})
	if err != nil {
		return nil, wrapf(err, "claim webhooks")
	}
	return out, nil
}

// RecordWebhookAttempt stores an attempt's outcome.
func (s *Store) RecordWebhookAttempt(ctx context.Context, id int64, a core.WebhookAttempt) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	next := a.Next
	if next.IsZero() {
		next = a.At
	}
	res, err := s.w.NewUpdate().Model((*webhookRow)(nil)).
		Set("status = ?", a.Status).
		Set("attempts = attempts + 1").
		Set("next_attempt_at = ?", newStamp(next)).
		Set("last_attempt_at = ?", newStamp(a.At)).
		Set("last_status = ?", a.HTTPStatus).
		Set("last_error = ?", a.Error).
		Where("id = ?", id).Exec(ctx)
	if err == nil {
		err = affected(res, "%w", core.ErrNotFound)
	}
	return wrapf(err, "record webhook attempt %d", id)
}

// ListWebhooks lists deliveries newest first.
func (s *Store) ListWebhooks(ctx context.Context, status string, limit int) ([]core.WebhookDelivery, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	var rows []webhookRow
	q := s.db.NewSelect().Model(&rows).OrderExpr("w.id DESC")
	if status != "" {
		q = q.Where("w.status = ?", status)
	}
	if limit > 0 {
		q = q.Limit(int64(limit))
	}
	if err := q.Scan(ctx); err != nil {
		return nil, wrapf(err, "list webhooks")
	}
	out := make([]core.WebhookDelivery, len(rows))
	for i, r := range rows {
		out[i] = r.delivery()
	}
	return out, nil
}

// GetWebhook returns one delivery.
func (s *Store) GetWebhook(ctx context.Context, id int64) (core.WebhookDelivery, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	var r webhookRow
	if err := s.db.NewSelect().Model(&r).Where("w.id = ?", id).Scan(ctx); err != nil {
		return core.WebhookDelivery{}, wrapf(err, "get webhook %d", id)
	}
	return r.delivery(), nil
}
