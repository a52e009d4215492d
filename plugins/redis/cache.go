package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/curtainhq/curtain/core"
)

// Cache is the Redis response cache (spec §6): values under the caller's
// keys (behind the key prefix), written with SETEX, read with MGET and
// removed with one DEL. Against a cluster, reads and deletes become
// pipelines of single-key commands, since keys of one call usually live in
// different hash slots.
//
// Every Set and Delete also publishes its keys on the channel
// <prefix>curtain:cache:invalidations, in the same round trip, and
// WatchInvalidations subscribes to it: that is how the near caches of all
// hosts sharing this Redis stay exact.
type Cache struct {
	b backend
}

var (
	_ core.Cache        = (*Cache)(nil)
	_ core.CacheWatcher = (*Cache)(nil)
)

// invalidationChannel is the pub/sub channel of cache writes, behind the
// key prefix. A message holds the written keys separated by NUL bytes
// (stored keys never hold NUL).
const invalidationChannel = "curtain:cache:invalidations"

// NewCache returns a cache for valid settings. It does not connect; use
// Ping to check the server.
func NewCache(s Settings) (*Cache, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	c := &Cache{}
	c.b.open(s)
	return c, nil
}

// NewCachePlugin returns a cache without settings, for the plugin SDK to
// serve: every call fails with core.ErrUnavailable until Configure succeeds.
func NewCachePlugin() *Cache { return &Cache{} }

// Configure applies settings given as a JSON object (see [Settings]),
// replacing any earlier ones. Invalid settings are rejected with an error
// wrapping core.ErrInvalid and leave the cache as it was.
func (c *Cache) Configure(ctx context.Context, settings []byte) error {
	return c.b.configure(ctx, settings)
}

// Ping checks that Redis answers.
func (c *Cache) Ping(ctx context.Context) error { return c.b.ping(ctx) }

// Close releases the connections. Calls after Close fail until the next
// Configure.
func (c *Cache) Close() error { return c.b.close() }

// Get returns the values of the keys that are present. Keys holding
// something other than a string are treated as missing.
func (c *Cache) Get(ctx context.Context, keys []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	cn, err := c.b.conn()
	if err != nil {
		return nil, err
	}
	if cn.cluster == nil {
		full := make([]string, len(keys))
		for i, k := range keys {
			full[i] = cn.key(k)
		}
		vals, err := cn.rdb.MGet(ctx, full...).Result()
		if err != nil {
			cn.failed(ctx, err)
			return nil, wrap(fmt.Sprintf("get %d cache keys", len(keys)), err)
		}
		for i, v := range vals {
			if s, ok := v.(string); ok {
				out[keys[i]] = []byte(s)
			}
		}
		return out, nil
	}
	pipe := cn.rdb.Pipeline()
	cmds := make([]*goredis.StringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Get(ctx, cn.key(k))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) && !goredis.HasErrorPrefix(err, "WRONGTYPE") {
		cn.failed(ctx, err)
		return nil, wrap(fmt.Sprintf("get %d cache keys", len(keys)), err)
	}
	for i, cmd := range cmds {
		b, err := cmd.Bytes()
		switch {
		case err == nil:
			out[keys[i]] = b
		case errors.Is(err, goredis.Nil), goredis.HasErrorPrefix(err, "WRONGTYPE"):
		default:
			cn.failed(ctx, err)
			return nil, wrap(fmt.Sprintf("get cache key %q", keys[i]), err)
		}
	}
	return out, nil
}

// Set stores every entry with SETEX in one pipeline. TTLs are whole
// seconds: a fraction is dropped and anything under a second becomes one
// second.
func (c *Cache) Set(ctx context.Context, entries []core.CacheEntry) error {
	if len(entries) == 0 {
		return nil
	}
	cn, err := c.b.conn()
	if err != nil {
		return err
	}
	pipe := cn.rdb.Pipeline()
	keys := make([]string, len(entries))
	for i, e := range entries {
		pipe.SetEx(ctx, cn.key(e.Key), e.Value, cacheTTL(e.TTL))
		keys[i] = e.Key
	}
	publish(ctx, pipe, cn, keys)
	if _, err := pipe.Exec(ctx); err != nil {
		cn.failed(ctx, err)
		return wrap(fmt.Sprintf("set %d cache keys", len(entries)), err)
	}
	return nil
}

// cacheTTL rounds a TTL down to whole seconds, at least one.
func cacheTTL(d time.Duration) time.Duration {
	return max(d.Truncate(time.Second), time.Second)
}

// Delete removes the keys with one DEL, or against a cluster with a
// pipeline of single-key DELs, and publishes them in the same round trip.
func (c *Cache) Delete(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	cn, err := c.b.conn()
	if err != nil {
		return err
	}
	pipe := cn.rdb.Pipeline()
	if cn.cluster == nil {
		full := make([]string, len(keys))
		for i, k := range keys {
			full[i] = cn.key(k)
		}
		pipe.Del(ctx, full...)
	} else {
		for _, k := range keys {
			pipe.Del(ctx, cn.key(k))
		}
	}
	publish(ctx, pipe, cn, keys)
	_, err = pipe.Exec(ctx)
	cn.failed(ctx, err)
	return wrap(fmt.Sprintf("delete %d cache keys", len(keys)), err)
}

// publish queues the PUBLISH of written keys on the invalidation channel.
func publish(ctx context.Context, pipe goredis.Pipeliner, cn *conn, keys []string) {
	pipe.Publish(ctx, cn.key(invalidationChannel), strings.Join(keys, "\x00"))
}

// WatchInvalidations implements core.CacheWatcher with a subscription to
// the invalidation channel: Reset once subscribed, then the keys of each
// message. It returns when ctx is done, fn fails, or the subscription
// breaks; the caller subscribes again.
func (c *Cache) WatchInvalidations(ctx context.Context, fn func(core.Invalidation) error) error {
	cn, err := c.b.conn()
	if err != nil {
		return err
	}
	ps := cn.rdb.Subscribe(ctx, cn.key(invalidationChannel))
	defer ps.Close()
	// Receive does not watch ctx: closing the subscription ends it.
	defer context.AfterFunc(ctx, func() { ps.Close() })()
	// The subscription is in place once a PING sent after it is answered
	// (the confirmation itself may be consumed as a push notification).
	if err := ps.Ping(ctx); err != nil {
		cn.failed(ctx, err)
		return wrap("watch cache invalidations", err)
	}
	subscribed := false
	for {
		msg, err := ps.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// The connection broke: go-redis would subscribe again, but
			// messages in between are lost.
			cn.failed(ctx, err)
			return wrap("watch cache invalidations", err)
		}
		var inv core.Invalidation
		switch m := msg.(type) {
		case *goredis.Pong:
			if subscribed {
				continue
			}
			subscribed = true
			inv.Reset = true
		case *goredis.Message:
			inv.Keys = strings.Split(m.Payload, "\x00")
		default:
			continue
		}
		if err := fn(inv); err != nil {
			return err
		}
	}
}
