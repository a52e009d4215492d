package bunstore

import (
	"context"
)

// PartitionsAhead is how many months after the current one
// AddEventPartitions is asked for by the migrations and by the
// consumer.
const PartitionsAhead = 3

// AddEventPartitions creates the monthly partitions of the events table
// from the current month (UTC) to monthsAhead months after it, those that
// do not exist yet, and returns how many it created. Events of those months
// already in the default partition move into the new ones. It does nothing
// on SQLite and on a PostgreSQL events table that is not partitioned (an
// adopted database; see migration 000070). It is safe to call from several
// processes: the partition creation runs under the migration lock.
func (s *Store) AddEventPartitions(ctx context.Context, monthsAhead int) (int, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	if !s.pg {
		return 0, nil
	}
	var made int
	err := s.withMigrationLock(ctx, func(ctx context.Context) error {
		return s.db.NewRaw("SELECT curtain_events_add_partitions(?)", monthsAhead).Scan(ctx, &made)
	})
	if err != nil {
		return 0, wrapf(err, "add event partitions")
	}
	return made, nil
}
