package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
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
