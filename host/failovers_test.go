package host

import (
	"fmt"
	"maps"
	"testing"
	"testing/synctest"

	"github.com/curtainhq/curtain/core"
	"github.com/prometheus/client_golang/prometheus"
)

// TestFailoversToStoreSeries checks that redis_shard_failovers_total has a
// series from the start on every ring size, one shard included, where the
// only failover target is the store.
func TestFailoversToStoreSeries(t *testing.T) {
	for _, n := range []int{1, 2} {
		synctest.Test(t, func(t *testing.T) {
			var log clickLog
			var down []core.ClickShard
			for range n {
				down = append(down, downShard())
			}
			b, reg := newTestBatcher(t, named(down...), mapStore(&log, map[string]int64{"d5DnL5": 1}), BatcherConfig{})
			labels := map[string]string{"from_shard": "shard0", "to_shard": "store"}
			if !hasSeries(t, reg, "redis_shard_failovers_total", labels) {
				t.Fatalf("%d shards: no redis_shard_failovers_total%v series at start", n, labels)
			}
			record(t, b, click(1, "d5DnL5"), click(2, "d5DnL5"))
			closeBatcher(t, b)
			owner := fmt.Sprintf("shard%d", b.ring.OwnerIndex("d5DnL5"))
			labels["from_shard"] = owner
			if got := metricValue(t, reg, "redis_shard_failovers_total", labels); got != 2 {
				t.Errorf("%d shards: redis_shard_failovers_total%v = %v, want 2", n, labels, got)
			}
		})
	}
}

// hasSeries reports whether metric name has a series with exactly labels.
func hasSeries(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) bool {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			if maps.Equal(got, labels) {
				return true
			}
		}
	}
	return false
}
