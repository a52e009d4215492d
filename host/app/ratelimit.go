package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	goredis "github.com/redis/go-redis/v9"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core/httpapi"
)

// redisLimiter shares rate limits across instances through Redis
// (github.com/go-redis/redis_rate, GCRA in one Lua call per request).
type redisLimiter struct {
	limiter *redis_rate.Limiter
	prefix  string
	timeout time.Duration
}

var _ httpapi.Limiter = (*redisLimiter)(nil)

// newRedisLimiter counts under keys "rate:<prefix><kind>:<who>".
func newRedisLimiter(client goredis.UniversalClient, prefix string) *redisLimiter {
	return &redisLimiter{limiter: redis_rate.NewLimiter(client), prefix: prefix, timeout: 250 * time.Millisecond}
}

// Allow implements httpapi.Limiter.
func (r *redisLimiter) Allow(ctx context.Context, key string, limit httpapi.RateLimit) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err := r.limiter.Allow(ctx, r.prefix+key, redis_rate.Limit{Rate: limit.Requests, Period: limit.Per, Burst: max(limit.Burst, 1)})
	if err != nil {
		return 0, fmt.Errorf("rate limit %s: %w", key, err)
	}
	if res.Allowed > 0 {
		return 0, nil
	}
	return max(res.RetryAfter, time.Millisecond), nil
}

// rateLimits turns the configuration into the API's limits; with
// rate_limits.redis_url set they are shared through Redis, which must be a
// single server (refuseClusterNode). close releases the Redis client.
func rateLimits(ctx context.Context, cfg config.RateLimits) (limits httpapi.RateLimits, close func(), err error) {
	limits = httpapi.RateLimits{
		Redirect: httpapi.RateLimit(cfg.Redirect),
		Create:   httpapi.RateLimit(cfg.Create),
		Password: httpapi.RateLimit(cfg.Password),
		Auth:     httpapi.RateLimit(cfg.Auth),
	}
	close = func() {}
	if cfg.RedisURL == "" {
		return limits, close, nil
	}
	opts, err := goredis.ParseURL(cfg.RedisURL.Reveal())
	if err != nil {
		return limits, close, fmt.Errorf("rate_limits.redis_url: %w", err)
	}
	if err := refuseClusterNode(ctx, opts); err != nil {
		return limits, close, err
	}
	client := goredis.NewClient(opts)
	limits.Shared = newRedisLimiter(client, "curtain:")
	return limits, func() { client.Close() }, nil
}

// clusterCheckTimeout bounds the look at the rate-limit server at start.
const clusterCheckTimeout = 500 * time.Millisecond

// refuseClusterNode fails when opts name a node of a Redis Cluster. The
// limiter's single-server client could count only the clients whose keys
// hash to that node's slots; every other count fails with MOVED, which
// lets the request through, so the limits would hold for some clients and
// not others. A server that does not answer is left to the calls.
func refuseClusterNode(ctx context.Context, opts *goredis.Options) error {
	probe := *opts
	probe.DB = 0 // a cluster node refuses to select any other database
	client := goredis.NewClient(&probe)
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, clusterCheckTimeout)
	defer cancel()
	info, err := client.Info(ctx, "cluster").Result()
	if err != nil || !strings.Contains(info, "cluster_enabled:1") {
		return nil
	}
	return fmt.Errorf("rate_limits.redis_url: %s is a node of a Redis Cluster, where the shared limits would hold only for the clients whose keys that node serves: name a single Redis server", opts.Addr)
}
