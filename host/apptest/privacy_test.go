package apptest_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// visitorID is privacy mode's identity of addr under key, computed here
// independently of the handler.
func visitorID(key, addr string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(addr))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// TestPrivacyModeStoresKeyedVisitors checks on both stores that with a
// visitor key the redirect events carry the keyed hash of the client's
// address and never the address, the same address giving the same
// identity; and that without one the reference's raw ip is kept.
func TestPrivacyModeStoresKeyedVisitors(t *testing.T) {
	const key = "0123456789abcdef-test-key"
	eachStore(t, func(t *testing.T, open storeFactory) {
		for _, mode := range []struct {
			name string
			key  []byte
			want func(addr string) string
		}{
			{"on", []byte(key), func(addr string) string { return visitorID(key, addr) }},
			{"off", nil, func(addr string) string { return addr }},
		} {
			t.Run(mode.name, func(t *testing.T) {
				e := newEnv(t, open, envConfig{visitorKey: mode.key, trusted: []string{"127.0.0.1/32", "::1/128"}})
				u := e.url("priv01", "https://example.com/private", nil, true)
				addrs := []string{"203.0.113.7", "203.0.113.7", "198.51.100.20"}
				for _, a := range addrs {
					if r := e.get("/r/priv01", "X-Forwarded-For", a); r.Status != http.StatusFound {
						t.Fatalf("GET /r/priv01 = %d", r.Status)
					}
				}
				r := e.get(fmt.Sprintf("/events?url_id=%d&event_type=redirect", u.ID))
				var events []struct {
					Details struct {
						IP string `json:"ip"`
					} `json:"details"`
				}
				if err := json.Unmarshal([]byte(r.Body), &events); err != nil {
					t.Fatalf("GET /events: %v %s", err, r.Body)
				}
				if len(events) != len(addrs) {
					t.Fatalf("%d redirect events, want %d", len(events), len(addrs))
				}
				for i, ev := range events {
					if want := mode.want(addrs[i]); ev.Details.IP != want {
						t.Errorf("event %d ip = %q, want %q", i, ev.Details.IP, want)
					}
				}
			})
		}
	})
}

// TestPrivacyModeCountsUniqueVisitors checks that the real-time unique
// visitor count, fed the keyed identities through a click shard, still
// tells visitors apart.
func TestPrivacyModeCountsUniqueVisitors(t *testing.T) {
	e := newEnv(t, openSQLite, envConfig{shards: 1, visitorKey: []byte("0123456789abcdef-test-key"), trusted: []string{"127.0.0.1/32", "::1/128"}})
	u := e.url("priv02", "https://example.com/private2", nil, true)
	for _, a := range []string{"203.0.113.7", "203.0.113.7", "198.51.100.20", "198.51.100.21"} {
		if r := e.get("/r/priv02", "X-Forwarded-For", a); r.Status != http.StatusFound {
			t.Fatalf("GET /r/priv02 = %d", r.Status)
		}
	}
	var rt struct {
		Total  int64 `json:"total_clicks"`
		Unique int64 `json:"unique_visitors"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := e.get(fmt.Sprintf("/urls/%d/realtime", u.ID))
		json.Unmarshal([]byte(r.Body), &rt)
		if rt.Total == 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if rt.Total != 4 || rt.Unique != 3 {
		t.Errorf("realtime = %d clicks, %d unique visitors; want 4 and 3", rt.Total, rt.Unique)
	}
}
