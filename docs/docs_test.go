package docs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// DocBase is the address the documents use for Curtain; the test
// substitutes the address of the server it starts.
const DocBase = "http://localhost:5000"

// block is a fenced code block of a document.
type block struct {
	info string // the info string after the fence, such as "sh run"
	text string
	line int // the line of the opening fence
}

// blocks returns the fenced code blocks of a Markdown document.
func blocks(doc string) []block {
	var out []block
	var cur *block
	sc := bufio.NewScanner(strings.NewReader(doc))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```"):
			cur = &block{info: strings.TrimSpace(strings.TrimPrefix(trimmed, "```")), line: n}
		case cur != nil && trimmed == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	return out
}

// step is a runnable block and the shape its output must have, if any.
type step struct {
	run   block
	shape *block
}

// steps pairs each `sh run` block with a `json shape` block that follows it
// directly.
func steps(bs []block) []step {
	var out []step
	for i, b := range bs {
		if b.info != "sh run" {
			continue
		}
		s := step{run: b}
		if i+1 < len(bs) && bs[i+1].info == "json shape" {
			s.shape = &bs[i+1]
		}
		out = append(out, s)
	}
	return out
}

// shapeDiff compares the JSON shapes of got and want: the same types, the
// same object keys, array elements like the documented first one. A key
// documented with a trailing "?" may be absent. An object documented with a
// "..." key may have more keys, each shaped like the documented value of
// "...".
func shapeDiff(path string, got, want any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %s, documented an object", path, kind(got))}
		}
		var diffs []string
		more, open := w["..."]
		for k, wv := range w {
			if k == "..." {
				continue
			}
			name, optional := strings.CutSuffix(k, "?")
			gv, ok := g[name]
			if !ok && optional {
				continue
			}
			if !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s: documented, missing in the response", path, k))
				continue
			}
			diffs = append(diffs, shapeDiff(path+"."+name, gv, wv)...)
		}
		keys := make([]string, 0, len(g))
		for k := range g {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if _, ok := w[k]; ok {
				continue
			}
			if _, ok := w[k+"?"]; ok {
				continue
			}
			if !open {
				diffs = append(diffs, fmt.Sprintf("%s.%s: in the response, not documented", path, k))
				continue
			}
			diffs = append(diffs, shapeDiff(path+"."+k, g[k], more)...)
		}
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %s, documented an array", path, kind(got))}
		}
		if len(w) == 0 {
			return nil
		}
		var diffs []string
		for i, gv := range g {
			diffs = append(diffs, shapeDiff(fmt.Sprintf("%s[%d]", path, i), gv, w[0])...)
		}
		return diffs
	default:
		if kind(got) != kind(want) {
			return []string{fmt.Sprintf("%s: got %s, documented %s", path, kind(got), kind(want))}
		}
		return nil
	}
}

// errorDiff compares an error envelope's message: an error the documents
// show ({"error": "..."}) is the one the program answers, word for word,
// since clients match on it.
func errorDiff(got, want any) []string {
	w, ok := want.(map[string]any)
	if !ok || len(w) != 1 {
		return nil
	}
	msg, ok := w["error"].(string)
	if !ok {
		return nil
	}
	g, _ := got.(map[string]any)
	if g["error"] != msg {
		return []string{fmt.Sprintf("$.error: got %q, documented %q", g["error"], msg)}
	}
	return nil
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// curtain is a running `curtain serve` on the embedded default.
type curtain struct {
	dir, base, bin string
	env            []string // the deployment's variables, also given to the blocks
}

var curtainBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "curtain-docs-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	curtainBin = filepath.Join(dir, "curtain")
	build := exec.Command("go", "build", "-o", curtainBin, "../cmd/curtain")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build curtain:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startCurtain serves the embedded default from a new directory and stops
// it when the test ends; with topology it serves PostgreSQL and Redis
// instead (see startTopology), and the blocks see the same variables.
func startCurtain(t *testing.T, topology, reference bool) *curtain {
	t.Helper()
	addr := freeAddr(t)
	c := &curtain{dir: t.TempDir(), base: "http://" + addr, bin: filepath.Dir(curtainBin)}
	if topology {
		c.env = startTopology(t)
	}
	if reference {
		leaveReferenceData(t, c.env)
	}
	cmd := exec.Command(curtainBin, "serve", "--addr", addr)
	cmd.Dir = c.dir
	// Root codes and one domain are on, so that api-examples.md can show
	// GET /{code} and a domain's not-found target; they change nothing
	// else the documents show (only one-segment paths that are no route).
	cmd.Env = append(append(os.Environ(), "HOSTNAME=docs-host", "ENABLE_INCIDENT_DEBUG_ROUTES=true",
		"CURTAIN_LINKS__ROOT_CODES=true", "CURTAIN_LINKS__DOMAINS=go.example=https://example.com/missing"), c.env...)
	startUntilOK(t, cmd, c.base+"/health")
	return c
}

// startUntilOK starts cmd, stops it (interrupt, then kill after 20 s)
// when the test ends, and waits up to 30 s for url to answer 200; the
// process's output is in the failure.
func startUntilOK(t *testing.T, cmd *exec.Cmd, url string) {
	t.Helper()
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatalf("%s did not answer %s with 200 within 30 s:\n%s", strings.Join(cmd.Args, " "), url, logs.String())
}

// run runs a block with bash in the server's directory, with the curtain
// binary first on PATH and the documents' base URL replaced by the
// server's.
func (c *curtain) run(t *testing.T, text string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	script := strings.ReplaceAll(text, DocBase, c.base)
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = c.dir
	cmd.Env = append(append(os.Environ(), c.env...), "PATH="+c.bin+string(os.PathListSeparator)+os.Getenv("PATH"), "CURTAIN_URL="+c.base)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("%w\nstderr:\n%s", err, stderr.String())
	}
	return stdout.String(), nil
}

// TestRunnableBlocks runs every `sh run` block of every document against a
// Curtain of its own per document, in document order, and checks each
// documented response shape. A document holding the marker
// topologyMarker gets a Curtain on PostgreSQL and Redis.
func TestRunnableBlocks(t *testing.T) {
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	blocksRun, commandsRun := 0, 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ss := steps(blocks(string(data)))
		if len(ss) == 0 {
			continue
		}
		t.Run(strings.TrimSuffix(f, ".md"), func(t *testing.T) {
			topology := strings.Contains(string(data), topologyMarker)
			reference := strings.Contains(string(data), referenceMarker)
			if topology && testing.Short() {
				t.Skip("needs PostgreSQL and redis-server")
			}
			c := startCurtain(t, topology, reference)
			for _, s := range ss {
				blocksRun++
				commandsRun += len(commands(s.run.text))
				out, err := c.run(t, s.run.text)
				if err != nil {
					t.Errorf("%s:%d: %v\n%s", f, s.run.line, err, s.run.text)
					continue
				}
				if s.shape == nil {
					continue
				}
				var want, got any
				if err := json.Unmarshal([]byte(s.shape.text), &want); err != nil {
					t.Errorf("%s:%d: the documented shape is not JSON: %v", f, s.shape.line, err)
					continue
				}
				if err := json.Unmarshal([]byte(out), &got); err != nil {
					t.Errorf("%s:%d: the output is not JSON: %v\n%s", f, s.run.line, err, out)
					continue
				}
				for _, d := range append(shapeDiff("$", got, want), errorDiff(got, want)...) {
					t.Errorf("%s:%d: %s", f, s.run.line, d)
				}
			}
			if reference {
				checkReferenceAdopted(t, c)
			}
		})
	}
	t.Logf("%d runnable blocks executed, %d commands", blocksRun, commandsRun)
	fmt.Printf("docs: %d runnable blocks executed, %d commands\n", blocksRun, commandsRun)
}

func TestShapeDiff(t *testing.T) {
	parse := func(s string) any {
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tt := range []struct {
		got, want string
		diffs     int
	}{
		{`{"a":1,"b":"x"}`, `{"a":2,"b":"y"}`, 0},
		{`{"a":1}`, `{"a":1,"b":"y"}`, 1},
		{`{"a":1,"c":true}`, `{"a":1}`, 1},
		{`{"a":"1"}`, `{"a":1}`, 1},
		{`[{"a":1},{"a":2},{"b":3}]`, `[{"a":0}]`, 2},
		{`{"h":{"x":1,"y":2}}`, `{"h":{"...":0}}`, 0},
		{`{"h":{"x":1,"y":"2"}}`, `{"h":{"...":0}}`, 1},
		{`[]`, `[{"a":1}]`, 0},
		{`null`, `{"a":1}`, 1},
		{`{"a":1}`, `{"a":1,"b?":"x"}`, 0},
		{`{"a":1,"b":"x"}`, `{"a":1,"b?":"x"}`, 0},
		{`{"a":1,"b":2}`, `{"a":1,"b?":"x"}`, 1},
	} {
		if d := shapeDiff("$", parse(tt.got), parse(tt.want)); len(d) != tt.diffs {
			t.Errorf("shapeDiff(%s, %s) = %v, want %d differences", tt.got, tt.want, d, tt.diffs)
		}
	}
	for _, tt := range []struct {
		got, want string
		diffs     int
	}{
		{`{"error":"Not found"}`, `{"error": "Not found"}`, 0},
		{`{"error":"Field 'x' is bad"}`, `{"error": "x is bad"}`, 1},
		{`{"a":"b"}`, `{"error": "x"}`, 1},
		{`{"error":"y","id":1}`, `{"error": "x", "id": 1}`, 0}, // not an envelope
	} {
		if d := errorDiff(parse(tt.got), parse(tt.want)); len(d) != tt.diffs {
			t.Errorf("errorDiff(%s, %s) = %v, want %d differences", tt.got, tt.want, d, tt.diffs)
		}
	}
}
