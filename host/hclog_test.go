package host

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
)

// TestPluginLogLinesHaveUniqueKeys checks that a plugin's line, bridged into
// a host logger that already names itself, repeats no JSON key: log
// pipelines keep only one of two equal keys, and which one varies.
func TestPluginLogLinesHaveUniqueKeys(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, nil)).With("logger", "curtain", "instance", "vm", "plugin", "shard0", "kind", "clickshard")
	// A plugin's own fields may carry any name, the host's included.
	newHCLogger(l).Named("curtain").With("plugin", "/bin/curtain").Warn("shard not durable", "timestamp", "x", "problems", "aof off",
		"level", "bogus", "msg", "m", "time", "now", "kind", "mine", "module", "x", "logger", "y", "instance", "z")

	dec := json.NewDecoder(&buf)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("line %q is not a JSON object: %v", buf.String(), err)
	}
	seen := map[string]any{}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if _, dup := seen[key.(string)]; dup {
			t.Errorf("key %q appears twice", key)
		}
		seen[key.(string)] = v
	}
	if seen["logger"] != "curtain" || seen["module"] != "curtain" || seen["executable"] != "/bin/curtain" || seen["problems"] != "aof off" ||
		seen["level"] != "WARN" || seen["kind"] != "clickshard" || seen["plugin_level"] != "bogus" || seen["plugin_kind"] != "mine" {
		t.Errorf("fields = %v", seen)
	}
}

// TestPluginLogNumbers: a whole number in a plugin's JSON line (decoded as
// a float64 by go-plugin) reaches the host logger as an integer, so that
// the host's JSON lines write it as the plugin did (3, not 3.0).
func TestPluginLogNumbers(t *testing.T) {
	kinds := map[string]slog.Kind{}
	h := slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		kinds[a.Key] = a.Value.Kind()
		return a
	}})
	newHCLogger(slog.New(h)).Info("retrying", "attempt", float64(3), "ratio", 0.5)
	if kinds["attempt"] != slog.KindInt64 || kinds["ratio"] != slog.KindFloat64 {
		t.Errorf("field kinds = %v, want attempt an integer and ratio a float", kinds)
	}
}
