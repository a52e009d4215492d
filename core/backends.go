package core

import (
	"context"
	"time"
)

// Counter hands out the numbers behind short codes. Values are positive,
// never repeat for one counter, and need not be contiguous across calls.
// Implementations must be safe for concurrent use by several hosts.
type Counter interface {
	// Reserve reserves a block of req.Size consecutive values. The counter
	// is first raised to at least req.Floor (a counter already above it is
	// left alone), so the first value is greater than req.Floor.
	Reserve(ctx context.Context, req ReserveRequest) (Block, error)
}

// ReserveRequest asks a Counter for a block of values.
type ReserveRequest struct {
	// Size is how many values to reserve; at least 1.
	Size int64
	// Floor is the value the counter must be at least before reserving.
	Floor int64
}

// Block is a reserved run of counter values: First..First+Size-1.
type Block struct {
	First int64
	Size  int64
}

// ClickShard keeps real-time click data for the codes it owns and a stream
// of clicks for the consumer to store durably. The host spreads codes over
// shards with a consistent-hash ring.
type ClickShard interface {
	// Record stores a batch of clicks: per click the all-time total, the
	// hourly bucket, the unique-visitor sketch and a stream entry. A batch
	// is applied whole or reported failed; the caller may then send it to
	// another shard, so Record must tolerate a partly applied batch being
	// recorded again elsewhere.
	Record(ctx context.Context, clicks []Click) error
	// Stats returns the real-time figures this shard holds for one code.
	Stats(ctx context.Context, req StatsRequest) (ShardStats, error)
	// Read returns up to req.Count stream entries for consumer req.Consumer
	// of group req.Group: first entries other consumers left unacknowledged
	// for longer than req.MinIdle, then new ones, waiting up to req.Block
	// for new ones when there are none. An entry stays pending until Ack.
	Read(ctx context.Context, req ReadRequest) ([]Delivery, error)
	// Ack acknowledges delivered entries of a group and removes them from
	// the stream. Acknowledging an unknown entry is not an error.
	Ack(ctx context.Context, req AckRequest) error
}

// ClickDeleter is an optional capability of a ClickShard: it forgets
// codes. The service calls it in one place, when a URL is deleted (fix of
// Q34), so that a shard does not keep a deleted code's keys forever.
type ClickDeleter interface {
	// Delete removes everything the shard keeps for codes: total, hourly
	// buckets, visitor sketch and the stream entries not yet stored. A
	// code the shard never saw is not an error; Delete is idempotent. It
	// returns an error wrapping errors.ErrUnsupported when the shard
	// cannot delete (an older plugin).
	Delete(ctx context.Context, codes []string) error
}

// Hourly buckets of real-time click counts (spec §7.2, §7.3).
const (
	// HourLayout labels an hourly bucket by its UTC hour, as in the Redis
	// key clicks:<code>:ts:2026-04-04:14.
	HourLayout = "2006-01-02:15"
	// BucketTTL is how long a shard keeps an hourly bucket after its last
	// click: 72 hours.
	BucketTTL = 72 * time.Hour
)

// StatsRequest asks a shard for the figures of one code.
type StatsRequest struct {
	// Code is the short code. Empty asks for the shard's whole backlog:
	// Pending then counts every stream entry not yet acknowledged, and
	// the other figures are zero.
	Code string
	// Now is the end of the window; hourly buckets run back from its hour.
	Now time.Time
	// Hours is how many hourly buckets to return, newest first.
	Hours int
	// Parts says which figures to return; the zero value means all. A
	// shard leaves the others zero (it may fill them anyway), so a caller
	// that needs only pending counts does not receive a 16 KiB sketch.
	Parts StatsParts
}

// StatsParts is a set of the figures of ShardStats, for
// StatsRequest.Parts.
type StatsParts uint8

// The figures a StatsRequest can ask for.
const (
	// StatsTotals asks for Total and Hourly.
	StatsTotals StatsParts = 1 << iota
	// StatsVisitors asks for the Visitors sketch.
	StatsVisitors
	// StatsPending asks for Pending.
	StatsPending
	// StatsAll asks for every figure, as the zero value does.
	StatsAll = StatsTotals | StatsVisitors | StatsPending
)

// Has reports whether p asks for every part of want; an empty p asks for
// all.
func (p StatsParts) Has(want StatsParts) bool {
	return p == 0 || p&want == want
}

// ShardStats are one shard's real-time figures for a code.
type ShardStats struct {
	// Total counts every click the shard recorded for the code.
	Total int64
	// Hourly holds the buckets newest first, as many as asked for.
	Hourly []int64
	// Visitors is the unique-visitor sketch as HyperLogLog registers (see
	// package core/hll); nil when the shard saw no visitor.
	Visitors []byte
	// Pending counts clicks still in the stream, not yet stored durably.
	Pending int64
	// PendingLatest is when the most recently recorded of them was made;
	// zero when none, for the whole backlog (an empty Code), or when the
	// shard cannot tell.
	PendingLatest time.Time
}

// ReadRequest asks a shard for stream entries on behalf of a consumer.
type ReadRequest struct {
	Group    string
	Consumer string
	Count    int
	Block    time.Duration
	MinIdle  time.Duration
}

// Delivery is one stream entry handed to a consumer.
type Delivery struct {
	// ID is the entry's id within the shard; pass it back to Ack.
	ID    string
	Click Click
}

// AckRequest acknowledges delivered entries.
type AckRequest struct {
	Group string
	IDs   []DeliveryID
}

// DeliveryID names one delivered entry: its code and its entry id.
type DeliveryID struct {
	Code string
	ID   string
}

// Cache is a shared response cache. Values are opaque bytes with a TTL.
// A cache may lose anything at any time; callers treat every error as a miss.
type Cache interface {
	// Get returns the values of the keys that are present, by key.
	Get(ctx context.Context, keys []string) (map[string][]byte, error)
	// Set stores entries, each with its own TTL.
	Set(ctx context.Context, entries []CacheEntry) error
	// Delete removes keys; missing keys are not an error.
	Delete(ctx context.Context, keys []string) error
}

// CacheGetter is an optional capability of a Cache: it reads one key
// without building a map, for the hot single-key reads of the redirect and
// GET /urls/{id}. Service uses it when its cache offers it.
type CacheGetter interface {
	// GetOne returns the value of key and whether it is present.
	GetOne(ctx context.Context, key string) ([]byte, bool, error)
}

// CacheWatcher is an optional capability of a Cache shared by several
// hosts: it reports the keys any of them sets or deletes, so that each can
// keep hot keys in process without serving what another host changed.
// The host checks for it in one place, its near cache.
type CacheWatcher interface {
	// WatchInvalidations calls fn first with Reset set, once the watch is
	// in place, then with the keys of every Set and Delete by any client
	// of the cache (the caller's own included), within milliseconds. It
	// blocks until ctx is done, fn returns an error, or the watch breaks
	// (changes may then have gone unreported), and returns why; it
	// returns an error wrapping errors.ErrUnsupported when this cache
	// cannot watch. fn is called from one goroutine at a time.
	WatchInvalidations(ctx context.Context, fn func(Invalidation) error) error
}

// Invalidation is one event of CacheWatcher.WatchInvalidations.
type Invalidation struct {
	// Reset says the watch is (again) in place: changes before it may not
	// have been reported, so everything kept from earlier is suspect.
	Reset bool
	// Keys were set or deleted.
	Keys []string
}

// CacheEntry is one value to cache.
type CacheEntry struct {
	Key   string
	Value []byte
	TTL   time.Duration
}

// AlertSink delivers alerts to people (chat, webhook). Send is retried by
// the caller on error, so an implementation should be idempotent per alert
// fingerprint where it can.
type AlertSink interface {
	// Send delivers a batch of alerts.
	Send(ctx context.Context, alerts []Alert) error
}

// Alert is one alert as Prometheus reports it.
type Alert struct {
	// Status is "firing" or "resolved".
	Status      string
	Labels      map[string]string
	Annotations map[string]string
	ActiveAt    time.Time
	Value       string
	// Fingerprint identifies the alert across polls.
	Fingerprint string
}

// ClickRecorder accepts clicks from the redirect path. The host implements
// it with per-shard batching, ring failover and a durable fallback.
type ClickRecorder interface {
	// Record queues c for recording. It returns once c is queued and never
	// waits for a shard round trip; an error means c could not be queued.
	// A recorder in the durable mode (ClickAcknowledger) returns only once
	// c is stored durably, and its error means it may not be.
	Record(ctx context.Context, c Click) error
}

// ClickAcknowledger is implemented by a ClickRecorder that can run in the
// durable click mode. The Service checks for it in one place
// (recordClick).
type ClickAcknowledger interface {
	// AcknowledgesClicks reports whether Record returns only once the
	// click is stored where a crash cannot take it. Then an error from
	// Record means the click is not known to be stored, and the redirect
	// fails (an error wrapping ErrUnavailable) instead of answering 302.
	AcknowledgesClicks() bool
}

// ShardSet lists the click shards in ring order, for reads that fan out to
// every shard (real-time stats, the stream consumer).
type ShardSet interface {
	Shards() []NamedShard
}

// NamedShard is a click shard with its ring id ("shard0").
type NamedShard struct {
	Name  string
	Shard ClickShard
}
