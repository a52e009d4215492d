package app

import (
	"context"
	"fmt"
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
// rate_limits.redis_url set they are shared through Redis. close releases
// the Redis client.
func rateLimits(cfg config.RateLimits) (limits httpapi.RateLimits, close func(), err error) {
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
	client := goredis.NewClient(opts)
	limits.Shared = newRedisLimiter(client, "curtain:")
	return limits, func() { client.Close() }, nil
}
