package core

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Webhook delivery states.
const (
	// WebhookPending deliveries are sent when due (NextAttemptAt).
	WebhookPending = "pending"
	// WebhookDelivered deliveries got a 2xx answer.
	WebhookDelivered = "delivered"
	// WebhookFailed deliveries used up their attempts; `curtain webhooks
	// redeliver ID` sends them again.
	WebhookFailed = "failed"
)

// WebhookDelivery is one entry of the outbound webhook delivery log: a
// payload to POST, and how its delivery went.
type WebhookDelivery struct {
	ID        int64
	EventType string
	// Payload is the JSON body sent, exactly (the signature covers it).
	Payload   string
	CreatedAt time.Time
	Status    string
	Attempts  int
	// NextAttemptAt is when a pending delivery is due.
	NextAttemptAt time.Time
	// LastAttemptAt is nil before the first attempt.
	LastAttemptAt *time.Time
	// LastStatus is the HTTP status of the last attempt, 0 when it got
	// none (a network error, a timeout).
	LastStatus int
	LastError  string
}

// WebhookAttempt is the outcome of one delivery attempt.
type WebhookAttempt struct {
	At time.Time
	// Status is WebhookDelivered, WebhookPending (retry at Next) or
	// WebhookFailed.
	Status     string
	Next       time.Time
	HTTPStatus int
	Error      string
}

// WebhookLog is the durable outbox and delivery log of outbound webhooks,
// implemented by the SQL stores. Every method is safe for concurrent use,
// by several processes too.
type WebhookLog interface {
	// EnqueueWebhooks stores new pending deliveries, due at once, and
	// returns their ids.
	EnqueueWebhooks(ctx context.Context, deliveries []WebhookDelivery) ([]int64, error)
	// ClaimWebhooks returns at most limit pending deliveries due at now,
	// oldest first, and moves their NextAttemptAt to now+lease, so that
	// no other process sends them meanwhile.
	ClaimWebhooks(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]WebhookDelivery, error)
	// RecordWebhookAttempt stores the outcome of an attempt on delivery
	// id and counts it. A missing id is ErrNotFound.
	RecordWebhookAttempt(ctx context.Context, id int64, a WebhookAttempt) error
	// ListWebhooks returns the newest deliveries first, at most limit;
	// status "" lists every state.
	ListWebhooks(ctx context.Context, status string, limit int) ([]WebhookDelivery, error)
	// GetWebhook returns delivery id, or ErrNotFound.
	GetWebhook(ctx context.Context, id int64) (WebhookDelivery, error)
}

// WebhookSignatureHeader carries the body's HMAC-SHA256, as
// "sha256=<hex>", on every signed outbound webhook of Curtain (the
// webhooks of links and clicks, and the webhook alert sink).
const WebhookSignatureHeader = "X-Curtain-Signature"

// WebhookPreviousSignatureHeader carries the body's signature under the
// previous secret while a rotation runs, in the form of
// WebhookSignatureHeader, which keeps the current signature unchanged.
const WebhookPreviousSignatureHeader = "X-Curtain-Signature-Previous"

// SignWebhook returns the WebhookSignatureHeader value of body under
// secret.
func SignWebhook(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
