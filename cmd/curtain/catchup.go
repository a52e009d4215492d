package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/schollz/progressbar/v3"
)

// catchUp shows a consumer catching up with a backlog. It wraps the shards
// the consumer reads: while reads come back full (BatchSize entries, so
// more are waiting) the consumer is behind, and catchUp counts the clicks
// it reads: on a terminal as a running bar, otherwise as a plain line at
// most every interval. When every shard's reads come back short again it
// prints how many clicks the catch-up took and how long. The shards give
// no backlog size, so the bar counts up rather than towards a total.
type catchUp struct {
	set      core.ShardSet
	w        io.Writer
	interval time.Duration
	now      func() time.Time

	mu       sync.Mutex
	behind   map[string]bool // shards whose last read was full
	read     int             // clicks read since the catch-up began
	started  time.Time
	lastLine time.Time
	bar      *progressbar.ProgressBar
}

func newCatchUp(set core.ShardSet, w io.Writer) *catchUp {
	return &catchUp{set: set, w: w, interval: 5 * time.Second, now: time.Now, behind: map[string]bool{}}
}

// Shards returns the shards of the wrapped set, each reporting its reads.
func (c *catchUp) Shards() []core.NamedShard {
	shards := c.set.Shards()
	out := make([]core.NamedShard, len(shards))
	for i, s := range shards {
		out[i] = core.NamedShard{Name: s.Name, Shard: &catchUpShard{ClickShard: s.Shard, name: s.Name, c: c}}
	}
	return out
}

// catchUpShard is a click shard whose reads are reported to a catchUp.
type catchUpShard struct {
	core.ClickShard
	name string
	c    *catchUp
}

func (s *catchUpShard) Read(ctx context.Context, req core.ReadRequest) ([]core.Delivery, error) {
	ds, err := s.ClickShard.Read(ctx, req)
	if err == nil {
		s.c.observe(s.name, len(ds), len(ds) >= req.Count)
	}
	return ds, err
}

// observe records a read of n entries from a shard; full says the read
// returned as many as it asked for.
func (c *catchUp) observe(shard string, n int, full bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	wasBehind := len(c.behind) > 0
	if full {
		c.behind[shard] = true
	} else {
		delete(c.behind, shard)
	}
	switch {
	case !wasBehind && len(c.behind) > 0: // a catch-up begins
		c.read, c.started, c.lastLine = n, now, now
		if isTerminal(c.w) {
			c.bar = progressbar.NewOptions(-1,
				progressbar.OptionSetWriter(c.w),
				progressbar.OptionSetDescription("catching up: clicks read"),
				progressbar.OptionShowCount(),
				progressbar.OptionClearOnFinish(),
			)
			_ = c.bar.Add(n)
		} else {
			fmt.Fprintf(c.w, "catching up: behind on %d shard(s), %d clicks read\n", len(c.behind), c.read)
		}
	case wasBehind:
		c.read += n
		if c.bar != nil {
			_ = c.bar.Add(n)
		}
		if len(c.behind) == 0 { // caught up
			if c.bar != nil {
				_ = c.bar.Finish()
				c.bar = nil
			}
			fmt.Fprintf(c.w, "caught up: %d clicks read in %s\n", c.read, now.Sub(c.started).Round(time.Millisecond))
			return
		}
		if c.bar == nil && now.Sub(c.lastLine) >= c.interval {
			c.lastLine = now
			fmt.Fprintf(c.w, "catching up: behind on %d shard(s), %d clicks read\n", len(c.behind), c.read)
		}
	}
}
