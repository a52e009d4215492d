// Package webhook is the generic webhook alert sink: it POSTs each batch
// of alerts as one JSON document to a configured URL, signed with
// HMAC-SHA256 in the X-Curtain-Signature header when a secret is set. It
// also holds the retry rules (Post) that every outbound webhook of
// Curtain follows, the discord sink included.
//
// The body is the relay's contract (spec §10.2), so one Curtain's webhook
// can feed another's POST /alert:
//
//	{"alerts": [{"status": "firing", "labels": {...}, "annotations": {...},
//	  "activeAt": "2026-04-04T18:04:50Z", "value": "1e+00", "fingerprint": "..."}]}
package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/sdk"
)

// SignatureHeader carries the body's HMAC-SHA256 (core.WebhookSignatureHeader).
const SignatureHeader = core.WebhookSignatureHeader

// Sign returns the SignatureHeader value of body under secret
// (core.SignWebhook).
func Sign(secret, body []byte) string { return core.SignWebhook(secret, body) }

// PreviousSignatureHeader carries the body's HMAC-SHA256 under the
// previous secret during a rotation (core.WebhookPreviousSignatureHeader).
const PreviousSignatureHeader = core.WebhookPreviousSignatureHeader

// Settings configure the sink. In JSON: {"url": "...", "secret": "...",
// "previous_secret": "...", "timeout": "10s", "attempts": 4}.
type Settings struct {
	// URL receives the POSTs; http or https. Required.
	URL string `json:"url"`
	// Secret, when set, signs each body (SignatureHeader).
	Secret string `json:"secret"`
	// PreviousSecret, while a rotation runs, signs each body a second
	// time (PreviousSignatureHeader), for a receiver that still holds it.
	PreviousSecret string `json:"previous_secret"`
	// Timeout bounds one HTTP attempt (default 10s), as a duration string.
	Timeout string `json:"timeout"`
	// Attempts bounds the tries of one batch (default 4).
	Attempts int `json:"attempts"`
}

// KnownKeys lists the settings keys, for error messages.
const KnownKeys = "url, secret, previous_secret, timeout, attempts"

// Parse decodes and checks settings; the error names the bad key.
func Parse(b []byte) (Settings, time.Duration, error) {
	var s Settings
	if err := sdk.DecodeSettings(b, &s, KnownKeys); err != nil {
		return s, 0, err
	}
	if err := CheckURL(s.URL); err != nil {
		return s, 0, sdk.InvalidSetting("url", "%v", err)
	}
	timeout := 10 * time.Second
	if s.Timeout != "" {
		d, err := time.ParseDuration(s.Timeout)
		if err != nil || d <= 0 {
			return s, 0, sdk.InvalidSetting("timeout", "use a positive duration such as \"10s\"")
		}
		timeout = d
	}
	switch {
	case s.PreviousSecret != "" && s.Secret == "":
		return s, 0, sdk.InvalidSetting("previous_secret", "set secret too: previous_secret is the secret being replaced, sent beside the current one during a rotation")
	case s.PreviousSecret != "" && s.PreviousSecret == s.Secret:
		return s, 0, sdk.InvalidSetting("previous_secret", "it equals secret: set it to the old secret the receiver still holds, or leave it empty")
	}
	if s.Attempts < 0 {
		return s, 0, sdk.InvalidSetting("attempts", "must be positive")
	}
	return s, timeout, nil
}

// CheckURL accepts an absolute http or https URL.
func CheckURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("required: the URL to POST alerts to")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("use an absolute http:// or https:// URL")
	}
	return nil
}

// Sink is the webhook alert sink. Configure it before Send.
type Sink struct {
	settings Settings
	client   *http.Client
	rules    Retry
}

// New returns an unconfigured sink.
func New() *Sink { return &Sink{} }

var (
	_ core.AlertSink = (*Sink)(nil)
	_ sdk.Configurer = (*Sink)(nil)
)

// Configure implements sdk.Configurer.
func (s *Sink) Configure(_ context.Context, settings []byte) error {
	st, timeout, err := Parse(settings)
	if err != nil {
		return err
	}
	s.settings = st
	s.client = &http.Client{Timeout: timeout}
	s.rules = Retry{Attempts: st.Attempts}
	return nil
}

// Alert is the JSON form of one alert in a POSTed batch.
type Alert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	ActiveAt    *time.Time        `json:"activeAt,omitempty"`
	Value       string            `json:"value,omitempty"`
	Fingerprint string            `json:"fingerprint,omitempty"`
}

// Batch is the JSON body of one POST.
type Batch struct {
	Alerts []Alert `json:"alerts"`
}

// Encode returns the JSON body of alerts.
func Encode(alerts []core.Alert) ([]byte, error) {
	b := Batch{Alerts: make([]Alert, len(alerts))}
	for i, a := range alerts {
		b.Alerts[i] = Alert{Status: a.Status, Labels: a.Labels, Annotations: a.Annotations, Value: a.Value, Fingerprint: a.Fingerprint}
		if b.Alerts[i].Labels == nil {
			b.Alerts[i].Labels = map[string]string{}
		}
		if b.Alerts[i].Annotations == nil {
			b.Alerts[i].Annotations = map[string]string{}
		}
		if !a.ActiveAt.IsZero() {
			at := a.ActiveAt.UTC()
			b.Alerts[i].ActiveAt = &at
		}
	}
	return json.Marshal(b)
}

// Decode is the inverse of Encode.
func Decode(body []byte) ([]core.Alert, error) {
	var b Batch
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, err
	}
	out := make([]core.Alert, len(b.Alerts))
	for i, a := range b.Alerts {
		out[i] = core.Alert{Status: a.Status, Labels: a.Labels, Annotations: a.Annotations, Value: a.Value, Fingerprint: a.Fingerprint}
		if a.ActiveAt != nil {
			out[i].ActiveAt = *a.ActiveAt
		}
	}
	return out, nil
}

// Send implements core.AlertSink: one signed POST of the whole batch. An
// empty batch sends nothing.
func (s *Sink) Send(ctx context.Context, alerts []core.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	if s.client == nil {
		return fmt.Errorf("webhook sink: not configured: %w", core.ErrUnavailable)
	}
	body, err := Encode(alerts)
	if err != nil {
		return fmt.Errorf("encode alerts: %w", err)
	}
	h := http.Header{"User-Agent": {"Curtain-Webhook/1"}}
	if s.settings.Secret != "" {
		h.Set(SignatureHeader, Sign([]byte(s.settings.Secret), body))
	}
	if s.settings.PreviousSecret != "" {
		h.Set(PreviousSignatureHeader, Sign([]byte(s.settings.PreviousSecret), body))
	}
	return Post(ctx, s.client, Request{URL: s.settings.URL, Body: body, Header: h}, s.rules)
}
