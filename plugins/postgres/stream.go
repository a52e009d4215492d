package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/curtainhq/curtain/core"
)

// Timing of blocking reads.
const (
	// safetyPoll bounds one wait of a blocking read between queries, so
	// that entries are found even while notifications cannot arrive (the
	// listening connection is being re-established).
	safetyPoll = 2 * time.Second
	// minIdleWait is the shortest wait of a blocking read for a pending
	// entry to turn idle.
	minIdleWait = 20 * time.Millisecond
	// listenBackoff and listenBackoffMax space attempts to re-establish
	// the listening connection.
	listenBackoff    = 100 * time.Millisecond
	listenBackoffMax = 5 * time.Second
)

// Read implements core.ClickShard. A group is created on first use and
// starts at the beginning of the stream. In one transaction, pending
// entries of any consumer of the group (the reader's own included) idle for
// at least req.MinIdle are claimed first, oldest first, skipping rows
// another reader is claiming (FOR UPDATE SKIP LOCKED); then entries past
// the group's cursor follow in record order, the cursor row locked so that
// concurrent readers of a group take disjoint runs. Every delivered entry
// is pending for the group, with the reader and the time, until Ack.
//
// Read waits up to req.Block when there is nothing to return, woken by the
// NOTIFY of a Record (through one LISTEN connection per shard value); it
// then returns nothing, or, if ctx ends first, ctx's error. An empty group
// or consumer name or a Count below 1 is rejected with core.ErrInvalid.
// Entry ids are decimal strings.
func (c *ClickShard) Read(ctx context.Context, req core.ReadRequest) ([]core.Delivery, error) {
	if req.Group == "" || req.Consumer == "" || req.Count < 1 {
		return nil, fmt.Errorf("read group %q consumer %q count %d: %w", req.Group, req.Consumer, req.Count, core.ErrInvalid)
	}
	cn, l, err := c.b.conn(ctx)
	if err != nil {
		return nil, err
	}
	var deadline time.Time
	if req.Block > 0 {
		deadline = time.Now().Add(req.Block)
	}
	for {
		var wake <-chan struct{}
		if !deadline.IsZero() {
			// Taken before the query, so that a Record committed after
			// the query's snapshot wakes this wait.
			wake = cn.waker.channel()
		}
		ds, idleIn, err := read(ctx, cn, l, req, !deadline.IsZero())
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("read group %q: %w", req.Group, ctx.Err())
			}
			return nil, wrap(fmt.Sprintf("read group %q", req.Group), err)
		}
		if len(ds) > 0 {
			return ds, nil
		}
		wait := time.Until(deadline)
		if deadline.IsZero() || wait <= 0 {
			return nil, nil
		}
		wait = min(wait, safetyPoll)
		if idleIn > 0 {
			wait = min(wait, idleIn)
		}
		timer := time.NewTimer(wait)
		select {
		case <-wake:
			timer.Stop()
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("read group %q: %w", req.Group, ctx.Err())
		}
	}
}

// read delivers what is available now, in one transaction. When it
// delivers nothing and soon is set, it also reports how long until the
// group's oldest pending entry has been idle for req.MinIdle (zero when
// the group has none), so that a blocking read claims it in time.
func read(ctx context.Context, cn *conn, l *layout, req core.ReadRequest, soon bool) ([]core.Delivery, time.Duration, error) {
	var (
		out    []core.Delivery
		idleIn time.Duration
	)
	err := withRetry(ctx, func() error {
		out, idleIn = out[:0], 0
		return pgx.BeginFunc(ctx, cn.pool, func(tx pgx.Tx) error {
			rows, _ := tx.Query(ctx, `
				WITH c AS (
					SELECT p.entry_id FROM `+l.pending+` p
					WHERE p.group_name = $1
					  AND p.delivered_at <= now() - $3::bigint * interval '1 microsecond'
					  AND EXISTS (SELECT 1 FROM `+l.stream+` s WHERE s.id = p.entry_id)
					ORDER BY p.entry_id
					LIMIT $4
					FOR UPDATE OF p SKIP LOCKED
				), u AS (
					UPDATE `+l.pending+` p SET consumer = $2, delivered_at = now()
					FROM c WHERE p.group_name = $1 AND p.entry_id = c.entry_id
					RETURNING p.entry_id
				)
				SELECT s.id, s.code, s.click_id, s.visitor, s.at, s.user_agent, s.referrer, s.rule, s.target, s.country,
					s.ua_device, s.ua_browser, s.ua_os, s.ua_bot
				FROM u JOIN `+l.stream+` s ON s.id = u.entry_id
				ORDER BY s.id`,
				req.Group, req.Consumer, req.MinIdle.Microseconds(), req.Count)
			claimed, err := appendDeliveries(out, rows)
			if err != nil {
				return fmt.Errorf("claim idle entries: %w", err)
			}
			out = claimed
			if len(out) >= req.Count {
				return nil
			}
			var b pgx.Batch
			b.Queue("INSERT INTO "+l.groups+" (name, last_id) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING", req.Group)
			// The cursor row is locked by its own statement, so that the
			// next one's snapshot sees what the previous holder committed.
			b.Queue("SELECT last_id FROM "+l.groups+" WHERE name = $1 FOR UPDATE", req.Group)
			b.Queue(`
				WITH e AS (
					SELECT id, code, click_id, visitor, at, user_agent, referrer, rule, target, country,
						ua_device, ua_browser, ua_os, ua_bot FROM `+l.stream+`
					WHERE id > (SELECT last_id FROM `+l.groups+` WHERE name = $1)
					ORDER BY id
					LIMIT $3
				), ins AS (
					INSERT INTO `+l.pending+` (group_name, entry_id, consumer, delivered_at)
					SELECT $1, id, $2, now() FROM e
				), cur AS (
					UPDATE `+l.groups+` g SET last_id = m.id
					FROM (SELECT max(id) AS id FROM e) m
					WHERE g.name = $1 AND m.id IS NOT NULL
				)
				SELECT id, code, click_id, visitor, at, user_agent, referrer, rule, target, country,
						ua_device, ua_browser, ua_os, ua_bot FROM e ORDER BY id`,
				req.Group, req.Consumer, req.Count-len(out)).Query(func(rows pgx.Rows) error {
				fresh, err := appendDeliveries(out, rows)
				out = fresh
				return err
			})
			if soon {
				b.Queue(`SELECT EXTRACT(EPOCH FROM min(p.delivered_at) + $2::bigint * interval '1 microsecond' - now())::float8
					FROM `+l.pending+` p
					WHERE p.group_name = $1 AND EXISTS (SELECT 1 FROM `+l.stream+` s WHERE s.id = p.entry_id)`,
					req.Group, req.MinIdle.Microseconds()).QueryRow(func(row pgx.Row) error {
					var secs *float64
					if err := row.Scan(&secs); err != nil {
						return err
					}
					if secs != nil {
						// An entry idle already is being claimed by
						// another reader: look again shortly, not at once.
						idleIn = max(time.Duration(*secs*float64(time.Second)), minIdleWait)
					}
					return nil
				})
			}
			if err := tx.SendBatch(ctx, &b).Close(); err != nil {
				return fmt.Errorf("deliver new entries: %w", err)
			}
			return nil
		})
	})
	if err != nil {
		return nil, 0, err
	}
	if len(out) > 0 {
		idleIn = 0
	}
	return out, idleIn, nil
}

// appendDeliveries scans stream rows (id, code, click_id, visitor, at,
// user_agent, referrer, rule, target, country, ua_device, ua_browser,
// ua_os, ua_bot) into deliveries.
func appendDeliveries(out []core.Delivery, rows pgx.Rows) ([]core.Delivery, error) {
	var (
		id                     int64
		code, clickID, visitor string
		at                     time.Time
		ua, ref, rule, target  *string
		country                *string
		dev, br, os, bot       *string
	)
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	_, err := pgx.ForEachRow(rows, []any{&id, &code, &clickID, &visitor, &at, &ua, &ref, &rule, &target, &country, &dev, &br, &os, &bot}, func() error {
		out = append(out, core.Delivery{
			ID: strconv.FormatInt(id, 10),
			Click: core.Click{ID: clickID, Code: code, Visitor: visitor, At: at.UTC(),
				UserAgent: str(ua), Referrer: str(ref), Rule: str(rule), Target: str(target), Country: str(country),
				Agent: core.AgentClass{Device: str(dev), Browser: str(br), OS: str(os), Bot: str(bot)}},
		})
		return nil
	})
	return out, err
}

// Ack implements core.ClickShard: each entry pending in the group is
// removed from the stream, and from every group's pending entries, in one
// statement. Unknown entries, entries of another code, entries not
// delivered to the group and ids that are not entry ids are ignored, so
// acknowledging twice is harmless.
func (c *ClickShard) Ack(ctx context.Context, req core.AckRequest) error {
	cn, l, err := c.b.conn(ctx)
	if err != nil {
		return err
	}
	codes := make([]string, 0, len(req.IDs))
	ids := make([]int64, 0, len(req.IDs))
	for _, d := range req.IDs {
		id, err := strconv.ParseInt(d.ID, 10, 64)
		if err != nil || id < 1 {
			continue
		}
		codes, ids = append(codes, d.Code), append(ids, id)
	}
	if len(ids) == 0 || req.Group == "" {
		return nil
	}
	err = withRetry(ctx, func() error {
		_, err := cn.pool.Exec(ctx, `
			WITH r AS (
				SELECT code, id FROM unnest($2::text[], $3::bigint[]) AS r(code, id)
			), del AS (
				DELETE FROM `+l.stream+` s USING r
				WHERE s.id = r.id AND s.code = r.code
				  AND EXISTS (SELECT 1 FROM `+l.pending+` p WHERE p.group_name = $1 AND p.entry_id = s.id)
				RETURNING s.id
			)
			DELETE FROM `+l.pending+` p USING del WHERE p.entry_id = del.id`,
			req.Group, codes, ids)
		return err
	})
	return wrap(fmt.Sprintf("ack %d entries of group %q", len(ids), req.Group), err)
}

// ignoreNoRows turns pgx.ErrNoRows into nil.
func ignoreNoRows(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	return err
}

// waker wakes blocking reads when a Record commits. It owns one
// connection outside the pool that LISTENs on the schema's channel, from
// the first blocking read until the shard's connection closes, and
// re-establishes it with backoff when it drops.
type waker struct {
	cn *conn

	mu      sync.Mutex
	ch      chan struct{} // closed, and replaced, on every wake-up
	started bool
	stopped bool
	cancel  context.CancelFunc // ends the listening goroutine
	done    chan struct{}      // closed when it has ended
}

func newWaker(cn *conn) *waker {
	return &waker{cn: cn, ch: make(chan struct{}), done: make(chan struct{})}
}

// channel returns the channel closed at the next wake-up, starting the
// listening goroutine on first use.
func (w *waker) channel() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.started && !w.stopped {
		w.started = true
		ctx, cancel := context.WithCancel(context.Background())
		w.cancel = cancel
		go w.run(ctx)
	}
	return w.ch
}

// wake closes the current channel, waking every waiting read.
func (w *waker) wake() {
	w.mu.Lock()
	defer w.mu.Unlock()
	close(w.ch)
	w.ch = make(chan struct{})
}

// stop ends the listening goroutine, if any, and waits for it.
func (w *waker) stop() {
	w.mu.Lock()
	w.stopped = true
	started := w.started
	if started {
		w.cancel()
	}
	w.mu.Unlock()
	if started {
		<-w.done
	}
}

// run listens until ctx ends, reconnecting with backoff. Every
// (re)connection wakes all readers, since notifications sent while no
// connection listened are lost.
func (w *waker) run(ctx context.Context) {
	defer close(w.done)
	backoff := listenBackoff
	for {
		listened := w.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		w.wake()
		if listened {
			backoff = listenBackoff
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, listenBackoffMax)
	}
}

// listen connects, LISTENs and wakes readers on every notification until
// the connection fails or ctx ends. It reports whether it got as far as
// listening.
func (w *waker) listen(ctx context.Context) bool {
	l, err := w.cn.layout(ctx)
	if err != nil {
		return false
	}
	conn, err := pgx.ConnectConfig(ctx, w.cn.pool.Config().ConnConfig)
	if err != nil {
		return false
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{l.channel}.Sanitize()); err != nil {
		return false
	}
	// Entries committed before LISTEN took effect sent no notification
	// this connection received: let readers look again.
	w.wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true
		}
		w.wake()
	}
}
