package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/curtainhq/curtain/core"
)

// CreateURL inserts u with a new id and sets u.ID; when created is not nil
// it is inserted in the same transaction with its URLID set, and created.ID
// is set. Zero times are set to now (UpdatedAt to CreatedAt), and the times
// are set to their stored values. A taken short code is core.ErrConflict,
// an unknown owner core.ErrReference.
func (s *Store) CreateURL(ctx context.Context, u *core.URL, created *core.Event) error {
	ctx, cancel := bound(ctx)
	defer cancel()
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
			// The creating key owns the link, as CreateOrFindURL records
			// it (insertOwners): a link with options is made here.
			if u.KeyID != 0 {
				if _, err := tx.NewInsert().Model(&apiKeyURLRow{URLID: row.ID, KeyID: u.KeyID}).Exec(ctx); err != nil {
					return err
				}
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
// CreateURL, unless a link to reuse exists: the one FindActiveURL finds
// for u.OriginalURL and u.KeyID, or the link holding u's reuse key. Then
// nothing is inserted, u is set to that link and found is true. The unique
// reuse_key decides between concurrent creates, so however many run at
// once, one link is created and the others find it.
//
// Concurrent calls are group-committed: they share one transaction, in
// which one query looks for the links to reuse of the whole group
// (findReusable), and one statement per table inserts the others; should
// that fail, each create is retried inside its own savepoint, so one
// create's failure (a taken code, an unknown owner) does not fail the
// others. The transaction runs on its own deadline, not on any one
// caller's context: the store timeout of the request that commits it
// (core.StoreTimeout), or groupTimeout.
func (s *Store) CreateOrFindURL(ctx context.Context, u *core.URL, created *core.Event) (found bool, err error) {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = core.Now()
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	r := &createReq{orig: urlRowOf(*u), keyID: u.KeyID}
	r.orig.ReuseKey = reuseKey(u.OriginalURL, u.KeyID)
	if created != nil {
		ev := eventRowOf(*created)
		r.event = &ev
	}
	timeout := groupTimeout
	if d := core.StoreTimeout(ctx); d > 0 {
		timeout = d // a request's
	}
	s.creates.do(r, func(batch []*createReq) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		s.commitCreates(ctx, batch, true)
	})
	if r.err != nil {
		if errors.Is(r.err, context.DeadlineExceeded) && ctx.Err() == nil {
			// The group's own deadline ran out, not the caller's: the
			// database did not answer in time.
			return false, fmt.Errorf("create url %q: no answer within %v: %w: %w", u.ShortCode, timeout, core.ErrUnavailable, r.err)
		}
		return false, wrapf(r.err, "create url %q", u.ShortCode)
	}
	*u = r.row.url()
	u.KeyID = r.keyID
	if created != nil && !r.found {
		*created = r.event.event()
	}
	return r.found, nil
}

// groupTimeout bounds one group commit of creates (a variable for the
// tests).
var groupTimeout = 10 * time.Second

// commitCreates commits a group of creates and sets each request's
// result: with one statement per step for the whole group (createGroup),
// or, when that fails, in one transaction with each create in a savepoint
// of its own (commitEach), to find which create failed. A create that
// fails on a unique violation because an id sequence lags behind explicit
// ids is retried once after the sequences are moved (spec §4.9), when
// retry is true.
func (s *Store) commitCreates(ctx context.Context, batch []*createReq, retry bool) {
	lost, err := s.createGroup(ctx, batch)
	switch {
	case err != nil:
		s.commitEach(ctx, batch, retry)
	case len(lost) > 0:
		// Their links were not created and the holders of their reuse
		// keys could not be read: every other create is committed.
		s.commitEach(ctx, lost, retry)
	}
}

// createGroup commits a group of creates with one statement per step: the
// lookup of the links to reuse (findReusable), then the inserts. On
// PostgreSQL the two run without a transaction of their own: the inserts
// are one statement (insertCreatesPG), atomic by itself, so a group costs
// two round trips and one commit. On SQLite they share one transaction.
// An error means that nothing was committed; lost are the creates whose
// reuse key another link took but whose holder could not be read (only on
// PostgreSQL, after the inserts committed).
func (s *Store) createGroup(ctx context.Context, batch []*createReq) (lost []*createReq, err error) {
	if !s.pg {
		return nil, s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			rest, err := findReusable(ctx, tx, batch)
			if err != nil || len(rest) == 0 {
				return err
			}
			return createAllInTx(ctx, tx, rest)
		})
	}
	rest, err := findReusable(ctx, s.w, batch)
	if err != nil || len(rest) == 0 {
		return nil, err
	}
	taken, err := insertCreatesPG(ctx, s.w, rest)
	if err != nil || len(taken) == 0 {
		return nil, err
	}
	if err := readHolders(ctx, s.w, taken); err != nil {
		return taken, nil
	}
	return nil, nil
}

// commitEach commits a group of creates in one transaction, each in a
// savepoint of its own, so that one create's failure does not fail the
// others, and retries those that failed on a unique violation (see
// commitCreates).
func (s *Store) commitEach(ctx context.Context, batch []*createReq, retry bool) {
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		rest, err := findReusable(ctx, tx, batch)
		if err != nil {
			return err
		}
		for _, r := range rest {
			if _, err := tx.ExecContext(ctx, "SAVEPOINT curtain_create"); err != nil {
				return err
			}
			r.err = createInTx(ctx, tx, r)
			end := "RELEASE SAVEPOINT curtain_create"
			if r.err != nil {
				end = "ROLLBACK TO SAVEPOINT curtain_create"
			}
			if _, err := tx.ExecContext(ctx, end); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for _, r := range batch {
			r.found, r.err = false, err
		}
		return
	}
	var again []*createReq
	for _, r := range batch {
		if isUniqueViolation(r.err) {
			again = append(again, r)
		}
	}
	if !retry || len(again) == 0 {
		return
	}
	if behind, err := s.sequencesBehind(ctx, "urls", "events"); err != nil || !behind {
		return
	}
	if err := s.syncSequences(ctx, s.w, "urls", "events"); err != nil {
		return
	}
	s.commitEach(ctx, again, false)
}

// readHolders answers each create of batch, whose reuse key another link
// holds, with that link (found).
func readHolders(ctx context.Context, db bun.IDB, batch []*createReq) error {
	keys := make([]string, len(batch))
	for i, r := range batch {
		keys[i] = r.row.ReuseKey
	}
	var holders []urlRow
	if err := db.NewSelect().Model(&holders).Where("url.reuse_key IN (?)", bun.List(keys)).Scan(ctx); err != nil {
		return err
	}
	byKey := make(map[string]urlRow, len(holders))
	for _, h := range holders {
		byKey[h.ReuseKey] = h
	}
	for _, r := range batch {
		if _, ok := byKey[r.row.ReuseKey]; !ok {
			return fmt.Errorf("reuse key of %q held by no link", r.row.OriginalURL)
		}
	}
	for _, r := range batch {
		r.row, r.found, r.err = byKey[r.row.ReuseKey], true, nil
	}
	return nil
}

// findReusable answers each create of batch for which FindActiveURL
// finds a link (the active link without options of its own, with the
// lowest id, to the same URL and created by the same key or, for key 0,
// by none) with that link, and returns the other creates. Every create
// starts afresh from the link it asks for. It costs one query for the
// group, and one more for the links' owners when some link matches.
func findReusable(ctx context.Context, db bun.IDB, batch []*createReq) ([]*createReq, error) {
	originals := make([]string, 0, len(batch))
	seen := make(map[string]bool, len(batch))
	for _, r := range batch {
		r.row, r.found, r.err = r.orig, false, nil
		if !seen[r.orig.OriginalURL] {
			seen[r.orig.OriginalURL] = true
			originals = append(originals, r.orig.OriginalURL)
		}
	}
	var links []urlRow
	err := db.NewSelect().Model(&links).
		Where("url.original_url IN (?)", bun.List(originals)).
		Where("url.is_active = ?", true).
		Where(withoutOptions).
		OrderExpr("url.id ASC").Scan(ctx)
	if err != nil || len(links) == 0 {
		return batch, err
	}
	owners, err := ownersOf(ctx, db, links)
	if err != nil {
		return nil, err
	}
	rest := make([]*createReq, 0, len(batch))
	for _, r := range batch {
		if l, ok := reusableLink(links, owners, r.orig.OriginalURL, r.keyID); ok {
			r.row, r.found = l, true
			continue
		}
		rest = append(rest, r)
	}
	return rest, nil
}

// ownersOf maps each of links that an API key created to its keys.
func ownersOf(ctx context.Context, db bun.IDB, links []urlRow) (map[int64][]int64, error) {
	ids := make([]int64, len(links))
	for i, l := range links {
		ids[i] = l.ID
	}
	var rows []apiKeyURLRow
	if err := db.NewSelect().Model(&rows).Where("ku.url_id IN (?)", bun.List(ids)).Scan(ctx); err != nil {
		return nil, err
	}
	owners := make(map[int64][]int64, len(rows))
	for _, o := range rows {
		owners[o.URLID] = append(owners[o.URLID], o.KeyID)
	}
	return owners, nil
}

// reusableLink returns the first of links (ordered by id) to original
// that keyID created, or for keyID 0 that no key created.
func reusableLink(links []urlRow, owners map[int64][]int64, original string, keyID int64) (urlRow, bool) {
	for _, l := range links {
		if l.OriginalURL != original {
			continue
		}
		keys := owners[l.ID]
		if (keyID == 0 && len(keys) == 0) || (keyID != 0 && slices.Contains(keys, keyID)) {
			return l, true
		}
	}
	return urlRow{}, false
}

// createAllInTx inserts a group of creates with one statement per table
// (the common case: every create is valid): the URLs, skipping reuse keys
// already held; the created events of the URLs inserted; and a read of
// the links holding the other keys. Any error fails the whole group.
func createAllInTx(ctx context.Context, tx bun.Tx, batch []*createReq) error {
	rows := make([]urlRow, len(batch))
	for i, r := range batch {
		rows[i] = r.row
		rows[i].ID = 0
	}
	var inserted []struct {
		ID       int64  `bun:"id"`
		ReuseKey string `bun:"reuse_key"`
	}
	if _, err := tx.NewInsert().Model(&rows).On("CONFLICT (reuse_key) DO NOTHING").Returning("id, reuse_key").Exec(ctx, &inserted); err != nil {
		return err
	}
	ids := make(map[string]int64, len(inserted))
	for _, in := range inserted {
		ids[in.ReuseKey] = in.ID
	}
	var events []eventRow
	var lost []*createReq // their reuse keys another link holds
	for _, r := range batch {
		id, ok := ids[r.row.ReuseKey]
		if !ok {
			lost = append(lost, r)
			continue
		}
		delete(ids, r.row.ReuseKey) // a repeated key is found, not created twice
		r.row.ID, r.found, r.err = id, false, nil
		if r.event != nil {
			r.event.ID = 0
			r.event.URLID = &r.row.ID
			events = append(events, *r.event)
		}
	}
	if err := insertOwners(ctx, tx, batch); err != nil {
		return err
	}
	if len(events) > 0 {
		var returned []struct {
			ID    int64 `bun:"id"`
			URLID int64 `bun:"url_id"`
		}
		if _, err := tx.NewInsert().Model(&events).Returning("id, url_id").Exec(ctx, &returned); err != nil {
			return err
		}
		eventIDs := make(map[int64]int64, len(returned)) // by URL: one created event each
		for _, e := range returned {
			eventIDs[e.URLID] = e.ID
		}
		for _, r := range batch {
			if r.event != nil && !r.found && r.row.ID != 0 {
				r.event.ID = eventIDs[r.row.ID]
			}
		}
	}
	if len(lost) == 0 {
		return nil
	}
	return readHolders(ctx, tx, lost)
}

// createInTx inserts one create's URL, unless its reuse key is taken
// (then it reads the link holding it), and its created event.
func createInTx(ctx context.Context, tx bun.Tx, r *createReq) error {
	r.row.ID, r.found = 0, false
	res, err := tx.NewInsert().Model(&r.row).On("CONFLICT (reuse_key) DO NOTHING").Returning("id").Exec(ctx)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		r.found = true
		return tx.NewSelect().Model(&r.row).Where("url.reuse_key = ?", r.row.ReuseKey).Scan(ctx)
	}
	if err := insertOwners(ctx, tx, []*createReq{r}); err != nil {
		return err
	}
	if r.event == nil {
		return nil
	}
	r.event.ID = 0
	r.event.URLID = &r.row.ID
	_, err = tx.NewInsert().Model(r.event).Returning("id").Exec(ctx)
	return err
}

// insertOwners records the creating key of each link of batch that was
// created (not found) under a key, in the links' transaction.
func insertOwners(ctx context.Context, tx bun.Tx, batch []*createReq) error {
	var owners []apiKeyURLRow
	for _, r := range batch {
		if r.keyID != 0 && !r.found && r.row.ID != 0 {
			owners = append(owners, apiKeyURLRow{URLID: r.row.ID, KeyID: r.keyID})
		}
	}
	if len(owners) == 0 {
		return nil
	}
	_, err := tx.NewInsert().Model(&owners).Exec(ctx)
	return err
}

// GetURL returns the URL with id, or an error matching core.ErrNotFound.
func (s *Store) GetURL(ctx context.Context, id int64) (core.URL, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
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
	ctx, cancel := bound(ctx)
	defer cancel()
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

// FindActiveURL returns the active URL without options of its own
// (core.URL.HasOptions) with the lowest id whose original URL is exactly
// original and that the API key keyID created (0: that no key created),
// or an error matching core.ErrNotFound.
func (s *Store) FindActiveURL(ctx context.Context, original string, keyID int64) (core.URL, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	return s.findByTarget(ctx, "find active url", original, true, func(q *bun.SelectQuery) *bun.SelectQuery {
		if keyID == 0 {
			return q.Where(noKeyCreated)
		}
		return q.Where("EXISTS (SELECT 1 FROM api_key_urls AS ku WHERE ku.url_id = url.id AND ku.key_id = ?)", keyID)
	})
}

// FindInactiveURL returns the inactive URL without options of its own
// and without an owner (user or API key) with the lowest id whose
// original URL is exactly original, or an error matching
// core.ErrNotFound.
func (s *Store) FindInactiveURL(ctx context.Context, original string) (core.URL, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	return s.findByTarget(ctx, "find inactive url", original, false, func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("url.user_id IS NULL").Where(noKeyCreated)
	})
}

// noKeyCreated selects the links no API key created.
const noKeyCreated = "NOT EXISTS (SELECT 1 FROM api_key_urls AS ku WHERE ku.url_id = url.id)"

// findByTarget returns the URL with the lowest id whose original URL is
// exactly original, active or not as asked, without options of its own,
// that narrow also selects; what names the lookup in errors.
func (s *Store) findByTarget(ctx context.Context, what, original string, active bool, narrow func(*bun.SelectQuery) *bun.SelectQuery) (core.URL, error) {
	var row urlRow
	q := s.db.NewSelect().Model(&row).
		Where("url.original_url = ?", original).
		Where("url.is_active = ?", active).
		Where(withoutOptions)
	err := narrow(q).OrderExpr("url.id ASC").Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return core.URL{}, fmt.Errorf("%s: %w", what, core.ErrURLNotFound)
	}
	if err != nil {
		return core.URL{}, wrapf(err, "%s", what)
	}
	return row.url(), nil
}

// withoutOptions selects the links without options of their own, the
// only ones find-if-exists reuses.
const withoutOptions = "NOT url.custom_code AND url.redirect_status IS NULL AND url.valid_since IS NULL" +
	" AND url.valid_until IS NULL AND url.max_visits IS NULL AND url.expired_url IS NULL" +
	" AND url.password_hash IS NULL AND url.rules IS NULL"

// ListURLs returns URLs matching f ordered by id, at most f.Limit of them
// (0: no limit). Only a limited list is bound by a request's store
// timeout: the whole table, which the reference's GET /urls returns, may
// take longer to read on a healthy server.
func (s *Store) ListURLs(ctx context.Context, f core.URLFilter) ([]core.URL, error) {
	if f.Limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = bound(ctx)
		defer cancel()
	}
	var rows []urlRow
	order := "url.id ASC"
	if f.Newest {
		order = "url.id DESC"
	}
	q := s.db.NewSelect().Model(&rows).OrderExpr(order)
	if f.UserID != nil {
		q = q.Where("url.user_id = ?", *f.UserID)
	}
	if f.IsActive != nil {
		q = q.Where("url.is_active = ?", *f.IsActive)
	}
	const hasTag = `url.tags LIKE ? ESCAPE '\'`
	switch {
	case len(f.Tags) > 0 && f.AllTags:
		for _, tag := range f.Tags {
			q = q.Where(hasTag, tagPattern(tag))
		}
	case len(f.Tags) > 0:
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			for _, tag := range f.Tags {
				q = q.WhereOr(hasTag, tagPattern(tag))
			}
			return q
		})
	}
	for _, tag := range f.ExcludeTags {
		q = q.Where("(url.tags IS NULL OR NOT "+hasTag+")", tagPattern(tag))
	}
	switch {
	case f.AfterID != nil && f.Newest:
		q = q.Where("url.id < ?", *f.AfterID)
	case f.AfterID != nil:
		q = q.Where("url.id > ?", *f.AfterID)
	}
	if f.Search != "" {
		q = whereSearch(q, f.Search, f.Reader)
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

// whereSearch selects the links whose short code, title or original URL
// contains search, ignoring case, reading the original URL of a
// password-protected link only when reader may see it (the links of
// reader.Owner are those recorded under it or a key it replaced).
func whereSearch(q *bun.SelectQuery, search string, reader core.TargetAccess) *bun.SelectQuery {
	const like = ` LIKE LOWER(?0) ESCAPE '\'`
	target := "LOWER(url.original_url)" + like
	switch {
	case reader.All:
	case reader.Owner != 0:
		target = "(url.password_hash IS NULL OR url.id IN (SELECT ku.url_id FROM api_key_urls AS ku WHERE ku.key_id IN (" +
			"WITH RECURSIVE owned (id) AS (SELECT id FROM api_keys WHERE id = ?1 AND replaced_by IS NULL" +
			" UNION SELECT k.id FROM api_keys AS k JOIN owned ON k.replaced_by = owned.id) SELECT id FROM owned))) AND " + target
	default:
		target = "url.password_hash IS NULL AND " + target
	}
	pattern := "%" + likeEscaper.Replace(search) + "%"
	return q.Where("(LOWER(url.short_code)"+like+" OR LOWER(url.title)"+like+" OR ("+target+"))", pattern, reader.Owner)
}

// UpdateURL stores u's original URL, title, active flag, redirect status
// and updated_at (a
// changed original URL makes the link no longer reusable by its key); when updated is
// not nil it is inserted in the same transaction (its URLID defaults to
// u.ID) and updated.ID is set. A missing URL is core.ErrNotFound.
func (s *Store) UpdateURL(ctx context.Context, u core.URL, updated *core.Event) error {
	ctx, cancel := bound(ctx)
	defer cancel()
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
			// key), though FindActiveURL finds it. Likewise a link given
			// options of its own (a password, bounds) gives up its key, so
			// that a plain create of its URL gets a new plain link.
			cols := []string{"title", "is_active", "updated_at", "original_url", "redirect_status",
				"valid_since", "valid_until", "max_visits", "expired_url", "tags", "password_hash", "rules"}
			if !row.IsActive || u.HasOptions() {
				cols = append(cols, "reuse_key")
			}
			// A retargeted link is no longer reusable by its key, which
			// was derived from the old URL (issue 19).
			if _, err := tx.NewUpdate().Model((*urlRow)(nil)).Set("reuse_key = NULL").
				Where("id = ?", row.ID).Where("original_url <> ?", row.OriginalURL).Exec(ctx); err != nil {
				return err
			}
			res, err := tx.NewUpdate().Model(&row).Column(cols...).WherePK().Exec(ctx)
			if err != nil {
				return err
			}
			if err := affected(res, "%w", core.ErrURLNotFound); err != nil {
				return err
			}
			// Visits served without a limit are not claimed: a link that
			// loses its limit forgets its count, so a limit set again
			// later starts from the link's redirect_count then (issue 19).
			if u.Lifecycle.MaxVisits == nil {
				if _, err := tx.NewDelete().Model((*linkVisits)(nil)).Where("url_id = ?", row.ID).Exec(ctx); err != nil {
					return err
				}
			}
			if updated == nil {
				return nil
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
// missing URL is core.ErrNotFound. It is not bound by a request's store
// timeout: a link with millions of events takes longer to delete on a
// healthy server, and a delete cut off would be rolled back, every time.
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
	ctx, cancel := bound(ctx)
	defer cancel()
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
