package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/curtainhq/curtain/core/logpace"
)

// ServiceConfig holds the optional dependencies and settings of a Service.
// Its zero value works: no counter (codes come from the store), no cache
// (every read goes to the store and reports MISS), no click recorder
// (redirect clicks are stored synchronously) and no shards (no real-time
// figures).
type ServiceConfig struct {
	// Counter hands out short-code numbers in blocks. When nil or failing,
	// codes are reserved from the store (spec §5 fallback).
	Counter Counter
	// Cache is the response cache of spec §6. When nil or failing, reads
	// go to the store and report MISS.
	Cache Cache
	// Clicks receives the click of every redirect. A click it refuses is
	// lost and counted by it; when nil, each click is stored
	// synchronously.
	Clicks ClickRecorder
	// Shards are read for real-time figures (analytics, realtime).
	Shards ShardSet
	// Now returns the current time; default time.Now. Results are
	// converted to UTC and truncated to microseconds.
	Now func() time.Time
	// Logger receives warnings about degraded backends; default discards.
	Logger *slog.Logger
	// CodeBlockSize is how many counter values one Counter.Reserve call
	// takes; default 100.
	CodeBlockSize int64
	// BlockedHosts are hosts new links may not point to, each with its
	// subdomains (links.blocked_hosts, see NormaliseBlockedHosts).
	BlockedHosts []string
	// RedirectStatus answers redirects of links without their own status
	// (links.redirect_status): 301, 302, 307 or 308; default 302, the
	// reference's.
	RedirectStatus int
	// PermanentMaxAge, when positive, is sent as Cache-Control max-age
	// (whole seconds) with permanent redirects (301, 308)
	// (links.permanent_max_age); zero sends no Cache-Control.
	PermanentMaxAge time.Duration
	// ExpiredURL is where expired or exhausted links without their own
	// expired_url send visitors (links.expired_url); "" answers 404.
	ExpiredURL string
	// Passwords hashes and checks the passwords of protected links; nil
	// refuses links with a password (host/passwords has the bcrypt one).
	Passwords PasswordHasher
	// ClassifyAgent classifies a User-Agent header (core/uaclass's
	// ClassifyAgent, which needs a parser core does not import): a visit
	// of a link with max_visits uses none up when it is a bot's. Nil
	// counts every visit as a person's.
	ClassifyAgent func(userAgent string) AgentClass
}

// shardTimeout bounds each shard read of the analytics and realtime
// routes.
const shardTimeout = 500 * time.Millisecond

// Service implements every operation of the HTTP API (spec §4) on top of
// the store and the backends. It is safe for concurrent use.
type Service struct {
	store     Store
	counter   Counter
	cache     Cache
	clicks    ClickRecorder
	shards    ShardSet
	now       func() time.Time
	log       *slog.Logger
	blockSize int64
	codes     codeAllocator
	blocked   hostBlocklist
	urls      urlMemo    // decoded cached URL objects of GetURL
	targets   targetMemo // decoded cached redirect targets with options
	// redirectStatus is the deployment's redirect status and
	// permanentCache the Cache-Control value of permanent redirects ("":
	// none).
	redirectStatus int
	permanentCache string
	expiredURL     string
	passwords      PasswordHasher
	classifyAgent  func(string) AgentClass
	// late deletes invalidated cache keys a second time (see
	// invalidateChanged).
	late gathered[string]
	// clicked gathers the URLs clicked here, for their analytics.
	clicked gathered[int64]
	// refusedLog and lostLog pace the logs about clicks the recorder
	// refused and clicks the store refused; statsLog and invalidateLog
	// those about failed shard figures and cache invalidations, which
	// every request would otherwise log while a shard or the cache is
	// down.
	refusedLog, lostLog, statsLog, invalidateLog logpace.Pacer
	// marks tells analytics cached before a click served since.
	marks clickMarks
}

// NewService returns a Service on store. It panics if store is nil, a
// programming error at start-up.
func NewService(store Store, cfg ServiceConfig) *Service {
	if store == nil {
		panic("core: NewService with nil store")
	}
	s := &Service{
		store:     store,
		counter:   cfg.Counter,
		cache:     cfg.Cache,
		clicks:    cfg.Clicks,
		shards:    cfg.Shards,
		now:       cfg.Now,
		log:       cfg.Logger,
		blockSize: cfg.CodeBlockSize,
		blocked:   newHostBlocklist(cfg.BlockedHosts),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.blockSize <= 0 {
		s.blockSize = 100
	}
	s.expiredURL = cfg.ExpiredURL
	s.passwords = cfg.Passwords
	s.classifyAgent = cfg.ClassifyAgent
	s.late = gathered[string]{gather: lateGather, wait: staleFillWindow, flush: s.deleteLate}
	s.clicked = gathered[int64]{gather: clickGather, flush: s.forgetClickedAnalytics}
	s.redirectStatus = cfg.RedirectStatus
	if !ValidRedirectStatus(s.redirectStatus) {
		s.redirectStatus = 302
	}
	if secs := int64(cfg.PermanentMaxAge / time.Second); secs > 0 {
		s.permanentCache = "max-age=" + strconv.FormatInt(secs, 10)
	}
	return s
}

// clock returns the current time as the store keeps it.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// getRow reads one row by id with get. An id outside the id columns, or a
// row the store does not have, is missing (the client-facing not-found
// error); any other error is wrapped.
func getRow[T any](ctx context.Context, get func(context.Context, int64) (T, error), id int64, missing error, what string) (T, error) {
	var zero T
	if !validID(id) {
		return zero, missing
	}
	row, err := get(ctx, id)
	if err != nil {
		return zero, rowErr(err, missing, "get "+what, id)
	}
	return row, nil
}

// rowErr maps a store error about one row: ErrNotFound becomes missing,
// any other error is wrapped with what was being done.
func rowErr(err, missing error, doing string, id int64) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound):
		return missing
	}
	return fmt.Errorf("%s %d: %w", doing, id, err)
}

// CacheStatus says how a response relates to the cache; the HTTP layer
// reports it in the X-Cache header (spec §2.7).
type CacheStatus uint8

// Cache statuses. CacheNone means the response carries no X-Cache header.
const (
	CacheNone CacheStatus = iota
	CacheHit
	CacheMiss
	CacheBypass
)

// String returns the X-Cache header value ("HIT", "MISS", "BYPASS"), or ""
// for CacheNone.
func (c CacheStatus) String() string {
	switch c {
	case CacheHit:
		return "HIT"
	case CacheMiss:
		return "MISS"
	case CacheBypass:
		return "BYPASS"
	}
	return ""
}

// cacheGet returns the cached value of key. Every cache error is a miss
// (spec §6.2).
func (s *Service) cacheGet(ctx context.Context, key string) ([]byte, bool) {
	if s.cache == nil {
		return nil, false
	}
	var (
		v   []byte
		ok  bool
		err error
	)
	if g, one := s.cache.(CacheGetter); one {
		v, ok, err = g.GetOne(ctx, key)
	} else {
		var vals map[string][]byte
		if vals, err = s.cache.Get(ctx, []string{key}); err == nil {
			v, ok = vals[key]
		}
	}
	if err != nil {
		s.log.DebugContext(ctx, "cache get failed", "key", key, "error", err)
		return nil, false
	}
	return v, ok
}

// cacheSet stores one value; errors are ignored (spec §6.2).
func (s *Service) cacheSet(ctx context.Context, key string, value []byte, ttl time.Duration) {
	if s.cache == nil {
		return
	}
	if err := s.cache.Set(ctx, []CacheEntry{{Key: key, Value: value, TTL: ttl}}); err != nil {
		s.log.DebugContext(ctx, "cache set failed", "key", key, "error", err)
	}
}

// invalidateTimeout bounds a cache invalidation that outlives its request.
const invalidateTimeout = 2 * time.Second

// staleFillWindow is how long after a row changed a request that read it
// before the change may still be filling the cache with what it read: the
// read is followed by one cache call, which the host bounds by its plugin
// call timeout (2s by default).
const staleFillWindow = 3 * time.Second

// invalidateChanged deletes the cache keys of rows that changed (a link
// created, updated or deleted, a user deleted, an event added to a link's
// analytics), now and once more staleFillWindow later (gathered with the
// other keys of the moment, see gathered). A request that missed the
// cache, read before the change and wrote what it read to the cache after
// the first delete would otherwise serve it until the entry's TTL (five
// minutes for a redirect target, two for a list of links); the second
// delete bounds that to staleFillWindow. Errors are ignored (spec §6.2).
func (s *Service) invalidateChanged(ctx context.Context, keys []string) {
	s.invalidate(ctx, keys, keys)
}

// invalidateCreated invalidates the keys of link u just created: every
// one now, and its lists again staleFillWindow later. Nothing read before
// the link existed is cached under its own keys (a miss is not cached),
// so only a list can be stale; a second delete of its redirect target
// would only drop the target its first clicks cached, and a store that
// went down meanwhile could then not serve it.
func (s *Service) invalidateCreated(ctx context.Context, u URL) {
	s.invalidate(ctx, urlKeys(u), appendURLListKeys(nil, u))
}

// invalidate deletes keys from the cache now and late staleFillWindow
// later (see invalidateChanged).
func (s *Service) invalidate(ctx context.Context, keys, late []string) {
	if s.cache == nil || len(keys) == 0 {
		return
	}
	if err := s.deleteKeys(ctx, keys); err != nil {
		if n, ok := s.invalidateLog.Ready(s.clock(), time.Second); ok {
			s.log.WarnContext(ctx, "cache invalidation failed", "keys", len(keys), "failures", n, "error", err)
		}
	}
	s.late.add(late...)
}

// Drain makes at once the cache deletes the service holds for later: of
// the analytics of links clicked lately, and the second deletes of keys
// invalidated lately. Call it when the instance stops, after its clicks
// reached the shards and before the cache goes: deletes made after that
// fail, and analytics cached before this instance's last clicks would be
// served for up to 120 s on the other instances.
func (s *Service) Drain() {
	s.clicked.drain() // its deletes add second deletes to late
	s.late.drain()
}

// deleteLate is the second delete of invalidateChanged.
func (s *Service) deleteLate(keys []string) {
	ctx := context.Background()
	if err := s.deleteKeys(ctx, keys); err != nil {
		// The first delete succeeded or was logged; a failure now (the
		// host may be shutting down) only leaves the rare racing fill.
		s.log.DebugContext(ctx, "second cache invalidation failed", "keys", len(keys), "error", err)
	}
}

// deleteKeys deletes keys from the cache within invalidateTimeout, even
// when ctx is done: the write already happened, so the invalidation is
// finished even if the client has gone away.
func (s *Service) deleteKeys(ctx context.Context, keys []string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), invalidateTimeout)
	defer cancel()
	return s.cache.Delete(ctx, keys)
}
