package grafana

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// lagPanel is the title of the panel that draws what the alert
// CurtainConsumerLagGrowing watches.
const lagPanel = "Consumer Lag Growth (clicks/s in − out)"

// alertExpr returns the expression of the alert rule name in
// deploy/prometheus/alerts.yml.
func alertExpr(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
				Expr  string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert == name {
				return r.Expr
			}
		}
	}
	t.Fatalf("alerts.yml has no alert %s", name)
	return ""
}

// compact drops the white space of a PromQL expression.
func compact(s string) string { return strings.Join(strings.Fields(s), "") }

// TestConsumerLagGrowthFollowsAlert: the panel draws the alert's
// expression without its threshold, so it must leave out what the alert
// leaves out: clicks the host stored itself (clicks.events: direct, the
// durable mode on shards that are not durable) count as flushed to their
// shards but never enter a stream, and the panel showed them as lag
// growing for ever, as the alert fired before commit fb7a555. The panel
// keeps the alert's guard on curtain_click_backlog, and promtool evaluates
// both on the alert's rule-test situations: the panel is above 1 click/s
// exactly where the alert's expression returns a value, and 0 elsewhere.
func TestConsumerLagGrowthFollowsAlert(t *testing.T) {
	alert := alertExpr(t, "CurtainConsumerLagGrowing")
	list := exprs(t)[lagPanel]
	if len(list) != 1 {
		t.Fatalf("panel %q has %d queries, want 1", lagPanel, len(list))
	}
	panel := list[0]

	i := strings.Index(alert, "unless")
	if i < 0 {
		t.Fatalf("CurtainConsumerLagGrowing has no 'unless' guard any more; update this test:\n%s", alert)
	}
	if guard := alert[i:]; !strings.Contains(compact(panel), compact(guard)) {
		t.Errorf("panel %q: %s\nlacks the alert's guard %q: it shows lag where no shard holds a click (clicks.events: direct, durable mode on non-durable shards)", lagPanel, panel, strings.TrimSpace(guard))
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (apt-get install prometheus; .ci/run installs it)")
	}
	// The situations of the alert's rule tests, at 15 s samples: the
	// shards get 10 clicks/s.
	type series struct {
		Series string `json:"series"`
		Values string `json:"values"`
	}
	const (
		flushed = `curtain_clicks_flushed_total{job="curtain-app",instance="app:5000",destination="shard0"}`
		toStore = `curtain_clicks_flushed_total{job="curtain-app",instance="app:5000",destination="store"}`
		stored  = `curtain_consumer_events_stored_total{job="curtain-consumer",instance="consumer:9100",shard="shard0"}`
		dropped = `curtain_consumer_entries_dropped_total{job="curtain-consumer",instance="consumer:9100",shard="shard0"}`
		backlog = `curtain_click_backlog{job="curtain-app",instance="app:5000",shard_id="shard0"}`
		inflow  = "0+150x160" // 10/s
	)
	cases := []struct {
		name   string
		input  []series
		lag    float64 // the panel's value; the alert's expression returns it when above 1
		firing bool
	}{
		{"no consumer runs", []series{{flushed, inflow}}, 10, true},
		{"no consumer runs and the backlog grows", []series{{flushed, inflow}, {backlog, "0+150x160"}}, 10, true},
		{"consumers keep pace", []series{{flushed, inflow}, {stored, "0+120x160"}, {dropped, "0+30x160"}, {backlog, "0x160"}}, 0, false},
		{"clicks.events direct", []series{{flushed, inflow}, {backlog, "0x160"}}, 0, false},
		{"durable mode on a shard that is not durable", []series{{flushed, inflow}, {toStore, inflow}, {backlog, "0x160"}}, 0, false},
	}
	type sample struct {
		Labels string  `json:"labels"`
		Value  float64 `json:"value"`
	}
	type exprTest struct {
		Expr       string   `json:"expr"`
		EvalTime   string   `json:"eval_time"`
		ExpSamples []sample `json:"exp_samples"`
	}
	type ruleTest struct {
		Name     string     `json:"name"`
		Interval string     `json:"interval"`
		Input    []series   `json:"input_series"`
		Exprs    []exprTest `json:"promql_expr_test"`
	}
	var tests []ruleTest
	for _, c := range cases {
		want := []sample{}
		if c.firing {
			want = []sample{{"{}", c.lag}}
		}
		tests = append(tests, ruleTest{
			Name: c.name, Interval: "15s", Input: c.input,
			Exprs: []exprTest{
				{Expr: alert, EvalTime: "30m", ExpSamples: want},
				{Expr: panel, EvalTime: "30m", ExpSamples: []sample{{"{}", c.lag}}},
			},
		})
	}
	dir := t.TempDir()
	doc, err := json.Marshal(map[string]any{"rule_files": []string{"rules.yml"}, "evaluation_interval": "15s", "tests": tests})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), []byte("groups: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lag_test.yml"), doc, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool, "test", "rules", "lag_test.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool test rules, the alert's and the panel's expressions (%v):\n%s", err, out)
	}
}
