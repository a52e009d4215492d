package postgres

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/hll"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// Tables of a click shard, in the configured schema.
const (
	// TotalsTable holds the all-time total per code: (code, total).
	TotalsTable = "curtain_click_totals"
	// HourlyTable holds the hourly buckets: (code, hour, clicks,
	// expires_at), hour being the start of the click's hour in UTC and
	// expires_at core.BucketTTL after the bucket's last click, as the
	// Redis shard's EXPIRE (spec §7.2). Expired buckets are ignored at
	// once and deleted now and then.
	HourlyTable = "curtain_click_hourly"
	// VisitorsTable holds the non-zero HyperLogLog registers of each
	// code's unique-visitor sketch: (code, register, value).
	VisitorsTable = "curtain_click_visitors"
	// StreamTable holds the stream entries not yet acknowledged: (id, code,
	// click_id, visitor, at), id increasing in commit order.
	StreamTable = "curtain_click_stream"
	// GroupsTable holds each consumer group's cursor: (name, last_id), the
	// last entry it was handed as new.
	GroupsTable = "curtain_click_groups"
	// PendingTable holds the entries delivered to a group and not yet
	// acknowledged: (group_name, entry_id, consumer, delivered_at).
	PendingTable = "curtain_click_pending"
)

// pruneEvery is how often one process deletes expired hourly buckets and
// pending rows whose entry is gone.
const pruneEvery = 10 * time.Minute

// shardDDL creates the click shard's tables.
func shardDDL(l *layout) string {
	return fmt.Sprintf(`
CREATE TABLE IF NOT EXISTS %[1]s (
	code  text PRIMARY KEY,
	total bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS %[2]s (
	code       text NOT NULL,
	hour       timestamptz NOT NULL,
	clicks     bigint NOT NULL,
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (code, hour)
);
CREATE INDEX IF NOT EXISTS %[7]s ON %[2]s (expires_at);
CREATE TABLE IF NOT EXISTS %[3]s (
	code     text NOT NULL,
	register smallint NOT NULL,
	value    smallint NOT NULL,
	PRIMARY KEY (code, register)
);
CREATE TABLE IF NOT EXISTS %[4]s (
	id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	code     text NOT NULL,
	click_id text NOT NULL,
	visitor  text NOT NULL,
	at       timestamptz NOT NULL
);
ALTER TABLE %[4]s ADD COLUMN IF NOT EXISTS user_agent text,
	ADD COLUMN IF NOT EXISTS referrer text,
	ADD COLUMN IF NOT EXISTS rule text,
	ADD COLUMN IF NOT EXISTS target text,
	ADD COLUMN IF NOT EXISTS country text,
	ADD COLUMN IF NOT EXISTS ua_device text,
	ADD COLUMN IF NOT EXISTS ua_browser text,
	ADD COLUMN IF NOT EXISTS ua_os text,
	ADD COLUMN IF NOT EXISTS ua_bot text;
CREATE INDEX IF NOT EXISTS %[8]s ON %[4]s (code);
CREATE TABLE IF NOT EXISTS %[5]s (
	name    text PRIMARY KEY,
	last_id bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS %[6]s (
	group_name   text NOT NULL,
	entry_id     bigint NOT NULL,
	consumer     text NOT NULL,
	delivered_at timestamptz NOT NULL,
	PRIMARY KEY (group_name, entry_id)
);
CREATE INDEX IF NOT EXISTS %[9]s ON %[6]s (entry_id);
`, l.totals, l.hourly, l.visitors, l.stream, l.groups, l.pending,
		pgx.Identifier{HourlyTable + "_expires_at_idx"}.Sanitize(),
		pgx.Identifier{StreamTable + "_code_idx"}.Sanitize(),
		pgx.Identifier{PendingTable + "_entry_id_idx"}.Sanitize())
}

// ClickShard is the PostgreSQL click shard. Record applies a batch in one
// transaction and one round trip: multi-row upserts of the totals, the
// hourly buckets and the visitor registers (each in a fixed key order, so
// concurrent batches cannot deadlock), then the stream entries, appended
// under a transaction-scoped advisory lock so that entry ids become
// visible in increasing order, then a NOTIFY that wakes blocking reads.
// The consumer side (Read, Ack) gives the stream consumer-group semantics:
// a cursor per group for new entries and a pending row per delivered
// entry, claimed with FOR UPDATE SKIP LOCKED once idle.
//
// A ClickShard is safe for concurrent use; several processes may record
// into the same schema and read it through one group.
type ClickShard struct {
	b backend
	// lastPrune is when this value last pruned, in Unix nanoseconds.
	lastPrune atomic.Int64
	// durable is set by Configure when the server commits durably.
	durable atomic.Bool
}

var (
	_ core.ClickShard   = (*ClickShard)(nil)
	_ core.ClickDeleter = (*ClickShard)(nil)
	_ sdk.Durabler      = (*ClickShard)(nil)
)

// NewClickShard returns a click shard for valid settings. It does not
// connect: the first call connects and creates the schema and tables if
// missing. Use Ping to check the server.
func NewClickShard(s Settings) (*ClickShard, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	c := NewClickShardPlugin()
	cn, err := c.b.open(s)
	if err != nil {
		return nil, err
	}
	c.b.set(cn)
	return c, nil
}

// NewClickShardPlugin returns a click shard without settings, for the
// plugin SDK to serve: every call fails with core.ErrUnavailable until
// Configure succeeds.
func NewClickShardPlugin() *ClickShard {
	return &ClickShard{b: backend{ddl: shardDDL, listen: true}}
}

// Configure applies settings given as a JSON object (see [Settings]),
// connecting and creating the schema (when "schema" is set) and the tables
// if they are missing, then replacing any earlier settings. Invalid
// settings are rejected with an error wrapping core.ErrInvalid, an
// unreachable server with one wrapping core.ErrUnavailable; either way the
// shard is left as it was.
//
// It then checks that the server commits durably (fsync and
// synchronous_commit on), which makes the shard Durable, and logs a
// warning when it does not.
func (c *ClickShard) Configure(ctx context.Context, settings []byte) error {
	if err := c.b.configure(ctx, settings); err != nil {
		return err
	}
	c.durable.Store(false)
	cn, _, err := c.b.conn(ctx)
	if err != nil {
		return nil
	}
	var fsync, syncCommit string
	err = cn.pool.QueryRow(ctx, "SELECT current_setting('fsync'), current_setting('synchronous_commit')").Scan(&fsync, &syncCommit)
	if err != nil || fsync != "on" || syncCommit == "off" {
		sdk.Logger().Warn("click shard not durable: in the durable click mode the host stores each click itself before acknowledging it",
			"fsync", fsync, "synchronous_commit", syncCommit, "error", err)
		return nil
	}
	c.durable.Store(true)
	return nil
}

// Durable implements sdk.Durabler: a Record is one committed transaction,
// on disk once it returns, when the server had fsync and
// synchronous_commit on at Configure.
func (c *ClickShard) Durable() bool { return c.durable.Load() }

// Delete implements core.ClickDeleter: one transaction deletes the codes'
// totals, hourly buckets, sketch registers and stream entries; pending
// rows of the deleted entries are never delivered and are pruned later.
func (c *ClickShard) Delete(ctx context.Context, codes []string) error {
	if len(codes) == 0 {
		return nil
	}
	cn, l, err := c.b.conn(ctx)
	if err != nil {
		return err
	}
	var b pgx.Batch
	for _, table := range []string{l.totals, l.hourly, l.visitors, l.stream} {
		b.Queue("DELETE FROM "+table+" WHERE code = ANY($1::text[])", codes)
	}
	err = withRetry(ctx, func() error { return cn.pool.SendBatch(ctx, &b).Close() })
	return wrap(fmt.Sprintf("delete %d codes", len(codes)), err)
}

// Ping checks that PostgreSQL answers.
func (c *ClickShard) Ping(ctx context.Context) error { return c.b.ping(ctx) }

// Close releases the connections and ends blocking reads' listening.
// Calls after Close fail with core.ErrUnavailable until the next
// Configure.
func (c *ClickShard) Close() error { return c.b.close() }

// Record applies a batch of clicks in one transaction: all of it or, on
// error, none of it. A click without a code or without a time fails the
// whole batch with core.ErrInvalid before anything is sent. Click times are
// kept to the microsecond.
func (c *ClickShard) Record(ctx context.Context, clicks []core.Click) error {
	if err := core.CheckClicks(clicks); err != nil {
		return err
	}
	if len(clicks) == 0 {
		return nil
	}
	cn, l, err := c.b.conn(ctx)
	if err != nil {
		return err
	}
	b := recordBatch(l, clicks)
	op := fmt.Sprintf("record %d clicks", len(clicks))
	err = withRetry(ctx, func() error { return cn.pool.SendBatch(ctx, b).Close() })
	if err != nil {
		return wrap(op, err)
	}
	c.maybePrune(ctx, cn, l)
	return nil
}

// recordBatch builds the statements of one Record. Sent as one batch they
// run in one implicit transaction.
func recordBatch(l *layout, clicks []core.Click) *pgx.Batch {
	type hourKey struct {
		code string
		hour int64
	}
	totals := make(map[string]int64)
	hourly := make(map[hourKey]int64)
	visitors := make(map[string][]string)
	n := len(clicks)
	codes, ids, visitorsCol, ats := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]time.Time, 0, n)
	var extras [9][]string // user_agent, referrer, rule, target, country, ua_device, ua_browser, ua_os, ua_bot ("" stored as NULL)
	for _, ck := range clicks {
		totals[ck.Code]++
		hourly[hourKey{ck.Code, ck.At.UTC().Truncate(time.Hour).Unix()}]++
		visitors[ck.Code] = append(visitors[ck.Code], ck.Visitor)
		if !ck.Stored { // the host stored it: no stream entry
			codes, ids, visitorsCol, ats = append(codes, ck.Code), append(ids, ck.ID), append(visitorsCol, ck.Visitor), append(ats, ck.At)
			for i, v := range [9]string{ck.UserAgent, ck.Referrer, ck.Rule, ck.Target, ck.Country, ck.Agent.Device, ck.Agent.Browser, ck.Agent.OS, ck.Agent.Bot} {
				extras[i] = append(extras[i], v)
			}
		}
	}

	var b pgx.Batch
	totalCodes := slices.Sorted(maps.Keys(totals))
	totalCounts := make([]int64, len(totalCodes))
	for i, code := range totalCodes {
		totalCounts[i] = totals[code]
	}
	b.Queue(`INSERT INTO `+l.totals+` AS t (code, total)
		SELECT code, n FROM unnest($1::text[], $2::bigint[]) AS r(code, n) ORDER BY code COLLATE "C"
		ON CONFLICT (code) DO UPDATE SET total = t.total + excluded.total`,
		totalCodes, totalCounts)

	hourKeys := slices.SortedFunc(maps.Keys(hourly), func(a, b hourKey) int {
		return cmp.Or(strings.Compare(a.code, b.code), cmp.Compare(a.hour, b.hour))
	})
	hourCodes, hours, hourCounts := make([]string, len(hourKeys)), make([]time.Time, len(hourKeys)), make([]int64, len(hourKeys))
	for i, k := range hourKeys {
		hourCodes[i], hours[i], hourCounts[i] = k.code, time.Unix(k.hour, 0).UTC(), hourly[k]
	}
	b.Queue(fmt.Sprintf(`INSERT INTO %s AS h (code, hour, clicks, expires_at)
		SELECT code, hour, n, now() + interval '%d seconds'
		FROM unnest($1::text[], $2::timestamptz[], $3::bigint[]) AS r(code, hour, n)
		ORDER BY code COLLATE "C", hour
		ON CONFLICT (code, hour) DO UPDATE SET
			clicks = CASE WHEN h.expires_at <= now() THEN 0 ELSE h.clicks END + excluded.clicks,
			expires_at = excluded.expires_at`, l.hourly, int64(core.BucketTTL/time.Second)),
		hourCodes, hours, hourCounts)

	var regCodes []string
	var regIndexes, regValues []int16
	sketch := hll.New()
	for _, code := range totalCodes {
		for _, v := range visitors[code] {
			sketch.Add([]byte(v))
		}
		eachRegister(sketch, func(i int, v byte) {
			regCodes = append(regCodes, code)
			regIndexes = append(regIndexes, int16(i))
			regValues = append(regValues, int16(v))
		})
		clear(sketch)
	}
	b.Queue(`INSERT INTO `+l.visitors+` AS v (code, register, value)
		SELECT code, register, value FROM unnest($1::text[], $2::smallint[], $3::smallint[]) AS r(code, register, value)
		ORDER BY code COLLATE "C", register
		ON CONFLICT (code, register) DO UPDATE SET value = excluded.value WHERE v.value < excluded.value`,
		regCodes, regIndexes, regValues)

	// Entries are appended under the stream lock, held to the end of the
	// transaction: ids are drawn and committed in the same order, so a
	// reader that sees an entry sees every earlier one, and a group's
	// cursor never passes an entry still to be committed.
	if len(codes) == 0 {
		return &b
	}
	b.Queue("SELECT pg_advisory_xact_lock($1)", l.streamLock)
	b.Queue(`INSERT INTO `+l.stream+` (code, click_id, visitor, at, user_agent, referrer, rule, target, country,
			ua_device, ua_browser, ua_os, ua_bot)
		SELECT code, click_id, visitor, at, NULLIF(ua, ''), NULLIF(ref, ''), NULLIF(rule, ''), NULLIF(target, ''), NULLIF(cc, ''),
			NULLIF(dev, ''), NULLIF(br, ''), NULLIF(os, ''), NULLIF(bot, '')
		FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
			$10::text[], $11::text[], $12::text[], $13::text[])
			WITH ORDINALITY AS r(code, click_id, visitor, at, ua, ref, rule, target, cc, dev, br, os, bot, n)
		ORDER BY n`,
		codes, ids, visitorsCol, ats, extras[0], extras[1], extras[2], extras[3], extras[4], extras[5], extras[6], extras[7], extras[8])
	b.Queue("SELECT pg_notify($1, '')", l.channel)
	return &b
}

// eachRegister calls fn with the index and value of every non-zero
// register of r, skipping zero registers eight at a time.
func eachRegister(r hll.Registers, fn func(i int, v byte)) {
	for i := 0; i+8 <= len(r); i += 8 {
		if binary.LittleEndian.Uint64(r[i:]) == 0 {
			continue
		}
		for j := i; j < i+8; j++ {
			if r[j] != 0 {
				fn(j, r[j])
			}
		}
	}
}

// maybePrune deletes expired hourly buckets and pending rows whose entry
// is gone, at most every pruneEvery per value. It is housekeeping only:
// expired buckets are already ignored and orphaned pending rows never
// delivered, so a failure is left for the next round.
func (c *ClickShard) maybePrune(ctx context.Context, cn *conn, l *layout) {
	last := c.lastPrune.Load()
	now := time.Now().UnixNano()
	if now-last < int64(pruneEvery) || !c.lastPrune.CompareAndSwap(last, now) {
		return
	}
	_ = prune(ctx, cn, l)
}

// prune deletes expired hourly buckets and pending rows whose entry is
// gone (an entry acknowledged by one group while another was being handed
// it).
func prune(ctx context.Context, cn *conn, l *layout) error {
	var b pgx.Batch
	b.Queue("DELETE FROM " + l.hourly + " WHERE expires_at <= now()")
	b.Queue("DELETE FROM " + l.pending + " p WHERE NOT EXISTS (SELECT 1 FROM " + l.stream + " s WHERE s.id = p.entry_id)")
	return wrap("prune click shard", cn.pool.SendBatch(ctx, &b).Close())
}

// Stats reads the figures of one code in one round trip. A code the shard
// never saw has zero figures and nil Visitors. A zero req.Now means the
// current time; a negative req.Hours is rejected with core.ErrInvalid.
// Pending counts the code's entries still in the stream, delivered or not.
// Only the figures req.Parts asks for are read; the others are zero.
func (c *ClickShard) Stats(ctx context.Context, req core.StatsRequest) (core.ShardStats, error) {
	if req.Hours < 0 {
		return core.ShardStats{}, fmt.Errorf("click stats of %q: %d hours: %w", req.Code, req.Hours, core.ErrInvalid)
	}
	cn, l, err := c.b.conn(ctx)
	if err != nil {
		return core.ShardStats{}, err
	}
	end := req.Now
	if end.IsZero() {
		end = time.Now()
	}
	top := end.UTC().Truncate(time.Hour)
	st := core.ShardStats{Hourly: make([]int64, req.Hours)}
	var b pgx.Batch
	if req.Parts.Has(core.StatsTotals) {
		b.Queue("SELECT total FROM "+l.totals+" WHERE code = $1", req.Code).QueryRow(func(row pgx.Row) error {
			return ignoreNoRows(row.Scan(&st.Total))
		})
	}
	if req.Hours > 0 && req.Parts.Has(core.StatsTotals) {
		oldest := top.Add(-time.Duration(req.Hours-1) * time.Hour)
		b.Queue(`SELECT hour, clicks FROM `+l.hourly+`
			WHERE code = $1 AND hour >= $2 AND hour <= $3 AND expires_at > now()`,
			req.Code, oldest, top).Query(func(rows pgx.Rows) error {
			var hour time.Time
			var n int64
			_, err := pgx.ForEachRow(rows, []any{&hour, &n}, func() error {
				if i := int(top.Sub(hour) / time.Hour); i >= 0 && i < len(st.Hourly) {
					st.Hourly[i] = n
				}
				return nil
			})
			return err
		})
	}
	if req.Parts.Has(core.StatsVisitors) {
		queueVisitors(&b, l.visitors, req.Code, &st.Visitors)
	}
	if req.Code == "" && req.Parts.Has(core.StatsPending) {
		// The whole backlog (contract v1.2).
		b.Queue("SELECT count(*) FROM " + l.stream).QueryRow(func(row pgx.Row) error {
			return row.Scan(&st.Pending)
		})
	} else if req.Parts.Has(core.StatsPending) {
		b.Queue("SELECT count(*), (SELECT at FROM "+l.stream+" WHERE code = $1 ORDER BY id DESC LIMIT 1) FROM "+l.stream+" WHERE code = $1", req.Code).QueryRow(func(row pgx.Row) error {
			var latest *time.Time
			if err := row.Scan(&st.Pending, &latest); err != nil {
				return err
			}
			if latest != nil {
				st.PendingLatest = latest.UTC()
			}
			return nil
		})
	}
	if err := cn.pool.SendBatch(ctx, &b).Close(); err != nil {
		return core.ShardStats{}, wrap(fmt.Sprintf("click stats of %q", req.Code), err)
	}
	return st, nil
}

// queueVisitors queues the read of a code's sketch registers into *dst
// (left nil when the code has none).
func queueVisitors(b *pgx.Batch, table, code string, dst *[]byte) {
	b.Queue("SELECT register, value FROM "+table+" WHERE code = $1", code).Query(func(rows pgx.Rows) error {
		var i, v int16
		_, err := pgx.ForEachRow(rows, []any{&i, &v}, func() error {
			if i < 0 || int(i) >= hll.Size || v < 0 || v > hll.MaxValue {
				return fmt.Errorf("register %d has value %d", i, v)
			}
			if *dst == nil {
				*dst = hll.New()
			}
			(*dst)[i] = byte(v)
			return nil
		})
		return err
	})
}
