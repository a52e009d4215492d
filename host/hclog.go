package host

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math"

	"github.com/hashicorp/go-hclog"
)

// levelTrace is the slog level of hclog's Trace, below Debug.
const levelTrace = slog.LevelDebug - 4

// hclogger bridges hclog, which go-plugin and the plugins log through, into
// the host's slog logger. It is the one place plugin logs enter the host:
// go-plugin parses each JSON line a plugin writes on stderr and calls Log
// with its level, message and key/value pairs.
type hclogger struct {
	l    *slog.Logger
	name string
	args []any
}

var _ hclog.Logger = (*hclogger)(nil)

func newHCLogger(l *slog.Logger) hclog.Logger { return &hclogger{l: l} }

func toSlogLevel(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace:
		return levelTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

func (h *hclogger) Log(level hclog.Level, msg string, args ...any) {
	lvl := toSlogLevel(level)
	ctx := context.Background()
	if !h.l.Enabled(ctx, lvl) {
		return
	}
	attrs := make([]any, 0, len(h.args)+len(args)+2)
	// The host logger names itself under "logger"; go-plugin's name for
	// the plugin (its executable, then its modules) is the line's module.
	if h.name != "" {
		attrs = append(attrs, "module", h.name)
	}
	attrs = append(attrs, h.args...)
	attrs = appendFields(attrs, args)
	h.l.Log(ctx, lvl, msg, attrs...)
}

func (h *hclogger) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hclogger) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hclogger) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hclogger) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hclogger) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hclogger) enabled(level hclog.Level) bool {
	return h.l.Enabled(context.Background(), toSlogLevel(level))
}

func (h *hclogger) IsTrace() bool { return h.enabled(hclog.Trace) }
func (h *hclogger) IsDebug() bool { return h.enabled(hclog.Debug) }
func (h *hclogger) IsInfo() bool  { return h.enabled(hclog.Info) }
func (h *hclogger) IsWarn() bool  { return h.enabled(hclog.Warn) }
func (h *hclogger) IsError() bool { return h.enabled(hclog.Error) }

func (h *hclogger) ImpliedArgs() []any { return h.args }

func (h *hclogger) With(args ...any) hclog.Logger {
	return &hclogger{l: h.l, name: h.name, args: appendFields(append([]any(nil), h.args...), args)}
}

// hostKeys are the keys a host log line writes itself: slog's built-in
// ones, the reference's names for them, and those the host's loggers and
// this bridge add. A plugin's field of one of these names is kept under
// "plugin_" and the name, so that no line repeats a key (log pipelines
// keep one of two equal keys, and a plugin's "level" could win).
var hostKeys = map[string]bool{
	slog.TimeKey: true, slog.LevelKey: true, slog.MessageKey: true,
	"message": true, "logger": true, "instance": true, "kind": true,
	"module": true, "component": true, "executable": true,
}

// appendFields appends hclog's key-value pairs to attrs as slog fields,
// dropping and renaming the keys the host logger already writes.
func appendFields(attrs, args []any) []any {
	for i := 0; i < len(args); i += 2 {
		key, ok := args[i].(string)
		if !ok {
			key = fmt.Sprint(args[i])
		}
		if i+1 >= len(args) {
			return append(attrs, "extra", key)
		}
		// go-plugin adds the plugin's own timestamp; slog has its own.
		if key == "timestamp" {
			continue
		}
		// go-plugin names the executable "plugin", which would shadow the
		// instance name the host logger already carries.
		if key == "plugin" {
			key = "executable"
		} else if hostKeys[key] {
			key = "plugin_" + key
		}
		attrs = append(attrs, key, wholeNumber(args[i+1]))
	}
	return attrs
}

// wholeNumber returns a float64 that holds a whole number as the int64 it
// is: go-plugin decodes a plugin's JSON log line into float64s, and the
// host writes floats as floats (3.0), where the plugin wrote 3.
func wholeNumber(v any) any {
	if f, ok := v.(float64); ok && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	return v
}

func (h *hclogger) Name() string { return h.name }

func (h *hclogger) Named(name string) hclog.Logger {
	if h.name != "" {
		name = h.name + "." + name
	}
	return &hclogger{l: h.l, name: name, args: h.args}
}

func (h *hclogger) ResetNamed(name string) hclog.Logger {
	return &hclogger{l: h.l, name: name, args: h.args}
}

// SetLevel does nothing: the slog handler decides the level.
func (h *hclogger) SetLevel(hclog.Level) {}

// GetLevel returns the lowest level the slog handler keeps, so that
// go-plugin skips parsing plugin lines that would be dropped anyway.
func (h *hclogger) GetLevel() hclog.Level {
	for _, l := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if h.enabled(l) {
			return l
		}
	}
	return hclog.Off
}

func (h *hclogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(opts), "", 0)
}

func (h *hclogger) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return slog.NewLogLogger(h.l.Handler(), slog.LevelInfo).Writer()
}

// pluginLogLevel is the level a plugin process logs at: the lowest the
// host keeps, so that the plugin does not write lines the host drops.
func pluginLogLevel(l *slog.Logger) string {
	level := (&hclogger{l: l}).GetLevel()
	if level == hclog.Off {
		level = hclog.Error // the quietest level a plugin takes
	}
	return level.String()
}
