package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/curtainhq/curtain/core"
)

// Timing and batching of the consumer side.
const (
	// discoverEvery is how long a discovered set of streams is reused
	// before the index is read again; discoverEmpty while none were found.
	discoverEvery = time.Second
	discoverEmpty = 100 * time.Millisecond
	// pollEvery spaces non-blocking read rounds where one blocking read
	// cannot cover every stream: against a cluster (streams of different
	// hash slots cannot share an XREADGROUP) or while no stream exists.
	pollEvery = 100 * time.Millisecond
	// blockSlice caps one XREADGROUP BLOCK, so that a cancelled context
	// is noticed that soon even without a deadline.
	blockSlice = 500 * time.Millisecond
	// deadlineMargin ends a blocking read this long before the caller's
	// deadline, so that the reply arrives before the deadline cuts the
	// connection: Redis times out a blocked XREADGROUP on its timer tick,
	// up to 1/hz (100 ms at the default hz 10) after its BLOCK.
	deadlineMargin = 150 * time.Millisecond
	// streamChunk is how many streams one pipeline covers.
	streamChunk = 64
	// scriptStreams is how many streams one read covers: a script run,
	// or an XREADGROUP of the unread set's streams.
	scriptStreams = 1000
	// scriptEntries caps the entries one read (as above) returns, so that
	// a large Count (consumer.batch_size) does not hold the server for
	// one huge run while clicks wait to be recorded under their 50 ms
	// read_timeout: a Count above it takes several runs.
	scriptEntries = 1000
	// scanCount is the COUNT hint of the sweep's SCAN: large, since a
	// sweep walks the whole keyspace (every clicks:* key too), and each
	// SCAN call stays around a millisecond of server time.
	scanCount = 10000
	// ackChunk caps the ids of one acknowledgement script run.
	ackChunk = 1000
	// sweepGap is the least time between two sweeps: a sweep asked for
	// sooner (connection failures come in bursts) waits, so that a
	// struggling server is not scanned again and again, and the sweep
	// runs after the burst.
	sweepGap = 30 * time.Second
)

// ackScript acknowledges, for each stream KEYS[k], the entries among its
// ids that are pending in group ARGV[1] and deletes them from the stream,
// so that streams do not grow forever. ARGV[2..] holds, per key in order,
// the number of its ids and then the ids. It returns how many entries it
// acknowledged.
//
// One run covers a whole Ack on a single server, with one XACK and one
// XDEL per stream. When XACK acknowledges every id, all were pending and
// all are deleted. When it acknowledges some, the others were not pending:
// unknown, acknowledged before (and so deleted then), or never delivered
// to the group. Only the ids up to the group's last delivered one are
// deleted then, so an entry no reader has had is never lost. XACK of a
// missing stream or group acknowledges nothing. A stream it empties is
// kept, with its group and its index entry, for the next click of its
// code; [tidyScript] deletes it once idle.
var ackScript = goredis.NewScript(`
local function before(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if not am or not bm then return false end
  am, bm = tonumber(am), tonumber(bm)
  return am < bm or (am == bm and tonumber(as) <= tonumber(bs))
end
local n = 0
local pos = 2
for k = 1, #KEYS do
  local count = tonumber(ARGV[pos])
  local ids = {unpack(ARGV, pos + 1, pos + count)}
  pos = pos + count + 1
  local acked = redis.pcall('XACK', KEYS[k], ARGV[1], unpack(ids))
  if type(acked) == 'number' and acked > 0 then
    n = n + acked
    if acked < #ids then
      local last
      for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[k])) do
        local name, delivered
        for i = 1, #g, 2 do
          if g[i] == 'name' then name = g[i + 1] end
          if g[i] == 'last-delivered-id' then delivered = g[i + 1] end
        end
        if name == ARGV[1] then last = delivered end
      end
      local seen = {}
      for _, id in ipairs(ids) do
        if last and before(id, last) then seen[#seen + 1] = id end
      end
      ids = seen
    end
    if #ids > 0 then
      redis.call('XDEL', KEYS[k], unpack(ids))
    end
  end
end
return n
`)

// tidyScript deletes those of the streams KEYS that are empty and had
// their last entry added at least ARGV[1] milliseconds ago (by the
// server's clock, from the entry id), so that streams do not pile up one
// empty key per code ever clicked (Q3), while a code clicked now and then
// keeps its stream, group and index entry instead of having them deleted
// and created again for every click. It returns {count, keys...}: those it
// deleted and those already gone, for the index to drop.
// A stream recreated by a later XADD has no group; readers create it
// again, from id 0.
var tidyScript = goredis.NewScript(`
local t = redis.call('TIME')
local before = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[1])
local out = {0}
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 0 then
    out[#out + 1] = key
  elseif redis.call('XLEN', key) == 0 then
    local info = redis.pcall('XINFO', 'STREAM', key)
    if type(info) == 'table' and not info.err then
      for i = 1, #info, 2 do
        if info[i] == 'last-generated-id' then
          local ms = tonumber(string.match(info[i + 1], '^(%d+)'))
          if ms and ms <= before then
            redis.call('DEL', key)
            out[#out + 1] = key
          end
        end
      end
    end
  end
end
out[1] = #out - 1
return out
`)

// Deleting idle empty streams (see tidyScript).
const (
	// emptyGrace is how long an emptied stream is kept after its last
	// click: long enough that a code clicked every few seconds keeps its
	// stream, short enough that the empty streams of a server are those
	// of the codes clicked in the last half minute or so.
	emptyGrace = 10 * time.Second
	// tidyEvery is how often a reader looks for idle empty streams.
	tidyEvery = 10 * time.Second
)

// isEntryID reports whether s is a complete stream entry id: digits, a
// dash, digits.
func isEntryID(s string) bool {
	ms, seq, ok := strings.Cut(s, "-")
	return ok && allDigits(ms) && allDigits(seq)
}

// allDigits reports whether s is one or more ASCII digits.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// groupStream names one group on one stream.
type groupStream struct{ group, stream string }

// streamState is what the consumer side of a ClickShard caches for one
// connection.
type streamState struct {
	cn *conn
	// rdb sends the batch commands (Record, the consumer side and the
	// health check): cn's client, with batchTimeout on a single server
	// (see [batchClient]).
	rdb goredis.UniversalClient

	discoverMu sync.Mutex // one discovery at a time

	mu      sync.Mutex
	streams map[string]struct{} // stream keys, as discovered or recorded
	// scores are the index scores of the streams at the last discovery
	// (see index.go); a stream recorded since has none.
	scores       map[string]float64
	list         []string // streams, sorted
	discoveredAt time.Time
	// sweepWanted counts the sweeps (SCAN) asked for: one when the state
	// begins, one more after each connection failure; sweptFor is the
	// count the last completed sweep answered.
	sweepWanted, sweptFor uint64
	sweptAt               time.Time // when the last sweep began
	cursor                int       // rotates where non-blocking read rounds start
	groups                map[groupStream]struct{}
	reclaimed             map[string]time.Time // last pending scan, by group
	// fullReadAt is when a read last visited every stream.
	fullReadAt time.Time
	// tidiedAt is when a read last looked for idle empty streams.
	tidiedAt time.Time
	// perStream is how many new entries the streams of the unread set
	// held on average at the last read that found some (see readUnread).
	perStream int
	// bumps are the index bumps Record sent lately (single server).
	bumps bumpMemory
}

func newStreamState(cn *conn) *streamState {
	return &streamState{
		cn:          cn,
		rdb:         batchClient(cn),
		streams:     make(map[string]struct{}),
		scores:      make(map[string]float64),
		sweepWanted: 1,
		groups:      make(map[groupStream]struct{}),
		reclaimed:   make(map[string]time.Time),
	}
}

// batchTimeout is the least socket read and write timeout of a click
// shard's batch commands: Record's pipelines, the consumer side's reads and
// acknowledgements, and the health check. The read_timeout setting (50 ms
// by default, the reference's) suits a command on a request's path, but
// these carry hundreds of clicks and run off it, and on a busy machine
// their replies take longer than that now and then (p99 of Record 50-100
// ms under the benchmark's load, and more than 250 ms a few times a run).
// A reply cut off does not undo the command: a Record cut off fails over
// to the next shard with its clicks already counted on this one, and a
// consumer read cut off leaves its entries pending until they are claimed
// and sent again: work done twice. A hung server holds each flusher of the
// host's batcher that calls it that long once, and then one probe per rest
// (see host.ClickBatcher).
const batchTimeout = time.Second

// batchClient returns the client of a click shard's batch commands: on a
// single server, cn's client with timeouts of at least batchTimeout,
// sharing its connection pool (so closing cn closes it); on a cluster,
// cn's client as it is.
func batchClient(cn *conn) goredis.UniversalClient {
	c, ok := cn.rdb.(*goredis.Client)
	if !ok || c.Options().ReadTimeout >= batchTimeout {
		return cn.rdb
	}
	return c.WithTimeout(batchTimeout)
}

// noteStreams adds streams this process wrote to, so its own reads see
// them before the next discovery. Until the first discovery there is
// nothing to add to (that discovery finds them), so a value that only
// records, as in a process that never reads, keeps no list of every
// stream it wrote.
func (st *streamState) noteStreams(keys []string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.discoveredAt.IsZero() {
		return
	}
	added := false
	for _, k := range keys {
		if _, ok := st.streams[k]; !ok {
			st.streams[k] = struct{}{}
			added = true
		}
	}
	if added {
		st.list = slices.Sorted(maps.Keys(st.streams))
	}
}

// fresh returns the cached streams if they are recent enough.
func (st *streamState) fresh() ([]string, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	ttl := discoverEvery
	if len(st.list) == 0 {
		ttl = discoverEmpty
	}
	if st.discoveredAt.IsZero() || time.Since(st.discoveredAt) >= ttl {
		return nil, false
	}
	return st.list, true
}

// discover returns the click streams that have entries, from the stream
// index at most every discoverEvery, after a sweep when one is due.
func (st *streamState) discover(ctx context.Context) ([]string, error) {
	if list, ok := st.fresh(); ok {
		return list, nil
	}
	st.discoverMu.Lock()
	defer st.discoverMu.Unlock()
	if list, ok := st.fresh(); ok {
		return list, nil
	}
	st.mu.Lock()
	want, done := st.sweepWanted, st.sweptFor
	due := want != done && time.Since(st.sweptAt) >= sweepGap
	st.mu.Unlock()
	if due {
		began := time.Now()
		if err := st.sweep(ctx); err != nil {
			return nil, wrap("sweep click streams", err)
		}
		st.mu.Lock()
		st.sweptFor, st.sweptAt = want, began
		st.mu.Unlock()
	}
	scores, err := readIndex(ctx, st.cn, st.rdb)
	if err != nil {
		return nil, wrap("discover click streams", err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.scores = scores
	st.streams = make(map[string]struct{}, len(scores))
	for k := range scores {
		st.streams[k] = struct{}{}
	}
	st.list = slices.Sorted(maps.Keys(st.streams))
	st.discoveredAt = time.Now()
	for gs := range st.groups {
		if _, ok := st.streams[gs.stream]; !ok {
			delete(st.groups, gs)
		}
	}
	return st.list, nil
}

// sweep indexes the streams the index does not know of, from a SCAN of
// every server (never KEYS).
func (st *streamState) sweep(ctx context.Context) error {
	keys, err := st.scan(ctx)
	if err != nil {
		return err
	}
	for chunk := range slices.Chunk(keys, scanCount) {
		if err := addToIndex(ctx, st.cn, st.rdb, chunk); err != nil {
			return err
		}
	}
	return nil
}

// resweep makes a discovery sweep again, sweepGap after the last sweep
// at the earliest: after a connection failure, an index bucket may have
// lost writes its replica had not received when it took over.
func (st *streamState) resweep() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sweepWanted++
	st.discoveredAt = time.Time{}
}

// scan lists the stream keys under the prefix on every server.
func (st *streamState) scan(ctx context.Context) ([]string, error) {
	match := escapeGlob(st.cn.prefix) + streamPrefix + "*"
	if st.cn.cluster == nil {
		return scanStreams(ctx, st.rdb, match)
	}
	var (
		mu   sync.Mutex
		keys []string
	)
	err := st.cn.cluster.ForEachMaster(ctx, func(ctx context.Context, node *goredis.Client) error {
		ks, err := scanStreams(ctx, node, match)
		mu.Lock()
		keys = append(keys, ks...)
		mu.Unlock()
		return err
	})
	return keys, err
}

// scanStreams runs SCAN MATCH match TYPE stream to the end on one server.
func scanStreams(ctx context.Context, c goredis.Cmdable, match string) ([]string, error) {
	var (
		keys   []string
		cursor uint64
	)
	for {
		page, next, err := c.ScanType(ctx, cursor, match, scanCount, "stream").Result()
		if err != nil {
			return nil, err
		}
		keys = append(keys, page...)
		if next == 0 {
			return keys, nil
		}
		cursor = next
	}
}

// drop removes streams found gone from the cache; the next discovery
// finds them again if they are still indexed.
func (st *streamState) drop(keys []string) {
	if len(keys) == 0 {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, k := range keys {
		delete(st.streams, k)
		for gs := range st.groups {
			if gs.stream == k {
				delete(st.groups, gs)
			}
		}
	}
	st.list = slices.Sorted(maps.Keys(st.streams))
}

// scoresOf returns the index scores the last discovery read for keys (a
// stream recorded since has none). Taken before a command that may find a
// stream missing, they are what [streamState.missing] needs.
func (st *streamState) scoresOf(keys []string) map[string]float64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := make(map[string]float64, len(keys))
	for _, k := range keys {
		if s, ok := st.scores[k]; ok {
			out[k] = s
		}
	}
	return out
}

// missing takes streams seen not to exist out of the index, each if its
// score is still the one in scores, read before the stream was seen
// missing (see index.go: a score read later could already count a click
// that recreated the stream), and out of the cache. A failure leaves them
// indexed, for a later try.
func (st *streamState) missing(ctx context.Context, keys []string, scores map[string]float64) {
	if len(keys) == 0 {
		return
	}
	remove := make(map[string]float64, len(keys))
	st.mu.Lock()
	for _, k := range keys {
		if s, ok := scores[k]; ok {
			remove[k] = s
			if st.scores[k] == s {
				delete(st.scores, k)
			}
		}
	}
	st.mu.Unlock()
	st.drop(keys)
	_ = unindex(ctx, st.cn, st.rdb, remove)
}

// forget makes the next discovery read the index again, after Redis said
// a stream or group is gone; with groups it also forgets which groups
// exist, for when it is not known which stream lost its group.
func (st *streamState) forget(groups bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.discoveredAt = time.Time{}
	if groups {
		clear(st.groups)
	}
}

// ensureGroups creates group on each stream it is not known on yet, from
// id 0 so that entries written before the group existed are read too.
func (st *streamState) ensureGroups(ctx context.Context, group string, streams []string) error {
	st.mu.Lock()
	var missing []string
	for _, s := range streams {
		if _, ok := st.groups[groupStream{group, s}]; !ok {
			missing = append(missing, s)
		}
	}
	st.mu.Unlock()
	for chunk := range slices.Chunk(missing, streamChunk) {
		scores := st.scoresOf(chunk)
		pipe := st.rdb.Pipeline()
		cmds := make([]*goredis.StatusCmd, len(chunk))
		for i, s := range chunk {
			cmds[i] = pipe.XGroupCreate(ctx, s, group, "0")
		}
		_, _ = pipe.Exec(ctx)
		var created, gone []string
		for i, cmd := range cmds {
			err := cmd.Err()
			switch {
			case err == nil, goredis.HasErrorPrefix(err, "BUSYGROUP"):
				created = append(created, chunk[i])
			case keyMissing(err):
				// Deleted since discovery (empty and idle); no group
				// is needed until a click recreates it.
				gone = append(gone, chunk[i])
			default:
				return wrap(fmt.Sprintf("create group %q on %s", group, chunk[i]), err)
			}
		}
		st.missing(ctx, gone, scores)
		st.mu.Lock()
		for _, s := range created {
			st.groups[groupStream{group, s}] = struct{}{}
		}
		st.mu.Unlock()
	}
	return nil
}

// rotation returns streams starting at a position that moves on every
// call, so that busy streams early in the order do not starve later ones.
func (st *streamState) rotation(streams []string) []string {
	st.mu.Lock()
	start := st.cursor % len(streams)
	st.cursor = start + 1
	st.mu.Unlock()
	return append(slices.Clone(streams[start:]), streams[:start]...)
}

// Read delivers up to req.Count entries of the server's click streams to
// req.Consumer of req.Group. It first claims (XPENDING IDLE + XCLAIM)
// entries any consumer has left pending for at least req.MinIdle, then
// reads new entries (XREADGROUP >), waiting up to req.Block for some when
// it has none. Groups are created as needed, from id 0. The wait ends
// early, without error, shortly before ctx's deadline; a cancelled ctx ends
// it with ctx's error. Blocking reads are not bound by the read_timeout
// setting.
//
// Redis applies XREADGROUP's COUNT per stream, so Read never asks several
// streams for more than Count entries together: against a single server
// one script reads the streams in turn, against a cluster each round of
// per-stream reads shares out what is left of Count.
//
// A malformed entry is still delivered so it can be acknowledged: a
// missing or unreadable ts gives the current time, a missing ip an empty
// visitor, and an entry without cid (written by the reference) the click
// id [LegacyClickID], the same on every delivery. The code is always the
// stream's.
func (c *ClickShard) Read(ctx context.Context, req core.ReadRequest) ([]core.Delivery, error) {
	switch {
	case req.Group == "":
		return nil, fmt.Errorf("read click streams: empty group: %w", core.ErrInvalid)
	case req.Consumer == "":
		return nil, fmt.Errorf("read click streams: empty consumer: %w", core.ErrInvalid)
	case req.Count < 1:
		return nil, fmt.Errorf("read click streams: count %d: %w", req.Count, core.ErrInvalid)
	case req.Block < 0 || req.MinIdle < 0:
		return nil, fmt.Errorf("read click streams: negative block or min idle: %w", core.ErrInvalid)
	}
	cn, err := c.b.conn()
	if err != nil {
		return nil, err
	}
	st := c.state(cn)
	out, err := st.read(ctx, req)
	st.failed(ctx, err)
	return out, err
}

// read does the work of Read.
func (st *streamState) read(ctx context.Context, req core.ReadRequest) ([]core.Delivery, error) {
	deadline := time.Now().Add(req.Block)
	if d, ok := ctx.Deadline(); ok && d.Add(-deadlineMargin).Before(deadline) {
		deadline = d.Add(-deadlineMargin)
	}
	var out []core.Delivery
	reclaimed := false
	for retries := 0; ; {
		streams, err := st.discover(ctx)
		if err != nil {
			return out, errIfNone(out, err)
		}
		if len(streams) > 0 && st.tidyDue() {
			// A failure is left for the next time: the read reports
			// the server's trouble if it persists.
			_ = st.tidy(ctx, streams, emptyGrace)
		}
		if len(streams) > 0 {
			err := st.ensureGroups(ctx, req.Group, streams)
			if err == nil && !reclaimed {
				var got []core.Delivery
				got, err = st.reclaim(ctx, req, streams, req.Count-len(out))
				out = append(out, got...)
				reclaimed = err == nil
			}
			if err == nil && len(out) < req.Count {
				wait := time.Duration(0)
				if len(out) == 0 {
					wait = min(time.Until(deadline), blockSlice)
				}
				var got []core.Delivery
				got, err = st.readNew(ctx, req, streams, req.Count-len(out), wait)
				out = append(out, got...)
			}
			if err != nil {
				if gone(err) && retries < 3 {
					retries++
					st.forget(!errors.Is(err, errStreamsGone))
					continue
				}
				return out, errIfNone(out, err)
			}
		}
		if len(out) > 0 || !time.Now().Before(deadline) {
			return out, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read click streams: %w", err)
		}
		if len(streams) == 0 || st.cn.cluster != nil {
			t := time.NewTimer(min(pollEvery, time.Until(deadline)))
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("read click streams: %w", ctx.Err())
			case <-t.C:
			}
		}
	}
}

// tidyDue reports whether a look for idle empty streams is due, and if so
// counts it as done.
func (st *streamState) tidyDue() bool { return st.due(&st.tidiedAt, tidyEvery) }

// due reports whether every has passed since *last, and if so sets *last
// to now.
func (st *streamState) due(last *time.Time, every time.Duration) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if time.Since(*last) < every {
		return false
	}
	*last = time.Now()
	return true
}

// tidy deletes the streams among streams that are empty and got their
// last click at least grace ago (see tidyScript), and takes them, and
// those found gone, out of the index (see [streamState.missing]): on a
// single server in runs of scriptStreams streams, on a cluster one run per
// stream, all in one pipeline.
func (st *streamState) tidy(ctx context.Context, streams []string, grace time.Duration) error {
	scores := st.scoresOf(streams)
	args := []any{grace.Milliseconds()}
	var runs []scriptRun
	if st.cn.cluster != nil {
		for _, s := range streams {
			runs = append(runs, scriptRun{keys: []string{s}, args: args})
		}
	} else {
		for chunk := range slices.Chunk(streams, scriptStreams) {
			runs = append(runs, scriptRun{keys: chunk, args: args})
		}
	}
	deleted, err := scriptKeys(runScripts(ctx, st.rdb, tidyScript, runs))
	st.missing(ctx, deleted, scores)
	return wrap("delete idle empty click streams", err)
}

// errIfNone returns err when nothing was read, and nil otherwise: entries
// already claimed or read are pending for the consumer, so they are better
// returned than left to wait for MinIdle.
func errIfNone(out []core.Delivery, err error) error {
	if len(out) > 0 {
		return nil
	}
	return err
}

// gone reports whether err says a stream or group no longer exists.
func gone(err error) bool {
	return errors.Is(err, errStreamsGone) || goredis.HasErrorPrefix(err, "NOGROUP") || goredis.HasErrorPrefix(err, "UNBLOCKED")
}

// reclaim claims up to want entries that have been pending for at least
// req.MinIdle, whichever consumer holds them. After a scan that found
// fewer than it could take, the group's pending lists are left alone for
// MinIdle/2: an entry is then claimed between MinIdle and 1.5 MinIdle
// after its delivery. Every scan asks each stream (XPENDING), so with the
// default MinIdle (30 s) a reader scans every 15 s; a reader recovering
// from a failed read asks for a short MinIdle (core/consumer: 1 s) and
// scans that much more often.
func (st *streamState) reclaim(ctx context.Context, req core.ReadRequest, streams []string, want int) ([]core.Delivery, error) {
	st.mu.Lock()
	if time.Since(st.reclaimed[req.Group]) < req.MinIdle/2 {
		st.mu.Unlock()
		return nil, nil
	}
	st.mu.Unlock()
	scanned := time.Now()

	claims := make(map[string][]string)
	var order []string
	found := 0
	for chunk := range slices.Chunk(streams, streamChunk) {
		pipe := st.rdb.Pipeline()
		cmds := make([]*goredis.XPendingExtCmd, len(chunk))
		for i, s := range chunk {
			cmds[i] = pipe.XPendingExt(ctx, &goredis.XPendingExtArgs{
				Stream: s, Group: req.Group, Idle: req.MinIdle,
				Start: "-", End: "+", Count: int64(want - found),
			})
		}
		_, _ = pipe.Exec(ctx)
		for i, cmd := range cmds {
			pending, err := cmd.Result()
			if gone(err) {
				continue
			}
			if err != nil {
				return nil, wrap(fmt.Sprintf("list pending entries of %s", chunk[i]), err)
			}
			for _, p := range pending[:min(len(pending), want-found)] {
				if claims[chunk[i]] == nil {
					order = append(order, chunk[i])
				}
				claims[chunk[i]] = append(claims[chunk[i]], p.ID)
				found++
			}
		}
		if found == want {
			break
		}
	}
	// Only a scan that saw every idle entry may be skipped next time; one
	// that stopped at want may have left more behind.
	st.mu.Lock()
	if found < want {
		st.reclaimed[req.Group] = scanned
	} else {
		delete(st.reclaimed, req.Group)
	}
	st.mu.Unlock()
	if found == 0 {
		return nil, nil
	}
	pipe := st.rdb.Pipeline()
	cmds := make([]*goredis.XMessageSliceCmd, len(order))
	for i, s := range order {
		cmds[i] = pipe.XClaim(ctx, &goredis.XClaimArgs{
			Stream: s, Group: req.Group, Consumer: req.Consumer,
			MinIdle: req.MinIdle, Messages: claims[s],
		})
	}
	_, _ = pipe.Exec(ctx)
	now := time.Now()
	var out []core.Delivery
	var failed error
	for i, cmd := range cmds {
		msgs, err := cmd.Result()
		if gone(err) {
			continue
		}
		if err != nil {
			// The other streams' claims still count (see readRounds).
			if failed == nil {
				failed = wrap(fmt.Sprintf("claim pending entries of %s", order[i]), err)
			}
			continue
		}
		code := st.code(order[i])
		for _, m := range msgs {
			out = append(out, messageDelivery(code, m, now))
		}
	}
	return out, errIfNone(out, failed)
}

// readNew reads up to want never-delivered entries: first without
// blocking, over every stream, then, if that found nothing and wait is at
// least a millisecond, with one XREADGROUP blocking for wait over all of
// them (a single server only; a cluster is polled by the caller). A woken
// XREADGROUP replies for the one stream that woke it, so COUNT bounds it.
func (st *streamState) readNew(ctx context.Context, req core.ReadRequest, streams []string, want int, wait time.Duration) ([]core.Delivery, error) {
	streams = st.rotation(streams)
	if st.cn.cluster != nil {
		return st.readRounds(ctx, req, streams, want)
	}
	// The unread set names the streams with new entries; every stream is
	// read only when it gave nothing, and now and then besides.
	got, err := st.readUnread(ctx, req, want)
	if err != nil || len(got) >= want || len(got) > 0 && !st.fullReadDue() {
		return got, err
	}
	more, err := st.readScripted(ctx, req, streams, want-len(got))
	got = append(got, more...)
	if len(got) > 0 {
		err = nil
	}
	if err != nil || len(got) > 0 || wait < time.Millisecond {
		return got, err
	}
	res, err := st.rdb.XReadGroup(ctx, readArgs(req, streams, want, wait)).Result()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, wrap("read click streams", err)
	}
	// More than want cannot happen (see above); if it did, the surplus
	// stays pending and is claimed again after MinIdle.
	got = appendDeliveries(nil, st, res, time.Now())
	return got[:min(len(got), want)], nil
}

// fullReadEvery is how often a reader that finds entries through the
// unread set also reads every known stream, for entries written without
// the set (by the reference implementation, or before an upgrade).
const fullReadEvery = time.Second

// fullReadDue reports whether a read of every stream is due, and if so
// counts it as done.
func (st *streamState) fullReadDue() bool { return st.due(&st.fullReadAt, fullReadEvery) }

// maxPerStream bounds what readUnread asks of each stream from the last
// read's average: after a backlog (thousands of entries per stream) the
// average is large, and the first read after it, of streams holding a
// few entries each again, still covers hundreds of them in a few dozen
// rounds rather than one stream a round.
const maxPerStream = 64

// readUnread reads up to want new entries from the streams of the unread
// set, with one XREADGROUP over many streams per round rather than one per
// stream. Each round asks its streams for at most what is missing in
// total, and at most scriptEntries (COUNT applies per stream, so it bounds
// the reply); streams that came back full are asked again in a later
// round. A round asks each stream for half as many entries again as the
// streams held on average at the last read, so that under a steady load
// each stream comes back short of full and is visited once. (Asked only
// for what is missing shared out among all of them, hundreds of streams
// holding a few entries each were asked for one entry a round, and each
// was visited once per entry; every visit costs the server a key, group
// and consumer lookup and a walk of the stream's last node.) A round takes
// its streams out of the set before it reads them, in the same pipeline,
// and the streams that came back full go back in at the end: a click
// written after the removal adds its stream again, one written before it
// is read.
func (st *streamState) readUnread(ctx context.Context, req core.ReadRequest, want int) ([]core.Delivery, error) {
	key := st.cn.key(unreadKey)
	cand, err := st.rdb.SMembers(ctx, key).Result()
	if err != nil {
		return nil, wrap("read click streams", err)
	}
	var out []core.Delivery
	full := make(map[string]bool) // streams taken out that may hold more
	putBack := func(streams []string) {
		for _, s := range streams {
			full[s] = true
		}
	}
	defer func() {
		if len(full) > 0 {
			// Left out, a stream's entries wait for the next read of
			// every stream or the stream's next click.
			_ = st.rdb.SAdd(context.WithoutCancel(ctx), key, slices.Collect(maps.Keys(full))).Err()
		}
	}()
	st.mu.Lock()
	// Half again the last read's average: each stream comes back short.
	ask := min(st.perStream+st.perStream/2+1, maxPerStream)
	st.mu.Unlock()
	gave := make(map[string]bool) // streams that gave entries
	for regroups := 0; len(cand) > 0 && len(out) < want; {
		left := min(want-len(out), scriptEntries)
		per := min(max(left/len(cand), ask), left)
		n := min(len(cand), left/per, scriptStreams)
		batch, rest := cand[:n], cand[n:]
		pipe := st.rdb.Pipeline()
		taken := pipe.SRem(ctx, key, batch) // go-redis spreads a []string
		read := pipe.XReadGroup(ctx, readArgs(req, batch, per, -1))
		_, _ = pipe.Exec(ctx)
		if err := taken.Err(); err != nil {
			putBack(batch)
			return out, errIfNone(out, wrap("read click streams", err))
		}
		res, err := read.Result()
		if goredis.HasErrorPrefix(err, "NOGROUP") && regroups < len(batch) {
			// A stream lost its group (deleted once idle, maybe recreated
			// by a click since): give it the group again, or drop it.
			regroups++
			if cand, err = st.regroup(ctx, req.Group, cand, err); err != nil {
				putBack(cand)
				return out, errIfNone(out, err)
			}
			continue
		}
		if err != nil && !errors.Is(err, goredis.Nil) {
			putBack(batch)
			return out, errIfNone(out, wrap("read click streams", err))
		}
		for _, s := range batch {
			delete(full, s)
		}
		out = appendDeliveries(out, st, res, time.Now())
		for _, s := range res {
			if len(s.Messages) > 0 {
				gave[s.Stream] = true
			}
			if len(s.Messages) == per {
				rest = append(rest, s.Stream)
				full[s.Stream] = true
			}
		}
		cand = rest
	}
	if len(gave) > 0 {
		st.mu.Lock()
		st.perStream = (len(out) + len(gave) - 1) / len(gave)
		st.mu.Unlock()
	}
	return out, nil
}

// regroup handles a NOGROUP reply (err) to a read of streams: the stream
// it names gets the group again, from id 0, or leaves streams when it no
// longer exists (see ensureGroups). It returns streams, less the one
// dropped.
func (st *streamState) regroup(ctx context.Context, group string, streams []string, err error) ([]string, error) {
	// The reply names the key: "NOGROUP No such key '<key>' or consumer
	// group '<group>' …".
	_, after, ok := strings.Cut(err.Error(), "'")
	stream, _, ok2 := strings.Cut(after, "'")
	i := slices.Index(streams, stream)
	if !ok || !ok2 || i < 0 {
		return streams, wrap("read click streams", err)
	}
	switch err := st.rdb.XGroupCreate(ctx, stream, group, "0").Err(); {
	case err == nil, goredis.HasErrorPrefix(err, "BUSYGROUP"):
		return streams, nil
	case keyMissing(err):
		return slices.Delete(streams, i, i+1), nil
	default:
		return streams, wrap("read click streams", err)
	}
}

// keyMissing reports whether err is XGROUP CREATE's refusal of a stream
// that does not exist (created without MKSTREAM, so that a deleted stream
// stays deleted).
func keyMissing(err error) bool {
	return goredis.HasErrorPrefix(err, "The XGROUP subcommand requires the key to exist")
}

// readScript reads new entries from the streams KEYS in turn, each asked
// only for what is still missing of ARGV[3], and returns
// {{stream, entries}...} and the streams that are gone or lost their group
// (deleted once empty and idle, maybe recreated by a click since).
var readScript = goredis.NewScript(`
local left = tonumber(ARGV[3])
local out, gone = {}, {}
for _, key in ipairs(KEYS) do
  if left <= 0 then break end
  local res = redis.pcall('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', left, 'STREAMS', key, '>')
  if type(res) == 'table' and res.err then
    if string.sub(res.err, 1, 7) ~= 'NOGROUP' then
      return res
    end
    table.insert(gone, key)
  elseif res then
    local entries = res[1][2]
    left = left - #entries
    table.insert(out, {key, entries})
  end
end
return {out, gone}
`)

// readScripted reads up to want new entries from the streams, in script
// runs of up to scriptStreams streams and scriptEntries entries, without
// blocking.
func (st *streamState) readScripted(ctx context.Context, req core.ReadRequest, streams []string, want int) ([]core.Delivery, error) {
	var got []core.Delivery
	goneSeen := false
	for chunk := range slices.Chunk(streams, scriptStreams) {
		// A run that came back full may have left entries in its chunk.
		for full := true; full && len(got) < want; {
			ask := min(want-len(got), scriptEntries)
			reply, err := readScript.Run(ctx, st.rdb, chunk, req.Group, req.Consumer, ask).Slice()
			if err != nil {
				return got, errIfNone(got, wrap("read click streams", err))
			}
			before := len(got)
			var gone []string
			got, gone, err = parseScriptRead(got, st, reply, time.Now())
			if err != nil {
				return got, errIfNone(got, fmt.Errorf("read click streams: %w", err))
			}
			st.drop(gone)
			goneSeen = goneSeen || len(gone) > 0
			full = len(got)-before == ask
		}
		if len(got) >= want {
			break
		}
	}
	if len(got) == 0 && goneSeen {
		return nil, errStreamsGone
	}
	return got, nil
}

// errStreamsGone reports that a read found nothing but streams that were
// deleted or lost their group; the reader rescans, since a click may have
// recreated them.
var errStreamsGone = errors.New("click streams are gone")

// parseScriptRead appends to ds the entries of readScript's reply,
// converted without the field maps of go-redis's XMessage, and returns
// the streams the reply names as gone.
func parseScriptRead(ds []core.Delivery, st *streamState, reply []any, now time.Time) (out []core.Delivery, gone []string, err error) {
	// A malformed reply adds nothing, as if it had not come.
	start := len(ds)
	bad := func(what string) ([]core.Delivery, []string, error) {
		return ds[:start], nil, fmt.Errorf("unexpected script reply: %s", what)
	}
	if len(reply) != 2 {
		return bad("not a pair")
	}
	streams, _ := reply[0].([]any)
	goneKeys, _ := reply[1].([]any)
	for _, k := range goneKeys {
		if s, ok := k.(string); ok {
			gone = append(gone, s)
		}
	}
	for _, s := range streams {
		pair, ok := s.([]any)
		if !ok || len(pair) != 2 {
			return bad("stream is not a pair")
		}
		key, _ := pair[0].(string)
		code := st.code(key)
		entries, _ := pair[1].([]any)
		for _, e := range entries {
			item, ok := e.([]any)
			if !ok || len(item) != 2 {
				return bad("entry is not a pair")
			}
			id, _ := item[0].(string)
			values, _ := item[1].([]any)
			var fields entry
			for i := 0; i+1 < len(values); i += 2 {
				k, _ := values[i].(string)
				v, _ := values[i+1].(string)
				fields.set(k, v)
			}
			ds = append(ds, fields.delivery(code, id, now))
		}
	}
	return ds, gone, nil
}

// readRounds reads up to want new entries from a cluster's streams with
// pipelines of single-stream XREADGROUPs. Each round asks its streams for
// at most what is missing in total; streams that came back full are asked
// again in a later round, idle ones are not.
func (st *streamState) readRounds(ctx context.Context, req core.ReadRequest, streams []string, want int) ([]core.Delivery, error) {
	var (
		got      []core.Delivery
		goneSeen bool
		failed   error
	)
	cand := streams
	for len(cand) > 0 && len(got) < want {
		left := want - len(got)
		per := max(1, left/len(cand))
		n := min(len(cand), left/per, streamChunk)
		batch, rest := cand[:n], cand[n:]
		pipe := st.rdb.Pipeline()
		cmds := make([]*goredis.XStreamSliceCmd, n)
		for i, s := range batch {
			cmds[i] = pipe.XReadGroup(ctx, readArgs(req, []string{s}, per, -1))
		}
		_, _ = pipe.Exec(ctx)
		var full []string
		now := time.Now()
		for i, cmd := range cmds {
			res, err := cmd.Result()
			switch {
			case err == nil:
				before := len(got)
				got = appendDeliveries(got, st, res, now)
				if len(got)-before == per {
					full = append(full, batch[i])
				}
			case errors.Is(err, goredis.Nil):
			case gone(err):
				st.drop([]string{batch[i]})
				goneSeen = true
			case failed == nil:
				failed = err
			}
		}
		// Entries the other commands of the round delivered are returned
		// even when one failed (a node being failed over): left unreturned
		// they would wait for MinIdle to be claimed again.
		if failed != nil {
			return got, errIfNone(got, wrap("read click streams", failed))
		}
		cand = append(rest, full...)
	}
	if len(got) == 0 && goneSeen {
		return nil, errStreamsGone
	}
	return got, nil
}

// readArgs builds an XREADGROUP of new entries; block < 0 means no BLOCK.
func readArgs(req core.ReadRequest, streams []string, count int, block time.Duration) *goredis.XReadGroupArgs {
	args := make([]string, 0, 2*len(streams))
	args = append(args, streams...)
	for range streams {
		args = append(args, ">")
	}
	return &goredis.XReadGroupArgs{
		Group:    req.Group,
		Consumer: req.Consumer,
		Streams:  args,
		Count:    int64(count),
		Block:    block,
	}
}

// appendDeliveries converts XREADGROUP replies.
func appendDeliveries(ds []core.Delivery, st *streamState, res []goredis.XStream, now time.Time) []core.Delivery {
	for _, s := range res {
		code := st.code(s.Stream)
		for _, m := range s.Messages {
			ds = append(ds, messageDelivery(code, m, now))
		}
	}
	return ds
}

// code returns the short code of a stream key.
func (st *streamState) code(stream string) string {
	return strings.TrimPrefix(stream, st.cn.prefix+streamPrefix)
}

// entry collects the fields of a click stream entry that Read uses: the
// click's strings, and ts, parsed once all are in.
type entry struct {
	click core.Click
	ts    string
}

// set keeps v as the value of field k; other fields (sc: the code is the
// stream's) are ignored, and a repeated field keeps its last value, as
// go-redis's XMessage does.
func (e *entry) set(k, v string) {
	switch k {
	case "ts":
		e.ts = v
	case "ip":
		e.click.Visitor = v
	case "cid":
		e.click.ID = v
	default:
		for _, f := range extraFields(&e.click) {
			if f.name == k {
				*f.value = v
				return
			}
		}
	}
}

// messageDelivery converts one entry of code's stream as go-redis parsed
// it. A value that is not a string counts as empty.
func messageDelivery(code string, m goredis.XMessage, now time.Time) core.Delivery {
	var e entry
	for k, v := range m.Values {
		s, _ := v.(string)
		e.set(k, s)
	}
	return e.delivery(code, m.ID, now)
}

// delivery converts entry entryID of code's stream.
func (e *entry) delivery(code, entryID string, now time.Time) core.Delivery {
	c := e.click
	c.Code = code
	if c.ID == "" {
		c.ID = LegacyClickID(code, entryID)
	}
	var ok bool
	if c.At, ok = parseUnixSeconds(e.ts); !ok {
		c.At = now.UTC()
	}
	return core.Delivery{ID: entryID, Click: c}
}

// LegacyClickID is the click id Read gives an entry without a cid field,
// as the reference wrote them: "stream:clicks:<code>/<entry id>". It is
// the same on every delivery, so storing such entries stays idempotent.
func LegacyClickID(code, entryID string) string {
	return streamPrefix + code + "/" + entryID
}

// Ack acknowledges the entries pending in req.Group and deletes them from
// their streams (see ackScript): on a
// single server with one script run per ackChunk ids, whatever the number
// of streams; on a cluster, whose streams lie in different slots, with one
// run per stream, all in one pipeline. Unknown entries, entries of other
// groups and ids that cannot name an entry are ignored. Deleting
// acknowledged entries means a stream serves one consumer group.
func (c *ClickShard) Ack(ctx context.Context, req core.AckRequest) error {
	if req.Group == "" {
		return fmt.Errorf("ack click entries: empty group: %w", core.ErrInvalid)
	}
	byCode := make(map[string][]any)
	var codes []string
	for _, id := range req.IDs {
		if id.Code == "" || !isEntryID(id.ID) {
			continue
		}
		if byCode[id.Code] == nil {
			codes = append(codes, id.Code)
		}
		byCode[id.Code] = append(byCode[id.Code], id.ID)
	}
	if len(codes) == 0 {
		return nil
	}
	cn, err := c.b.conn()
	if err != nil {
		return err
	}
	st := c.state(cn)
	runs := ackRuns(cn, req.Group, codes, byCode)
	for _, cmd := range runScripts(ctx, st.rdb, ackScript, runs) {
		if err := cmd.Err(); err != nil {
			st.failed(ctx, err)
			return wrap(fmt.Sprintf("ack %d click entries", len(req.IDs)), err)
		}
	}
	return nil
}

// scriptRun is one run of a script: its keys and arguments.
type scriptRun struct {
	keys []string
	args []any
}

// ackRuns splits an acknowledgement into ackScript runs: runs of up to
// about ackChunk ids over any number of streams on a single server, one
// run per stream (and per ackChunk of its ids) on a cluster.
func ackRuns(cn *conn, group string, codes []string, byCode map[string][]any) []scriptRun {
	var runs []scriptRun
	var cur scriptRun
	ids := 0
	flush := func() {
		if len(cur.keys) > 0 {
			runs = append(runs, cur)
		}
		cur, ids = scriptRun{}, 0
	}
	for _, code := range codes {
		stream := cn.key(streamPrefix + code)
		for chunk := range slices.Chunk(byCode[code], ackChunk) {
			if cn.cluster != nil || ids+len(chunk) > ackChunk {
				flush()
			}
			if cur.args == nil {
				cur.args = []any{group}
			}
			cur.keys = append(cur.keys, stream)
			cur.args = append(append(cur.args, len(chunk)), chunk...)
			ids += len(chunk)
		}
	}
	flush()
	return runs
}

// runScripts runs script once per run in one pipeline, by EVALSHA, and
// again by EVAL those runs the server did not have the script for. It
// returns each run's command, every reply read.
func runScripts(ctx context.Context, rdb goredis.UniversalClient, script *goredis.Script, runs []scriptRun) []*goredis.Cmd {
	exec := func(eval bool, runs []scriptRun) []*goredis.Cmd {
		pipe := rdb.Pipeline()
		cmds := make([]*goredis.Cmd, len(runs))
		for i, r := range runs {
			if eval {
				cmds[i] = script.Eval(ctx, pipe, r.keys, r.args...)
			} else {
				cmds[i] = script.EvalSha(ctx, pipe, r.keys, r.args...)
			}
		}
		_, _ = pipe.Exec(ctx)
		return cmds
	}
	cmds := exec(false, runs)
	var again []scriptRun
	var at []int
	for i, cmd := range cmds {
		if goredis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			again = append(again, runs[i])
			at = append(at, i)
		}
	}
	if len(again) > 0 {
		for i, cmd := range exec(true, again) {
			cmds[at[i]] = cmd
		}
	}
	return cmds
}

// scriptKeys collects the keys of replies {count, keys...}; it returns the
// first error of a command, after reading every reply.
func scriptKeys(cmds []*goredis.Cmd) ([]string, error) {
	var keys []string
	var failed error
	for _, cmd := range cmds {
		reply, err := cmd.Slice()
		if err != nil {
			failed = cmp.Or(failed, err)
			continue
		}
		for _, k := range reply[min(1, len(reply)):] {
			if s, ok := k.(string); ok {
				keys = append(keys, s)
			}
		}
	}
	return keys, failed
}

// failed is called with the error of a consumer-side call: besides what
// [conn.failed] does, a failure of the connection makes the next
// discovery sweep, since a failover may have lost index writes.
func (st *streamState) failed(ctx context.Context, err error) {
	if err == nil || ctx.Err() != nil {
		return
	}
	st.cn.failed(ctx, err)
	if unavailable(err) {
		st.resweep()
		st.bumps.forget(nil) // the server may have lost them
	}
}

// escapeGlob escapes the glob metacharacters of SCAN MATCH.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
