package bunstore

import (
	"context"
	"fmt"

	"github.com/curtainhq/curtain/core"
)

// ReserveCodes advances the store's short-code counter (curtain_counters,
// name url:counter) in one statement: the counter is first raised to at
// least the highest URL id, then by n. The reserved values are
// first..first+n-1. n below 1 is core.ErrInvalid.
func (s *Store) ReserveCodes(ctx context.Context, n int64) (int64, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	if n < 1 {
		return 0, fmt.Errorf("reserve %d codes: %w", n, core.ErrInvalid)
	}
	var last int64
	err := s.w.NewRaw(`INSERT INTO curtain_counters (name, value)
VALUES (?, (SELECT COALESCE(MAX(id), 0) FROM urls) + ?)
ON CONFLICT (name) DO UPDATE
SET value = `+s.greatest()+`(curtain_counters.value, (SELECT COALESCE(MAX(id), 0) FROM urls)) + ?
RETURNING value`, codeCounter, n, n).Scan(ctx, &last)
	if err != nil {
		return 0, wrapf(err, "reserve %d codes", n)
	}
	return last - n + 1, nil
}

// CodeFloor returns the larger of the highest URL id and the store's
// counter (0 when both are empty).
func (s *Store) CodeFloor(ctx context.Context) (int64, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	var floor int64
	err := s.db.NewRaw(`SELECT `+s.greatest()+`(
	(SELECT COALESCE(MAX(id), 0) FROM urls),
	COALESCE((SELECT value FROM curtain_counters WHERE name = ?), 0))`, codeCounter).Scan(ctx, &floor)
	if err != nil {
		return 0, wrapf(err, "read code floor")
	}
	return floor, nil
}

// RaiseCodeFloor raises the store's counter to at least last (never
// lowers it), in one statement.
func (s *Store) RaiseCodeFloor(ctx context.Context, last int64) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	_, err := s.w.NewRaw(`INSERT INTO curtain_counters (name, value) VALUES (?, ?)
ON CONFLICT (name) DO UPDATE
SET value = `+s.greatest()+`(curtain_counters.value, excluded.value)`, codeCounter, last).Exec(ctx)
	return wrapf(err, "raise code floor to %d", last)
}
