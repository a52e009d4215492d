package bunstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/uptrace/bun"

	"github.com/curtainhq/curtain/core"
)

// Import inserts seed rows with their explicit ids in one transaction:
// users, then URLs, then events, in multi-row chunks that skip ids which
// already exist (so importing twice inserts nothing the second time), each
// chunk reported to batch.Progress. Then every id sequence is moved past
// the highest id. A row without an id, or
// with one above core.MaxExplicitID, is core.ErrInvalid.
func (s *Store) Import(ctx context.Context, batch core.Import) (core.ImportCounts, error) {
	users := make([]userRow, len(batch.Users))
	for i, u := range batch.Users {
		if u.ID == 0 {
			return core.ImportCounts{}, fmt.Errorf("import user %d of %d: no id: %w", i+1, len(batch.Users), core.ErrInvalid)
		}
		if !core.ExplicitIDOK(u.ID) {
			return core.ImportCounts{}, fmt.Errorf("import user %d of %d: id %d outside %d..%d: %w", i+1, len(batch.Users), u.ID, core.MinID, core.MaxExplicitID, core.ErrInvalid)
		}
		users[i] = userRowOf(u)
	}
	urls := make([]urlRow, len(batch.URLs))
	for i, u := range batch.URLs {
		if u.ID == 0 {
			return core.ImportCounts{}, fmt.Errorf("import url %d of %d: no id: %w", i+1, len(batch.URLs), core.ErrInvalid)
		}
		if !core.ExplicitIDOK(u.ID) {
			return core.ImportCounts{}, fmt.Errorf("import url %d of %d: id %d outside %d..%d: %w", i+1, len(batch.URLs), u.ID, core.MinID, core.MaxExplicitID, core.ErrInvalid)
		}
		urls[i] = urlRowOf(u)
	}
	events := make([]eventRow, len(batch.Events))
	for i, e := range batch.Events {
		if e.ID == 0 {
			return core.ImportCounts{}, fmt.Errorf("import event %d of %d: no id: %w", i+1, len(batch.Events), core.ErrInvalid)
		}
		if !core.ExplicitIDOK(e.ID) {
			return core.ImportCounts{}, fmt.Errorf("import event %d of %d: id %d outside %d..%d: %w", i+1, len(batch.Events), e.ID, core.MinID, core.MaxExplicitID, core.ErrInvalid)
		}
		events[i] = eventRowOf(e)
	}

	var counts core.ImportCounts
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if counts.Users, err = importRows(ctx, tx, users, "id", batch.Progress); err != nil {
			return fmt.Errorf("users: %w", err)
		}
		if counts.URLs, err = importRows(ctx, tx, urls, "id", batch.Progress); err != nil {
			return fmt.Errorf("urls: %w", err)
		}
		if counts.Events, err = importRows(ctx, tx, events, anyConflict, batch.Progress); err != nil {
			return fmt.Errorf("events: %w", err)
		}
		return s.syncSequences(ctx, tx, "users", "urls", "events")
	})
	if err != nil {
		return core.ImportCounts{}, wrapf(err, "import")
	}
	return counts, nil
}

// importRows inserts rows chunk by chunk as insertRows does, and reports
// each chunk's rows to progress (when set) once it is written.
func importRows[T any](ctx context.Context, tx bun.Tx, rows []T, target string, progress func(int)) (int, error) {
	total := 0
	for part := range slices.Chunk(rows, chunkSize) {
		n, err := insertRows(ctx, tx, part, chunkSize, target)
		total += n
		if err != nil {
			return total, err
		}
		if progress != nil {
			progress(len(part))
		}
	}
	return total, nil
}
