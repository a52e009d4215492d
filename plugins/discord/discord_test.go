package discord_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/discord"
	"github.com/curtainhq/curtain/plugins/discord/discordtest"
	"github.com/curtainhq/curtain/plugins/plugintest"
	"github.com/curtainhq/curtain/plugins/sdk"
)

func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }

func TestLine(t *testing.T) {
	tests := []struct {
		name  string
		alert core.Alert
		want  string
	}{
		{"reference example", core.Alert{Status: "firing",
			Labels:      map[string]string{"alertname": "CurtainServiceDown", "severity": "critical"},
			Annotations: map[string]string{"summary": "Curtain service is down", "description": "Prometheus has not been able to scrape any Curtain app instance for at least 1 minute."}},
			"[FIRING] CurtainServiceDown severity=critical | Curtain service is down | Prometheus has not been able to scrape any Curtain app instance for at least 1 minute."},
		{"resolved", core.Alert{Status: "resolved", Labels: map[string]string{"alertname": "A", "severity": "warning"},
			Annotations: map[string]string{"summary": "s", "description": "d"}},
			"[RESOLVED] A severity=warning | s | d"},
		{"defaults and empty description keep the trailing bar", core.Alert{},
			"[UNKNOWN] UnnamedAlert severity=unknown | UnnamedAlert |"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := discord.Line(tt.alert); got != tt.want {
				t.Errorf("Line() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	header := discord.Header(time.Date(2026, 4, 4, 18, 4, 50, 300607000, time.UTC))
	if header != "Curtain alert batch at 2026-04-04T18:04:50.300607+00:00" {
		t.Fatalf("Header() = %q", header)
	}
	room := discord.MaxContent - len(header) - 1 // one line of exactly this fits
	tests := []struct {
		name      string
		lines     []string
		wantParts []int // lines per message
	}{
		{"empty batch is the header alone", nil, []int{0}},
		{"one short line", []string{"[FIRING] a"}, []int{1}},
		{"a line filling the message exactly", []string{strings.Repeat("x", room)}, []int{1}},
		{"two lines one character over", []string{strings.Repeat("x", room-10), strings.Repeat("y", 10)}, []int{1, 1}},
		{"two lines exactly at the limit", []string{strings.Repeat("x", room-10), strings.Repeat("y", 9)}, []int{2}},
		{"a line too long is cut", []string{strings.Repeat("z", 5000)}, []int{1}},
		{"emoji count as two", []string{strings.Repeat("🔥", room/2+1)}, []int{1}},
		{"many lines", lines(300, 40), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := discord.Split(header, tt.lines)
			var got []int
			var rebuilt []string
			for _, p := range parts {
				got = append(got, p.Lines)
				if n := utf16Len(p.Content); n > discord.MaxContent {
					t.Errorf("message of %d characters, limit %d", n, discord.MaxContent)
				}
				ls := strings.Split(p.Content, "\n")
				if ls[0] != header {
					t.Errorf("message starts %q, want the header", ls[0])
				}
				if len(ls)-1 != p.Lines {
					t.Errorf("message has %d lines, Part.Lines = %d", len(ls)-1, p.Lines)
				}
				rebuilt = append(rebuilt, ls[1:]...)
			}
			if tt.wantParts != nil && fmt.Sprint(got) != fmt.Sprint(tt.wantParts) {
				t.Errorf("lines per message = %v, want %v", got, tt.wantParts)
			}
			if len(rebuilt) != len(tt.lines) {
				t.Fatalf("got %d lines back, want %d", len(rebuilt), len(tt.lines))
			}
			for i, l := range tt.lines {
				switch {
				case rebuilt[i] == l:
				case strings.HasSuffix(rebuilt[i], "…") && strings.HasPrefix(l, strings.TrimSuffix(rebuilt[i], "…")):
					if utf16Len(l) <= room {
						t.Errorf("line %d was cut though it fits", i)
					}
				default:
					t.Errorf("line %d = %.40q…, want %.40q…", i, rebuilt[i], l)
				}
			}
		})
	}
}

func lines(n, width int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("[FIRING] Alert%03d %s", i, strings.Repeat("d", width))
	}
	return out
}

func newSink(t *testing.T, url string) *discord.Sink {
	t.Helper()
	s := discord.New()
	if err := s.Configure(t.Context(), fmt.Appendf(nil, `{"url": %q, "timeout": "2s"}`, url)); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return s
}

func alert(name, status string) core.Alert {
	return core.Alert{Status: status, Fingerprint: "fp-" + name,
		Labels:      map[string]string{"alertname": name, "severity": "warning"},
		Annotations: map[string]string{"summary": name + " summary", "description": strings.Repeat("details ", 20)}}
}

func TestSendHonoursRateLimit(t *testing.T) {
	fake := discordtest.New(t, discordtest.Options{RateLimit: 1, RetryAfter: 0.05})
	s := newSink(t, fake.URL)
	if err := s.Send(t.Context(), []core.Alert{alert("A", "firing")}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := fake.Requests(); got != 2 {
		t.Errorf("requests = %d, want 2 (a 429, then the message)", got)
	}
	if got := fake.Lines(); len(got) != 1 || got[0] != discord.Line(alert("A", "firing")) {
		t.Errorf("lines = %q", got)
	}
}

func TestSendRetries5xx(t *testing.T) {
	fake := discordtest.New(t, discordtest.Options{Fail: 2})
	s := newSink(t, fake.URL)
	if err := s.Send(t.Context(), []core.Alert{alert("A", "firing")}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := fake.Requests(); got != 3 {
		t.Errorf("requests = %d, want 3 (two 502s, then the message)", got)
	}
}

func TestSendDoesNotRetry4xx(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, `{"message": "Unknown Webhook", "code": 10015}`, http.StatusNotFound)
	}))
	defer srv.Close()
	err := newSink(t, srv.URL).Send(t.Context(), []core.Alert{alert("A", "firing")})
	if !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Send error = %v, want core.ErrInvalid", err)
	}
	if n.Load() != 1 {
		t.Errorf("requests = %d, want 1 (no retry of a 404)", n.Load())
	}
}

func TestSendNetworkErrorIsUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := newSink(t, url).Send(ctx, []core.Alert{alert("A", "firing")})
	if !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("Send error = %v, want core.ErrUnavailable", err)
	}
	if strings.Contains(fmt.Sprint(err), url) {
		t.Errorf("error %q names the webhook URL (a secret)", err)
	}
}

func TestSendLargeBatchWithinLimits(t *testing.T) {
	fake := discordtest.New(t, discordtest.Options{})
	s := newSink(t, fake.URL)
	var batch []core.Alert
	for i := range 120 {
		batch = append(batch, alert(fmt.Sprintf("Alert%03d", i), "firing"))
	}
	batch[7].Annotations["description"] = strings.Repeat("very long ", 500)
	if err := s.Send(t.Context(), batch); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := fake.Lines()
	if len(got) != len(batch) {
		t.Fatalf("got %d lines in %d messages, want %d", len(got), len(fake.Messages()), len(batch))
	}
	if len(fake.Messages()) < 2 {
		t.Errorf("got %d messages, want the batch split", len(fake.Messages()))
	}
	for i, a := range batch {
		if want := discord.Line(a); got[i] != want && !strings.HasSuffix(got[i], "…") {
			t.Errorf("line %d = %.60q, want %.60q", i, got[i], want)
		}
	}
}

func TestSendRetryPostsNoMessageTwice(t *testing.T) {
	// The second message fails for good (the attempts run out); the
	// host's retry of the whole batch must not post the first again.
	fake := discordtest.New(t, discordtest.Options{})
	s := newSink(t, fake.URL)
	var batch []core.Alert
	for i := range 60 {
		batch = append(batch, alert(fmt.Sprintf("Alert%03d", i), "firing"))
	}
	if err := s.Send(t.Context(), batch); err != nil {
		t.Fatalf("Send: %v", err)
	}
	first := len(fake.Messages())
	if err := s.Send(t.Context(), batch); err != nil {
		t.Fatalf("Send again: %v", err)
	}
	if got := len(fake.Messages()); got != first {
		t.Errorf("a repeated batch posted %d more messages, want 0", got-first)
	}
}

func TestConfigureRejects(t *testing.T) {
	for _, settings := range []string{`{}`, `{"url": "ftp://x"}`, `{"url": "http://x", "secret": "s"}`, `{"url": "http://x", "nope": 1}`, `[1]`} {
		err := discord.New().Configure(t.Context(), []byte(settings))
		if !errors.Is(err, core.ErrInvalid) {
			t.Errorf("Configure(%s) = %v, want core.ErrInvalid", settings, err)
		}
	}
}

// TestConformance runs the alert-sink suite in process and over a real
// gRPC plugin connection. What the fake Discord received is mapped back
// to the alerts whose lines it holds.
func TestConformance(t *testing.T) {
	newSinkAndReceived := func(t *testing.T, wrap func(*discord.Sink) core.AlertSink) (core.AlertSink, func() []core.Alert) {
		fake := discordtest.New(t, discordtest.Options{})
		s := newSink(t, fake.URL)
		return wrap(s), func() []core.Alert {
			var out []core.Alert
			for _, l := range fake.Lines() {
				out = append(out, plugintest.AlertWithLine(l, discord.Line))
			}
			return out
		}
	}
	t.Run("InProcess", func(t *testing.T) {
		plugintest.AlertSink(t, func(t *testing.T) (core.AlertSink, func() []core.Alert) {
			return newSinkAndReceived(t, func(s *discord.Sink) core.AlertSink { return s })
		})
	})
	t.Run("GRPC", func(t *testing.T) {
		plugintest.AlertSink(t, func(t *testing.T) (core.AlertSink, func() []core.Alert) {
			return newSinkAndReceived(t, func(s *discord.Sink) core.AlertSink {
				return plugintest.Serve(t, sdk.Plugin{Name: "discord", AlertSink: s}).(core.AlertSink)
			})
		})
	})
}
