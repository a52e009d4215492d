package discord

import (
	"strings"
	"time"
	"unicode/utf16"

	"github.com/curtainhq/curtain/core"
)

// Discord's limits on one webhook message.
const (
	// MaxContent bounds a message's content, in characters (Discord counts
	// UTF-16 code units, as JavaScript does).
	MaxContent = 2000
)

// timestampLayout is the reference relay's header time (spec §10.2).
const timestampLayout = "2006-01-02T15:04:05.000000+00:00"

// Line renders one alert as the reference relay did:
// "[FIRING] <alertname> severity=<s> | <summary> | <description>".
func Line(a core.Alert) string {
	status := strings.ToUpper(a.Status)
	if status == "" {
		status = "UNKNOWN"
	}
	name := a.Labels["alertname"]
	if name == "" {
		name = "UnnamedAlert"
	}
	severity := a.Labels["severity"]
	if severity == "" {
		severity = "unknown"
	}
	summary := a.Annotations["summary"]
	if summary == "" {
		summary = name
	}
	line := "[" + status + "] " + name + " severity=" + severity + " | " + summary + " | " + a.Annotations["description"]
	return strings.TrimSpace(line)
}

// Header is the first line of every message: "Curtain alert batch at
// <now>", as the reference relay wrote it.
func Header(now time.Time) string {
	return "Curtain alert batch at " + now.UTC().Format(timestampLayout)
}

// Part is one message of a split batch.
type Part struct {
	// Content is the message text: the header, then one line per alert.
	Content string
	// Lines is how many alert lines it holds.
	Lines int
}

// Split splits the lines of a batch into messages of at most MaxContent
// characters each. Every message starts with header; a line too long for
// one message is cut and ends with "…". Lines stay whole and in order
// otherwise. An empty batch gives one message holding the header.
func Split(header string, lines []string) []Part {
	var out []Part
	cur := Part{Content: header}
	room := MaxContent - length(header) - 1 // one line after the header and its newline
	for _, l := range lines {
		l = cut(l, room)
		if cur.Lines > 0 && length(cur.Content)+1+length(l) > MaxContent {
			out = append(out, cur)
			cur = Part{Content: header}
		}
		cur.Content += "\n" + l
		cur.Lines++
	}
	return append(out, cur)
}

// length counts s in UTF-16 code units, as Discord does.
func length(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// cut shortens s to at most n UTF-16 code units, ending it with "…" when
// it was cut.
func cut(s string, n int) string {
	if length(s) <= n {
		return s
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		w := utf16.RuneLen(r)
		if used+w > n-1 {
			break
		}
		b.WriteRune(r)
		used += w
	}
	return b.String() + "…"
}
