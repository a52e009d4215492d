package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/hll"
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

// ClickShard is the Redis click shard. Record writes, per click and in one
// non-transactional pipeline per batch, the reference's five commands:
// INCR of the total, INCR and EXPIRE of the hourly bucket, PFADD of the
// visitor and XADD of a stream entry {sc, ip, ts, cid}. The consumer side
// (Read, Ack) drives consumer groups over every stream:clicks:* stream of
// the server, reclaims entries a dead consumer left pending and deletes
// entries once they are acknowledged.
//
// A ClickShard is safe for concurrent use; several processes may read the
// same streams through one group.
type ClickShard struct {
	b backend

	mu sync.Mutex
	st *streamState // consumer-side caches of the current connection
}

var _ core.ClickShard = (*ClickShard)(nil)

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
// wrapping core.ErrInvalid and leave the shard as it was.
func (c *ClickShard) Configure(ctx context.Context, settings []byte) error {
	return c.b.configure(ctx, settings)
}

// Ping checks that Redis (every master of a cluster) answers.
func (c *ClickShard) Ping(ctx context.Context) error { return c.b.ping(ctx) }

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
	now := time.Now()
	pipe := cn.rdb.Pipeline()
	streams := make([]string, 0, len(clicks))
	for _, ck := range clicks {
		at := ck.At
		if at.IsZero() {
			at = now
		}
		total := cn.key(clicksPrefix + ck.Code)
		bucket := total + ":ts:" + at.UTC().Format(core.HourLayout)
		stream := cn.key(streamPrefix + ck.Code)
		values := []string{"sc", ck.Code, "ip", ck.Visitor, "ts", formatUnixSeconds(at)}
		if ck.ID != "" {
			values = append(values, "cid", ck.ID)
		}
		pipe.Incr(ctx, total)
		pipe.Incr(ctx, bucket)
		pipe.Expire(ctx, bucket, core.BucketTTL)
		pipe.PFAdd(ctx, total+":uv", ck.Visitor)
		pipe.XAdd(ctx, &goredis.XAddArgs{Stream: stream, ID: "*", Values: values})
		streams = append(streams, stream)
	}
	if cn.cluster == nil {
		// Mark the streams unread, after their entries, for readers
		// (see readUnread).
		members := make([]any, len(streams))
		for i, s := range streams {
			members[i] = s
		}
		pipe.SAdd(ctx, cn.key(unreadKey), members...)
	}
	indexInPipeline(ctx, cn, pipe, streams)
	if _, err := pipe.Exec(ctx); err != nil {
		cn.failed(ctx, err)
		return wrap(fmt.Sprintf("record %d clicks", len(clicks)), err)
	}
	if err := indexAfter(ctx, cn, streams); err != nil {
		return err
	}
	c.state(cn).noteStreams(streams)
	return nil
}

// Stats reads the figures of one code in one pipeline: GET of the total,
// GET of the raw sketch (decoded into registers), GET of each hourly bucket
// from req.Now's hour back, and XLEN of the stream as Pending, each only
// when req.Parts asks for it. Missing keys count as zero; a missing sketch
// gives nil Visitors.
func (c *ClickShard) Stats(ctx context.Context, req core.StatsRequest) (core.ShardStats, error) {
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
func formatUnixSeconds(t time.Time) string {
	sec, nsec := t.Unix(), t.Nanosecond()
	if sec < 0 && nsec > 0 {
		return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', -1, 64)
	}
	frac := strings.TrimRight(fmt.Sprintf("%09d", nsec), "0")
	if frac == "" {
		frac = "0"
	}
	return strconv.FormatInt(sec, 10) + "." + frac
}

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
