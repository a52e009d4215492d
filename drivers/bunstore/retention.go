package bunstore

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/curtainhq/curtain/core"
)

var _ core.EventPruner = (*Store)(nil)

// PruneEvents deletes up to limit visitor events older than before. The
// delete triggers lower curtain_event_counts as for any delete; the same
// transaction then adds the deleted events back to the counts, so the
// analytics totals and latest times are what they were. On PostgreSQL
// the chosen rows are locked with SKIP LOCKED, so pruners in several
// processes share the work instead of waiting on each other.
func (s *Store) PruneEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	if limit <= 0 {
		return 0, nil
	}
	deleted := 0
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewSelect().Model((*eventRow)(nil)).Column("e.id").
			Where("e.event_type IN (?)", bun.List(core.VisitorEventTypes)).
			Where(`e."timestamp" < ?`, newStamp(before)).
			OrderExpr("e.id").Limit(int64(limit))
		if s.pg {
			q = q.For("UPDATE SKIP LOCKED")
		}
		var ids []int64
		if err := q.Scan(ctx, &ids); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		var counts []eventCount
		err := tx.NewSelect().Model((*eventRow)(nil)).
			ColumnExpr("e.url_id, e.event_type, count(*) AS n, max(e.\"timestamp\") AS latest").
			Where("e.id IN (?)", bun.List(ids)).Where("e.url_id IS NOT NULL").
			GroupExpr("e.url_id, e.event_type").OrderExpr("e.url_id, e.event_type").
			Scan(ctx, &counts)
		if err != nil {
			return err
		}
		res, err := tx.NewDelete().Model((*eventRow)(nil)).Where("id IN (?)", bun.List(ids)).Exec(ctx)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		deleted = int(n)
		if len(counts) == 0 {
			return nil
		}
		greatest := "GREATEST"
		if !s.pg {
			greatest = "max"
		}
		_, err = tx.NewInsert().Model(&counts).ModelTableExpr("curtain_event_counts").
			On("CONFLICT (url_id, event_type) DO UPDATE").
			Set("n = curtain_event_counts.n + excluded.n").
			Set("latest = " + greatest + "(curtain_event_counts.latest, excluded.latest)").
			Exec(ctx)
		return err
	})
	if err != nil {
		return 0, wrapf(err, "prune events before %s", before.UTC().Format(time.RFC3339))
	}
	return deleted, nil
}
