package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

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
	// Spec §9.2: "Fields, in this order".
	if keys := logKeys(t, buf.String()); strings.Join(keys[:min(6, len(keys))], ",") != "timestamp,level,logger,message,instance,component" {
		t.Errorf("log keys in the order %v, want timestamp, level, logger, message, instance, component first", keys)
	}
	ts, _ := line["timestamp"].(string)
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$`).MatchString(ts) {
		t.Errorf("timestamp = %q, want UTC with microseconds and +00:00", ts)
	}
}

// TestLoggerFieldNamedTime: a field named "time" that is not a time (a
// plugin's log line may carry one) is logged, not a panic that stops the
// whole process.
func TestLoggerFieldNamedTime(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(config.Log{Level: "info", Format: "json"}, "app-1", &buf)
	log.Info("started", "time", "now")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q is not JSON: %v", buf.String(), err)
	}
	if line["time"] != "now" || line["message"] != "started" {
		t.Errorf("log line = %s, want the field time=now kept beside the timestamp", buf.String())
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
	// The consumer inside serve logs the reference's start lines.
	for _, want := range []string{`"message":"stream_consumer.starting"`, `"message":"stream_consumer.shards_loaded"`, `"shards":["shard0"]`} {
		if !strings.Contains(s.logs.String(), want) {
			t.Errorf("serve's log lacks %s:\n%s", want, s.logs)
		}
	}
}

// TestServeLogsNoConsumerGroupOfMemoryShard: the consumer inside serve,
// on the default memory shard, stores clicks without logging
// consumer_group.created: the memory shard has no stream:clicks:* streams
// to name. The line used to name that key pattern for every shard.
func TestServeLogsNoConsumerGroupOfMemoryShard(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir(), "CURTAIN_CONSUMER__BLOCK=200ms")
	code := createURLs(t, s, 1)[0]
	if resp, _ := s.do(t, "GET", "/r/"+code, ""); resp.StatusCode != 302 {
		t.Fatalf("GET /r/%s = %d", code, resp.StatusCode)
	}
	if !s.logs.waitFor(`"message":"stream.flushed"`, 10*time.Second) {
		t.Fatalf("the click was not stored:\n%s", s.logs)
	}
	s.stop(t)
	if strings.Contains(s.logs.String(), `"message":"consumer_group.created"`) {
		t.Errorf("serve on the memory shard logs consumer_group.created:\n%s", s.logs)
	}
}

// TestConsumeLogsReferenceLines: curtain consume on Redis shards logs the
// stream consumer's lines of spec §9.2, with component stream_consumer:
// starting, shards_loaded, consumer_group.created per shard and
// stream.flushed at INFO.
func TestConsumeLogsReferenceLines(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	t.Parallel()
	tp := newTopology(t, newDatabase(t), 2)
	s := startServer(t, t.TempDir(), tp.env()...)
	codes := createURLs(t, s, 4)
	for _, code := range codes {
		if resp, _ := s.do(t, "GET", "/r/"+code, ""); resp.StatusCode != 302 {
			t.Fatalf("GET /r/%s = %d", code, resp.StatusCode)
		}
	}
	c := startConsumer(t, append(tp.env(), "CURTAIN_CONSUMER__BATCH_SIZE=50"), "c1")
	waitStored(t, tp.dbURL, int64(len(codes)))
	c.logs.waitFor(`"message":"stream.flushed"`, 10*time.Second)
	c.stop(t)
	lines := map[string][]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(c.logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			continue // catch-up progress is plain text
		}
		if m["component"] == "stream_consumer" {
			msg := fmt.Sprint(m["message"])
			lines[msg] = append(lines[msg], m)
		}
	}
	if l := lines["stream_consumer.starting"]; len(l) != 1 || l[0]["batch_size"] != 50.0 || l[0]["block_ms"] != 200.0 {
		t.Errorf("stream_consumer.starting lines = %v, want one with batch_size 50 and block_ms 200", l)
	}
	if l := lines["stream_consumer.shards_loaded"]; len(l) != 1 || fmt.Sprint(l[0]["shards"]) != "[shard0 shard1]" {
		t.Errorf("stream_consumer.shards_loaded lines = %v, want one with shards [shard0 shard1]", l)
	}
	if l := lines["consumer_group.created"]; len(l) != 2 || l[0]["group"] != "pg_writers" || l[0]["stream"] == nil {
		t.Errorf("consumer_group.created lines = %v, want one per shard with stream and group pg_writers", l)
	}
	written := 0.0
	for _, l := range lines["stream.flushed"] {
		if l["level"] != "INFO" || l["shard"] == nil {
			t.Errorf("stream.flushed = %v, want INFO with the shard", l)
		}
		written += l["events_written"].(float64)
	}
	if written != float64(len(codes)) {
		t.Errorf("stream.flushed lines write %v events, want %d:\n%s", written, len(codes), c.logs)
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

// TestLoggerFloatsKeepDecimal: a float field that holds a whole number is
// written 78.0, as the reference (Python) wrote duration_ms, not 78, which
// a log store would type as an integer.
func TestLoggerFloatsKeepDecimal(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(config.Log{Level: "info", Format: "json"}, "app-1", &buf)
	log.Info("request.complete", "duration_ms", 78.0, "small", 0.02, "count", 3)
	for _, want := range []string{`"duration_ms":78.0`, `"small":0.02`, `"count":3`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log line %s, want %s", buf.String(), want)
		}
	}
}
