package webhook_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/plugins/plugintest"
	"github.com/curtainhq/curtain/plugins/sdk"
	"github.com/curtainhq/curtain/plugins/webhook"
)

// receiver is a webhook endpoint that checks the signature and keeps the
// alerts it accepted. Its first answers can be scripted.
type receiver struct {
	t      *testing.T
	secret string

	mu       sync.Mutex
	answers  []int // statuses to answer first
	requests int
	alerts   []core.Alert
}

func newReceiver(t *testing.T, secret string, answers ...int) (*receiver, *httptest.Server) {
	r := &receiver{t: t, secret: secret, answers: answers}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests++
	if r.Header.Get("Content-Type") != "application/json" {
		rc.t.Errorf("Content-Type = %q", r.Header.Get("Content-Type"))
	}
	sig := r.Header.Get(webhook.SignatureHeader)
	switch {
	case rc.secret == "" && sig != "":
		rc.t.Errorf("unsigned sink sent %s: %q", webhook.SignatureHeader, sig)
	case rc.secret != "" && sig != webhook.Sign([]byte(rc.secret), body):
		rc.t.Errorf("%s = %q, want the body's HMAC-SHA256", webhook.SignatureHeader, sig)
	}
	if len(rc.answers) > 0 {
		status := rc.answers[0]
		rc.answers = rc.answers[1:]
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(status)
		return
	}
	alerts, err := webhook.Decode(body)
	if err != nil {
		rc.t.Errorf("body is not an alert batch: %v", err)
	}
	rc.alerts = append(rc.alerts, alerts...)
	w.WriteHeader(http.StatusOK)
}

func (rc *receiver) received() []core.Alert {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]core.Alert(nil), rc.alerts...)
}

func configured(t *testing.T, url, secret string) *webhook.Sink {
	t.Helper()
	s := webhook.New()
	if err := s.Configure(t.Context(), fmt.Appendf(nil, `{"url": %q, "secret": %q}`, url, secret)); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	for _, secret := range []string{"", "s3cret"} {
		t.Run(fmt.Sprintf("secret=%q", secret), func(t *testing.T) {
			t.Run("InProcess", func(t *testing.T) {
				plugintest.AlertSink(t, func(t *testing.T) (core.AlertSink, func() []core.Alert) {
					r, srv := newReceiver(t, secret)
					return configured(t, srv.URL, secret), r.received
				})
			})
			t.Run("GRPC", func(t *testing.T) {
				plugintest.AlertSink(t, func(t *testing.T) (core.AlertSink, func() []core.Alert) {
					r, srv := newReceiver(t, secret)
					s := plugintest.Serve(t, sdk.Plugin{Name: "webhook", AlertSink: configured(t, srv.URL, secret)})
					return s.(core.AlertSink), r.received
				})
			})
		})
	}
}

func TestRetryRules(t *testing.T) {
	tests := []struct {
		name     string
		answers  []int
		wantErr  error
		requests int
	}{
		{"429 then accepted", []int{429}, nil, 2},
		{"5xx retried", []int{500, 503}, nil, 3},
		{"4xx not retried", []int{400}, core.ErrInvalid, 1},
		{"attempts run out", []int{502, 502, 502, 502, 502}, core.ErrUnavailable, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, srv := newReceiver(t, "k", tt.answers...)
			err := configured(t, srv.URL, "k").Send(t.Context(), []core.Alert{{Status: "firing", Labels: map[string]string{"alertname": "A"}}})
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Send error = %v, want %v", err, tt.wantErr)
			}
			if r.requests != tt.requests {
				t.Errorf("requests = %d, want %d", r.requests, tt.requests)
			}
		})
	}
}

func TestSign(t *testing.T) {
	// RFC 4231 test case 2.
	got := webhook.Sign([]byte("Jefe"), []byte("what do ya want for nothing?"))
	want := "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got != want {
		t.Errorf("Sign() = %s, want %s", got, want)
	}
}

// TestPreviousSecret: during a rotation the sink signs each body under
// both secrets, the current one in X-Curtain-Signature as always and the
// old one in X-Curtain-Signature-Previous, so a receiver that still holds
// the old secret goes on accepting alerts. A previous secret without a
// secret, or equal to it, is refused naming the key.
func TestPreviousSecret(t *testing.T) {
	var got http.Header
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		body, _ = io.ReadAll(r.Body)
	}))
	t.Cleanup(srv.Close)
	s := webhook.New()
	if err := s.Configure(t.Context(), fmt.Appendf(nil, `{"url": %q, "secret": "new", "previous_secret": "old"}`, srv.URL)); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	if err := s.Send(t.Context(), []core.Alert{{Status: "firing", Labels: map[string]string{"alertname": "X"}}}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if sig := got.Get(webhook.SignatureHeader); sig != webhook.Sign([]byte("new"), body) {
		t.Errorf("%s = %q, want the body's HMAC under the current secret", webhook.SignatureHeader, sig)
	}
	if sig := got.Get(webhook.PreviousSignatureHeader); sig != webhook.Sign([]byte("old"), body) {
		t.Errorf("%s = %q, want the body's HMAC under the previous secret", webhook.PreviousSignatureHeader, sig)
	}
	for _, settings := range []string{
		`{"url": %q, "previous_secret": "old"}`,
		`{"url": %q, "secret": "same", "previous_secret": "same"}`,
	} {
		err := webhook.New().Configure(t.Context(), fmt.Appendf(nil, settings, srv.URL))
		if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "previous_secret") {
			t.Errorf("Configure(%s) = %v, want an invalid setting naming previous_secret", settings, err)
		}
	}
}
