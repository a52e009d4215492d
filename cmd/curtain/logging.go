package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"

	"github.com/curtainhq/curtain/cmd/curtain/config"
)

// timestampLayout is the reference's log timestamp (spec §9.2): UTC with
// microseconds and an explicit +00:00 offset.
const timestampLayout = "2006-01-02T15:04:05.000000+00:00"

// loggerName is the logger key of every line, as the reference's "app".
const loggerName = "curtain"

// newLogger builds the process logger from the log configuration. JSON
// lines carry the reference's keys (spec §9.2): timestamp, level, logger,
// message and instance, then the line's own fields such as component.
// Text lines name the instance too, so no line needs to add it.
func newLogger(cfg config.Log, instance string, w io.Writer) *slog.Logger {
	var level slog.Level
	switch strings.ToLower(cfg.Level) {
	case "debug":
		level = slog.LevelDebug
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts)).With("instance", instance)
	}
	// slog's JSON handler writes its own attributes first, in the order
	// time, level, source, message; the reference's lines name the logger
	// between the level and the message, so the logger takes the source's
	// place (referenceKeys).
	opts.AddSource = true
	opts.ReplaceAttr = referenceKeys
	return slog.New(slog.NewJSONHandler(w, opts)).With("instance", instance)
}

// referenceKeys renames slog's built-in keys to the reference's, formats
// the time and level as it did, and puts the logger name in the source's
// place. slog passes a line's own fields
// through it too, so a field that merely shares a built-in key's name
// (a plugin's "time": "now") must pass without being read as one.
func referenceKeys(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	if a.Value.Kind() == slog.KindFloat64 {
		return slog.Any(a.Key, pyFloat(a.Value.Float64()))
	}
	switch a.Key {
	case slog.SourceKey:
		if _, ok := a.Value.Any().(*slog.Source); ok {
			return slog.String("logger", loggerName)
		}
	case slog.TimeKey:
		if a.Value.Kind() != slog.KindTime {
			return a
		}
		return slog.String("timestamp", a.Value.Time().UTC().Format(timestampLayout))
	case slog.MessageKey:
		a.Key = "message"
	case slog.LevelKey:
		if l, ok := a.Value.Any().(slog.Level); ok && l >= slog.LevelWarn && l < slog.LevelError {
			return slog.String(slog.LevelKey, "WARNING") // Python's name
		}
	}
	return a
}

// pyFloat is a float field written as Python writes floats: a whole
// number keeps its ".0" (duration_ms 78.0, not 78), so that a log store
// that types a field by its first value types it as a float.
type pyFloat float64

func (f pyFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if v == math.Trunc(v) && math.Abs(v) < 1e16 {
		return strconv.AppendFloat(nil, v, 'f', 1, 64), nil
	}
	return json.Marshal(v)
}
