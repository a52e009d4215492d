package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
)

// scriptedShard returns reads of the scripted sizes, one per Read.
type scriptedShard struct {
	core.ClickShard
	sizes []int
}

func (s *scriptedShard) Read(_ context.Context, req core.ReadRequest) ([]core.Delivery, error) {
	n := 0
	if len(s.sizes) > 0 {
		n, s.sizes = s.sizes[0], s.sizes[1:]
	}
	return make([]core.Delivery, min(n, req.Count)), nil
}

type shardList []core.NamedShard

func (l shardList) Shards() []core.NamedShard { return l }

// Off a terminal, catch-up is a line when it begins, a line per interval
// while it lasts, and a line with the total when the reads come back short.
func TestCatchUpPlainLines(t *testing.T) {
	var out bytes.Buffer
	c := newCatchUp(shardList{{Name: "shard0", Shard: &scriptedShard{sizes: []int{0, 10, 10, 10, 10, 4, 0}}}}, &out)
	clock := time.Unix(0, 0)
	// Each read is 2s after the last: lines at the start and once 5s
	// have passed (the read at 10s).
	c.now = func() time.Time { clock = clock.Add(2 * time.Second); return clock }
	shard := c.Shards()[0].Shard
	for range 7 {
		if _, err := shard.Read(t.Context(), core.ReadRequest{Count: 10}); err != nil {
			t.Fatal(err)
		}
	}
	want := "catching up: behind on 1 shard(s), 10 clicks read\n" +
		"catching up: behind on 1 shard(s), 40 clicks read\n" +
		"caught up: 44 clicks read in 8s\n"
	if out.String() != want {
		t.Errorf("catch-up output =\n%s\nwant\n%s", out.String(), want)
	}
}

// A consumer that is not behind prints nothing.
func TestCatchUpQuietWhenCurrent(t *testing.T) {
	var out bytes.Buffer
	c := newCatchUp(shardList{{Name: "shard0", Shard: &scriptedShard{sizes: []int{3, 0, 9}}}}, &out)
	for range 3 {
		_, _ = c.Shards()[0].Shard.Read(t.Context(), core.ReadRequest{Count: 10})
	}
	if out.Len() != 0 {
		t.Errorf("a consumer with no backlog printed %q", out.String())
	}
}

// curtain consume started behind a backlog on Redis shards reports its
// catch-up and the number of clicks it took.
func TestConsumeShowsCatchUp(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	tp := newTopology(t, newDatabase(t), 2)
	s := startServer(t, t.TempDir(), tp.env()...)
	codes := createURLs(t, s, 10)
	res := load(t, s, codes, 1500, nil)
	if res.failed != 0 {
		t.Fatalf("%d redirects failed", res.failed)
	}
	c := startConsumer(t, append(tp.env(), "CURTAIN_CONSUMER__BATCH_SIZE=50"), "c1")
	waitStored(t, tp.dbURL, res.served)
	// The consumer reports it caught up on its first short read after the
	// backlog; when the backlog ends on a full batch, that read waits up
	// to consumer.block (200ms) for new entries, which can be after the
	// last click is stored. Wait for the line rather than stop at once.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(c.logs.String(), "caught up: ") {
			break
		}
	}
	c.stop(t)
	logs := c.logs.String()
	m := regexp.MustCompile(`caught up: (\d+) clicks read`).FindStringSubmatch(logs)
	if !strings.Contains(logs, "catching up: behind on") || m == nil {
		t.Fatalf("consume printed no catch-up progress:\n%s", logs)
	}
	// Reads count entries claimed again after min_idle (1s here) too, so
	// the figure may exceed the clicks served.
	if n, _ := strconv.Atoi(m[1]); n < 50 {
		t.Errorf("caught up after %d clicks, want at least one full batch (50)", n)
	}
	t.Logf("%s", m[0])
}
