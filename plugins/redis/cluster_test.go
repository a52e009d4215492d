package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	goredis "github.com/redis/go-redis/v9"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/internal/testenv"
)

// TestCluster runs every plugin against a three-master Redis Cluster,
// where the keys of one call live on different nodes.
func TestCluster(t *testing.T) {
	servers := startCluster(t)
	var seeds []string
	for _, s := range servers {
		seeds = append(seeds, s.addr())
	}
	base := Settings{Cluster: seeds[:2], ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, DialTimeout: time.Second}
	raw := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: seeds})
	t.Cleanup(func() { raw.Close() })

	t.Run("Layout", func(t *testing.T) {
		ctx := t.Context()
		counter, err := NewCounter(base)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { counter.Close() })
		if err := counter.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		b, err := counter.Reserve(ctx, core.ReserveRequest{Size: 1, Floor: 2000})
		if err != nil || core.ShortCode(b.First) != "0000wh" {
			t.Errorf("Reserve on a cluster = %+v, %v; want 0000wh", b, err)
		}
		shard := newTestShard(t, base)
		if err := shard.Record(ctx, appendixBClicks()); err != nil {
			t.Fatalf("Record: %v", err)
		}
		for key, want := range map[string]string{"clicks:d5DnL5": "5", "clicks:d5DnL5:ts:2026-11-24:21": "5", "url:counter": "2001"} {
			if v := raw.Get(ctx, key).Val(); v != want {
				t.Errorf("GET %s = %q, want %q", key, v, want)
			}
		}
		if n := raw.XLen(ctx, "stream:clicks:d5DnL5").Val(); n != 5 {
			t.Errorf("XLEN stream:clicks:d5DnL5 = %d, want 5", n)
		}
		if n := raw.PFCount(ctx, "clicks:d5DnL5:uv").Val(); n != 3 {
			t.Errorf("PFCOUNT clicks:d5DnL5:uv = %d, want 3", n)
		}
		st, err := shard.Stats(ctx, core.StatsRequest{Code: "d5DnL5", Now: hour21, Hours: 2})
		if err != nil {
			t.Fatalf("Stats: %v", err)
		}
		if st.Total != 5 || st.Pending != 5 || !cmp.Equal(st.Hourly, []int64{5, 0}) || len(st.Visitors) == 0 {
			t.Errorf("Stats = %+v, want total 5, pending 5, hourly [5 0] and visitors", st)
		}
	})

	t.Run("StreamsOnEveryNode", func(t *testing.T) {
		ctx := t.Context()
		set := base
		set.KeyPrefix = "cl:"
		producer := newTestShard(t, set)
		codes := codeList("k", 5, 30)
		want := recordN(t, producer, codes, 2)
		// The streams spread over the three masters.
		nodes := make(map[string]bool)
		for _, code := range codes {
			slot := raw.ClusterKeySlot(ctx, "cl:stream:clicks:"+code).Val()
			for _, s := range servers {
				if n := s.client().ClusterCountKeysInSlot(ctx, int(slot)).Val(); n > 0 {
					nodes[s.addr()] = true
				}
			}
		}
		if len(nodes) != 3 {
			t.Fatalf("streams live on %d nodes, want 3", len(nodes))
		}
		// Two consumers of their own discover every stream through the
		// index.
		a, b := newTestShard(t, set), newTestShard(t, set)
		got := make(map[string]int)
		for round := 0; round < 40 && len(got) < len(want); round++ {
			for _, c := range []*ClickShard{a, b} {
				ds := read(t, c, core.ReadRequest{Group: group, Consumer: fmt.Sprint(round%2, c == a), Count: 7, MinIdle: time.Minute})
				for _, d := range ds {
					got[d.Click.ID]++
				}
				ack(t, c, ds)
			}
		}
		if len(got) != len(want) {
			t.Errorf("delivered %d distinct clicks, want %d", len(got), len(want))
		}
		for id, n := range got {
			if n != 1 {
				t.Errorf("click %s delivered %d times", id, n)
			}
		}
		tidyNow(t, a)
		for _, code := range codes {
			if n := raw.Exists(ctx, "cl:stream:clicks:"+code).Val(); n != 0 {
				t.Errorf("stream of %s still exists after every entry was acked", code)
			}
		}
		// Every stream was deleted, and left the index buckets, which
		// live on more than one master.
		if left := indexed(t, raw, "cl:"); len(left) != 0 {
			t.Errorf("index after every stream was drained = %v, want empty", left)
		}
		bucketNodes := make(map[string]bool)
		for _, k := range (&conn{prefix: "cl:"}).indexKeys() {
			slot := raw.ClusterKeySlot(ctx, k).Val()
			for _, s := range raw.ClusterShards(ctx).Val() {
				for _, r := range s.Slots {
					if slot >= int64(r.Start) && slot <= int64(r.End) {
						bucketNodes[fmt.Sprint(s.Nodes[0].Port)] = true
					}
				}
			}
		}
		if len(bucketNodes) < 2 {
			t.Errorf("the %d index buckets live on %d masters, want them spread", indexBuckets, len(bucketNodes))
		}
		// A blocking read polls the cluster and wakes for a new click.
		go func() {
			time.Sleep(200 * time.Millisecond)
			producer.Record(t.Context(), []core.Click{{ID: "late", Code: "k00007", At: time.Now()}})
		}()
		ds := read(t, a, core.ReadRequest{Group: group, Consumer: "x", Count: 5, Block: 3 * time.Second})
		if len(ds) != 1 || ds[0].Click.ID != "late" {
			t.Errorf("blocking Read on a cluster = %+v, want the late click", ds)
		}
	})

	t.Run("CacheAcrossSlots", func(t *testing.T) {
		ctx := t.Context()
		cache := newTestCache(t, base)
		var entries []core.CacheEntry
		var keys []string
		for i := range 20 {
			k := fmt.Sprintf("cache:url:%d", i)
			keys = append(keys, k)
			entries = append(entries, core.CacheEntry{Key: k, Value: []byte(fmt.Sprint(i)), TTL: time.Minute})
		}
		if err := cache.Set(ctx, entries); err != nil {
			t.Fatalf("Set: %v", err)
		}
		got, err := cache.Get(ctx, append(keys, "cache:missing"))
		if err != nil || len(got) != 20 || string(got["cache:url:7"]) != "7" {
			t.Errorf("Get across slots = %d values, %v", len(got), err)
		}
		if err := cache.Delete(ctx, keys[:10]); err != nil {
			t.Fatalf("Delete across slots: %v", err)
		}
		got, err = cache.Get(ctx, keys)
		if err != nil || len(got) != 10 {
			t.Errorf("Get after deleting 10 = %d values, %v; want 10", len(got), err)
		}
	})

	// A batch whose reply timed out may have been applied; the host then
	// sends it to the next shard. Resending it on the same cluster as
	// well (go-redis retries a cluster pipeline after a timeout unless
	// told not to) counts its clicks two to four times in clicks:<code>.
	t.Run("TimedOutRecordNotResent", func(t *testing.T) {
		ctx := t.Context()
		slow := base
		slow.ReadTimeout = 200 * time.Millisecond
		shard := newTestShard(t, slow)
		const code = "k00timeout"
		node, err := raw.MasterForKey(ctx, "clicks:"+code)
		if err != nil {
			t.Fatal(err)
		}
		// The shard has its slot map and a connection to the code's node
		// before the node stalls, so that the batch itself is what times
		// out (a connection dialled during the stall fails its handshake
		// and sends nothing).
		if err := shard.Record(ctx, []core.Click{{ID: "warm-1", Code: code, Visitor: "10.0.0.1", At: time.Now()}}); err != nil {
			t.Fatal(err)
		}
		// The node stalls (DEBUG SLEEP) with the batch's writes in its
		// socket, and applies them once awake, long after the shard's
		// read timeout.
		slept := make(chan error, 1)
		go func() { slept <- node.Do(context.Background(), "DEBUG", "SLEEP", "1.5").Err() }()
		time.Sleep(50 * time.Millisecond) // let DEBUG SLEEP reach the node first
		_ = shard.Record(ctx, []core.Click{{ID: "timeout-1", Code: code, Visitor: "10.0.0.1", At: time.Now()}})
		if err := <-slept; err != nil {
			t.Fatal(err)
		}
		// The awoken node applies the batch it holds; on a loaded machine
		// that may come after the reply to DEBUG SLEEP. A resent batch
		// would come later still, so the count is read once it reached 2
		// (or after 2 s) and once more a moment later.
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if n, _ := raw.Get(ctx, "clicks:"+code).Int(); n >= 2 {
				break
			}
		}
		time.Sleep(300 * time.Millisecond)
		if got := raw.Get(ctx, "clicks:"+code).Val(); got != "2" {
			t.Errorf("clicks:%s = %q after a warm-up click and one Record of one click that timed out, want \"2\" (applied once, not resent)", code, got)
		}
	})

	t.Run("Conformance", func(t *testing.T) { runSuites(t, base) })
}

// TestConfigureRefusesClusterNode: a cluster node named as a single
// server (REDIS_SHARDS=node:port, say) would take only the clicks of the
// hash slots it serves and fail every other call with MOVED. Configure
// refuses it, naming the cluster setting, for every kind.
func TestConfigureRefusesClusterNode(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs redis-server")
	}
	node := &server{t: t, Redis: testenv.StartRedis(t, testenv.RedisOptions{ClusterBus: true, Args: []string{
		"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"}})}
	settings := settingsJSONFor(t, testSettings(node, "refuse:"))
	for _, tt := range []struct {
		kind string
		p    interface {
			Configure(context.Context, []byte) error
			Close() error
		}
	}{
		{"clickshard", NewClickShardPlugin()},
		{"cache", NewCachePlugin()},
		{"counter", NewCounterPlugin()},
	} {
		err := tt.p.Configure(t.Context(), settings)
		tt.p.Close()
		if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), `"cluster"`) {
			t.Errorf("%s: Configure(url of a cluster node) = %v, want an invalid setting naming \"cluster\"", tt.kind, err)
		}
	}
}

// TestClusterFailoverReloadsSlotMap: when a master dies and its replica
// takes over, the cluster client's slot map still names the dead master,
// and go-redis learns of the new one only from MOVED replies (which a dead
// node cannot send) or its own refresh a minute later. The cache and the
// counter, like the click shard, reload the map on a failed call, so that

// slotMaster returns the address of the online master serving slot in a
// CLUSTER SHARDS reply, or "" when there is none.
func slotMaster(shards []goredis.ClusterShard, slot int64) string {
	for _, sh := range shards {
		if !slices.ContainsFunc(sh.Slots, func(r goredis.SlotRange) bool { return r.Start <= slot && slot <= r.End }) {
			continue
		}
		for _, n := range sh.Nodes {
			if n.Role == "master" && n.Health == "online" {
				return net.JoinHostPort(n.IP, strconv.FormatInt(n.Port, 10))
			}
		}
	}
	return ""
}

// they work again right after the promotion instead of a minute later.
func TestClusterFailoverReloadsSlotMap(t *testing.T) {
	servers := startClusterOf(t, 1)
	var seeds []string
	for _, s := range servers {
		seeds = append(seeds, s.addr())
	}
	set := Settings{Cluster: seeds, ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond, DialTimeout: 200 * time.Millisecond}
	ctx := t.Context()
	raw := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: seeds})
	t.Cleanup(func() { raw.Close() })

	counter := configured(t, NewCounterPlugin(), set)
	cache := newTestCache(t, set)
	master, err := raw.MasterForKey(ctx, CounterKey)
	if err != nil {
		t.Fatal(err)
	}
	victimAddr := master.Options().Addr
	// A cache key on the same master as the counter.
	var cacheKey string
	for i := 0; cacheKey == ""; i++ {
		k := fmt.Sprintf("cache:url:%d", i)
		if m, err := raw.MasterForKey(ctx, k); err == nil && m.Options().Addr == victimAddr {
			cacheKey = k
		}
	}
	// Both have their slot map and work before the failover.
	if _, err := counter.Reserve(ctx, core.ReserveRequest{Size: 1, Floor: 100}); err != nil {
		t.Fatalf("Reserve before the failover: %v", err)
	}
	if err := cache.Set(ctx, []core.CacheEntry{{Key: cacheKey, Value: []byte("v"), TTL: time.Minute}}); err != nil {
		t.Fatalf("Set before the failover: %v", err)
	}

	var victim *server
	for _, s := range servers {
		if s.addr() == victimAddr {
			victim = s
		}
	}
	victim.stop()
	// Wait until a live node says the counter's slot has a new master.
	var live *server
	for _, s := range servers {
		if s != victim {
			live = s
			break
		}
	}
	liveClient := live.client()
	slot, err := liveClient.ClusterKeySlot(ctx, CounterKey).Result()
	if err != nil {
		t.Fatal(err)
	}
	promoted := func() bool {
		info, _ := liveClient.ClusterInfo(ctx).Result()
		if !strings.Contains(info, "cluster_state:ok") {
			return false
		}
		shards, err := liveClient.ClusterShards(ctx).Result()
		if err != nil {
			return false
		}
		master := slotMaster(shards, slot)
		return master != "" && master != victimAddr
	}
	for deadline := time.Now().Add(30 * time.Second); !promoted(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no replica took over the killed master's slots")
		}
	}

	// The first call after the promotion may still go to the dead master
	// and fail; it reloads the map, and a call soon after succeeds. Without
	// the reload the calls fail until go-redis's own refresh, 60 s on.
	works := func(name string, call func() error) {
		t.Helper()
		var err error
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if err = call(); err == nil {
				return
			}
		}
		t.Errorf("%s still fails 5 s after the promotion: %v", name, err)
	}
	works("Reserve", func() error {
		_, err := counter.Reserve(ctx, core.ReserveRequest{Size: 1, Floor: 100})
		return err
	})
	works("cache Get", func() error {
		_, err := cache.Get(ctx, []string{cacheKey})
		return err
	})
	works("cache Set", func() error {
		return cache.Set(ctx, []core.CacheEntry{{Key: cacheKey, Value: []byte("w"), TTL: time.Minute}})
	})
	works("cache Delete", func() error { return cache.Delete(ctx, []string{cacheKey}) })
}
