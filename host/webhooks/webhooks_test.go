package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/httpapi"
	"github.com/curtainhq/curtain/drivers/bunstore"
	"github.com/curtainhq/curtain/drivers/postgres"
	"github.com/curtainhq/curtain/drivers/sqlite"
	"github.com/curtainhq/curtain/host/webhooks"
)

const secret = "webhook-test-secret-0123456789"

type storeFactory func(t *testing.T) *bunstore.Store

func openSQLite(t *testing.T) *bunstore.Store {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openPostgres(t *testing.T) *bunstore.Store {
	if testing.Short() {
		t.Skip("PostgreSQL; skipped with -short")
	}
	base := os.Getenv("CURTAIN_TEST_POSTGRES_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	schema := "links_webhooks_" + strings.ToLower(rand.Text()[:10])
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() { admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s, err := postgres.Open(t.Context(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var stores = []struct {
	name string
	open storeFactory
}{{"sqlite", openSQLite}, {"postgres", openPostgres}}

// receiver records the deliveries it gets, checking each signature, and
// answers with the statuses of fail first (then 204).
type receiver struct {
	t    *testing.T
	mu   sync.Mutex
	got  []delivery
	fail []int
	srv  *httptest.Server
}

type delivery struct {
	Event, ID, Attempt string
	Body               map[string]any
}

func newReceiver(t *testing.T, fail ...int) *receiver {
	r := &receiver{t: t, fail: fail}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if got, want := req.Header.Get("X-Curtain-Signature"), webhooks.Sign([]byte(secret), body); got != want {
			t.Errorf("signature = %q, want %q", got, want)
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("body %q is not JSON", body)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.got = append(r.got, delivery{req.Header.Get("X-Curtain-Event"), req.Header.Get("X-Curtain-Delivery"), req.Header.Get("X-Curtain-Attempt"), m})
		if len(r.fail) > 0 {
			w.WriteHeader(r.fail[0])
			fmt.Fprint(w, "not now")
			r.fail = r.fail[1:]
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// TestLinkAndClickEvents checks on both stores that link changes made
// through the HTTP API and a stored click batch reach the receiver,
// signed, with the documented bodies.
func TestLinkAndClickEvents(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			store := st.open(t)
			rcv := newReceiver(t)
			d := webhooks.NewDispatcher(store, webhooks.DispatcherConfig{Links: true, Clicks: true, BatchSize: 2})
			events := core.NotifyingStore(store, d, nil)
			api := httptest.NewServer(httpapi.New(core.NewService(events, core.ServiceConfig{}), httpapi.Options{}))
			defer api.Close()
			do := func(method, path, body string) {
				req, _ := http.NewRequest(method, api.URL+path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode >= 300 {
					t.Fatalf("%s %s = %d", method, path, resp.StatusCode)
				}
			}
			do("POST", "/urls", `{"original_url": "https://example.com/hook", "tags": ["t"], "max_visits": 5, "valid_until": "2030-01-01T00:00:00", "redirect_status": 307}`)
			do("PUT", "/urls/1", `{"title": "Hooked"}`)
			// The consumer's call, after its transaction committed: three
			// clicks make two deliveries of at most two.
			u, _ := store.GetURL(t.Context(), 1)
			at := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
			var clicks []core.ClickEvent
			for i := range 3 {
				clicks = append(clicks, core.ClickEvent{Click: core.Click{ID: fmt.Sprintf("c%d", i), Code: u.ShortCode, Visitor: "203.0.113.7", At: at, URLID: 1}})
			}
			if _, err := events.InsertClicks(t.Context(), clicks); err != nil {
				t.Fatal(err)
			}
			do("DELETE", "/urls/1", "")

			w := webhooks.NewWorker(store, webhooks.WorkerConfig{URL: rcv.srv.URL, Secret: []byte(secret)})
			if n, err := w.RunOnce(t.Context()); err != nil || n != 5 {
				t.Fatalf("RunOnce = %d, %v; want 5 deliveries", n, err)
			}
			got := rcv.deliveries()
			var types []string
			for _, g := range got {
				types = append(types, g.Event)
				if g.Body["type"] != g.Event || g.Attempt != "1" {
					t.Errorf("delivery %s: body type %v, attempt %s", g.ID, g.Body["type"], g.Attempt)
				}
			}
			if want := "link.created link.updated clicks.stored clicks.stored link.deleted"; strings.Join(types, " ") != want {
				t.Errorf("events = %v, want %s", types, want)
			}
			if len(got) == 5 {
				link := got[1].Body["data"].(map[string]any)["url"].(map[string]any)
				if link["title"] != "Hooked" || link["short_code"] != u.ShortCode || link["original_url"] != "https://example.com/hook" {
					t.Errorf("link.updated url = %v", link)
				}
				// The link options, as GET /urls/{id} shows them (times in
				// RFC 3339), and none that is not set.
				if fmt.Sprint(link["tags"]) != "[t]" || link["max_visits"] != float64(5) || link["valid_until"] != "2030-01-01T00:00:00Z" ||
					link["redirect_status"] != float64(307) {
					t.Errorf("link.updated url options = %v", link)
				}
				if _, ok := link["password_protected"]; ok {
					t.Errorf("link.updated url shows password_protected for a link without a password: %v", link)
				}
				cs := got[2].Body["data"].(map[string]any)["clicks"].([]any)
				c0 := cs[0].(map[string]any)
				if len(cs) != 2 || c0["click_id"] != "c0" || c0["visitor"] != "203.0.113.7" || c0["at"] != "2026-12-05T19:00:00Z" || c0["url_id"] != float64(1) {
					t.Errorf("first clicks.stored = %v", cs)
				}
			}
			list, err := store.ListWebhooks(t.Context(), core.WebhookDelivered, 0)
			if err != nil || len(list) != 5 || list[0].Attempts != 1 || list[0].LastStatus != 204 || list[0].LastAttemptAt == nil {
				t.Errorf("delivered log = %+v, %v", list, err)
			}
			if n, _ := w.RunOnce(t.Context()); n != 0 {
				t.Errorf("a second RunOnce sent %d again", n)
			}
		})
	}
}

// TestRetriesAndRedelivery checks on both stores that a failing receiver
// gets the same delivery again with backoff until it accepts, that a
// delivery out of attempts is failed, and that Redeliver sends it again.
func TestRetriesAndRedelivery(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			store := st.open(t)
			rcv := newReceiver(t, 500, 503)
			now := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			d := webhooks.NewDispatcher(store, webhooks.DispatcherConfig{Links: true, Now: clock})
			d.LinksChanged(t.Context(), []core.LinkChange{{Type: core.LinkCreated, URL: core.URL{ID: 7, ShortCode: "abc"}, At: now}})
			w := webhooks.NewWorker(store, webhooks.WorkerConfig{URL: rcv.srv.URL, Secret: []byte(secret), Backoff: time.Minute, MaxBackoff: time.Hour, MaxAttempts: 3, Now: clock})

			step := func(advance time.Duration, wantSent int) core.WebhookDelivery {
				t.Helper()
				now = now.Add(advance)
				if n, err := w.RunOnce(t.Context()); err != nil || n != wantSent {
					t.Fatalf("at +%v RunOnce = %d, %v; want %d", advance, n, err, wantSent)
				}
				list, _ := store.ListWebhooks(t.Context(), "", 0)
				return list[0]
			}
			got := step(0, 1)
			if got.Status != core.WebhookPending || got.Attempts != 1 || got.LastStatus != 500 || !strings.Contains(got.LastError, "not now") {
				t.Errorf("after a 500: %+v", got)
			}
			// Backoff 1 min ±20 %: not due after 40 s, due after 80 s.
			if wait := got.NextAttemptAt.Sub(now); wait < 48*time.Second || wait > 72*time.Second {
				t.Errorf("next attempt in %v, want 1 min ±20 %%", wait)
			}
			step(40*time.Second, 0)
			got = step(40*time.Second, 1)
			if got.Attempts != 2 || got.LastStatus != 503 {
				t.Errorf("after a 503: %+v", got)
			}
			// The second wait doubles: 2 min ±20 %.
			if wait := got.NextAttemptAt.Sub(now); wait < 96*time.Second || wait > 144*time.Second {
				t.Errorf("second wait %v, want 2 min ±20 %%", wait)
			}
			got = step(3*time.Minute, 1)
			if got.Status != core.WebhookDelivered || got.Attempts != 3 || got.LastStatus != 204 {
				t.Errorf("after a 204: %+v", got)
			}
			ds := rcv.deliveries()
			if len(ds) != 3 || ds[0].ID != ds[2].ID || ds[0].Attempt != "1" || ds[2].Attempt != "3" {
				t.Errorf("deliveries = %+v, want one id over attempts 1..3", ds)
			}

			// Out of attempts: failed, then redelivered by hand.
			down := newReceiver(t, 500, 500, 500)
			w = webhooks.NewWorker(store, webhooks.WorkerConfig{URL: down.srv.URL, Secret: []byte(secret), Backoff: time.Second, MaxAttempts: 2, Now: clock})
			d.LinksChanged(t.Context(), []core.LinkChange{{Type: core.LinkDeleted, URL: core.URL{ID: 7}, At: now}})
			step(0, 1)
			got = step(time.Minute, 1)
			if got.Status != core.WebhookFailed || got.Attempts != 2 {
				t.Errorf("after max attempts: %+v", got)
			}
			step(time.Hour, 0)
			a, err := w.Redeliver(t.Context(), got.ID)
			if err != nil || a.Status != core.WebhookFailed || a.HTTPStatus != 500 {
				t.Errorf("Redeliver to a failing receiver = %+v, %v", a, err)
			}
			ok := webhooks.NewWorker(store, webhooks.WorkerConfig{URL: rcv.srv.URL, Secret: []byte(secret), Now: clock})
			a, err = ok.Redeliver(t.Context(), got.ID)
			if err != nil || a.Status != core.WebhookDelivered {
				t.Errorf("Redeliver = %+v, %v", a, err)
			}
			if g, _ := store.GetWebhook(t.Context(), got.ID); g.Status != core.WebhookDelivered || g.Attempts != 4 {
				t.Errorf("after redelivery: %+v", g)
			}
			if _, err := ok.Redeliver(t.Context(), 999); err == nil {
				t.Error("Redeliver of a missing id succeeded")
			}
		})
	}
}

// TestRedirectsAreNotFollowed: a receiver answering with a redirect (say
// to an internal address) does not get the signed delivery sent on; the
// 3xx is a failed attempt, retried like any other.
func TestRedirectsAreNotFollowed(t *testing.T) {
	store := openSQLite(t)
	var hit atomic.Bool
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit.Store(true)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer internal.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal.URL+"/latest/meta-data/", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	now := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	d := webhooks.NewDispatcher(store, webhooks.DispatcherConfig{Links: true, Now: clock})
	d.LinksChanged(t.Context(), []core.LinkChange{{Type: core.LinkCreated, URL: core.URL{ID: 7, ShortCode: "abc"}, At: now}})
	w := webhooks.NewWorker(store, webhooks.WorkerConfig{URL: redirector.URL, Secret: []byte(secret), Now: clock})
	if n, err := w.RunOnce(t.Context()); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	if hit.Load() {
		t.Error("the delivery followed the receiver's redirect")
	}
	list, _ := store.ListWebhooks(t.Context(), "", 0)
	if len(list) != 1 || list[0].Status != core.WebhookPending || list[0].LastStatus != http.StatusTemporaryRedirect {
		t.Errorf("after a redirect: %+v", list)
	}
}

// signedRequest is what a receiver got: its signature headers and body.
type signedRequest struct {
	signature, previous string
	hasPrevious         bool
	attempt             string
	body                []byte
}

// hmacHex is a receiver's own check value: "sha256=" and the hex
// HMAC-SHA256 of body under key, computed as docs/webhooks.md tells.
func hmacHex(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// TestSignaturesDuringRotation checks on both stores that a delivery
// queued and first tried under the old secret alone is retried, once
// webhooks.previous_secret holds it and webhooks.secret the new one,
// with X-Curtain-Signature under the new secret and
// X-Curtain-Signature-Previous under the old, each verifiable by a
// receiver holding that secret; and that without a previous secret the
// second header is absent.
func TestSignaturesDuringRotation(t *testing.T) {
	const oldSecret, newSecret = "old-rotation-secret-0123456789", "new-rotation-secret-9876543210"
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			store := st.open(t)
			var mu sync.Mutex
			var got []signedRequest
			fail := 1
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				prev, hasPrev := r.Header[webhooks.PreviousSignatureHeader]
				sr := signedRequest{signature: r.Header.Get("X-Curtain-Signature"), hasPrevious: hasPrev, attempt: r.Header.Get("X-Curtain-Attempt"), body: body}
				if hasPrev {
					sr.previous = prev[0]
				}
				mu.Lock()
				defer mu.Unlock()
				got = append(got, sr)
				if fail > 0 {
					fail--
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			defer rcv.Close()
			now := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			d := webhooks.NewDispatcher(store, webhooks.DispatcherConfig{Links: true, Now: clock})
			d.LinksChanged(t.Context(), []core.LinkChange{{Type: core.LinkCreated, URL: core.URL{ID: 7, ShortCode: "abc"}, At: now}})

			before := webhooks.NewWorker(store, webhooks.WorkerConfig{URL: rcv.URL, Secret: []byte(oldSecret), Backoff: time.Minute, Now: clock})
			if n, err := before.RunOnce(t.Context()); err != nil || n != 1 {
				t.Fatalf("RunOnce before the rotation = %d, %v", n, err)
			}
			// The operator rotates: secret is the new one, previous_secret
			// the old one, and the queued delivery is retried.
			now = now.Add(2 * time.Minute)
			during := webhooks.NewWorker(store, webhooks.WorkerConfig{URL: rcv.URL, Secret: []byte(newSecret), PreviousSecret: []byte(oldSecret), Now: clock})
			if n, err := during.RunOnce(t.Context()); err != nil || n != 1 {
				t.Fatalf("RunOnce during the rotation = %d, %v", n, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 2 {
				t.Fatalf("the receiver got %d requests, want 2", len(got))
			}
			first, retry := got[0], got[1]
			if first.signature != hmacHex(oldSecret, first.body) || first.hasPrevious {
				t.Errorf("before the rotation: signature %q, %s present %v; want the old secret's signature alone", first.signature, webhooks.PreviousSignatureHeader, first.hasPrevious)
			}
			if retry.attempt != "2" || string(retry.body) != string(first.body) {
				t.Errorf("the retry is attempt %s with body %s, want attempt 2 of the same body", retry.attempt, retry.body)
			}
			if retry.signature != hmacHex(newSecret, retry.body) {
				t.Errorf("during the rotation X-Curtain-Signature = %q, want the new secret's %q", retry.signature, hmacHex(newSecret, retry.body))
			}
			if retry.previous != hmacHex(oldSecret, retry.body) {
				t.Errorf("during the rotation %s = %q, want the old secret's %q", webhooks.PreviousSignatureHeader, retry.previous, hmacHex(oldSecret, retry.body))
			}
			// A receiver on either secret, checking both headers, accepts.
			for _, key := range []string{oldSecret, newSecret} {
				want := hmacHex(key, retry.body)
				if retry.signature != want && retry.previous != want {
					t.Errorf("a receiver holding %q finds no signature of its own", key)
				}
			}
			if list, _ := store.ListWebhooks(t.Context(), core.WebhookDelivered, 0); len(list) != 1 {
				t.Errorf("delivered = %+v, want the one delivery", list)
			}
		})
	}
}
