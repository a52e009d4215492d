package bunstore

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/curtainhq/curtain/core"
)

var _ core.ChunkLister = (*Store)(nil)

// ListUsersAfter returns at most limit users with id > after, by id.
func (s *Store) ListUsersAfter(ctx context.Context, after int64, limit int) ([]core.User, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	var rows []userRow
	err := s.db.NewSelect().Model(&rows).Where("u.id > ?", after).OrderExpr("u.id ASC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, wrapf(err, "list users")
	}
	users := make([]core.User, len(rows))
	for i, r := range rows {
		users[i] = r.user()
	}
	return users, nil
}

// ListEventsAfter returns at most limit events matching f with id > after,
// by id.
func (s *Store) ListEventsAfter(ctx context.Context, f core.EventFilter, after int64, limit int) ([]core.Event, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	return s.listEvents(ctx, f, func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("e.id > ?", after).Limit(int64(limit))
	})
}
