package bunstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
)

// insertCreatesSQL inserts a group of creates, one array per column: the
// URLs in the order of their reuse keys, skipping keys already held, and
// for the URLs inserted their owner rows and created events, in
// data-modifying CTEs. Concurrent groups insert their reuse keys in one
// order (ORDER BY), so that two groups with keys in common wait for each
// other instead of deadlocking. Its text does not depend on the group's
// size, so each connection parses and plans it once.
const insertCreatesSQL = `WITH d AS MATERIALIZED (
	SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::boolean[], $6::timestamp[], $7::timestamp[],
		$8::text[], $9::boolean[], $10::smallint[], $11::timestamp[], $12::timestamp[], $13::bigint[], $14::text[],
		$15::text[], $16::text[], $17::text[],
		$18::bigint[], $19::boolean[], $20::bigint[], $21::text[], $22::timestamp[], $23::text[])
	AS d (user_id, short_code, original_url, title, is_active, created_at, updated_at,
		reuse_key, custom_code, redirect_status, valid_since, valid_until, max_visits, expired_url,
		tags, password_hash, rules,
		key_id, event, event_user_id, event_type, event_at, details)
), ins AS (
	INSERT INTO urls AS url (user_id, short_code, original_url, title, is_active, created_at, updated_at,
		reuse_key, custom_code, redirect_status, valid_since, valid_until, max_visits, expired_url,
		tags, password_hash, rules)
	SELECT user_id, short_code, original_url, title, is_active, created_at, updated_at,
		reuse_key, custom_code, redirect_status, valid_since, valid_until, max_visits, expired_url,
		tags, password_hash, rules
	FROM d ORDER BY reuse_key
	ON CONFLICT (reuse_key) DO NOTHING
	RETURNING id, reuse_key
), own AS (
	INSERT INTO api_key_urls (url_id, key_id)
	SELECT ins.id, d.key_id FROM ins JOIN d ON d.reuse_key = ins.reuse_key WHERE d.key_id <> 0
), ev AS (
	INSERT INTO events (url_id, user_id, event_type, "timestamp", details)
	SELECT ins.id, d.event_user_id, d.event_type, d.event_at, d.details
	FROM ins JOIN d ON d.reuse_key = ins.reuse_key WHERE d.event
	RETURNING id, url_id
)
SELECT ins.id, ins.reuse_key, ev.id FROM ins LEFT JOIN ev ON ev.url_id = ins.id`

// insertCreatesPG inserts a group of creates with insertCreatesSQL. A
// reuse key repeated in the group is inserted once. It sets each inserted
// create's result and returns the others (their reuse key is held by
// another link), not yet answered.
func insertCreatesPG(ctx context.Context, db *bun.DB, batch []*createReq) (taken []*createReq, err error) {
	first := make(map[string]*createReq, len(batch))
	unique := make([]*createReq, 0, len(batch))
	for _, r := range batch {
		if _, dup := first[r.row.ReuseKey]; !dup {
			first[r.row.ReuseKey] = r
			unique = append(unique, r)
		}
	}
	err = withPgx(ctx, db, func(conn *pgx.Conn) error {
		args := append([]any{pgx.QueryExecModeCacheStatement}, createArrays(unique)...)
		rows, err := conn.Query(ctx, insertCreatesSQL, args...)
		if err != nil {
			return err
		}
		var id int64
		var key string
		var eventID *int64
		_, err = pgx.ForEachRow(rows, []any{&id, &key, &eventID}, func() error {
			r := first[key]
			r.row.ID, r.found, r.err = id, false, nil
			if r.event != nil && eventID != nil {
				r.event.ID = *eventID
				r.event.URLID = &r.row.ID
			}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, r := range batch {
		if r.row.ID == 0 || first[r.row.ReuseKey] != r {
			taken = append(taken, r)
		}
	}
	return taken, nil
}

// createArrays returns the arrays of insertCreatesSQL for batch, in its
// order: the URL's columns (NULL where urlRow's zero value stores NULL),
// then the owner key and the created event.
func createArrays(batch []*createReq) []any {
	n := len(batch)
	var (
		userIDs, maxVisits, keyIDs, eventUsers = make([]*int64, n), make([]*int64, n), make([]int64, n), make([]*int64, n)
		codes, originals, reuseKeys            = make([]string, n), make([]string, n), make([]string, n)
		titles, expired, tags, hashes, rules   = make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
		active, custom, event                  = make([]bool, n), make([]bool, n), make([]bool, n)
		created, updated                       = make([]time.Time, n), make([]time.Time, n)
		since, until, eventAt                  = make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
		statuses                               = make([]*int64, n)
		eventTypes, details                    = make([]*string, n), make([]*string, n)
	)
	for i, r := range batch {
		u := &r.row
		userIDs[i], codes[i], originals[i], titles[i] = u.UserID, u.ShortCode, u.OriginalURL, u.Title
		active[i], created[i], updated[i] = u.IsActive, u.CreatedAt.Time(), u.UpdatedAt.Time()
		reuseKeys[i], custom[i], maxVisits[i], expired[i] = u.ReuseKey, u.CustomCode, u.MaxVisits, u.ExpiredURL
		since[i], until[i] = timePtr(u.ValidSince), timePtr(u.ValidUntil)
		statuses[i] = nonZero(int64(u.RedirectStatus))
		tags[i], hashes[i], rules[i] = nonZero(u.Tags), nonZero(u.PasswordHash), nonZero(u.Rules)
		keyIDs[i] = r.keyID
		if e := r.event; e != nil {
			at := e.Timestamp.Time()
			event[i], eventUsers[i], eventTypes[i], eventAt[i], details[i] = true, e.UserID, &e.EventType, &at, &e.Details
		}
	}
	return []any{userIDs, codes, originals, titles, active, created, updated,
		reuseKeys, custom, statuses, since, until, maxVisits, expired,
		tags, hashes, rules,
		keyIDs, event, eventUsers, eventTypes, eventAt, details}
}

// nonZero is v, or nil for its zero value (a column urlRow stores as NULL).
func nonZero[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}
