package python_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/curtainhq/curtain/plugins/sdk"
)

// checkLogLine fails unless the host files line as its own level and
// message: it is fed through the stderr reader the host gives go-plugin
// (sdk.RouteLogs) into a JSON logger.
func checkLogLine(t *testing.T, what, line string) {
	t.Helper()
	var in map[string]any
	if err := json.Unmarshal([]byte(line), &in); err != nil {
		t.Fatalf("%s %q is not a JSON object: %v", what, line, err)
	}
	var out strings.Builder
	cc := &plugin.ClientConfig{}
	sdk.RouteLogs(cc, hclog.New(&hclog.LoggerOptions{Output: &out, Level: hclog.Trace, JSONFormat: true}))
	if _, err := cc.Stderr.Write([]byte(line + "\n")); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out.String()), &got); err != nil {
		t.Fatalf("%s %q: the host logged %q: %v", what, line, out.String(), err)
	}
	if got["@level"] != in["@level"] || got["@message"] != in["@message"] {
		t.Errorf("%s %q: the host filed it as %v %q, want %v %q", what, line, got["@level"], got["@message"], in["@level"], in["@message"])
	}
}

// TestLogLinesParseAsTheHostDoes checks the log line docs/plugins.md shows
// and one the Python example writes.
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
