package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/uptrace/bun"

	"github.com/curtainhq/curtain/core"
)

// CreateUser inserts u with a new id and sets u.ID. A zero CreatedAt is set
// to now; u.CreatedAt is set to the stored (UTC, microsecond) time.
func (s *Store) CreateUser(ctx context.Context, u *core.User) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	if u.CreatedAt.IsZero() {
		u.CreatedAt = core.Now()
	}
	row := userRowOf(*u)
	err := s.insertGenerated(ctx, func(ctx context.Context) error {
		row.ID = 0
		_, err := s.w.NewInsert().Model(&row).Returning("id").Exec(ctx)
		return err
	}, "users")
	if err != nil {
		return wrapf(err, "create user %q", u.Username)
	}
	u.ID = row.ID
	u.CreatedAt = row.CreatedAt.Time()
	return nil
}

// GetUser returns the user with id, or an error matching core.ErrNotFound.
func (s *Store) GetUser(ctx context.Context, id int64) (core.User, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	var row userRow
	err := s.db.NewSelect().Model(&row).Where("u.id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return core.User{}, fmt.Errorf("get user %d: %w", id, core.ErrUserNotFound)
	}
	if err != nil {
		return core.User{}, wrapf(err, "get user %d", id)
	}
	return row.user(), nil
}

// ListUsers returns users ordered by id; p.Limit 0 means all.
func (s *Store) ListUsers(ctx context.Context, p core.Page) ([]core.User, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	var rows []userRow
	q := s.db.NewSelect().Model(&rows).OrderExpr("u.id ASC")
	q = s.page(q, p.Limit, p.Offset)
	if err := q.Scan(ctx); err != nil {
		return nil, wrapf(err, "list users")
	}
	users := make([]core.User, len(rows))
	for i, r := range rows {
		users[i] = r.user()
	}
	return users, nil
}

// page applies a limit (0: none) and an offset to q.
func (s *Store) page(q *bun.SelectQuery, limit, offset int) *bun.SelectQuery {
	if limit > 0 {
		q = q.Limit(int64(limit))
	} else if offset > 0 && !s.pg {
		q = q.Limit(math.MaxInt64) // SQLite accepts OFFSET only after a LIMIT
	}
	if offset > 0 {
		q = q.Offset(int64(offset))
	}
	return q
}

// UpdateUser stores u's username and email; a missing user is
// core.ErrNotFound.
func (s *Store) UpdateUser(ctx context.Context, u core.User) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	row := userRowOf(u)
	res, err := s.w.NewUpdate().Model(&row).Column("username", "email").WherePK().Exec(ctx)
	if err != nil {
		return wrapf(err, "update user %d", u.ID)
	}
	return affected(res, "update user %d: %w", u.ID, core.ErrUserNotFound)
}

// DeleteUser clears the user from its URLs and events and deletes it, in
// one transaction; a missing user is core.ErrNotFound. On PostgreSQL the
// user's row is locked first: a URL or event being inserted for the user
// concurrently either commits before (and is cleared) or waits and then
// fails its foreign key (core.ErrReference), so the delete itself never
// trips over it.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if s.pg {
			var got []int64
			if err := tx.NewSelect().Model((*userRow)(nil)).Column("id").Where("u.id = ?", id).For("UPDATE").Scan(ctx, &got); err != nil {
				return err
			}
			if len(got) == 0 {
				return core.ErrUserNotFound
			}
		}
		if _, err := tx.NewUpdate().Model((*urlRow)(nil)).Set("user_id = NULL").Where("user_id = ?", id).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model((*eventRow)(nil)).Set("user_id = NULL").Where("user_id = ?", id).Exec(ctx); err != nil {
			return err
		}
		res, err := tx.NewDelete().Model((*userRow)(nil)).Where("id = ?", id).Exec(ctx)
		if err != nil {
			return err
		}
		return affected(res, "%w", core.ErrUserNotFound)
	})
	if err != nil {
		return wrapf(err, "delete user %d", id)
	}
	return nil
}

// EmailTaken reports whether some user has exactly this email.
func (s *Store) EmailTaken(ctx context.Context, email string) (bool, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	ok, err := s.db.NewSelect().Model((*userRow)(nil)).Where("u.email = ?", email).Exists(ctx)
	if err != nil {
		return false, wrapf(err, "check email")
	}
	return ok, nil
}

// InsertUsers inserts users in one transaction, chunks of 100 rows. Rows
// with explicit ids go first, skipping ids that exist; then the id sequence
// is moved past the highest id and rows without an id get generated ones.
// An explicit id above core.MaxExplicitID is core.ErrInvalid. It returns
// how many rows were inserted.
func (s *Store) InsertUsers(ctx context.Context, users []core.User) (int, error) {
	var explicit, generated []userRow
	now := core.Now()
	for _, u := range users {
		if u.CreatedAt.IsZero() {
			u.CreatedAt = now
		}
		if u.ID != 0 {
			if !core.ExplicitIDOK(u.ID) {
				return 0, fmt.Errorf("insert users: id %d outside %d..%d: %w", u.ID, core.MinID, core.MaxExplicitID, core.ErrInvalid)
			}
			explicit = append(explicit, userRowOf(u))
		} else {
			generated = append(generated, userRowOf(u))
		}
	}
	total := 0
	ctx, p := pace(ctx)
	defer p.stop()
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		kept, err := insertRows(ctx, tx, explicit, userChunkSize, "id")
		if err != nil {
			return err
		}
		if err := s.syncSequences(ctx, tx, "users"); err != nil {
			return err
		}
		added, err := insertRows(ctx, tx, generated, userChunkSize, "")
		total = kept + added
		return err
	})
	if err != nil {
		return 0, wrapf(stalled(ctx, err), "insert users")
	}
	return total, nil
}

// affected returns the error fmt.Errorf(format, args...) when res changed
// no row, and nil otherwise.
func affected(res sql.Result, format string, args ...any) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf(format, args...)
	}
	return nil
}
