package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestServePrivacyMode runs serve with privacy mode set through CURTAIN_*
// variables and checks that the stored redirect carries the keyed hash of
// the client's address, not the address.
func TestServePrivacyMode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts curtain serve")
	}
	const key = "privacy-test-key-0123456789"
	s := startServer(t, t.TempDir(),
		"CURTAIN_PRIVACY__ENABLED=true",
		"CURTAIN_PRIVACY__VISITOR_KEY="+key,
		"CURTAIN_PRIVACY__RETENTION_DAYS=30")
	codes := createURLs(t, s, 1)
	if resp, body := s.do(t, "GET", "/r/"+codes[0], ""); resp.StatusCode != 302 {
		t.Fatalf("GET /r/%s = %d %s", codes[0], resp.StatusCode, body)
	}
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte("127.0.0.1"))
	want := hex.EncodeToString(m.Sum(nil)[:16])
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, body := s.do(t, "GET", "/events?event_type=redirect", "")
		var events []struct {
			Details map[string]any `json:"details"`
		}
		_ = json.Unmarshal([]byte(body), &events)
		if len(events) == 1 {
			if got := events[0].Details["ip"]; got != want {
				t.Errorf("stored ip = %v, want the keyed hash %s", got, want)
			}
			if strings.Contains(body, "127.0.0.1") {
				t.Errorf("the address is stored: %s", body)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no redirect event stored: %s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPrivacyConfigNeedsAKey(t *testing.T) {
	var stdout, stderr strings.Builder
	err := run(t.Context(), []string{"config"}, []string{"CURTAIN_PRIVACY__ENABLED=true", "CURTAIN_PRIVACY__VISITOR_KEY=short"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "privacy.visitor_key") {
		t.Errorf("curtain config with a short key = %v, want an error naming privacy.visitor_key", err)
	}
	stdout.Reset()
	err = run(t.Context(), []string{"config"}, []string{"CURTAIN_PRIVACY__ENABLED=true", "CURTAIN_PRIVACY__VISITOR_KEY=a-long-enough-secret-key"}, &stdout, &stderr)
	if err != nil || strings.Contains(stdout.String(), "a-long-enough-secret-key") || !strings.Contains(stdout.String(), "visitor_key") {
		t.Errorf("curtain config = %v, want the key listed masked:\n%s", err, stdout.String())
	}
}
