// Package webhooks sends Curtain's events out: link changes and stored
// clicks, as signed JSON POSTs to one configured endpoint, through a
// durable outbox (core.WebhookLog) with retries and a delivery log.
//
// A Dispatcher is the core.EventSink the wiring hands to
// core.NotifyingStore: it writes each event to the outbox after the write
// it reports committed. Worker.Run, where the stream consumer runs, claims
// due deliveries, POSTs them and records each attempt, retrying failures
// with capped, jittered exponential backoff until MaxAttempts.
//
// Every request carries X-Curtain-Signature: sha256=<hex of
// HMAC-SHA256(secret, body)>, X-Curtain-Event, X-Curtain-Delivery (the
// delivery id, the same on every retry) and X-Curtain-Attempt. While
// webhooks.previous_secret is set, it also carries
// X-Curtain-Signature-Previous, the same HMAC under the previous secret.
// Both are computed when the request is sent, so a retry is signed with
// the secrets in force then.
package webhooks

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/curtainhq/curtain/core"
)

// Event families a Dispatcher may send (webhooks.events).
const (
	// Links: link.created, link.updated, link.deleted.
	Links = "links"
	// Clicks: clicks.stored, batched as the consumer stores them.
	Clicks = "clicks"
)

// ClicksStored is the event type of a batch of stored clicks.
const ClicksStored = "clicks.stored"

// Sign returns the X-Curtain-Signature value of body under secret
// (core.SignWebhook).
func Sign(secret, body []byte) string { return core.SignWebhook(secret, body) }

// PreviousSignatureHeader carries the body's signature under the previous
// secret while one is set (WorkerConfig.PreviousSecret), in the form of
// core.WebhookSignatureHeader. The current signature keeps its header
// unchanged, so a receiver that compares that header alone goes on
// working once it holds the new secret.
const PreviousSignatureHeader = core.WebhookPreviousSignatureHeader

// DispatcherConfig configures a Dispatcher; the zero value sends both
// families in batches of 500 clicks.
type DispatcherConfig struct {
	// Links and Clicks select the families sent.
	Links, Clicks bool
	// BatchSize caps the clicks of one delivery; default 500.
	BatchSize int
	// Now returns the current time; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Dispatcher turns events into outbox entries. It is a core.EventSink.
type Dispatcher struct {
	log core.WebhookLog
	cfg DispatcherConfig
}

var _ core.EventSink = (*Dispatcher)(nil)

// NewDispatcher returns a Dispatcher writing to log.
func NewDispatcher(log core.WebhookLog, cfg DispatcherConfig) *Dispatcher {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{log: log, cfg: cfg}
}

// enqueueTimeout bounds one outbox write, which outlives its request.
const enqueueTimeout = 5 * time.Second

// envelope is the JSON body of every delivery.
type envelope struct {
	Type      string `json:"type"`
	CreatedAt string `json:"created_at"`
	Data      any    `json:"data"`
}

// urlJSON is a link as GET /urls/{id} shows it, its link options only
// when set, times in RFC 3339.
type urlJSON struct {
	ID          int64   `json:"id"`
	ShortCode   string  `json:"short_code"`
	OriginalURL string  `json:"original_url"`
	Title       *string `json:"title"`
	UserID      *int64  `json:"user_id"`
	IsActive    bool    `json:"is_active"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`

	ExpiredURL        *string         `json:"expired_url,omitempty"`
	MaxVisits         *int64          `json:"max_visits,omitempty"`
	PasswordProtected bool            `json:"password_protected,omitempty"`
	RedirectStatus    int             `json:"redirect_status,omitempty"`
	Rules             json.RawMessage `json:"rules,omitempty"`
	Tags              []string        `json:"tags,omitempty"`
	ValidSince        string          `json:"valid_since,omitempty"`
	ValidUntil        string          `json:"valid_until,omitempty"`
}

// linkJSON is u as a webhook shows it.
func linkJSON(u core.URL) urlJSON {
	j := urlJSON{
		ID: u.ID, ShortCode: u.ShortCode, OriginalURL: u.OriginalURL, Title: u.Title, UserID: u.UserID,
		IsActive: u.IsActive, CreatedAt: stampOf(u.CreatedAt), UpdatedAt: stampOf(u.UpdatedAt),
		ExpiredURL: u.Lifecycle.ExpiredURL, MaxVisits: u.Lifecycle.MaxVisits,
		PasswordProtected: u.PasswordHash != "", RedirectStatus: u.RedirectStatus, Tags: u.Tags,
	}
	if len(u.Rules) > 0 {
		j.Rules = json.RawMessage(core.EncodeRules(u.Rules))
	}
	if t := u.Lifecycle.ValidSince; t != nil {
		j.ValidSince = stampOf(*t)
	}
	if t := u.Lifecycle.ValidUntil; t != nil {
		j.ValidUntil = stampOf(*t)
	}
	return j
}

// clickJSON is one stored click.
type clickJSON struct {
	ClickID   string `json:"click_id"`
	ShortCode string `json:"short_code"`
	URLID     int64  `json:"url_id"`
	// Visitor is the client address, or its keyed hash in privacy mode.
	Visitor string `json:"visitor"`
	At      string `json:"at"`
}

func stampOf(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// LinksChanged queues one delivery per change.
func (d *Dispatcher) LinksChanged(ctx context.Context, changes []core.LinkChange) {
	if !d.cfg.Links || len(changes) == 0 {
		return
	}
	out := make([]core.WebhookDelivery, 0, len(changes))
	for _, c := range changes {
		u := c.URL
		body := envelope{Type: c.Type, CreatedAt: stampOf(c.At), Data: map[string]any{"url": linkJSON(u)}}
		out = append(out, d.delivery(c.Type, body))
	}
	d.enqueue(ctx, out)
}

// ClicksStored queues the clicks in deliveries of at most BatchSize.
func (d *Dispatcher) ClicksStored(ctx context.Context, clicks []core.ClickEvent) {
	if !d.cfg.Clicks || len(clicks) == 0 {
		return
	}
	now := d.cfg.Now()
	var out []core.WebhookDelivery
	for i := 0; i < len(clicks); i += d.cfg.BatchSize {
		part := clicks[i:min(i+d.cfg.BatchSize, len(clicks))]
		js := make([]clickJSON, len(part))
		for j, c := range part {
			js[j] = clickJSON{ClickID: c.ID, ShortCode: c.Code, URLID: c.URLID, Visitor: c.Visitor, At: stampOf(c.At)}
		}
		out = append(out, d.delivery(ClicksStored, envelope{Type: ClicksStored, CreatedAt: stampOf(now), Data: map[string]any{"clicks": js}}))
	}
	d.enqueue(ctx, out)
}

func (d *Dispatcher) delivery(typ string, body envelope) core.WebhookDelivery {
	b, err := json.Marshal(body)
	if err != nil { // the types above always encode
		panic("webhooks: encode payload: " + err.Error())
	}
	return core.WebhookDelivery{EventType: typ, Payload: string(b), CreatedAt: d.cfg.Now().UTC()}
}

// enqueue writes deliveries to the outbox; a failure is logged (the write
// it reports has happened and stands).
func (d *Dispatcher) enqueue(ctx context.Context, out []core.WebhookDelivery) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), enqueueTimeout)
	defer cancel()
	if _, err := d.log.EnqueueWebhooks(ctx, out); err != nil {
		d.cfg.Logger.ErrorContext(ctx, "webhooks.enqueue_failed", "deliveries", len(out), "error", err.Error())
	}
}
