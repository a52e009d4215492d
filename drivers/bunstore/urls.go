package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/uptrace/bun"

	"github.com/curtainhq/curtain/core"
)

// CreateURL inserts u with a new id and sets u.ID; when created is not nil
// it is inserted in the same transaction with its URLID set, and created.ID
// is set. Zero times are set to now (UpdatedAt to CreatedAt), and the times
// are set to their stored values. A taken short code is core.ErrConflict,
// an unknown owner core.ErrReference.
func (s *Store) CreateURL(ctx context.Context, u *core.URL, created *core.Event) error {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = core.Now()
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	row := urlRowOf(*u)
	var ev eventRow
	if created != nil {
		ev = eventRowOf(*created)
	}
	err := s.insertGenerated(ctx, func(ctx context.Context) error {
		return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			row.ID = 0
			if _, err := tx.NewInsert().Model(&row).Returning("id").Exec(ctx); err != nil {
				return err
			}
			if created == nil {
				return nil
			}
			ev.ID = 0
			ev.URLID = &row.ID
			_, err := tx.NewInsert().Model(&ev).Returning("id").Exec(ctx)
			return err
		})
	}, "urls", "events")
	if err != nil {
		return wrapf(err, "create url %q", u.ShortCode)
	}
	u.ID = row.ID
	u.CreatedAt, u.UpdatedAt = row.CreatedAt.Time(), row.UpdatedAt.Time()
	if created != nil {
		*created = ev.event()
	}
	return nil
}

// CreateOrFindURL creates u as a link that find-if-exists may reuse, like
// CreateURL, unless an active reusable link to u.OriginalURL exists: then
// nothing is inserted, u is set to that link and found is true. The unique
// reuse_key decides between concurrent creates, so however many run at
// once, one link is created and the others find it.
func (s *Store) CreateOrFindURL(ctx context.Context, u *core.URL, created *core.Event) (found bool, err error) {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = core.Now()
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	row := urlRowOf(*u)
	row.ReuseKey = reuseKey(u.OriginalURL)
	var ev eventRow
	if created != nil {
		ev = eventRowOf(*created)
	}
	err = s.insertGenerated(ctx, func(ctx context.Context) error {
		return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			row.ID, found = 0, false
			res, err := tx.NewInsert().Model(&row).On("CONFLICT (reuse_key) DO NOTHING").Returning("id").Exec(ctx)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				found = err == nil
				if err != nil {
					return err
				}
				return tx.NewSelect().Model(&row).Where("url.reuse_key = ?", row.ReuseKey).Scan(ctx)
			}
			if created == nil {
				return nil
			}
			ev.ID = 0
			ev.URLID = &row.ID
			_, err = tx.NewInsert().Model(&ev).Returning("id").Exec(ctx)
			return err
		})
	}, "urls", "events")
	if err != nil {
		return false, wrapf(err, "create url %q", u.ShortCode)
	}
	*u = row.url()
	if created != nil && !found {
		*created = ev.event()
	}
	return found, nil
}

// GetURL returns the URL with id, or an error matching core.ErrNotFound.
func (s *Store) GetURL(ctx context.Context, id int64) (core.URL, error) {
	var row urlRow
	err := s.db.NewSelect().Model(&row).Where("url.id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return core.URL{}, fmt.Errorf("get url %d: %w", id, core.ErrURLNotFound)
	}
	if err != nil {
		return core.URL{}, wrapf(err, "get url %d", id)
	}
	return row.url(), nil
}

// GetURLByCode returns the URL with this exact short code, active or not,
// or an error matching core.ErrNotFound.
func (s *Store) GetURLByCode(ctx context.Context, code string) (core.URL, error) {
	var row urlRow
	err := s.db.NewSelect().Model(&row).Where("url.short_code = ?", code).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return core.URL{}, fmt.Errorf("get url %q: %w", code, core.ErrURLNotFound)
	}
	if err != nil {
		return core.URL{}, wrapf(err, "get url %q", code)
	}
	return row.url(), nil
}

// FindActiveURL returns the active URL with the lowest id whose original
// URL is exactly original, or an error matching core.ErrNotFound.
func (s *Store) FindActiveURL(ctx context.Context, original string) (core.URL, error) {
	var row urlRow
	err := s.db.NewSelect().Model(&row).
		Where("url.original_url = ?", original).
		Where("url.is_active = ?", true).
		OrderExpr("url.id ASC").
		Limit(1).
		Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return core.URL{}, fmt.Errorf("find active url: %w", core.ErrURLNotFound)
	}
	if err != nil {
		return core.URL{}, wrapf(err, "find active url")
	}
	return row.url(), nil
}

// ListURLs returns URLs matching f ordered by id, at most f.Limit of them
// (0: no limit).
func (s *Store) ListURLs(ctx context.Context, f core.URLFilter) ([]core.URL, error) {
	var rows []urlRow
	q := s.db.NewSelect().Model(&rows).OrderExpr("url.id ASC")
	if f.UserID != nil {
		q = q.Where("url.user_id = ?", *f.UserID)
	}
	if f.IsActive != nil {
		q = q.Where("url.is_active = ?", *f.IsActive)
	}
	q = s.page(q, f.Limit, 0)
	if err := q.Scan(ctx); err != nil {
		return nil, wrapf(err, "list urls")
	}
	urls := make([]core.URL, len(rows))
	for i, r := range rows {
		urls[i] = r.url()
	}
	return urls, nil
}

// UpdateURL stores u's title, active flag and updated_at; when updated is
// not nil it is inserted in the same transaction (its URLID defaults to
// u.ID) and updated.ID is set. A missing URL is core.ErrNotFound.
func (s *Store) UpdateURL(ctx context.Context, u core.URL, updated *core.Event) error {
	row := urlRowOf(u)
	var ev eventRow
	if updated != nil {
		ev = eventRowOf(*updated)
		if ev.URLID == nil {
			ev.URLID = &row.ID
		}
	}
	err := s.insertGenerated(ctx, func(ctx context.Context) error {
		return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			// A deactivated link is no longer reusable; reactivating it
			// does not make it reusable again (a newer link may hold the
			// key), though FindActiveURL finds it.
			cols := []string{"title", "is_active", "updated_at"}
			if !row.IsActive {
				cols = append(cols, "reuse_key")
			}
			res, err := tx.NewUpdate().Model(&row).Column(cols...).WherePK().Exec(ctx)
			if err != nil {
				return err
			}
			if err := affected(res, "%w", core.ErrURLNotFound); err != nil || updated == nil {
				return err
			}
			ev.ID = 0
			_, err = tx.NewInsert().Model(&ev).Returning("id").Exec(ctx)
			return err
		})
	}, "events")
	if err != nil {
		return wrapf(err, "update url %d", u.ID)
	}
	if updated != nil {
		*updated = ev.event()
	}
	return nil
}

// DeleteURL deletes the URL's events and the URL in one transaction; a
// missing URL is core.ErrNotFound.
func (s *Store) DeleteURL(ctx context.Context, id int64) error {
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if s.pg {
			// Lock the URL first so a concurrent InsertClicks, which takes a
			// key-share lock on the URLs it references, waits for us.
			var got []int64
			if err := tx.NewSelect().Model((*urlRow)(nil)).Column("id").Where("url.id = ?", id).For("UPDATE").Scan(ctx, &got); err != nil {
				return err
			}
			if len(got) == 0 {
				return core.ErrURLNotFound
			}
		}
		// The counts go first, so that the delete trigger of events finds
		// nothing left to recount.
		if _, err := tx.NewDelete().Model((*eventCount)(nil)).Where("url_id = ?", id).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*eventRow)(nil)).Where("url_id = ?", id).Exec(ctx); err != nil {
			return err
		}
		res, err := tx.NewDelete().Model((*urlRow)(nil)).Where("id = ?", id).Exec(ctx)
		if err != nil {
			return err
		}
		return affected(res, "%w", core.ErrURLNotFound)
	})
	if err != nil {
		return wrapf(err, "delete url %d", id)
	}
	return nil
}

// URLIDsByCode maps each of codes that exists to its URL id, with one
// query per thousand codes.
func (s *Store) URLIDsByCode(ctx context.Context, codes []string) (map[string]int64, error) {
	ids := make(map[string]int64, len(codes))
	for part := range slices.Chunk(codes, lookupChunkSize) {
		var rows []urlRow
		err := s.db.NewSelect().Model(&rows).Column("id", "short_code").
			Where("url.short_code IN (?)", bun.List(part)).Scan(ctx)
		if err != nil {
			return nil, wrapf(err, "look up url ids")
		}
		for _, r := range rows {
			ids[r.ShortCode] = r.ID
		}
	}
	return ids, nil
}
