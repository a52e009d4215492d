package bunstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/uaclass"
)

// CreateEvent inserts e with a new id and sets e.ID. A zero Timestamp is set
// to now; e.Timestamp is set to the stored time. An unknown URL or user is
// core.ErrReference.
func (s *Store) CreateEvent(ctx context.Context, e *core.Event) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	if e.Timestamp.IsZero() {
		e.Timestamp = core.Now()
	}
	row := eventRowOf(*e)
	err := s.insertGenerated(ctx, func(ctx context.Context) error {
		row.ID = 0
		_, err := s.w.NewInsert().Model(&row).Returning("id").Exec(ctx)
		return err
	}, "events")
	if err != nil {
		return wrapf(err, "create event")
	}
	*e = row.event()
	return nil
}

// GetEvent returns the event with id, or an error matching
// core.ErrNotFound.
func (s *Store) GetEvent(ctx context.Context, id int64) (core.Event, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	var row eventRow
	err := withURLProtected(s.db.NewSelect().Model(&row)).Where("e.id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return core.Event{}, fmt.Errorf("get event %d: %w", id, core.ErrEventNotFound)
	}
	if err != nil {
		return core.Event{}, wrapf(err, "get event %d", id)
	}
	return row.event(), nil
}

// withURLProtected selects, besides an event's columns, whether its link
// has a password (core.Event.URLProtected): one lookup of the link's
// primary key per event, in the same query.
func withURLProtected(q *bun.SelectQuery) *bun.SelectQuery {
	return q.ColumnExpr("?TableColumns").
		ColumnExpr("EXISTS (SELECT 1 FROM urls AS pu WHERE pu.id = e.url_id AND pu.password_hash IS NOT NULL) AS url_protected")
}

// ListEvents returns the events matching every filter of f, ordered by id.
func (s *Store) ListEvents(ctx context.Context, f core.EventFilter) ([]core.Event, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	return s.listEvents(ctx, f, func(q *bun.SelectQuery) *bun.SelectQuery { return q })
}

// listEvents returns the events matching f, ordered by id, from the query
// that page narrows (to one chunk of a streamed list, for example).
func (s *Store) listEvents(ctx context.Context, f core.EventFilter, page func(*bun.SelectQuery) *bun.SelectQuery) ([]core.Event, error) {
	var rows []eventRow
	order := "e.id ASC"
	if f.Newest {
		order = "e.id DESC"
	}
	q := withURLProtected(s.db.NewSelect().Model(&rows)).OrderExpr(order)
	if f.Limit > 0 {
		q = q.Limit(int64(f.Limit))
	}
	if f.URLID != nil {
		q = q.Where("e.url_id = ?", *f.URLID)
	}
	if f.UserID != nil {
		q = q.Where("e.user_id = ?", *f.UserID)
	}
	if f.EventType != nil {
		q = q.Where("e.event_type = ?", *f.EventType)
	}
	if err := page(q).Scan(ctx); err != nil {
		return nil, wrapf(err, "list events")
	}
	events := make([]core.Event, len(rows))
	for i, r := range rows {
		events[i] = r.event()
	}
	return events, nil
}

// eventCount is one row of curtain_event_counts: the events of one type
// of one URL.
type eventCount struct {
	bun.BaseModel `bun:"table:curtain_event_counts,alias:c"`

	URLID     int64  `bun:"url_id,pk"`
	EventType string `bun:"event_type,pk"`
	N         int64  `bun:"n,notnull"`
	Latest    stamp  `bun:"latest,notnull"`
}

// SummarizeEvents reads the event counts of one URL from
// curtain_event_counts, which the database's triggers keep in the
// transaction of every insert and delete of events: one row per event
// type, so the cost does not depend on how many events the URL has.
func (s *Store) SummarizeEvents(ctx context.Context, urlID int64) (core.EventSummary, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	var groups []eventCount
	err := s.db.NewSelect().Model(&groups).Where("c.url_id = ?", urlID).Scan(ctx)
	if err != nil {
		return core.EventSummary{}, wrapf(err, "summarize events of url %d", urlID)
	}
	sum := core.EventSummary{Counts: make(map[string]int64, len(groups))}
	for _, g := range groups {
		sum.Total += g.N
		sum.Counts[g.EventType] = g.N
		if t := g.Latest.Time(); sum.Latest == nil || t.After(*sum.Latest) {
			sum.Latest = &t
		}
	}
	return sum, nil
}

// clickDetails is the details JSON of a redirect event stored from a click:
// the reference's members, and the rule of the link that chose the target
// and that target when one did (issue 19), in key order.
type clickDetails struct {
	IP        string `json:"ip"`
	Rule      string `json:"rule,omitempty"`
	Shard     string `json:"shard"`
	ShortCode string `json:"short_code"`
	Source    string `json:"source"`
	Target    string `json:"target,omitempty"`
}

// appendClickDetails appends d's JSON to buf exactly as json.Marshal
// writes it: directly when every value is plain ASCII and no rule chose
// the target (the common case: an address, a shard name, a short code),
// through json.Marshal otherwise.
func appendClickDetails(buf []byte, d clickDetails) ([]byte, error) {
	if d.Rule != "" || d.Target != "" || !plainJSON(d.IP) || !plainJSON(d.Shard) || !plainJSON(d.ShortCode) || !plainJSON(d.Source) {
		b, err := json.Marshal(d)
		return append(buf, b...), err
	}
	buf = append(buf, `{"ip":"`...)
	buf = append(buf, d.IP...)
	buf = append(buf, `","shard":"`...)
	buf = append(buf, d.Shard...)
	buf = append(buf, `","short_code":"`...)
	buf = append(buf, d.ShortCode...)
	buf = append(buf, `","source":"`...)
	buf = append(buf, d.Source...)
	return append(buf, `"}`...), nil
}

// plainJSON reports whether json.Marshal writes s between quotes as it
// is: printable ASCII other than the characters it escapes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// InsertClicks stores each click as a redirect event in one transaction:
// on PostgreSQL with COPY (copyClicks), on SQLite with one multi-row
// statement per chunk. A click whose id is already stored is
// skipped, and so is a click whose URL no longer exists (it is dropped, so
// that it cannot fail the batch forever). It returns how many events were
// inserted.
func (s *Store) InsertClicks(ctx context.Context, clicks []core.ClickEvent) (int, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	if len(clicks) == 0 {
		return 0, nil
	}
	rows := make([]eventRow, 0, len(clicks))
	var buf []byte
	for _, c := range clicks {
		source := "stream"
		if c.Shard == "" {
			source = "direct"
		}
		details, err := appendClickDetails(buf[:0], clickDetails{IP: c.Visitor, Rule: c.Rule, Shard: c.Shard, ShortCode: c.Code, Source: source, Target: c.Target})
		if err != nil {
			return 0, fmt.Errorf("insert clicks: encode details: %w", err)
		}
		buf = details
		at := c.At
		if at.IsZero() {
			at = core.Now()
		}
		urlID := c.URLID
		row := eventRow{
			URLID: &urlID, EventType: core.EventRedirect, Timestamp: newStamp(at),
			Details: string(details), ClickID: c.ID,
		}
		classify(&row, c.Click)
		rows = append(rows, row)
	}

	if s.pg {
		total, err := s.copyClicks(ctx, rows)
		if err != nil {
			return 0, wrapf(err, "insert %d clicks", len(clicks))
		}
		return total, nil
	}
	urlIDs := make([]int64, 0, len(rows))
	for _, r := range rows {
		urlIDs = append(urlIDs, *r.URLID)
	}
	slices.Sort(urlIDs)
	total := 0
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		live, err := s.liveURLs(ctx, tx, slices.Compact(urlIDs))
		if err != nil {
			return err
		}
		keep := make([]eventRow, 0, len(rows))
		for _, r := range rows {
			if live[*r.URLID] {
				keep = append(keep, r)
			}
		}
		if len(keep) == 0 {
			total = 0
			return nil
		}
		total, err = insertRows(ctx, tx, keep, chunkSize, "click_id")
		return err
	})
	if err != nil {
		return 0, wrapf(err, "insert %d clicks", len(clicks))
	}
	return total, nil
}

// classify fills the breakdown columns of r, a redirect stored from
// click c: its headers and their classes (core/uaclass). A click whose
// User-Agent was not stored comes with the header's class
// (core.Click.Agent), which is kept as it is.
func classify(r *eventRow, c core.Click) {
	a := c.Agent
	if a.Known() {
		a = uaclass.Bound(a)
	} else {
		a = uaclass.ClassifyAgent(c.UserAgent)
	}
	r.UserAgent, r.Referrer, r.Country = c.UserAgent, c.Referrer, c.Country
	r.Device, r.Browser, r.OS, r.ReferrerHost = a.Device, a.Browser, a.OS, uaclass.ReferrerHost(c.Referrer)
	if a.Bot != "" {
		r.Bot = &a.Bot
	}
}

// liveURLs returns which of ids exist (SQLite, whose one writer at a time
// keeps a concurrent DeleteURL out of the transaction).
func (s *Store) liveURLs(ctx context.Context, tx bun.Tx, ids []int64) (map[int64]bool, error) {
	live := make(map[int64]bool, len(ids))
	for part := range slices.Chunk(ids, lookupChunkSize) {
		var got []int64
		q := tx.NewSelect().Model((*urlRow)(nil)).Column("id").Where("url.id IN (?)", bun.List(part))
		if err := q.Scan(ctx, &got); err != nil {
			return nil, err
		}
		for _, id := range got {
			live[id] = true
		}
	}
	return live, nil
}

// insertBatchInto is the head of every statement that stores a batch of
// redirect events on PostgreSQL from a source named b, which yields the
// batch's columns (url_id, ts, details, click_id, user_agent, referrer,
// ua_device, ua_browser, ua_os, ua_bot, referrer_host, country).
const insertBatchInto = `INSERT INTO events (url_id, event_type, "timestamp", details, click_id,
	user_agent, referrer, ua_device, ua_browser, ua_os, ua_bot, referrer_host, country)
SELECT b.url_id, 'redirect', b.ts, b.details, b.click_id,
	b.user_agent, b.referrer, b.ua_device, b.ua_browser, b.ua_os, b.ua_bot, b.referrer_host, b.country
FROM `

// insertClicksSQL returns the general statement that stores a batch from
// source (see insertBatchInto). It keeps the clicks whose URL exists
// (locking those URLs against a concurrent DeleteURL) and skips click ids
// already stored (the unique index is on (click_id, "timestamp"), since
// migration 000070, so that events can be partitioned by month; a
// replayed click carries the same time). Each click's URL is
// looked up by itself (LATERAL), so on its primary key whatever the plan:
// a plan made for a join while the URLs were few, and kept by a
// connection that prepared the statement, scanned every URL for every
// batch once they were many (TestSmallClickBatchesFollowTheTable). Rows
// go in time order, then click-id order (the unique key), so that two
// batches holding the same clicks (one recorded on two shards, or a batch
// claimed back while its first reader still stores it) wait for each
// other on the unique index instead of deadlocking.
func insertClicksSQL(source string) string {
	return insertBatchInto + source + `
CROSS JOIN LATERAL (SELECT u.id FROM urls AS u WHERE u.id = b.url_id FOR KEY SHARE) AS u
ORDER BY b.ts, b.click_id
ON CONFLICT (click_id, "timestamp") DO NOTHING`
}

// clickArraysSource yields a batch passed as one array per column
// (clickArrays).
const clickArraysSource = `unnest($1::bigint[], $2::timestamp[], $3::text[], $4::text[], $5::text[], $6::text[],
	$7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
	AS b (url_id, ts, details, click_id, user_agent, referrer, ua_device, ua_browser, ua_os, ua_bot, referrer_host, country)`

// The two ways a batch reaches insertClicksSQL: a temporary table filled
// with COPY, or one array per column, unnested.
var (
	insertFromCopy   = insertClicksSQL("curtain_click_batch AS b")
	insertFromArrays = insertClicksSQL(clickArraysSource)
)

// insertStraightFromArrays stores a small batch straight (see
// insertStraight).
const insertStraightFromArrays = insertBatchInto + clickArraysSource

// clickBatchTable is the session's temporary table that a batch is
// copied into; its rows go at commit.
const clickBatchTable = `CREATE TEMP TABLE IF NOT EXISTS curtain_click_batch (
	url_id integer NOT NULL,
	ts timestamp NOT NULL,
	details text NOT NULL,
	click_id varchar(64) NOT NULL,
	user_agent text,
	referrer text,
	ua_device varchar(16),
	ua_browser varchar(64),
	ua_os varchar(64),
	ua_bot varchar(128),
	referrer_host varchar(255),
	country varchar(2)
) ON COMMIT DELETE ROWS`

// batchColumns are the columns a batch is copied into curtain_click_batch.
var batchColumns = []string{"url_id", "ts", "details", "click_id",
	"user_agent", "referrer", "ua_device", "ua_browser", "ua_os", "ua_bot", "referrer_host", "country"}

// arrayBatchMax is the largest batch copyClicks passes as arrays, in one
// statement that is its own transaction. For a small batch a transaction
// of several statements costs more than the rows themselves; a larger one
// is copied. BenchmarkInsertClicks, per event, arrays against the
// temporary table's COPY: batch=8 166 µs against 318-345 µs,
// batch=256 -25 % (p=0.026), batch=1024 the same; against the straight
// copy: batch=256 the same (p>0.13), batch=1024 +20-49 % (p<=0.004).
var arrayBatchMax = 256

// clickBatch is a batch of click rows in insertClicksSQL's order, with
// the arguments of the statements that take it as arrays when it is
// small enough (arrayBatchMax); a larger one is copied. The arrays go
// binary, to a statement each connection prepares once, not by the
// connections' simple protocol: as one text of quoted literals they cost
// pgx the quoting and PostgreSQL a parse and a plan per batch.
type clickBatch struct {
	rows   []eventRow
	arrays []any // nil: the batch is copied
}

// copyClicks stores redirect events on PostgreSQL: straight first
// (insertStraight), and with insertClicksSQL (insertChecked) when that
// is refused. It returns how many events were inserted.
func (s *Store) copyClicks(ctx context.Context, rows []eventRow) (int, error) {
	b := clickBatch{rows: insertOrder(rows)}
	if len(rows) <= arrayBatchMax {
		b.arrays = append([]any{pgx.QueryExecModeCacheStatement}, clickArrays(b.rows)...)
	}
	var total int64
	err := withPgx(ctx, s.db, func(conn *pgx.Conn) error {
		var err error
		total, err = b.insertStraight(ctx, conn)
		if err != nil && copyRefused(err) {
			total, err = b.insertChecked(ctx, conn)
		}
		return err
	})
	return int(total), err
}

// insertStraight stores every click of the batch as it is, in one
// statement that is its own transaction: the common case of a batch whose
// clicks are new and whose URLs exist. It skips what insertChecked pays
// for the rare others: the join of the URLs (the foreign key's check still
// locks each URL FOR KEY SHARE, so a concurrent DeleteURL waits or makes
// it fail), the sort, the conflict arbiter (one more probe of the unique
// index and one more WAL record per row), and for a large batch the
// temporary table. A batch holding a click already stored, or one of a
// URL deleted meanwhile, fails it (copyRefused) and stores nothing.
func (b clickBatch) insertStraight(ctx context.Context, conn *pgx.Conn) (int64, error) {
	if b.arrays != nil {
		tag, err := conn.Exec(ctx, insertStraightFromArrays, b.arrays...)
		return tag.RowsAffected(), err
	}
	return conn.CopyFrom(ctx, pgx.Identifier{"events"}, eventsCopyColumns, pgx.CopyFromSlice(len(b.rows), func(i int) ([]any, error) {
		return append(b.rows[i].batchValues(), core.EventRedirect), nil
	}))
}

// insertChecked stores the batch with insertClicksSQL, which keeps only
// new clicks of existing URLs: from the arrays, or through a temporary
// table filled with COPY, in one transaction.
func (b clickBatch) insertChecked(ctx context.Context, conn *pgx.Conn) (int64, error) {
	if b.arrays != nil {
		tag, err := conn.Exec(ctx, insertFromArrays, b.arrays...)
		return tag.RowsAffected(), err
	}
	var total int64
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, clickBatchTable); err != nil {
			return err
		}
		src := pgx.CopyFromSlice(len(b.rows), func(i int) ([]any, error) {
			return b.rows[i].batchValues(), nil
		})
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"curtain_click_batch"}, batchColumns, src); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, insertFromCopy)
		total = tag.RowsAffected()
		return err
	})
	return total, err
}

// batchValues returns a click row's values in batchColumns' order, with
// room for the event type that insertStraight adds.
func (r *eventRow) batchValues() []any {
	row := append(make([]any, 0, len(eventsCopyColumns)), *r.URLID, r.Timestamp.Time(), r.Details, r.ClickID)
	for _, v := range r.optionalColumns() {
		row = append(row, v) // pgx writes a nil *string as NULL
	}
	return row
}

// eventsCopyColumns are the columns insertStraight copies a batch into
// events: batchColumns under the table's names, and the event type.
var eventsCopyColumns = func() []string {
	c := slices.Clone(batchColumns)
	c[slices.Index(c, "ts")] = "timestamp"
	return append(c, "event_type")
}()

// insertOrder sorts rows, in place, in insertClicksSQL's order: by time,
// then by click id, so that two straight inserts of the same clicks wait
// for each other on the unique index rather than deadlock. It returns
// rows.
func insertOrder(rows []eventRow) []eventRow {
	slices.SortFunc(rows, func(a, b eventRow) int {
		if c := a.Timestamp.Time().Compare(b.Timestamp.Time()); c != 0 {
			return c
		}
		return strings.Compare(a.ClickID, b.ClickID)
	})
	return rows
}

// copyRefused reports whether insertStraight failed for a row the general
// statement handles: a click id already stored, a URL no longer there,
// or a deadlock with a batch storing the same clicks.
func copyRefused(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "23505", "23503", "40P01": // unique_violation, foreign_key_violation, deadlock_detected
		return true
	}
	return false
}

// optionalTexts is how many of a click row's columns are optional texts.
const optionalTexts = 8

// optionalColumns returns a click row's optional text columns in
// batchColumns' order (user_agent to country), nil where the column is
// NULL: an empty text, and ua_bot for a human.
func (r *eventRow) optionalColumns() [optionalTexts]*string {
	return [optionalTexts]*string{nonZero(r.UserAgent), nonZero(r.Referrer), nonZero(r.Device), nonZero(r.Browser),
		nonZero(r.OS), r.Bot, nonZero(r.ReferrerHost), nonZero(r.Country)}
}

// clickArrays returns insertFromArrays' arguments for rows: one array per
// column in batchColumns' order.
func clickArrays(rows []eventRow) []any {
	n := len(rows)
	ids := make([]int64, n)
	ts := make([]time.Time, n)
	details := make([]string, n)
	clickIDs := make([]string, n)
	opt := make([]*string, optionalTexts*n) // the optional columns, one backing array
	for i := range rows {
		r := &rows[i]
		ids[i], ts[i], details[i], clickIDs[i] = *r.URLID, r.Timestamp.Time(), r.Details, r.ClickID
		for c, v := range r.optionalColumns() {
			opt[c*n+i] = v
		}
	}
	args := []any{ids, ts, details, clickIDs}
	for c := range optionalTexts {
		args = append(args, opt[c*n:(c+1)*n:(c+1)*n])
	}
	return args
}
