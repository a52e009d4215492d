package config

import (
	"fmt"
	"slices"
	"time"
)

// Webhooks configures outbound webhooks (docs/webhooks.md): link changes
// and stored clicks POSTed, signed, to URL. Off while URL is empty.
type Webhooks struct {
	// URL receives the POSTs (a secret: it may carry a token).
	URL Secret `koanf:"url"`
	// Secret keys the X-Curtain-Signature HMAC; at least 16 characters.
	Secret Secret `koanf:"secret"`
	// PreviousSecret, while a rotation runs, keys a second signature,
	// X-Curtain-Signature-Previous, so that receivers still holding the
	// old secret accept the deliveries; empty: one signature.
	PreviousSecret Secret `koanf:"previous_secret"`
	// Events lists the families sent: links, clicks.
	Events []string `koanf:"events"`
	// Timeout bounds one attempt.
	Timeout time.Duration `koanf:"timeout"`
	// MaxAttempts is how many attempts a delivery gets.
	MaxAttempts int `koanf:"max_attempts"`
	// Backoff is the wait after the first failure, doubled per failure up
	// to MaxBackoff.
	Backoff    time.Duration `koanf:"backoff"`
	MaxBackoff time.Duration `koanf:"max_backoff"`
	// PollInterval is how often the outbox is looked at when idle.
	PollInterval time.Duration `koanf:"poll_interval"`
	// BatchSize caps the clicks of one delivery.
	BatchSize int `koanf:"batch_size"`
}

// Enabled reports whether webhooks are configured.
func (w Webhooks) Enabled() bool { return w.URL != "" }

// Sends reports whether the family (links, clicks) is sent.
func (w Webhooks) Sends(family string) bool {
	return w.Enabled() && slices.Contains(splitList(w.Events), family)
}

func (w Webhooks) validate() []error {
	var errs []error
	bad := func(key string, value any, fix string) {
		errs = append(errs, invalidValue(key, value, fix))
	}
	// The other settings are checked while webhooks are off too, so that
	// turning them on does not reveal old mistakes.
	if w.Enabled() {
		if !WebURL(w.URL.Reveal()) {
			bad("webhooks.url", w.URL, "use the http:// or https:// URL of the receiver")
		}
		if len(w.Secret.Reveal()) < 16 {
			bad("webhooks.secret", w.Secret, "set a signing secret of at least 16 characters (e.g. the output of 'openssl rand -hex 32') and give it to the receiver")
		}
	}
	switch prev := w.PreviousSecret.Reveal(); {
	case prev == "":
	case w.Secret == "":
		bad("webhooks.previous_secret", w.PreviousSecret, "set webhooks.secret too: previous_secret is the secret being replaced, sent beside the current one during a rotation")
	case prev == w.Secret.Reveal():
		bad("webhooks.previous_secret", w.PreviousSecret, "it equals webhooks.secret: set it to the old secret the receivers still hold, or leave it empty")
	}
	for _, e := range splitList(w.Events) {
		if e != "links" && e != "clicks" {
			bad("webhooks.events", w.Events, "list links, clicks or both")
			break
		}
	}
	if w.Timeout <= 0 {
		bad("webhooks.timeout", w.Timeout, `use a positive duration such as "10s"`)
	}
	if w.MaxAttempts < 1 {
		bad("webhooks.max_attempts", w.MaxAttempts, "must be at least 1")
	}
	if w.Backoff <= 0 || w.MaxBackoff < w.Backoff {
		bad("webhooks.backoff", fmt.Sprintf("%s..%s", w.Backoff, w.MaxBackoff), "backoff must be positive and max_backoff at least backoff")
	}
	if w.PollInterval <= 0 {
		bad("webhooks.poll_interval", w.PollInterval, `use a positive duration such as "1s"`)
	}
	if w.BatchSize < 1 {
		bad("webhooks.batch_size", w.BatchSize, "must be at least 1")
	}
	return errs
}
