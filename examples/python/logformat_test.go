package python_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// goPluginTimestamp is the layout go-plugin (v1.8, log_entry.go) parses a
// plugin's "@timestamp" with; a line whose timestamp does not match is not
// read as JSON and is filed whole at debug level.
const goPluginTimestamp = "2006-01-02T15:04:05.000000Z07:00"

// checkLogLine fails unless line is a log line the host files at its
// level: a JSON object whose @level and @message are strings and whose
// @timestamp, when present, parses as go-plugin parses it.
func checkLogLine(t *testing.T, what, line string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("%s %q is not a JSON object: %v", what, line, err)
	}
	for _, k := range []string{"@level", "@message"} {
		if _, ok := m[k].(string); !ok {
			t.Errorf("%s %q: %s is %T, want a string", what, line, k, m[k])
		}
	}
	if v, ok := m["@timestamp"]; ok {
		s, _ := v.(string)
		if _, err := time.Parse(goPluginTimestamp, s); err != nil {
			t.Errorf("%s %q: @timestamp does not parse as go-plugin parses it (%s): %v", what, line, goPluginTimestamp, err)
		}
	}
}

// TestLogLinesParseAsTheHostDoes checks the log line docs/plugins.md shows
// and one the Python example writes at a whole second (where Python's
// isoformat() leaves the fraction out).
func TestLogLinesParseAsTheHostDoes(t *testing.T) {
	doc, err := os.ReadFile("../../docs/plugins.md")
	if err != nil {
		t.Fatal(err)
	}
	example := regexp.MustCompile("`(\\{\"@level\"[^`]*\\})`").FindSubmatch(doc)
	if example == nil {
		t.Fatal(`docs/plugins.md shows no log line ({"@level":…})`)
	}
	checkLogLine(t, "docs/plugins.md's log line", string(example[1]))

	if testing.Short() {
		return
	}
	script := `
import datetime as dt, sys
sys.path.insert(0, ".")
import curtain_plugin
class At(dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return dt.datetime(2026, 12, 5, 17, 0, 0, tzinfo=tz)
curtain_plugin.datetime = type("m", (), {"datetime": At, "timezone": dt.timezone})
curtain_plugin.log("info", "started", key="value")
`
	cmd := exec.Command("/usr/bin/python3", "-c", script)
	cmd.Env = append(os.Environ(), "CURTAIN_PLUGIN_LOG_LEVEL=info")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.String())
	}
	checkLogLine(t, "curtain_plugin.log's line", strings.TrimSpace(stderr.String()))
}
