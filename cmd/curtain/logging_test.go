package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/curtainhq/curtain/cmd/curtain/config"
)

func TestLoggerReferenceKeys(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(config.Log{Level: "info", Format: "json"}, "app-1", &buf)
	log.With("component", "http").Warn("request.failed", "error", errors.New("boom").Error())
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q is not JSON: %v", buf.String(), err)
	}
	want := map[string]any{"level": "WARNING", "logger": "curtain", "message": "request.failed",
		"instance": "app-1", "component": "http", "error": "boom"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log key %q = %v, want %v (line %s)", k, line[k], v, buf.String())
		}
	}
	for _, k := range []string{"time", "msg"} {
		if _, ok := line[k]; ok {
			t.Errorf("log line has slog's key %q: %s", k, buf.String())
		}
	}
	ts, _ := line["timestamp"].(string)
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$`).MatchString(ts) {
		t.Errorf("timestamp = %q, want UTC with microseconds and +00:00", ts)
	}
}

// logKeys returns the keys of one JSON log line in order, repeats
// included (a map would hide them).
func logKeys(t *testing.T, line string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("log line %q is not a JSON object: %v", line, err)
	}
	var keys []string
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		keys = append(keys, key.(string))
	}
	return keys
}

// TestServeLogLinesHaveUniqueKeys: every JSON line curtain serve logs
// names each key once (log pipelines keep only one of two equal keys),
// serve.listening included, which names the instance through the logger.
func TestServeLogLinesHaveUniqueKeys(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(), "CURTAIN_HTTP__ACCESS_LOG=true")
	s.do(t, "GET", "/health", "")
	s.stop(t)
	listening := 0
	for _, line := range strings.Split(strings.TrimSpace(s.logs.String()), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		keys := logKeys(t, line)
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k] {
				t.Errorf("key %q appears twice in %s", k, line)
			}
			seen[k] = true
		}
		if strings.Contains(line, `"message":"serve.listening"`) {
			listening++
			if !strings.Contains(line, `"instance":"probe-host"`) {
				t.Errorf("serve.listening does not name the instance: %s", line)
			}
		}
	}
	if listening != 1 {
		t.Errorf("%d serve.listening lines, want 1:\n%s", listening, s.logs)
	}
}

// TestTextLoggerNamesInstance: text lines name the instance too, so that
// no line adds it itself.
func TestTextLoggerNamesInstance(t *testing.T) {
	var buf bytes.Buffer
	newLogger(config.Log{Level: "info", Format: "text"}, "app-1", &buf).Info("serve.listening", "addr", "127.0.0.1:5000")
	if got := buf.String(); strings.Count(got, "instance=app-1") != 1 {
		t.Errorf("text line %q, want instance=app-1 once", got)
	}
}
