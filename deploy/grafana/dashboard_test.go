package grafana

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

type panel struct {
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// exprs returns every query of the dashboard, by panel title.
func exprs(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile("dashboards/curtain.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				out[p.Title] = append(out[p.Title], tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// TestPluginLatencyLeavesOutBlockingRead: a click shard's Read is the
// consumer's blocking read, which waits up to consumer.block (1 s) when
// the stream is empty; a latency quantile over all methods therefore
// showed every click shard's p95 near a second on an idle system.
func TestPluginLatencyLeavesOutBlockingRead(t *testing.T) {
	found := 0
	for title, list := range exprs(t) {
		for _, e := range list {
			if !strings.Contains(e, "histogram_quantile") || !strings.Contains(e, "curtain_plugin_rpc_duration_seconds_bucket") {
				continue
			}
			found++
			if !strings.Contains(e, `method!="Read"`) {
				t.Errorf("panel %q: %s\nincludes the click shards' blocking Read; add {method!=\"Read\"}", title, e)
			}
		}
	}
	if found == 0 {
		t.Fatal("no plugin latency quantile in the dashboard")
	}
}
