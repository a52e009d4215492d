package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// maxLogLine is the longest stderr line a plugin's log keeps whole; a
// longer one is logged raw, at debug level, in pieces of this size.
const maxLogLine = 64 << 10

// RouteLogs makes cc log the plugin process's stderr through l without
// go-plugin's parser: that parser (v1.8) asserts that a JSON line's
// @message, @level and @timestamp are strings and panics, killing the
// host, on a line where one is not. go-plugin skips parsing for a logger
// that reports itself off (GetLevel) and hands every raw line to
// cc.Stderr, where a tolerant parser logs it through l instead, named
// after the executable as go-plugin names it. Call it after LaunchConfig,
// for a configuration that starts a process (cc.Cmd set).
func RouteLogs(cc *plugin.ClientConfig, l hclog.Logger) {
	cc.Logger = parsingOff{l}
	name := "plugin"
	if cc.Cmd != nil {
		name = filepath.Base(cc.Cmd.Path)
	}
	cc.Stderr = &stderrLog{l: l.Named(name)}
}

// shorten cuts text to at most n bytes (and a rune boundary), marking the cut.
func shorten(text string, n int) string {
	if len(text) <= n {
		return text
	}
	return strings.ToValidUTF8(text[:n], "") + "…"
}

// stderrTailLines is how many of its last stderr lines StderrTail keeps.
const stderrTailLines = 3

// StderrTail returns the last few lines (3, joined by " | ") the process
// started with cc wrote on stderr, for a configuration prepared by
// RouteLogs; "" if it wrote none. Complete once the client was killed:
// a plugin that exits before its handshake line has usually said why
// there (a Python traceback), at a level the host does not show.
func StderrTail(cc *plugin.ClientConfig) string {
	s, ok := cc.Stderr.(*stderrLog)
	if !ok {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.tail, " | ")
}

// parsingOff reports itself off to go-plugin, which then does not parse
// plugin lines; everything else goes to the wrapped logger, and the
// loggers it derives are wrapped too.
type parsingOff struct{ hclog.Logger }

func (p parsingOff) GetLevel() hclog.Level          { return hclog.Off }
func (p parsingOff) Named(name string) hclog.Logger { return parsingOff{p.Logger.Named(name)} }
func (p parsingOff) ResetNamed(name string) hclog.Logger {
	return parsingOff{p.Logger.ResetNamed(name)}
}
func (p parsingOff) With(args ...any) hclog.Logger { return parsingOff{p.Logger.With(args...)} }

// stderrLog logs the lines written to it as go-plugin would, without
// trusting their shape: hclog's JSON lines at their level, with their
// message and fields; other lines at debug level, or at the level of a
// "[LEVEL]" prefix; a Go panic and everything after it at error level.
type stderrLog struct {
	l hclog.Logger

	mu      sync.Mutex
	buf     []byte
	inPanic bool
	tail    []string // the last stderrTailLines lines, for StderrTail
}

func (s *stderrLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf, p...)
	for {
		i := bytes.IndexByte(s.buf, '\n')
		if i < 0 {
			break
		}
		s.line(s.buf[:i])
		s.buf = s.buf[i+1:]
	}
	for len(s.buf) > maxLogLine {
		s.l.Debug(string(s.buf[:maxLogLine]))
		s.buf = s.buf[maxLogLine:]
	}
	s.buf = append([]byte(nil), s.buf...) // keep no more than the rest
	return len(p), nil
}

// line logs one line of the plugin's stderr.
func (s *stderrLog) line(b []byte) {
	text := strings.TrimSuffix(string(b), "\r")
	if text == "" {
		return
	}
	if len(s.tail) == stderrTailLines {
		s.tail = s.tail[1:]
	}
	s.tail = append(s.tail, shorten(strings.TrimSpace(text), 300))
	var fields map[string]any
	if strings.HasPrefix(text, "{") && json.Unmarshal(b, &fields) == nil {
		s.jsonLine(text, fields)
		return
	}
	switch {
	case strings.HasPrefix(text, "[TRACE]"):
		s.l.Trace(text)
	case strings.HasPrefix(text, "[DEBUG]"):
		s.l.Debug(text)
	case strings.HasPrefix(text, "[INFO]"):
		s.l.Info(text)
	case strings.HasPrefix(text, "[WARN]"):
		s.l.Warn(text)
	case strings.HasPrefix(text, "[ERROR]"):
		s.l.Error(text)
	case strings.HasPrefix(text, "panic: "), strings.HasPrefix(text, "fatal error: "):
		s.inPanic = true
		s.l.Error(text)
	case s.inPanic:
		s.l.Error(text)
	default:
		s.l.Debug(text)
	}
}

// jsonLine logs an hclog JSON line. A line without a @level is not
// hclog's: it is logged verbatim at debug level. A @message or @level
// that is not a string is logged as its JSON text; @timestamp is dropped
// (the host stamps its own time).
func (s *stderrLog) jsonLine(text string, fields map[string]any) {
	level := hclog.NoLevel
	if v, ok := fields["@level"]; ok {
		level = hclog.LevelFromString(asText(v))
	}
	if level == hclog.NoLevel {
		s.l.Debug(text)
		return
	}
	msg := asText(fields["@message"])
	var args []any
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		switch k {
		case "@level", "@message", "@timestamp":
			continue
		}
		args = append(args, k, fields[k])
	}
	s.l.Log(level, msg, args...)
}

// asText returns a JSON value as text: a string as itself, anything else
// as its JSON encoding, nothing as "".
func asText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	}
}
