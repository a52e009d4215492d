package bunstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/curtainhq/curtain/core"
)

// linkVisits is a row of curtain_link_visits: the visits counted of a link
// with a visit limit.
type linkVisits struct {
	bun.BaseModel `bun:"table:curtain_link_visits"`

	URLID  int64 `bun:"url_id,pk"`
	Visits int64 `bun:"visits,notnull"`
}

// ClaimVisit counts a visit in the link's row of curtain_link_visits with
// one conditional update, which concurrent claims of the link (on any
// instance) wait for and then see, so that no more than c.Max are
// counted. A link without a row yet gets one holding c.Seed's answer
// first.
func (s *Store) ClaimVisit(ctx context.Context, c core.VisitClaim) (bool, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	for seeded := false; ; seeded = true {
		if !c.Peek {
			res, err := s.w.ExecContext(ctx, "UPDATE curtain_link_visits SET visits = visits + 1 WHERE url_id = ? AND visits < ?", c.URLID, c.Max)
			if err != nil {
				return false, wrapf(err, "claim a visit of url %d", c.URLID)
			}
			if n, err := res.RowsAffected(); err == nil && n == 1 {
				return true, nil
			}
		}
		var counted []int64
		if err := s.db.NewSelect().Model((*linkVisits)(nil)).Column("visits").Where("url_id = ?", c.URLID).Scan(ctx, &counted); err != nil {
			return false, wrapf(err, "read the visits of url %d", c.URLID)
		}
		if len(counted) == 1 {
			if c.Peek || counted[0] >= c.Max {
				return c.Peek && counted[0] < c.Max, nil
			}
			// Another claim started the count after this one's update
			// found no row, and visits are left: claim one.
			continue
		}
		if seeded {
			return false, fmt.Errorf("claim a visit of url %d: %w", c.URLID, core.ErrNotFound)
		}
		n, err := c.Seed(ctx)
		if err != nil {
			return false, fmt.Errorf("claim a visit of url %d: count its visits so far: %w", c.URLID, err)
		}
		_, err = s.w.NewInsert().Model(&linkVisits{URLID: c.URLID, Visits: n}).On("CONFLICT (url_id) DO NOTHING").Exec(ctx)
		if err = wrapf(err, "start counting the visits of url %d", c.URLID); errors.Is(err, core.ErrReference) {
			return false, fmt.Errorf("%w: %w", err, core.ErrNotFound) // the link is gone
		} else if err != nil {
			return false, err
		}
	}
}

// ReleaseVisit uncounts one visit of the link.
func (s *Store) ReleaseVisit(ctx context.Context, urlID int64) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	_, err := s.w.ExecContext(ctx, "UPDATE curtain_link_visits SET visits = visits - 1 WHERE url_id = ? AND visits > 0", urlID)
	return wrapf(err, "release a visit of url %d", urlID)
}
