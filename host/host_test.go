package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/internal/testenv"
	"github.com/curtainhq/curtain/plugins/memory"
	"github.com/curtainhq/curtain/plugins/sdk"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
)

// testPlugin is the path of the host/internal/testplugin binary TestMain
// builds.
var testPlugin string

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, "./internal/testplugin", "testplugin", &testPlugin))
}

// newTestHost starts a host running the test plugin; it is closed when the
// test ends.
func newTestHost(t testing.TB, cfg Config, opts Options) *Host {
	t.Helper()
	if opts.SelfExec == nil {
		opts.SelfExec = []string{testPlugin}
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	h, err := New(cfg, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h
}

func memoryPlugin(kind string) PluginConfig {
	return PluginConfig{Kind: kind, Builtin: "memory"}
}

func statusOf(t testing.TB, h *Host, name string) PluginStatus {
	t.Helper()
	for _, s := range h.Status() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no plugin %q in Status()", name)
	return PluginStatus{}
}

func sigkill(t testing.TB, pid int) {
	t.Helper()
	if pid <= 0 {
		t.Fatalf("no pid to kill")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
}

// waitHealthy waits until plugin name runs again after a restart and
// returns how long that took.
func waitRestarted(t testing.TB, h *Host, name string, restarts int64, within time.Duration) PluginStatus {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		s := statusOf(t, h, name)
		if s.Healthy && s.Restarts >= restarts && s.PID > 0 {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("plugin %q not back within %v: %+v", name, within, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHostServesEveryKind(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newTestHost(t, Config{Plugins: []PluginConfig{
		memoryPlugin(sdk.KindCounter),
		memoryPlugin(sdk.KindClickShard),
		memoryPlugin(sdk.KindClickShard),
		memoryPlugin(sdk.KindCache),
		memoryPlugin(sdk.KindAlertSink),
	}}, Options{Registry: reg})
	ctx := t.Context()

	b, err := h.Counter().Reserve(ctx, core.ReserveRequest{Size: 10, Floor: 500})
	if err != nil || b.First <= 500 || b.Size != 10 {
		t.Errorf("Reserve = %+v, %v; want a block of 10 above 500", b, err)
	}

	shards := h.Shards()
	var names []string
	for _, s := range shards {
		names = append(names, s.Name)
	}
	if diff := cmp.Diff([]string{"shard0", "shard1"}, names); diff != "" {
		t.Errorf("shard names (-want +got):\n%s", diff)
	}
	now := time.Now().UTC()
	if err := shards[1].Shard.Record(ctx, []core.Click{{ID: "1", Code: "abc", Visitor: "v", At: now}}); err != nil {
		t.Errorf("Record: %v", err)
	}
	st, err := shards[1].Shard.Stats(ctx, core.StatsRequest{Code: "abc", Now: now, Hours: 1})
	if err != nil || st.Total != 1 {
		t.Errorf("Stats = %+v, %v; want total 1", st, err)
	}

	if err := h.Cache().Set(ctx, []core.CacheEntry{{Key: "k", Value: []byte("v"), TTL: time.Minute}}); err != nil {
		t.Errorf("Set: %v", err)
	}
	got, err := h.Cache().Get(ctx, []string{"k", "missing"})
	if err != nil || string(got["k"]) != "v" || len(got) != 1 {
		t.Errorf("Get = %q, %v; want k=v", got, err)
	}

	if err := h.AlertSink().Send(ctx, []core.Alert{{Status: "firing", Fingerprint: "f"}}); err != nil {
		t.Errorf("Send: %v", err)
	}

	want := []PluginStatus{
		{Name: "counter", Kind: "counter"},
		{Name: "shard0", Kind: "clickshard"},
		{Name: "shard1", Kind: "clickshard"},
		{Name: "cache", Kind: "cache"},
		{Name: "alertsink", Kind: "alertsink"},
	}
	for i := range want {
		want[i].Source, want[i].Version, want[i].Healthy, want[i].State = "builtin memory", "0.0.1-test", true, StateRunning
	}
	statuses := h.Status()
	pids := map[int]bool{}
	for _, s := range statuses {
		pids[s.PID] = true
	}
	if len(pids) != 5 || pids[0] {
		t.Errorf("Status() PIDs = %v, want 5 distinct processes", pids)
	}
	if diff := cmp.Diff(want, statuses, cmpopts.IgnoreFields(PluginStatus{}, "PID", "Since")); diff != "" {
		t.Errorf("Status() (-want +got):\n%s", diff)
	}

	wantMetrics(t, reg, []metricWant{
		{"curtain_plugin_rpc_total", map[string]string{"kind": "counter", "plugin": "counter", "method": "Reserve", "code": "OK"}, 1},
		{"curtain_plugin_rpc_total", map[string]string{"kind": "cache", "plugin": "cache", "method": "Get", "code": "OK"}, 1},
		{"curtain_plugin_rpc_duration_seconds", map[string]string{"kind": "clickshard", "plugin": "shard1", "method": "Record"}, 1},
		{"curtain_plugin_up", map[string]string{"kind": "clickshard", "plugin": "shard0"}, 1},
		{"curtain_plugin_restarts_total", map[string]string{"kind": "alertsink", "plugin": "alertsink"}, 0},
	})
}

func TestHostErrorsCrossTheBoundary(t *testing.T) {
	h := newTestHost(t, Config{Plugins: []PluginConfig{memoryPlugin(sdk.KindClickShard)}}, Options{})
	_, err := h.Shards()[0].Shard.Read(t.Context(), core.ReadRequest{Group: "", Consumer: "c", Count: 1})
	if !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Read with no group = %v, want ErrInvalid", err)
	}
}

// TestHostCallErrorsNameInstance: a failed call names the instance as
// configured, so that one of several click shards is told apart; the
// errors used to name the kind alone ("clickshard plugin read: …").
func TestHostCallErrorsNameInstance(t *testing.T) {
	h := newTestHost(t, Config{Plugins: []PluginConfig{
		memoryPlugin(sdk.KindClickShard),
		memoryPlugin(sdk.KindClickShard),
		{Name: "ids", Kind: sdk.KindCounter, Builtin: "memory"},
	}}, Options{})
	for _, s := range h.Shards() {
		_, err := s.Shard.Read(t.Context(), core.ReadRequest{Group: "", Consumer: "c", Count: 1})
		if want := fmt.Sprintf("clickshard plugin %q read: ", s.Name); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("shard %s: Read with no group = %v, want an error starting with %q", s.Name, err, want)
		}
		if !errors.Is(err, core.ErrInvalid) {
			t.Errorf("shard %s: Read with no group = %v, want ErrInvalid", s.Name, err)
		}
	}
	_, err := h.Counter().Reserve(t.Context(), core.ReserveRequest{Size: 0})
	if want := `counter plugin "ids" reserve: `; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Reserve of no values = %v, want an error starting with %q", err, want)
	}
}

func TestHostRefusesWrongKind(t *testing.T) {
	_, err := New(Config{Plugins: []PluginConfig{{Kind: sdk.KindCounter, Builtin: "liar"}}},
		Options{SelfExec: []string{testPlugin}, Logger: testLogger(t)})
	if err == nil {
		t.Fatal("New with a cache plugin configured as a counter = nil error")
	}
	if !errors.Is(err, sdk.ErrWrongKind) {
		t.Errorf("New error %q is not sdk.ErrWrongKind", err)
	}
	for _, want := range []string{`kind "cache"`, `kind "counter"`, "test-liar"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New error %q does not name %s", err, want)
		}
	}
}

func TestHostSHA256(t *testing.T) {
	data, err := os.ReadFile(testPlugin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	good := hex.EncodeToString(sum[:])
	sum[0] ^= 0xff
	bad := hex.EncodeToString(sum[:])

	_, err = New(Config{Plugins: []PluginConfig{{Kind: sdk.KindCounter, Path: testPlugin, SHA256: bad}}}, Options{Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("New with a wrong SHA-256 = %v, want a refusal naming the SHA-256", err)
	}
	// The refusal names the file's own sum, so that an operator sees at
	// once whether the configured one has a typo or the file changed.
	if err == nil || !strings.Contains(err.Error(), "it has "+good) {
		t.Errorf("New with a wrong SHA-256 = %v, want it to name the file's SHA-256 %s", err, good)
	}

	h := newTestHost(t, Config{Plugins: []PluginConfig{{Kind: sdk.KindCounter, Path: testPlugin, SHA256: good}}}, Options{})
	if _, err := h.Counter().Reserve(t.Context(), core.ReserveRequest{Size: 1}); err != nil {
		t.Errorf("Reserve on a checked plugin: %v", err)
	}
	if got := statusOf(t, h, "counter").Source; got != testPlugin {
		t.Errorf("Source = %q, want %q", got, testPlugin)
	}
}

func TestHostStartFailure(t *testing.T) {
	start := time.Now()
	_, err := New(Config{Plugins: []PluginConfig{
		memoryPlugin(sdk.KindCounter),
		{Kind: sdk.KindCache, Builtin: "crash", StartTimeout: 5 * time.Second},
	}}, Options{SelfExec: []string{testPlugin}, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), `plugin "cache"`) {
		t.Errorf("New with a crashing plugin = %v, want an error naming it", err)
	}
	// What the plugin said before it died, logged at debug level, is in
	// the error: a Python plugin missing a module says so there.
	if err == nil || !strings.Contains(err.Error(), "its stderr ended with: testplugin: crashing on purpose") {
		t.Errorf("New with a crashing plugin = %v, want it to end with the plugin's stderr", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("New took %v to notice the crash", d)
	}
}

func TestHostConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  []PluginConfig
		want string
	}{
		{"unknown kind", []PluginConfig{{Kind: "queue", Builtin: "memory"}}, `kind "queue" is unknown`},
		{"two counters", []PluginConfig{memoryPlugin("counter"), {Name: "c2", Kind: "counter", Builtin: "memory"}}, "a second counter"},
		{"same name", []PluginConfig{{Name: "x", Kind: "counter", Builtin: "memory"}, {Name: "x", Kind: "cache", Builtin: "memory"}}, `name "x" is used twice`},
		{"no source", []PluginConfig{{Kind: "counter"}}, "exactly one of builtin, path and reattach"},
		{"two sources", []PluginConfig{{Kind: "counter", Builtin: "memory", Path: "/bin/true"}}, "exactly one of builtin, path and reattach"},
		{"bad sha", []PluginConfig{{Kind: "counter", Path: "/bin/true", SHA256: "abc"}}, "not 64 hex digits"},
		{"sha on builtin", []PluginConfig{{Kind: "counter", Builtin: "memory", SHA256: strings.Repeat("0", 64)}}, "only to a plugin with a path"},
		{"bad settings", []PluginConfig{{Kind: "counter", Builtin: "memory", Settings: json.RawMessage("{")}}, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{Plugins: tt.cfg}, Options{SelfExec: []string{testPlugin}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := New(Config{Plugins: []PluginConfig{memoryPlugin("counter")}}, Options{}); err == nil || !strings.Contains(err.Error(), "SelfExec") {
		t.Errorf("New of a builtin without SelfExec = %v, want an error naming SelfExec", err)
	}
}

func TestHostSettings(t *testing.T) {
	h := newTestHost(t, Config{Plugins: []PluginConfig{{Kind: sdk.KindCounter, Builtin: "floored", Settings: json.RawMessage(`{"floor": 1000}`)}}}, Options{})
	b, err := h.Counter().Reserve(t.Context(), core.ReserveRequest{Size: 1})
	if err != nil || b.First <= 1000 {
		t.Errorf("Reserve = %+v, %v; want a value above the configured floor 1000", b, err)
	}

	_, err = New(Config{Plugins: []PluginConfig{{Kind: sdk.KindCounter, Builtin: "floored", Settings: json.RawMessage(`{"floor": -1}`)}}},
		Options{SelfExec: []string{testPlugin}, Logger: testLogger(t)})
	var verr *core.ValidationError
	if !errors.As(err, &verr) || verr.Field != "floor" {
		t.Errorf("New with a bad setting = %v, want a ValidationError on floor", err)
	}
	// The error says once which call refused the settings.
	if err != nil && strings.Count(err.Error(), "configure") != 1 {
		t.Errorf("New with a bad setting = %q, want \"configure\" once", err)
	}
}

// recordingHandler keeps the records it handles, with their attributes
// flattened into a map.
type recordingHandler struct {
	mu      *sync.Mutex
	records *[]map[string]string
	attrs   []slog.Attr
}

func (h recordingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h recordingHandler) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"msg": r.Message}
	for _, a := range h.attrs {
		m[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.records = append(*h.records, m)
	return nil
}

func (h recordingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return recordingHandler{mu: h.mu, records: h.records, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h recordingHandler) WithGroup(string) slog.Handler { return h }

func TestHostPluginLogs(t *testing.T) {
	var mu sync.Mutex
	var records []map[string]string
	logger := slog.New(recordingHandler{mu: &mu, records: &records})
	h := newTestHost(t, Config{Plugins: []PluginConfig{{Name: "ids", Kind: sdk.KindCounter, Builtin: "floored", Settings: json.RawMessage(`{"floor": 7}`)}}}, Options{Logger: logger})
	if err := h.Close(t.Context()); err != nil { // flushes the plugin's stderr
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range records {
		if r["msg"] == "configured" {
			want := map[string]string{"msg": "configured", "plugin": "ids", "kind": "counter", "floor": "7"}
			got := map[string]string{}
			for k := range want {
				got[k] = r[k]
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("plugin log record (-want +got):\n%s", diff)
			}
			return
		}
	}
	t.Errorf("the plugin's log line did not reach the host's logger; got %v", records)
}

// TestHostCounterKilledUnderLoad kills the counter plugin while callers
// reserve blocks: they get ErrUnavailable at once while it is down (the
// service then falls back to the store), and the plugin is back, with its
// settings, within 2 s.
func TestHostCounterKilledUnderLoad(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newTestHost(t, Config{Plugins: []PluginConfig{{Kind: sdk.KindCounter, Builtin: "floored", Settings: json.RawMessage(`{"floor": 1000}`)}}}, Options{Registry: reg})
	counter := h.Counter()
	before := statusOf(t, h, "counter")

	ctx, stop := context.WithCancel(t.Context())
	var (
		ok, unavailable atomic.Int64
		slowest         atomic.Int64
		wg              sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				start := time.Now()
				b, err := counter.Reserve(context.Background(), core.ReserveRequest{Size: 1})
				d := time.Since(start)
				for {
					cur := slowest.Load()
					if int64(d) <= cur || slowest.CompareAndSwap(cur, int64(d)) {
						break
					}
				}
				switch {
				case err == nil && b.First > 1000:
					ok.Add(1)
				case errors.Is(err, core.ErrUnavailable):
					unavailable.Add(1)
				default:
					t.Errorf("Reserve = %+v, %v", b, err)
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	killed := time.Now()
	sigkill(t, before.PID)
	after := waitRestarted(t, h, "counter", 1, 2*time.Second)
	recovery := time.Since(killed)
	okAtRecovery := ok.Load()
	time.Sleep(100 * time.Millisecond)
	stop()
	wg.Wait()

	if after.PID == before.PID {
		t.Errorf("PID after restart = %d, the killed one", after.PID)
	}
	if unavailable.Load() == 0 {
		t.Errorf("no call saw ErrUnavailable while the plugin was down")
	}
	if ok.Load() <= okAtRecovery {
		t.Errorf("no call succeeded after the restart")
	}
	if d := time.Duration(slowest.Load()); d > 500*time.Millisecond {
		t.Errorf("slowest Reserve took %v, want the failure to be fast", d)
	}
	if got := metricValue(t, reg, "curtain_plugin_restarts_total", map[string]string{"kind": "counter", "plugin": "counter"}); got != 1 {
		t.Errorf("curtain_plugin_restarts_total = %v, want 1", got)
	}
	t.Logf("recovered in %v; %d calls ok, %d unavailable, slowest %v", recovery, ok.Load(), unavailable.Load(), time.Duration(slowest.Load()))
}

// idShard wraps a click shard and logs the click ids it accepted.
type idShard struct {
	core.ClickShard
	name string
	log  *clickLog
}

func (s idShard) Record(ctx context.Context, clicks []core.Click) error {
	if err := s.ClickShard.Record(ctx, clicks); err != nil {
		return err
	}
	s.log.add(s.name, clicks)
	return nil
}

// TestHostShardKilledUnderLoad kills a click-shard plugin while clicks
// flow through the batcher: its clicks fail over to the other shard,
// nothing is lost, and the plugin is back within 2 s and takes clicks
// again.
func TestHostShardKilledUnderLoad(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newTestHost(t, Config{Plugins: []PluginConfig{
		memoryPlugin(sdk.KindClickShard),
		memoryPlugin(sdk.KindClickShard),
	}}, Options{Registry: reg})
	var log clickLog
	var shards []core.NamedShard
	for _, s := range h.Shards() {
		shards = append(shards, core.NamedShard{Name: s.Name, Shard: idShard{ClickShard: s.Shard, name: s.Name, log: &log}})
	}
	codes := []string{"000001", "000002", "0000wh", "d5DnL5", "KZ6mAC", "Bfczqz", "abc123", "click1", "sc0001", "xyz999"}
	ids := map[string]int64{}
	for i, c := range codes {
		ids[c] = int64(i + 1)
	}
	store := mapStore(&log, ids)
	b, err := NewClickBatcher(shards, store, BatcherConfig{BatchSize: 32, FlushInterval: 2 * time.Millisecond}, Options{Logger: testLogger(t), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}

	var next atomic.Int64
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				n := next.Add(1)
				c := core.Click{ID: fmt.Sprintf("c%06d", n), Code: codes[n%int64(len(codes))], Visitor: "v", At: time.Now().UTC()}
				if err := b.Record(context.Background(), c); err != nil {
					t.Errorf("Record: %v", err)
					return
				}
				time.Sleep(200 * time.Microsecond)
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	victim := statusOf(t, h, "shard0")
	killed := time.Now()
	sigkill(t, victim.PID)
	waitRestarted(t, h, "shard0", 1, 2*time.Second)
	recovery := time.Since(killed)
	sentAtRecovery := len(log.ids()["shard0"])
	// The batcher rests a failing shard up to maxShardRest before it
	// tries it again.
	time.Sleep(maxShardRest + 200*time.Millisecond)
	stop()
	wg.Wait()
	closeBatcher(t, b)

	total := int(next.Load())
	// A worker's last id may not have been recorded if it stopped between
	// taking the id and recording: count what was recorded instead.
	var got []string
	for _, ids := range log.ids() {
		got = append(got, ids...)
	}
	sort.Strings(got)
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Errorf("click %s delivered twice", id)
		}
		seen[id] = true
	}
	missing := 0
	for n := 1; n <= total; n++ {
		if !seen[fmt.Sprintf("c%06d", n)] {
			missing++
		}
	}
	// Up to one id per worker is taken but never recorded.
	if missing > 4 {
		t.Errorf("%d of %d clicks lost", missing, total)
	}
	if got := metricValue(t, reg, "curtain_clicks_failed_total", map[string]string{"reason": "shutdown"}); got != 0 {
		t.Errorf("clicks lost at shutdown = %v", got)
	}
	if got := metricValue(t, reg, "redis_shard_failovers_total", map[string]string{"from_shard": "shard0", "to_shard": "shard1"}); got == 0 {
		t.Errorf("no failover from shard0 to shard1 recorded")
	}
	if n := len(log.ids()["shard0"]); n <= sentAtRecovery {
		t.Errorf("shard0 took no clicks after its restart (%d before, %d after)", sentAtRecovery, n)
	}

	// What the surviving shard acknowledged is in its stream.
	deliveries, err := h.Shards()[1].Shard.Read(t.Context(), core.ReadRequest{Group: "g", Consumer: "c", Count: total + 10})
	if err != nil {
		t.Fatalf("Read shard1: %v", err)
	}
	var streamed []string
	for _, d := range deliveries {
		streamed = append(streamed, d.Click.ID)
	}
	sort.Strings(streamed)
	if diff := cmp.Diff(log.ids()["shard1"], streamed); diff != "" {
		t.Errorf("shard1 stream vs accepted clicks (-want +got):\n%s", diff)
	}
	t.Logf("recovered in %v; %d clicks: %v", recovery, total, func() map[string]int {
		out := map[string]int{}
		for k, v := range log.ids() {
			out[k] = len(v)
		}
		return out
	}())
}

// TestHostBackendDown runs a plugin whose health check reports its
// backing service down: it is reported unhealthy but not restarted, and
// its calls still reach it.
func TestHostBackendDown(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newTestHost(t, Config{Plugins: []PluginConfig{{Kind: sdk.KindCounter, Builtin: "sick"}}, HealthInterval: 50 * time.Millisecond}, Options{Registry: reg})
	deadline := time.Now().Add(2 * time.Second)
	for statusOf(t, h, "counter").Healthy {
		if time.Now().After(deadline) {
			t.Fatal("a plugin reporting NOT_SERVING is still healthy after 2s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // several more checks
	if s := statusOf(t, h, "counter"); s.Restarts != 0 || s.Healthy || s.PID == 0 || s.State != StateRunning ||
		!strings.Contains(s.Reason, "NOT_SERVING") {
		t.Errorf("Status = %+v, want unhealthy (NOT_SERVING), running, not restarted", s)
	}
	if got := metricValue(t, reg, "curtain_plugin_up", map[string]string{"kind": "counter", "plugin": "counter"}); got != 0 {
		t.Errorf("curtain_plugin_up = %v, want 0", got)
	}
	if _, err := h.Counter().Reserve(t.Context(), core.ReserveRequest{Size: 1}); err != nil {
		t.Errorf("Reserve on an unhealthy plugin: %v", err)
	}
}

func TestHostClose(t *testing.T) {
	h, err := New(Config{Plugins: []PluginConfig{memoryPlugin(sdk.KindCounter), memoryPlugin(sdk.KindCache)}},
		Options{SelfExec: []string{testPlugin}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, s := range h.Status() {
		pids = append(pids, s.PID)
	}
	if err := h.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("plugin process %d still exists after Close (kill 0: %v)", pid, err)
		}
	}
	if _, err := h.Counter().Reserve(t.Context(), core.ReserveRequest{Size: 1}); !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Reserve after Close = %v, want ErrUnavailable", err)
	}
}

func TestHostReattach(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	rc, done, err := sdk.ServeTest(ctx, sdk.Plugin{Name: "inproc", Version: "1", Counter: memory.NewCounter(), Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		<-done
	})
	js, err := json.Marshal(map[string]any{
		"Protocol": rc.Protocol, "ProtocolVersion": rc.ProtocolVersion, "Pid": rc.Pid, "Test": rc.Test,
		"Addr": map[string]string{"Network": rc.Addr.Network(), "String": rc.Addr.String()},
	})
	if err != nil {
		t.Fatal(err)
	}
	// go-plugin's goroutines of a test-mode plugin outlive Close; keep
	// their logs out of the test's output.
	h := newTestHost(t, Config{Plugins: []PluginConfig{{Kind: sdk.KindCounter, Reattach: string(js)}}}, Options{Logger: slog.New(slog.DiscardHandler)})
	if _, err := h.Counter().Reserve(t.Context(), core.ReserveRequest{Size: 1}); err != nil {
		t.Errorf("Reserve through a reattached plugin: %v", err)
	}
	if got := statusOf(t, h, "counter"); got.Source != "reattach" || got.Version != "1" {
		t.Errorf("Status = %+v, want a reattached plugin of version 1", got)
	}
}

// TestStartHonoursContext: a start-up whose context has ended fails and
// leaves no plugin process running.
func TestStartHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	h, err := Start(ctx, Config{Plugins: []PluginConfig{memoryPlugin(sdk.KindCounter)}},
		Options{SelfExec: []string{testPlugin}, Logger: testLogger(t)})
	if err == nil {
		h.Close(context.Background())
		t.Fatal("Start with an ended context succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Start with an ended context = %v, want context.Canceled", err)
	}
	// (No test of the package runs in parallel: every test plugin
	// process is gone once its host is.)
	if left := testenv.WaitGone(testenv.Processes(testPlugin), 5*time.Second); len(left) > 0 {
		t.Errorf("test plugin processes %v still run after the abandoned start", left)
	}
}
