package redis

import (
	"context"
	"fmt"
	"hash/crc32"
	"maps"
	"strconv"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// The stream index lets readers find the click streams that have entries
// without walking the keyspace, on a single server and on a cluster alike.
//
// It is spread over indexBuckets sorted sets curtain:streams:{NN}, behind
// the key prefix; the hash tag {NN} puts each bucket in one slot, and the
// buckets spread over a cluster's masters. A stream's bucket is the CRC-32
// of its key modulo indexBuckets. The member is the stream key and the
// score counts the writers' bumps (below), so that a score read earlier
// tells whether a writer has been there since.
//
// Writers bump the score (ZINCRBY 1) after the stream's entries are
// written: in the same pipeline on a single server (one connection keeps
// the order), in a second round trip on a cluster (a pipeline's commands
// to different nodes run concurrently). On a single server a writer skips
// the bump for a stream it bumped less than indexFresh ago (bumpMemory).
// A member leaves the index only when a reader has seen its stream
// missing (deleted once empty and idle, see tidyScript) after reading its
// score, and only if the score is still the one it read: a click that
// recreated the stream bumps the score after its entry, so it either
// makes the removal fail or adds the member back.
//
// Streams written without the index (by the reference implementation,
// before an upgrade, or whose index bucket lost a write in a failover)
// are found by a sweep: one SCAN of the keyspace when a reader starts and
// after connection failures (at most every sweepGap), never on the steady
// path. A Record pipeline cut off by its read timeout may have added
// entries without their ZINCRBY; since an emptied stream keeps its index
// entry until it has been idle for emptyGrace, such entries usually land
// on an indexed stream and are read at once.
const (
	// indexBuckets is how many sorted sets hold the index.
	indexBuckets = 16
	// indexFormat names bucket N (a hash tag, so one slot each).
	indexFormat = "curtain:streams:{%02d}"
)

// unindexScript removes the members ARGV[1], ARGV[3], ... of the sorted
// set KEYS[1] whose score is still ARGV[2], ARGV[4], ... and returns how
// many it removed.
var unindexScript = goredis.NewScript(`
local n = 0
for i = 1, #ARGV, 2 do
  local s = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if s and tonumber(s) == tonumber(ARGV[i+1]) then
    n = n + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return n
`)

// indexNames are the index buckets' names without a key prefix,
// formatted once.
var indexNames = func() (names [indexBuckets]string) {
	for i := range names {
		names[i] = fmt.Sprintf(indexFormat, i)
	}
	return names
}()

// indexKey returns the index bucket of a stream key (prefix included).
func (c *conn) indexKey(stream string) string {
	return c.key(indexNames[crc32.ChecksumIEEE([]byte(stream))%indexBuckets])
}

// indexKeys returns every index bucket.
func (c *conn) indexKeys() []string {
	keys := make([]string, indexBuckets)
	for i := range keys {
		keys[i] = c.key(indexNames[i])
	}
	return keys
}

// queueIndex adds a score bump of each distinct stream to pipe.
func queueIndex(ctx context.Context, cn *conn, pipe goredis.Pipeliner, streams []string) {
	seen := make(map[string]bool, len(streams))
	for _, s := range streams {
		if !seen[s] {
			seen[s] = true
			pipe.ZIncrBy(ctx, cn.indexKey(s), 1, s)
		}
	}
}

// indexAfter writes the index entries of a stored Record batch on a
// cluster (on a single server the batch's own pipeline bumps them, after its entries: see recordBatch.queue). A failure reloads the slot map and is
// tried once more, since it usually means a master just failed over.
func indexAfter(ctx context.Context, cn *conn, streams []string) error {
	if cn.cluster == nil || len(streams) == 0 {
		return nil
	}
	var err error
	for try := 0; try < 2; try++ {
		pipe := cn.rdb.Pipeline()
		queueIndex(ctx, cn, pipe, streams)
		if _, err = pipe.Exec(ctx); err == nil {
			return nil
		}
		cn.failed(ctx, err)
	}
	return wrap(fmt.Sprintf("index %d click streams", len(streams)), err)
}

// readIndex returns every indexed stream with its score, in one pipeline
// over the buckets, sent by rdb (the consumer side's client of cn).
func readIndex(ctx context.Context, cn *conn, rdb goredis.UniversalClient) (map[string]float64, error) {
	pipe := rdb.Pipeline()
	keys := cn.indexKeys()
	cmds := make([]*goredis.ZSliceCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.ZRangeWithScores(ctx, k, 0, -1)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	out := make(map[string]float64)
	for _, cmd := range cmds {
		for _, z := range cmd.Val() {
			if s, ok := z.Member.(string); ok {
				out[s] = z.Score
			}
		}
	}
	return out, nil
}

// addToIndex adds streams found by a sweep to the index with score 0,
// leaving members already there as they are; rdb sends the commands.
func addToIndex(ctx context.Context, cn *conn, rdb goredis.UniversalClient, streams []string) error {
	byKey := make(map[string][]goredis.Z)
	for _, s := range streams {
		k := cn.indexKey(s)
		byKey[k] = append(byKey[k], goredis.Z{Member: s})
	}
	pipe := rdb.Pipeline()
	for k, zs := range byKey {
		pipe.ZAddNX(ctx, k, zs...)
	}
	_, err := pipe.Exec(ctx)
	return err
}

// unindex removes streams seen missing from the index, each only if its
// score is still the one given (read before the stream was seen
// missing); rdb sends the commands.
func unindex(ctx context.Context, cn *conn, rdb goredis.UniversalClient, scores map[string]float64) error {
	if len(scores) == 0 {
		return nil
	}
	byKey := make(map[string][]any)
	for s, score := range scores {
		k := cn.indexKey(s)
		byKey[k] = append(byKey[k], s, strconv.FormatFloat(score, 'f', -1, 64))
	}
	runs := make([]scriptRun, 0, len(byKey))
	for k, args := range byKey {
		runs = append(runs, scriptRun{keys: []string{k}, args: args})
	}
	for _, cmd := range runScripts(ctx, rdb, unindexScript, runs) {
		if err := cmd.Err(); err != nil {
			return err
		}
	}
	return nil
}

// indexFresh is how long after a writer bumped a stream's index score
// (single server) its later batches to that stream skip the bump. A
// member leaves the index only once tidyScript found its stream gone,
// and tidyScript deletes a stream only when its last entry is emptyGrace
// old; a batch that skips the bump adds an entry at most indexFresh after
// the bumping batch's, so the stream it writes to cannot have been
// deleted in between, and the score the bump left still stands for it.
// Lost index writes (a restarted server) come with connection failures,
// after which the writer bumps again and the readers sweep.
const indexFresh = emptyGrace / 2

// bumpMemory remembers when this connection last bumped each stream's
// index score, for indexFresh: one ZINCRBY per stream and indexFresh
// instead of one per batch, about a quarter of a single server's work
// per click on codes clicked once per batch (BenchmarkRecord).
type bumpMemory struct {
	mu     sync.Mutex
	at     map[string]time.Time // when each stream was bumped
	pruned time.Time            // when marks older than indexFresh last went
}

// stale returns the streams of keys that need a bump at now.
func (m *bumpMemory) stale(keys []string, now time.Time) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, k := range keys {
		if at, ok := m.at[k]; !ok || now.Sub(at) >= indexFresh {
			out = append(out, k)
		}
	}
	return out
}

// mark records that the bumps of keys, sent at at, were applied, and
// once per indexFresh drops the marks that are no longer fresh.
func (m *bumpMemory) mark(keys []string, at time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.at == nil {
		m.at = make(map[string]time.Time, len(keys))
	}
	if at.Sub(m.pruned) >= indexFresh {
		maps.DeleteFunc(m.at, func(_ string, t time.Time) bool { return at.Sub(t) >= indexFresh })
		m.pruned = at
	}
	for _, k := range keys {
		m.at[k] = at
	}
}

// forget drops the marks of keys, or every mark when keys is nil.
func (m *bumpMemory) forget(keys []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if keys == nil {
		clear(m.at)
		return
	}
	for _, k := range keys {
		delete(m.at, k)
	}
}
