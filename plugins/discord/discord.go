// Package discord is the Discord alert sink: it posts alert batches to a
// Discord webhook as the reference relay did (spec §10.2): a header line
// "Curtain alert batch at <time>" and one line per alert,
// "[FIRING] <alertname> severity=<s> | <summary> | <description>" (or
// [RESOLVED]). Unlike the relay it respects Discord's limits, splitting a
// batch over several messages and cutting a line that alone would not fit,
// waits as a 429 asks (retry_after, Retry-After), retries 5xx answers and
// network errors with backoff, never retries another 4xx, and disables
// mentions, so an alert's text cannot ping @everyone.
//
// DISCORD_WEBHOOK_URL selects it: {"url": "<webhook URL>"}.
package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/sdk"
	"github.com/curtainhq/curtain/plugins/webhook"
)

// Sink is the Discord alert sink. Configure it before Send.
type Sink struct {
	url    string
	client *http.Client
	rules  webhook.Retry
	now    func() time.Time

	// sent remembers the messages already delivered, by their alerts, so
	// that a retried batch whose first messages went through does not post
	// them twice (the host retries a failed Send whole).
	mu   sync.Mutex
	sent map[string]time.Time
}

// New returns an unconfigured sink.
func New() *Sink { return &Sink{now: time.Now, sent: map[string]time.Time{}} }

var (
	_ core.AlertSink = (*Sink)(nil)
	_ sdk.Configurer = (*Sink)(nil)
)

// Configure implements sdk.Configurer; the settings are the webhook
// sink's ({"url", "timeout", "attempts"}; "secret" is not used by
// Discord).
func (s *Sink) Configure(_ context.Context, settings []byte) error {
	st, timeout, err := webhook.Parse(settings)
	if err != nil {
		return err
	}
	if st.Secret != "" {
		return sdk.InvalidSetting("secret", "Discord webhooks are not signed; leave it unset")
	}
	s.url = st.URL
	s.client = &http.Client{Timeout: timeout}
	s.rules = webhook.Retry{Attempts: st.Attempts}
	return nil
}

// message is the JSON body of one webhook call.
type message struct {
	Content         string          `json:"content"`
	AllowedMentions allowedMentions `json:"allowed_mentions"`
}

type allowedMentions struct {
	Parse []string `json:"parse"`
}

// rememberFor is how long a delivered message is remembered for retries.
const rememberFor = 10 * time.Minute

// Send implements core.AlertSink: the batch as one or more messages, in
// order. An empty batch sends nothing.
func (s *Sink) Send(ctx context.Context, alerts []core.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	if s.client == nil {
		return fmt.Errorf("discord sink: not configured: %w", core.ErrUnavailable)
	}
	lines := make([]string, len(alerts))
	keys := make([]string, len(alerts))
	for i, a := range alerts {
		lines[i] = Line(a)
		keys[i] = a.Fingerprint + "|" + a.Status + "|" + a.ActiveAt.UTC().Format(time.RFC3339Nano) + "|" + lines[i]
	}
	header := Header(s.now())
	start := 0
	for _, part := range Split(header, lines) {
		key := fmt.Sprint(keys[start : start+part.Lines])
		start += part.Lines
		if s.delivered(key) {
			continue
		}
		body, err := json.Marshal(message{Content: part.Content, AllowedMentions: allowedMentions{Parse: []string{}}})
		if err != nil {
			return fmt.Errorf("encode discord message: %w", err)
		}
		req := webhook.Request{URL: s.url, Body: body, Header: http.Header{"User-Agent": {"CurtainDiscordRelay/1.0"}}, RetryAfter: retryAfter}
		if err := webhook.Post(ctx, s.client, req, s.rules); err != nil {
			return fmt.Errorf("discord: %w", err)
		}
		s.remember(key)
	}
	return nil
}

func (s *Sink) delivered(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.sent[key]
	return ok && s.now().Sub(at) < rememberFor
}

func (s *Sink) remember(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, at := range s.sent {
		if now.Sub(at) >= rememberFor {
			delete(s.sent, k)
		}
	}
	s.sent[key] = now
}

// retryAfter reads Discord's 429 body: {"retry_after": seconds, ...}.
func retryAfter(body []byte) (time.Duration, bool) {
	var b struct {
		RetryAfter *float64 `json:"retry_after"`
	}
	if json.Unmarshal(body, &b) != nil || b.RetryAfter == nil || *b.RetryAfter < 0 {
		return 0, false
	}
	return time.Duration(*b.RetryAfter * float64(time.Second)), true
}
