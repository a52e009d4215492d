package webhooks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/curtainhq/curtain/core"
)

// WorkerConfig configures a Worker. URL and Secret are required; the
// other fields have defaults.
type WorkerConfig struct {
	// URL receives the POSTs.
	URL string
	// Secret keys the signatures.
	Secret []byte
	// PreviousSecret, when set, keys a second signature in
	// PreviousSignatureHeader, for receivers that still hold it while the
	// secret is rotated.
	PreviousSecret []byte
	// Timeout bounds one attempt; default 10 s.
	Timeout time.Duration
	// MaxAttempts is how many attempts a delivery gets before it is
	// failed; default 10.
	MaxAttempts int
	// Backoff is the wait after the first failure, doubled after each
	// further one up to MaxBackoff, each jittered by ±20 %; defaults 10 s
	// and 1 h.
	Backoff, MaxBackoff time.Duration
	// PollInterval is the wait when nothing is due; default 1 s.
	PollInterval time.Duration
	// Client sends the requests; default a client with Timeout that
	// follows no redirects.
	Client *http.Client
	// Now returns the current time; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// noRedirects keeps the default client from following a receiver's
// redirect: the signed body would go to wherever the receiver points,
// an address on the internal network or the cloud's metadata service
// included. A 3xx is an answer like any other non-2xx, retried and logged.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Worker delivers the outbox.
type Worker struct {
	log core.WebhookLog
	cfg WorkerConfig
}

// NewWorker returns a Worker over log.
func NewWorker(log core.WebhookLog, cfg WorkerConfig) *Worker {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 10 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Hour
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout, CheckRedirect: noRedirects}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{log: log, cfg: cfg}
}

// claimBatch is how many deliveries one claim takes.
const claimBatch = 20

// Run delivers due deliveries until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.cfg.Logger.WarnContext(ctx, "webhooks.claim_failed", "error", err.Error())
		}
		if n == claimBatch {
			continue // there may be more due
		}
		t := time.NewTimer(w.cfg.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
}

// RunOnce claims the due deliveries (at most one batch), sends them and
// records the attempts; it returns how many it claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	ds, err := w.log.ClaimWebhooks(ctx, w.cfg.Now(), w.cfg.Timeout+5*time.Second, claimBatch)
	if err != nil {
		return 0, err
	}
	for _, d := range ds {
		a := w.attempt(ctx, d)
		if a.Status == core.WebhookPending {
			a.Next = a.At.Add(w.backoff(d.Attempts + 1))
		}
		if err := w.log.RecordWebhookAttempt(context.WithoutCancel(ctx), d.ID, a); err != nil {
			w.cfg.Logger.ErrorContext(ctx, "webhooks.record_failed", "delivery", d.ID, "error", err.Error())
		}
		if a.Status == core.WebhookFailed {
			w.cfg.Logger.ErrorContext(ctx, "webhooks.delivery_failed", "delivery", d.ID, "event", d.EventType,
				"attempts", d.Attempts+1, "status", a.HTTPStatus, "error", a.Error)
		}
	}
	return len(ds), nil
}

// Redeliver sends delivery id once more, whatever its state, records the
// attempt (delivered, or failed without further retries) and returns it.
func (w *Worker) Redeliver(ctx context.Context, id int64) (core.WebhookAttempt, error) {
	d, err := w.log.GetWebhook(ctx, id)
	if err != nil {
		return core.WebhookAttempt{}, err
	}
	a := w.send(ctx, d)
	if a.Status != core.WebhookDelivered {
		a.Status = core.WebhookFailed
	}
	return a, w.log.RecordWebhookAttempt(ctx, id, a)
}

// attempt sends d and decides its next state.
func (w *Worker) attempt(ctx context.Context, d core.WebhookDelivery) core.WebhookAttempt {
	a := w.send(ctx, d)
	if a.Status != core.WebhookDelivered {
		a.Status = core.WebhookPending
		if d.Attempts+1 >= w.cfg.MaxAttempts {
			a.Status = core.WebhookFailed
		}
	}
	return a
}

// maxErrorLen caps the answer text kept in the log.
const maxErrorLen = 512

// send POSTs d once. A 2xx answer is delivered; anything else is an
// error with the status and the start of the answer.
func (w *Worker) send(ctx context.Context, d core.WebhookDelivery) core.WebhookAttempt {
	a := core.WebhookAttempt{At: w.cfg.Now().UTC()}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	body := []byte(d.Payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		a.Error = err.Error()
		return a
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Curtain-Webhooks/1")
	h.Set("X-Curtain-Event", d.EventType)
	h.Set("X-Curtain-Delivery", strconv.FormatInt(d.ID, 10))
	h.Set("X-Curtain-Attempt", strconv.Itoa(d.Attempts+1))
	// Signed now, not when queued: a retry of a delivery queued before a
	// rotation carries the signatures of the secrets in force.
	h.Set(core.WebhookSignatureHeader, Sign(w.cfg.Secret, body))
	if len(w.cfg.PreviousSecret) > 0 {
		h.Set(PreviousSignatureHeader, Sign(w.cfg.PreviousSecret, body))
	}
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		// The URL may hold a token: report the error without it.
		a.Error = fmt.Sprintf("post: %v", unwrapURLError(err))
		return a
	}
	defer resp.Body.Close()
	a.HTTPStatus = resp.StatusCode
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorLen))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		a.Status = core.WebhookDelivered
		return a
	}
	a.Error = fmt.Sprintf("answered %d: %s", resp.StatusCode, bytes.TrimSpace(snippet))
	return a
}

// backoff is the wait before attempt n+1 after n failures.
func (w *Worker) backoff(n int) time.Duration {
	d := w.cfg.Backoff
	for i := 1; i < n && d < w.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.cfg.MaxBackoff)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
