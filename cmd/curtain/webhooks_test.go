package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/curtainhq/curtain/host/webhooks"
)

// TestServeWebhooks runs serve with webhooks set through CURTAIN_*
// variables: creating a link and following it reach a receiver as signed
// link.created and clicks.stored deliveries, fed by the store and the
// stream consumer; `curtain webhooks list` shows them and `redeliver`
// sends one again, under the configured secret and, with
// CURTAIN_WEBHOOKS__PREVIOUS_SECRET, under the previous one too (serve,
// without it, sends the one signature). Clicks the host stores itself (the direct events mode,
// the durable mode over the memory shard) are sent too.
func TestServeWebhooks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts curtain serve")
	}
	for name, env := range map[string]string{
		"stream":  "CURTAIN_CLICKS__EVENTS=stream",
		"direct":  "CURTAIN_CLICKS__EVENTS=direct",
		"durable": "CURTAIN_CLICKS__DURABILITY=durable",
	} {
		t.Run(name, func(t *testing.T) { testServeWebhooks(t, env) })
	}
}

func testServeWebhooks(t *testing.T, mode string) {
	const secret, previous = "serve-webhook-secret-0123456789", "serve-webhook-previous-0123456789"
	var mu sync.Mutex
	var events, previousSigs []string
	var bodies []map[string]any
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Curtain-Signature") != webhooks.Sign([]byte(secret), body) {
			t.Errorf("bad signature on %s", body)
		}
		if p := r.Header.Values(webhooks.PreviousSignatureHeader); len(p) > 0 {
			mu.Lock()
			previousSigs = append(previousSigs, p[0])
			mu.Unlock()
			if p[0] != webhooks.Sign([]byte(previous), body) {
				t.Errorf("bad previous signature on %s", body)
			}
		}
		var m map[string]any
		json.Unmarshal(body, &m)
		mu.Lock()
		events = append(events, r.Header.Get("X-Curtain-Event"))
		bodies = append(bodies, m)
		mu.Unlock()
	}))
	defer rcv.Close()
	dir := t.TempDir()
	s := startServer(t, dir,
		"CURTAIN_WEBHOOKS__URL="+rcv.URL+"/hook",
		"CURTAIN_WEBHOOKS__SECRET="+secret,
		"CURTAIN_WEBHOOKS__POLL_INTERVAL=50ms", mode)
	codes := createURLs(t, s, 1)
	for range 2 {
		if resp, _ := s.do(t, "GET", "/r/"+codes[0], ""); resp.StatusCode != 302 {
			t.Fatalf("redirect = %d", resp.StatusCode)
		}
	}
	clicks := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for i, e := range events {
			if e == "clicks.stored" {
				n += len(bodies[i]["data"].(map[string]any)["clicks"].([]any))
			}
		}
		return n
	}
	deadline := time.Now().Add(20 * time.Second)
	for clicks() < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	n := clicks()
	mu.Lock()
	if len(events) == 0 || events[0] != "link.created" || n != 2 {
		t.Errorf("events = %v (%d clicks), want link.created then clicks.stored with 2 clicks", events, n)
	}
	if len(previousSigs) > 0 {
		t.Errorf("without webhooks.previous_secret serve sent %s: %v", webhooks.PreviousSignatureHeader, previousSigs)
	}
	mu.Unlock()

	var stdout, stderr strings.Builder
	db := []string{"--sqlite-path", filepath.Join(dir, "curtain.db")}
	if err := run(t.Context(), append([]string{"webhooks", "list"}, db...), nil, &stdout, &stderr); err != nil {
		t.Fatalf("webhooks list: %v %s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "link.created") || !strings.Contains(stdout.String(), "delivered") {
		t.Errorf("webhooks list:\n%s", stdout.String())
	}
	stdout.Reset()
	env := []string{"CURTAIN_WEBHOOKS__URL=" + rcv.URL + "/hook", "CURTAIN_WEBHOOKS__SECRET=" + secret, "CURTAIN_WEBHOOKS__PREVIOUS_SECRET=" + previous}
	if err := run(t.Context(), append([]string{"webhooks", "redeliver", "1"}, db...), env, &stdout, &stderr); err != nil || !strings.Contains(stdout.String(), "Delivered 1: 200") {
		t.Errorf("webhooks redeliver 1 = %v: %s %s", err, stdout.String(), stderr.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(previousSigs) != 1 {
		t.Errorf("redeliver with webhooks.previous_secret sent %d %s headers, want 1", len(previousSigs), webhooks.PreviousSignatureHeader)
	}
}
