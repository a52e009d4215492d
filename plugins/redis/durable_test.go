package redis

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
)

// TestShardDurability: the shard reports itself durable only on a server
// that fsyncs every write and, when the server has a replica, only when
// it waits for one (wait_replicas); Record then returns only once the
// replica holds the batch, and fails while no replica does.
func TestShardDurability(t *testing.T) {
	at := time.Now().UTC().Truncate(time.Second)
	clicks := []core.Click{{ID: "d1", Code: "dur", Visitor: "v", At: at}}

	plain := startServer(t)
	if s := newTestShard(t, testSettings(plain, "")); s.Durable() {
		t.Error("Durable() = true on a server with appendonly no")
	}
	everysec := startServer(t, "--appendonly", "yes", "--appendfsync", "everysec")
	if s := newTestShard(t, testSettings(everysec, "")); s.Durable() {
		t.Error("Durable() = true with appendfsync everysec")
	}

	primary := startServer(t, "--appendonly", "yes", "--appendfsync", "always")
	alone := newTestShard(t, testSettings(primary, ""))
	if !alone.Durable() {
		t.Fatal("Durable() = false with appendonly yes, appendfsync always")
	}
	if err := alone.Record(t.Context(), clicks); err != nil {
		t.Fatalf("Record without replicas: %v", err)
	}

	replica := startServer(t, "--replicaof", "127.0.0.1", strconv.Itoa(primary.Port()))
	raw := primary.client()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, _ := raw.Info(t.Context(), "replication").Result()
		if containsLine(info, "connected_slaves:1") && strings.Contains(info, "state=online") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica did not connect:\n%s", info)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s := newTestShard(t, testSettings(primary, "nowait:")); s.Durable() {
		t.Error("Durable() = true with a replica and wait_replicas 0 (a failover could lose acknowledged clicks)")
	}
	settings := testSettings(primary, "r:")
	settings.WaitReplicas = 1
	shard := newTestShard(t, settings)
	if !shard.Durable() {
		t.Fatal("Durable() = false with a replica and wait_replicas 1")
	}
	if err := shard.Record(t.Context(), clicks); err != nil {
		t.Fatalf("Record with a replica: %v", err)
	}
	if got, _ := replica.client().Get(t.Context(), "r:clicks:dur").Result(); got != "1" {
		t.Errorf("replica's total after Record = %q, want 1 (Record waited for it)", got)
	}
	replica.stop()
	if err := shard.Record(t.Context(), clicks); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Record with the replica gone = %v, want core.ErrUnavailable (WAIT saw none)", err)
	}
}

// TestShardDurabilityReadAgainWhenServerReturns: a shard configured while
// its server was down reads the persistence settings once the server
// answers, and so does a shard whose server went away and came back with
// other settings; before, Durable kept what Configure saw until the
// plugin restarted.
func TestShardDurabilityReadAgainWhenServerReturns(t *testing.T) {
	srv := startServer(t, "--appendonly", "yes", "--appendfsync", "always")
	srv.stop()
	shard := newTestShard(t, testSettings(srv, ""))
	if shard.Durable() {
		t.Fatal("Durable() = true with the server down")
	}
	if err := shard.Ping(t.Context()); err == nil {
		t.Fatal("Ping with the server down = nil, want an error")
	}
	srv.start()
	if err := shard.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if !shard.Durable() {
		t.Fatal("Durable() = false once the server (appendfsync always) answers again")
	}

	srv.stop()
	if err := shard.Ping(t.Context()); err == nil {
		t.Fatal("Ping with the server down = nil, want an error")
	}
	srv.start()
	if err := srv.client().ConfigSet(t.Context(), "appendfsync", "everysec").Err(); err != nil {
		t.Fatalf("CONFIG SET: %v", err)
	}
	if err := shard.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if shard.Durable() {
		t.Error("Durable() = true after the server came back with appendfsync everysec")
	}
}

// TestShardDurableOnReplicas: with durable_on_replicas a server without
// AOF makes a durable shard once a replica is connected and Record waits
// for it; without a connected replica it does not, and the setting is
// refused without wait_replicas.
func TestShardDurableOnReplicas(t *testing.T) {
	primary := startServer(t)
	settings := testSettings(primary, "rep:")
	settings.WaitReplicas, settings.DurableOnReplicas = 1, true
	if s := newTestShard(t, settings); s.Durable() {
		t.Error("Durable() = true with durable_on_replicas and no replica connected")
	}
	replica := startServer(t, "--replicaof", "127.0.0.1", strconv.Itoa(primary.Port()))
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, _ := primary.client().Info(t.Context(), "replication").Result()
		if containsLine(info, "connected_slaves:1") && strings.Contains(info, "state=online") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica did not connect:\n%s", info)
		}
		time.Sleep(50 * time.Millisecond)
	}
	shard := newTestShard(t, settings)
	if !shard.Durable() {
		t.Fatal("Durable() = false with durable_on_replicas, wait_replicas 1 and a replica connected")
	}
	clicks := []core.Click{{ID: "r1", Code: "rep", Visitor: "v", At: time.Now().UTC()}}
	if err := shard.Record(t.Context(), clicks); err != nil {
		t.Fatalf("Record: %v", err)
	}
	if got, _ := replica.client().Get(t.Context(), "rep:clicks:rep").Result(); got != "1" {
		t.Errorf("replica's total after Record = %q, want 1 (Record waited for it)", got)
	}
	off := testSettings(primary, "plain:")
	off.WaitReplicas = 1
	if s := newTestShard(t, off); s.Durable() {
		t.Error("Durable() = true with a replica but neither AOF nor durable_on_replicas")
	}
	bad := testSettings(primary, "")
	bad.DurableOnReplicas = true
	if err := bad.Validate(); !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "durable_on_replicas") {
		t.Errorf("durable_on_replicas without wait_replicas: Validate() = %v, want an error naming the key", err)
	}
}

func containsLine(s, line string) bool {
	return slices.Contains(strings.Split(strings.ReplaceAll(s, "\r", ""), "\n"), line)
}

// TestShardBacklog: Stats for the empty code sums the click streams, and
// a Stored click takes no room in them.
func TestShardBacklog(t *testing.T) {
	srv := startServer(t)
	shard := newTestShard(t, testSettings(srv, "bk:"))
	at := time.Now().UTC().Truncate(time.Second)
	clicks := []core.Click{
		{ID: "1", Code: "aaa", Visitor: "v", At: at},
		{ID: "2", Code: "bbb", Visitor: "v", At: at},
		{ID: "3", Code: "bbb", Visitor: "v", At: at},
		{ID: "4", Code: "bbb", Visitor: "v", At: at, Stored: true},
	}
	if err := shard.Record(t.Context(), clicks); err != nil {
		t.Fatal(err)
	}
	st, err := shard.Stats(t.Context(), core.StatsRequest{Parts: core.StatsPending})
	if err != nil || st.Pending != 3 {
		t.Errorf("whole backlog = %d, %v; want 3", st.Pending, err)
	}
	if _, err := shard.Stats(t.Context(), core.StatsRequest{Parts: core.StatsTotals}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("totals of the empty code = %v, want core.ErrInvalid", err)
	}
}

// TestClusterWaitReplicas: on a cluster, wait_replicas sends each key's
// commands to its own master with a WAIT there; the writes land on every
// master, and with no replica to wait for Record fails rather than
// acknowledge them.
func TestClusterWaitReplicas(t *testing.T) {
	servers := startCluster(t)
	var seeds []string
	for _, s := range servers {
		seeds = append(seeds, s.addr())
	}
	settings := Settings{Cluster: seeds, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, DialTimeout: time.Second, KeyPrefix: "w:", WaitReplicas: 1}
	shard := newTestShard(t, settings)
	if shard.Durable() {
		t.Error("Durable() = true on a cluster without AOF")
	}
	at := time.Now().UTC().Truncate(time.Second)
	var clicks []core.Click
	for i := range 20 { // codes spread over the three masters
		clicks = append(clicks, core.Click{ID: strconv.Itoa(i), Code: "c" + strconv.Itoa(i), Visitor: "v", At: at})
	}
	if err := shard.Record(t.Context(), clicks); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Record waiting for a replica on a cluster without any = %v, want core.ErrUnavailable", err)
	}
	for _, c := range clicks {
		st, err := shard.Stats(t.Context(), core.StatsRequest{Code: c.Code, Parts: core.StatsTotals | core.StatsPending})
		if err != nil || st.Total != 1 || st.Pending != 1 {
			t.Errorf("Stats(%s) = total %d, pending %d, %v; want the click written on its master", c.Code, st.Total, st.Pending, err)
		}
	}
}
