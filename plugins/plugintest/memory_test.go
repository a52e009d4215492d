package plugintest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/memory"
	"github.com/curtainhq/curtain/plugins/plugintest"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// Environment of the helper processes: serveEnv names what to serve,
// alertsEnv the file a served alert sink appends received alerts to.
const (
	serveEnv  = "CURTAIN_PLUGINTEST_SERVE"
	alertsEnv = "CURTAIN_PLUGINTEST_ALERTS"
)

func TestMain(m *testing.M) {
	if what := os.Getenv(serveEnv); what != "" {
		serveHelper(what)
		return
	}
	os.Exit(m.Run())
}

// serveHelper is the main of a helper plugin process.
func serveHelper(what string) {
	p := sdk.Plugin{Name: "memory-" + what, Version: "0.0.0-test"}
	switch what {
	case sdk.KindCounter:
		p.Counter = memory.NewCounter()
	case sdk.KindClickShard:
		p.ClickShard = memory.NewClickShard()
	case sdk.KindCache:
		p.Cache = memory.NewCache()
	case sdk.KindAlertSink:
		p.AlertSink = &fileSink{sink: memory.NewAlertSink(), path: os.Getenv(alertsEnv)}
	case "faulty":
		p.Name = "faulty-counter"
		p.Counter = &faultyCounter{Counter: memory.NewCounter()}
	default:
		fmt.Fprintf(os.Stderr, "unknown helper plugin %q\n", what)
		os.Exit(2)
	}
	sdk.Serve(p)
}

// fileSink is a memory sink that also appends what it receives to a file
// as JSON lines, so that the test process can see it.
type fileSink struct {
	mu   sync.Mutex
	sink *memory.AlertSink
	path string
}

func (s *fileSink) Send(ctx context.Context, alerts []core.Alert) error {
	if err := s.sink.Send(ctx, alerts); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(s.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open alert log: %w", err)
	}
	enc := json.NewEncoder(f)
	for _, a := range alerts {
		if err := enc.Encode(a); err != nil {
			f.Close()
			return fmt.Errorf("write alert log: %w", err)
		}
	}
	return f.Close()
}

func readAlertLog(t *testing.T, path string) []core.Alert {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("open alert log: %v", err)
	}
	defer f.Close()
	var out []core.Alert
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var a core.Alert
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("decode alert log line %q: %v", sc.Text(), err)
		}
		out = append(out, a)
	}
	return out
}

// faultyCounter fails Reserve on chosen floors, takes a "limit" setting
// and reports its backing service down, to test the SDK across a real
// process boundary.
type faultyCounter struct {
	*memory.Counter
}

// Floors that make faultyCounter.Reserve fail.
const (
	floorNotFound    = -1
	floorUnavailable = -2
	floorValidation  = -3
	floorConflict    = -4
	floorReference   = -5
	floorPlain       = -6
)

func (c *faultyCounter) Reserve(ctx context.Context, req core.ReserveRequest) (core.Block, error) {
	switch req.Floor {
	case floorNotFound:
		return core.Block{}, fmt.Errorf("load counter %q: %w", "ids", core.ErrNotFound)
	case floorUnavailable:
		return core.Block{}, fmt.Errorf("dial backend: %w", core.ErrUnavailable)
	case floorValidation:
		return core.Block{}, &core.ValidationError{Field: "floor", Message: "floor must not be -3"}
	case floorConflict:
		return core.Block{}, core.ErrConflict
	case floorReference:
		return core.Block{}, core.ErrReference
	case floorPlain:
		return core.Block{}, errors.New("disk on fire")
	}
	return c.Counter.Reserve(ctx, req)
}

func (c *faultyCounter) Configure(ctx context.Context, settings []byte) error {
	var s struct {
		Limit *int `json:"limit"`
	}
	if len(settings) == 0 {
		return nil // no settings: the defaults
	}
	if err := json.Unmarshal(settings, &s); err != nil {
		return sdk.InvalidSetting("", "not a JSON object: %v", err)
	}
	if s.Limit != nil && *s.Limit < 0 {
		return sdk.InvalidSetting("limit", "must be at least 0, got %d", *s.Limit)
	}
	return nil
}

func (c *faultyCounter) Ping(ctx context.Context) error {
	return fmt.Errorf("ping backend: %w", core.ErrUnavailable)
}

func TestMemoryInProcess(t *testing.T) {
	t.Run("Counter", func(t *testing.T) {
		plugintest.Counter(t, func(*testing.T) core.Counter { return memory.NewCounter() })
	})
	t.Run("ClickShard", func(t *testing.T) {
		plugintest.ClickShard(t, func(*testing.T) core.ClickShard { return memory.NewClickShard() })
	})
	t.Run("Cache", func(t *testing.T) {
		plugintest.Cache(t, func(*testing.T) core.Cache { return memory.NewCache() })
	})
	t.Run("AlertSink", func(t *testing.T) {
		plugintest.AlertSink(t, func(*testing.T) (core.AlertSink, func() []core.Alert) {
			s := memory.NewAlertSink()
			return s, s.Alerts
		})
	})
}

// startHelper starts a helper plugin process serving what.
func startHelper(t *testing.T, kind, what string, env ...string) sdk.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("plugin processes skipped in -short mode")
	}
	c, _ := plugintest.Start(t, kind, plugintest.SelfCommand(append(env, serveEnv+"="+what)...), nil)
	return c
}

func TestMemoryOverPluginProcess(t *testing.T) {
	t.Run("Counter", func(t *testing.T) {
		plugintest.Counter(t, func(t *testing.T) core.Counter {
			return startHelper(t, sdk.KindCounter, sdk.KindCounter).(core.Counter)
		})
	})
	t.Run("ClickShard", func(t *testing.T) {
		plugintest.ClickShard(t, func(t *testing.T) core.ClickShard {
			return startHelper(t, sdk.KindClickShard, sdk.KindClickShard).(core.ClickShard)
		})
	})
	t.Run("Cache", func(t *testing.T) {
		plugintest.Cache(t, func(t *testing.T) core.Cache {
			return startHelper(t, sdk.KindCache, sdk.KindCache).(core.Cache)
		})
	})
	t.Run("AlertSink", func(t *testing.T) {
		plugintest.AlertSink(t, func(t *testing.T) (core.AlertSink, func() []core.Alert) {
			path := filepath.Join(t.TempDir(), "alerts.jsonl")
			c := startHelper(t, sdk.KindAlertSink, sdk.KindAlertSink, alertsEnv+"="+path)
			return c.(core.AlertSink), func() []core.Alert { return readAlertLog(t, path) }
		})
	})
}

func TestMemoryServedInProcess(t *testing.T) {
	t.Run("Counter", func(t *testing.T) {
		plugintest.Counter(t, func(t *testing.T) core.Counter {
			return plugintest.Serve(t, sdk.Plugin{Name: "m", Counter: memory.NewCounter()}).(core.Counter)
		})
	})
	t.Run("ClickShard", func(t *testing.T) {
		plugintest.ClickShard(t, func(t *testing.T) core.ClickShard {
			return plugintest.Serve(t, sdk.Plugin{Name: "m", ClickShard: memory.NewClickShard()}).(core.ClickShard)
		})
	})
	t.Run("Cache", func(t *testing.T) {
		plugintest.Cache(t, func(t *testing.T) core.Cache {
			return plugintest.Serve(t, sdk.Plugin{Name: "m", Cache: memory.NewCache()}).(core.Cache)
		})
	})
	t.Run("AlertSink", func(t *testing.T) {
		plugintest.AlertSink(t, func(t *testing.T) (core.AlertSink, func() []core.Alert) {
			s := memory.NewAlertSink()
			return plugintest.Serve(t, sdk.Plugin{Name: "m", AlertSink: s}).(core.AlertSink), s.Alerts
		})
	})
}
