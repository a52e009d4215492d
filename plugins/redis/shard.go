package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	goredis "github.com/redis/go-redis/v9"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/hll"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// Key layout of a click shard (spec §7.2, §7.3), behind the key prefix.
const (
	// clicksPrefix starts the all-time total clicks:<c>, the hourly buckets
	// clicks:<c>:ts:<YYYY-MM-DD:HH> and the sketch clicks:<c>:uv.
	clicksPrefix = "clicks:"
	// streamPrefix starts the click stream stream:clicks:<c>.
	streamPrefix = "stream:clicks:"
	// unreadKey is a set of the stream keys written since a reader last
	// found them drained (single server only): Curtain's own addition to
	// the layout, so that a read visits the streams that have new entries
	// instead of every stream.
	unreadKey = "curtain:streams:unread"
)

// ClickShard is the Redis click shard. Record writes, in one
// non-transactional pipeline per batch, what the reference's five commands
// per click write: per code of the batch INCRBY of the total, INCRBY and
// EXPIRE of each hourly bucket and PFADD of the visitors, and per click
// XADD of a stream entry {sc, ip, ts, cid} (plus ua, ref, rule, target and
// cc when the click has them). The consumer side
// (Read, Ack) drives consumer groups over every stream:clicks:* stream of
// the server, reclaims entries a dead consumer left pending and deletes
// entries once they are acknowledged.
//
// A ClickShard is safe for concurrent use; several processes may read the
// same streams through one group.
type ClickShard struct {
	b backend

	// durable is set by Configure when every server fsyncs each write
	// (appendonly yes, appendfsync always) and, where a server has
	// replicas, Record waits for some (the wait_replicas setting).
	// replicas is how many replicas a write must reach (WAIT) before
	// Record returns.
	durable  atomic.Bool
	replicas atomic.Int64
	// onReplicas is the durable_on_replicas setting: replicas reached by
	// WAIT make a write durable without a local fsync.
	onReplicas atomic.Bool
	// recheck asks the next Ping that succeeds to read the persistence
	// settings again: the last reading reached no server, or a Ping
	// failed since, so the server may have come back with other ones.
	recheck atomic.Bool

	mu sync.Mutex
	st *streamState // consumer-side caches of the current connection
}

var (
	_ core.ClickShard   = (*ClickShard)(nil)
	_ core.ClickDeleter = (*ClickShard)(nil)
	_ sdk.Durabler      = (*ClickShard)(nil)
)

// NewClickShard returns a click shard for valid settings. It does not
// connect; use Ping to check the server.
func NewClickShard(s Settings) (*ClickShard, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	c := &ClickShard{}
	c.b.open(s)
	return c, nil
}

// NewClickShardPlugin returns a click shard without settings, for the
// plugin SDK to serve: every call fails with core.ErrUnavailable until
// Configure succeeds.
func NewClickShardPlugin() *ClickShard { return &ClickShard{} }

// Configure applies settings given as a JSON object (see [Settings]),
// replacing any earlier ones. Invalid settings are rejected with an error
// wrapping core.ErrInvalid and leave the shard as it was. It then checks
// whether the server makes the shard durable (see Durable) and logs a
// warning when it does not.
func (c *ClickShard) Configure(ctx context.Context, settings []byte) error {
	if err := c.b.configure(ctx, settings); err != nil {
		return err
	}
	s, err := ParseSettings(settings)
	if err != nil {
		return err // not reached: configure parsed them
	}
	c.replicas.Store(int64(s.WaitReplicas))
	c.onReplicas.Store(s.DurableOnReplicas)
	c.recheck.Store(!c.checkDurability(ctx))
	return nil
}

// Durable implements sdk.Durabler: true when, at Configure or at the
// first Ping that succeeded after a failed one, every server
// (each master of a cluster) had appendonly yes and appendfsync always,
// so that a write Record returned for is on disk, and, where a server had
// replicas, the wait_replicas setting makes Record wait (WAIT) until that
// many of them hold the batch, so that a failover cannot lose it. Redis
// 7.0 has no WAITAOF, so the replica's own fsync is not awaited. With
// durable_on_replicas, every server needs instead at least wait_replicas
// connected replicas, and no fsync: the replicas' acknowledgement is the
// durability.
func (c *ClickShard) Durable() bool { return c.durable.Load() }

// checkDurability reads the persistence settings of every server. It
// reports whether it read them all.
func (c *ClickShard) checkDurability(ctx context.Context) (read bool) {
	c.durable.Store(false)
	cn, err := c.b.conn()
	if err != nil {
		return false
	}
	var (
		mu       sync.Mutex
		problems []string
		replicas bool // some server has replicas
	)
	read = true
	check := func(ctx context.Context, node goredis.Cmdable, name string) error {
		cfg, err := node.ConfigGet(ctx, "append*").Result()
		if err != nil {
			mu.Lock()
			problems = append(problems, fmt.Sprintf("%s: CONFIG GET: %v", name, err))
			read = false
			mu.Unlock()
			return nil
		}
		info, _ := node.Info(ctx, "replication").Result()
		mu.Lock()
		defer mu.Unlock()
		connected := connectedReplicas(info)
		switch {
		case c.onReplicas.Load():
			if want := c.replicas.Load(); connected < want {
				problems = append(problems, fmt.Sprintf("%s: %d connected replicas, durable_on_replicas needs wait_replicas (%d)", name, connected, want))
			}
		case cfg["appendonly"] != "yes" || cfg["appendfsync"] != "always":
			problems = append(problems, fmt.Sprintf("%s: appendonly %q, appendfsync %q", name, cfg["appendonly"], cfg["appendfsync"]))
		}
		if connected > 0 {
			replicas = true
		}
		return nil
	}
	if cn.cluster != nil {
		err = cn.cluster.ForEachMaster(ctx, func(ctx context.Context, node *goredis.Client) error {
			return check(ctx, node, node.Options().Addr)
		})
	} else {
		err = check(ctx, cn.rdb, "redis")
	}
	if err != nil {
		problems = append(problems, err.Error())
		read = false
	}
	// Settings that ask for durability make its absence a warning; by
	// default (the fast click mode needs none) it is only information.
	level := hclog.Info
	if c.replicas.Load() > 0 || c.onReplicas.Load() {
		level = hclog.Warn
	}
	if len(problems) > 0 {
		sdk.Logger().Log(level, "click shard not durable: in the durable click mode the host stores each click itself before acknowledging it; for the shard to acknowledge, set appendonly yes and appendfsync always, or wait_replicas and durable_on_replicas with replicas connected",
			"problems", strings.Join(problems, "; "))
		return read
	}
	if replicas && c.replicas.Load() == 0 {
		sdk.Logger().Log(level, "click shard not durable: the server has replicas and a failover could lose acknowledged clicks; set wait_replicas to 1 for the durable click mode")
		return read
	}
	c.durable.Store(true)
	return read
}

// connectedReplicas reads connected_slaves from INFO replication; 0 when
// absent.
func connectedReplicas(info string) int64 {
	_, rest, ok := strings.Cut(info, "connected_slaves:")
	if !ok {
		return 0
	}
	end := strings.IndexAny(rest, "\r\n")
	if end < 0 {
		end = len(rest)
	}
	n, _ := strconv.ParseInt(rest[:end], 10, 64)
	return n
}

// waitTimeout bounds a WAIT for a replica when the caller set no deadline.
const waitTimeout = time.Second

// waitReplicas queues WAIT for wait_replicas replicas on pipe, when set,
// and returns the command (nil otherwise).
func (c *ClickShard) waitReplicas(ctx context.Context, pipe goredis.Pipeliner) *goredis.Cmd {
	if c.replicas.Load() == 0 {
		return nil
	}
	ms := waitTimeout.Milliseconds()
	if d, ok := ctx.Deadline(); ok {
		ms = max(1, time.Until(d).Milliseconds()/2)
	}
	// The reply must come before the socket's timeout.
	ms = min(ms, (batchTimeout - 100*time.Millisecond).Milliseconds())
	return pipe.Do(ctx, "WAIT", c.replicas.Load(), ms)
}

// checkWait reports an error when WAIT saw fewer replicas than asked.
func (c *ClickShard) checkWait(cmd *goredis.Cmd) error {
	if cmd == nil {
		return nil
	}
	n, err := cmd.Int64()
	if err != nil {
		return wrap("wait for a replica", err)
	}
	if n < c.replicas.Load() {
		return fmt.Errorf("wait for a replica: %d of %d acknowledged: %w", n, c.replicas.Load(), core.ErrUnavailable)
	}
	return nil
}

// Ping checks that Redis (every master of a cluster) answers, within the
// batch commands' timeout on a single server: a server too busy to answer
// in read_timeout still takes batches, and is not reported down. The
// first Ping that succeeds after a failed one, or after a Configure that
// could not read the persistence settings, reads them again (Durable):
// the server may have been down when the plugin started, or come back
// with other settings.
func (c *ClickShard) Ping(ctx context.Context) error {
	if err := c.ping(ctx); err != nil {
		c.recheck.Store(true)
		return err
	}
	if c.recheck.CompareAndSwap(true, false) {
		c.checkDurability(ctx)
	}
	return nil
}

func (c *ClickShard) ping(ctx context.Context) error {
	cn, err := c.b.conn()
	if err != nil || cn.cluster != nil {
		return c.b.ping(ctx)
	}
	return wrap("ping redis", c.state(cn).rdb.Ping(ctx).Err())
}

// Close releases the connections. Calls after Close fail until the next
// Configure.
func (c *ClickShard) Close() error { return c.b.close() }

// state returns the consumer-side caches for cn, starting afresh when the
// connection changed.
func (c *ClickShard) state(cn *conn) *streamState {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st == nil || c.st.cn != cn {
		c.st = newStreamState(cn)
	}
	return c.st
}

// Record applies a batch of clicks in one pipeline, in order. A click with
// a zero At is recorded at the current time. Every click needs a code.
// When the pipeline fails part of it may have been applied.
func (c *ClickShard) Record(ctx context.Context, clicks []core.Click) error {
	if len(clicks) == 0 {
		return nil
	}
	cn, err := c.b.conn()
	if err != nil {
		return err
	}
	if err := core.CheckClicks(clicks); err != nil {
		return err
	}
	if cn.cluster != nil && c.waitReplicasOn() {
		return c.recordByMaster(ctx, cn, clicks)
	}
	st := c.state(cn)
	pipe := st.rdb.Pipeline()
	// On a single server the batch bumps the stream index itself (see
	// recordBatch.queue); on a cluster indexAfter does, below.
	sent := time.Now()
	b := newRecordBatch(cn.prefix, clicks, sent)
	var bumps *bumpMemory
	if cn.cluster == nil {
		bumps = &st.bumps
	}
	b.queue(ctx, cn, func(string) goredis.Pipeliner { return pipe }, bumps, sent)
	wait := c.waitReplicas(ctx, pipe)
	if _, err := pipe.Exec(ctx); err != nil {
		// A pipeline cut off may have added a stream entry without its
		// index entry: the readers' next sweep finds it.
		st.failed(ctx, err)
		return wrap(fmt.Sprintf("record %d clicks", len(clicks)), err)
	}
	if err := c.checkWait(wait); err != nil {
		return err
	}
	if bumps != nil {
		bumps.mark(b.bumped, sent)
	}
	if err := indexAfter(ctx, cn, b.streams); err != nil {
		return err
	}
	st.noteStreams(b.streams)
	return nil
}

// waitReplicasOn reports whether Record waits for replicas.
func (c *ClickShard) waitReplicasOn() bool { return c.replicas.Load() > 0 }

// recordByMaster records a batch on a cluster whose writes must reach a
// replica. WAIT covers the writes of its own connection only, so every
// command goes into a pipeline of the master of its key, and each
// pipeline ends with WAIT.
func (c *ClickShard) recordByMaster(ctx context.Context, cn *conn, clicks []core.Click) error {
	pipes := map[*goredis.Client]goredis.Pipeliner{}
	var lookupErr error
	pipeFor := func(key string) goredis.Pipeliner {
		node, err := cn.cluster.MasterForKey(ctx, key)
		if err != nil {
			lookupErr = err
			return cn.rdb.Pipeline() // discarded
		}
		p := pipes[node]
		if p == nil {
			p = node.Pipeline()
			pipes[node] = p
		}
		return p
	}
	streams := c.queueClicksOn(ctx, cn, pipeFor, clicks)
	if lookupErr != nil {
		return wrap("find the master of a key", lookupErr)
	}
	// Every master gets its part, concurrently, even when another
	// fails: the batch is then reported failed as a whole.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, pipe := range pipes {
		wg.Go(func() {
			wait := c.waitReplicas(ctx, pipe)
			_, err := pipe.Exec(ctx)
			if err != nil {
				c.state(cn).failed(ctx, err)
				err = wrap(fmt.Sprintf("record %d clicks", len(clicks)), err)
			} else {
				err = c.checkWait(wait)
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	if err := indexAfter(ctx, cn, streams); err != nil {
		return err
	}
	c.state(cn).noteStreams(streams)
	return nil
}

// queueClicksOn queues the commands of clicks (see [recordBatch]), each
// on the pipeline pipeFor returns for its key, and returns the distinct
// streams written. A click marked Stored (the host stored it already)
// updates the figures but gets no stream entry.
func (c *ClickShard) queueClicksOn(ctx context.Context, cn *conn, pipeFor func(key string) goredis.Pipeliner, clicks []core.Click) []string {
	b := newRecordBatch(cn.prefix, clicks, time.Now())
	b.queue(ctx, cn, pipeFor, nil, time.Time{})
	return b.streams
}

// Delete implements core.ClickDeleter: per code one pipeline deletes the
// total, the sketch, the stream (with its consumer groups) and the hourly
// buckets of the last core.BucketTTL (older ones have expired), one key
// per DEL so that a cluster routes each to its slot.
func (c *ClickShard) Delete(ctx context.Context, codes []string) error {
	if len(codes) == 0 {
		return nil
	}
	cn, err := c.b.conn()
	if err != nil {
		return err
	}
	pipe := cn.rdb.Pipeline()
	top := time.Now().UTC().Truncate(time.Hour)
	hours := int(core.BucketTTL/time.Hour) + 1
	streams := make([]string, 0, len(codes))
	for _, code := range codes {
		total := cn.key(clicksPrefix + code)
		stream := cn.key(streamPrefix + code)
		streams = append(streams, stream)
		pipe.Del(ctx, total)
		pipe.Del(ctx, total+":uv")
		pipe.Del(ctx, stream)
		for i := range hours {
			pipe.Del(ctx, total+":ts:"+top.Add(-time.Duration(i)*time.Hour).Format(core.HourLayout))
		}
		if cn.cluster == nil {
			pipe.SRem(ctx, cn.key(unreadKey), stream)
		}
	}
	// A click after the delete recreates the stream: its batch must bump
	// the index again, since a reader may drop the index entry of the
	// stream it found gone.
	c.state(cn).bumps.forget(streams)
	if _, err := pipe.Exec(ctx); err != nil {
		cn.failed(ctx, err)
		return wrap(fmt.Sprintf("delete %d codes", len(codes)), err)
	}
	return nil
}

// Stats reads the figures of one code in one pipeline: GET of the total,
// GET of the raw sketch (decoded into registers), GET of each hourly bucket
// from req.Now's hour back, and XLEN of the stream as Pending, each only
// when req.Parts asks for it. Missing keys count as zero; a missing sketch
// gives nil Visitors.
//
// The empty code asks for the whole backlog (contract v1.2): the sum of
// XLEN over the click streams the consumer side discovers (SCAN, cached
// for a while), so a stream created since may be missed until the next
// discovery.
func (c *ClickShard) Stats(ctx context.Context, req core.StatsRequest) (core.ShardStats, error) {
	if req.Code == "" && req.Parts.Has(core.StatsPending) {
		return c.backlog(ctx)
	}
	if req.Code == "" {
		return core.ShardStats{}, fmt.Errorf("click stats: empty code: %w", core.ErrInvalid)
	}
	if req.Hours < 0 {
		return core.ShardStats{}, fmt.Errorf("click stats of %q: hours %d: %w", req.Code, req.Hours, core.ErrInvalid)
	}
	cn, err := c.b.conn()
	if err != nil {
		return core.ShardStats{}, err
	}
	total := cn.key(clicksPrefix + req.Code)
	pipe := cn.rdb.Pipeline()
	var (
		totalCmd, uvCmd *goredis.StringCmd
		pendingCmd      *goredis.IntCmd
		newestCmd       *goredis.XMessageSliceCmd
	)
	hourly := make([]*goredis.StringCmd, req.Hours)
	if req.Parts.Has(core.StatsTotals) {
		totalCmd = pipe.Get(ctx, total)
		hour := req.Now.UTC().Truncate(time.Hour)
		for i := range hourly {
			hourly[i] = pipe.Get(ctx, total+":ts:"+hour.Add(-time.Duration(i)*time.Hour).Format(core.HourLayout))
		}
	}
	if req.Parts.Has(core.StatsVisitors) {
		uvCmd = pipe.Get(ctx, total+":uv")
	}
	if req.Parts.Has(core.StatsPending) {
		pendingCmd = pipe.XLen(ctx, cn.key(streamPrefix+req.Code))
		newestCmd = pipe.XRevRangeN(ctx, cn.key(streamPrefix+req.Code), "+", "-", 1)
	}
	op := fmt.Sprintf("click stats of %q", req.Code)
	if err := execPipe(ctx, pipe); err != nil {
		return core.ShardStats{}, wrap(op, err)
	}
	st := core.ShardStats{Hourly: make([]int64, len(hourly))}
	if totalCmd != nil {
		if st.Total, err = intValue(totalCmd); err != nil {
			return core.ShardStats{}, fmt.Errorf("%s: total: %w", op, err)
		}
		for i, cmd := range hourly {
			if st.Hourly[i], err = intValue(cmd); err != nil {
				return core.ShardStats{}, fmt.Errorf("%s: hourly bucket %d: %w", op, i, err)
			}
		}
	}
	if uvCmd != nil {
		if raw, err := uvCmd.Bytes(); err == nil {
			regs, err := hll.Decode(raw)
			if err != nil {
				return core.ShardStats{}, fmt.Errorf("%s: visitors: %w", op, err)
			}
			st.Visitors = regs
		}
	}
	if pendingCmd != nil {
		st.Pending = pendingCmd.Val()
		if newest := newestCmd.Val(); st.Pending > 0 && len(newest) == 1 {
			// An entry whose ts does not parse gives the zero time.
			st.PendingLatest = messageDelivery(req.Code, newest[0], time.Time{}).Click.At
		}
	}
	return st, nil
}

// backlog counts the entries of every click stream.
func (c *ClickShard) backlog(ctx context.Context) (core.ShardStats, error) {
	cn, err := c.b.conn()
	if err != nil {
		return core.ShardStats{}, err
	}
	streams, err := c.state(cn).discover(ctx)
	if err != nil {
		return core.ShardStats{}, err
	}
	pipe := cn.rdb.Pipeline()
	lens := make([]*goredis.IntCmd, len(streams))
	for i, s := range streams {
		lens[i] = pipe.XLen(ctx, s)
	}
	if len(streams) > 0 {
		if err := execPipe(ctx, pipe); err != nil {
			return core.ShardStats{}, wrap("click backlog", err)
		}
	}
	var st core.ShardStats
	for _, l := range lens {
		st.Pending += l.Val()
	}
	return st, nil
}

// execPipe runs a pipeline and returns its first error other than a missing
// key.
func execPipe(ctx context.Context, pipe goredis.Pipeliner) error {
	cmds, err := pipe.Exec(ctx)
	if err == nil {
		return nil
	}
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil && !errors.Is(err, goredis.Nil) {
			return err
		}
	}
	return nil
}

// intValue parses the reply of a GET of a counter; a missing key is 0.
func intValue(cmd *goredis.StringCmd) (int64, error) {
	s, err := cmd.Result()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("value %q is not an integer", s)
	}
	return n, nil
}

// formatUnixSeconds renders t as Unix seconds with a decimal fraction, as
// the reference's str(time.time()) does ("1795556065.2274902"), exactly to
// the nanosecond and always with a fraction ("1795556065.0").
func formatUnixSeconds(t time.Time) string { return string(appendUnixSeconds(nil, t)) }

// parseUnixSeconds reads what formatUnixSeconds writes, exactly, and any
// other float of seconds approximately. It reports false for anything
// else.
func parseUnixSeconds(s string) (time.Time, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	if digits(whole) && (frac == "" || digits(frac)) && len(whole) <= 12 {
		sec, err := strconv.ParseInt(whole, 10, 64)
		if err == nil {
			frac = (frac + "000000000")[:9]
			nsec, _ := strconv.ParseInt(frac, 10, 64)
			return time.Unix(sec, nsec).UTC(), true
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < -1e11 || f > 1e11 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(f*1e9)).UTC(), true
}

// digits reports whether s is a non-empty run of ASCII digits.
func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
