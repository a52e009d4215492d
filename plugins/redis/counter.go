package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/curtainhq/curtain/core"
)

// CounterKey is the key of the short-code counter (spec §5): a plain
// integer string without TTL, behind the configured key prefix.
const CounterKey = "url:counter"

// reserveScript raises the counter to the floor when it is missing or
// below it, then reserves the block, atomically. With the key missing it
// does what the reference's SETNX + INCR did; with the key behind the store
// (a counter reset while the table kept growing, Q13) it catches up instead
// of handing out codes that are already taken.
var reserveScript = goredis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then
  local n = tonumber(v)
  if n == nil then
    return redis.error_reply('ERR counter value is not an integer')
  end
  if n < tonumber(ARGV[2]) then
    redis.call('SET', KEYS[1], ARGV[2])
  end
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return redis.call('INCRBY', KEYS[1], ARGV[1])
`)

// Counter is the Redis short-code counter: key url:counter, one atomic
// script per Reserve. It is safe for concurrent use by any number of hosts
// sharing the server.
type Counter struct {
	b backend
}

var _ core.Counter = (*Counter)(nil)

// NewCounter returns a counter for valid settings. It does not connect;
// use Ping to check the server.
func NewCounter(s Settings) (*Counter, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	c := &Counter{}
	c.b.open(s)
	return c, nil
}

// NewCounterPlugin returns a counter without settings, for the plugin SDK
// to serve: every call fails with core.ErrUnavailable until Configure
// succeeds.
func NewCounterPlugin() *Counter { return &Counter{} }

// Configure applies settings given as a JSON object (see [Settings]),
// replacing any earlier ones. Invalid settings are rejected with an error
// wrapping core.ErrInvalid and leave the counter as it was.
func (c *Counter) Configure(ctx context.Context, settings []byte) error {
	return c.b.configure(ctx, settings)
}

// Ping checks that Redis answers.
func (c *Counter) Ping(ctx context.Context) error { return c.b.ping(ctx) }

// Close releases the connections. Calls after Close fail until the next
// Configure.
func (c *Counter) Close() error { return c.b.close() }

// Reserve raises url:counter to at least req.Floor and then reserves
// req.Size values with one INCRBY, all in one script run. The first value
// is result-Size+1. Size must be at least 1 and Floor at least 0.
func (c *Counter) Reserve(ctx context.Context, req core.ReserveRequest) (core.Block, error) {
	if req.Size < 1 {
		return core.Block{}, fmt.Errorf("reserve counter block: size %d: %w", req.Size, core.ErrInvalid)
	}
	if req.Floor < 0 {
		return core.Block{}, fmt.Errorf("reserve counter block: floor %d: %w", req.Floor, core.ErrInvalid)
	}
	cn, err := c.b.conn()
	if err != nil {
		return core.Block{}, err
	}
	last, err := reserveScript.Run(ctx, cn.rdb, []string{cn.key(CounterKey)}, req.Size, req.Floor).Int64()
	if err != nil {
		cn.failed(ctx, err)
		return core.Block{}, wrap(fmt.Sprintf("reserve %d values of %s", req.Size, CounterKey), err)
	}
	return core.Block{First: last - req.Size + 1, Size: req.Size}, nil
}
