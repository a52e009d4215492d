package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// errNotConfigured is returned by every call on a plugin value that has no
// settings yet. It wraps core.ErrUnavailable so that the host degrades as it
// does for an unreachable server.
var errNotConfigured = fmt.Errorf("redis plugin is not configured: %w", core.ErrUnavailable)

// conn is one open client and what the plugin derives from its settings.
type conn struct {
	rdb goredis.UniversalClient
	// cluster is rdb as a cluster client, or nil for a single server.
	cluster *goredis.ClusterClient
	prefix  string
}

// key returns k with the configured prefix.
func (c *conn) key(k string) string { return c.prefix + k }

// failed is called with the error of a command. On a cluster it reloads
// the slot map at once, so that after a failover the next call goes to the
// promoted replica instead of the dead master (go-redis learns of a new
// master only from MOVED replies, which a dead node cannot send).
func (c *conn) failed(ctx context.Context, err error) {
	if err == nil || c.cluster == nil || ctx.Err() != nil {
		return
	}
	c.cluster.ReloadState(ctx)
}

// backend holds the current connection of one plugin value. Configure may
// replace it while calls run; a call keeps the connection it started with.
type backend struct {
	mu  sync.Mutex // serialises configure and close
	cur atomic.Pointer[conn]
}

// configure decodes and validates settings, then opens a client for them.
// Invalid settings leave b as it was.
func (b *backend) configure(ctx context.Context, settings []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s, err := ParseSettings(settings)
	if err != nil {
		return err
	}
	rdb := newClient(s)
	if err := refuseClusterNode(ctx, rdb); err != nil {
		_ = rdb.Close()
		return err
	}
	b.use(s, rdb)
	return nil
}

// clusterCheckTimeout bounds the look at the server at Configure.
const clusterCheckTimeout = 500 * time.Millisecond

// refuseClusterNode fails with core.ErrInvalid when rdb, a client of one
// server, reaches a node of a Redis Cluster: such a client can only use
// the hash slots that node serves, and every other command fails with
// MOVED (a click shard's every batch of the other slots would fail over,
// and its real-time figures would read nothing). The cluster setting is
// what reaches a cluster. A server that does not answer is left to the
// calls, which degrade as usual.
func refuseClusterNode(ctx context.Context, rdb goredis.UniversalClient) error {
	single, ok := rdb.(*goredis.Client)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, clusterCheckTimeout)
	defer cancel()
	info, err := single.Info(ctx, "cluster").Result()
	if err != nil || !strings.Contains(info, "cluster_enabled:1") {
		return nil
	}
	return sdk.InvalidSetting("url", "%s is a node of a Redis Cluster, which a single-server client cannot use beyond that node's hash slots: "+
		`list the cluster's nodes in "cluster" instead (REDIS_SHARDS, REDIS_URL and CACHE_REDIS_URL name single servers)`,
		single.Options().Addr)
}

// open opens a client for valid settings and closes the previous one.
func (b *backend) open(s Settings) { b.use(s, newClient(s)) }

// use makes rdb, a client for valid settings, the current connection and
// closes the previous one.
func (b *backend) use(s Settings, rdb goredis.UniversalClient) {
	c := &conn{rdb: rdb, prefix: s.KeyPrefix}
	if cc, ok := rdb.(*goredis.ClusterClient); ok {
		c.cluster = cc
	}
	b.mu.Lock()
	old := b.cur.Swap(c)
	b.mu.Unlock()
	if old != nil {
		_ = old.rdb.Close()
	}
}

// conn returns the current connection or errNotConfigured.
func (b *backend) conn() (*conn, error) {
	c := b.cur.Load()
	if c == nil {
		return nil, errNotConfigured
	}
	return c, nil
}

// ping checks that every server (every master of a cluster) answers.
func (b *backend) ping(ctx context.Context) error {
	c, err := b.conn()
	if err != nil {
		return err
	}
	if c.cluster != nil {
		err = c.cluster.ForEachMaster(ctx, func(ctx context.Context, node *goredis.Client) error {
			return node.Ping(ctx).Err()
		})
	} else {
		err = c.rdb.Ping(ctx).Err()
	}
	return wrap("ping redis", err)
}

// close closes the current connection; later calls report
// errNotConfigured until the next configure.
func (b *backend) close() error {
	b.mu.Lock()
	old := b.cur.Swap(nil)
	b.mu.Unlock()
	if old == nil {
		return nil
	}
	if err := old.rdb.Close(); err != nil {
		return fmt.Errorf("close redis client: %w", err)
	}
	return nil
}

// wrap adds op to err and marks errors that mean Redis cannot serve right
// now with core.ErrUnavailable. It returns nil for nil.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if unavailable(err) {
		return fmt.Errorf("%s: %w: %w", op, core.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// unavailable reports whether err means the server could not serve the
// command: any failure outside a Redis error reply (refused or dropped
// connection, timeout, exhausted pool, closed client) and the replies of a
// server that is loading, read-only, out of memory, busy, full or part of
// a cluster that is down. A caller's cancellation is not unavailability.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	if _, ok := errors.AsType[goredis.Error](err); !ok {
		return true
	}
	return goredis.IsLoadingError(err) ||
		goredis.IsReadOnlyError(err) ||
		goredis.IsClusterDownError(err) ||
		goredis.IsTryAgainError(err) ||
		goredis.IsMasterDownError(err) ||
		goredis.IsMaxClientsError(err) ||
		goredis.IsOOMError(err) ||
		goredis.HasErrorPrefix(err, "BUSY ")
}
