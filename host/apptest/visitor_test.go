package apptest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// testVisitorIdentity: a client cannot forge its visitor identity (issue
// 15, Q18). Without trusted proxies the socket peer is the visitor; with
// them, the rightmost address no trusted proxy wrote; the stored ip is
// always an IP address.
func testVisitorIdentity(t *testing.T, newStore storeFactory) {
	realtime := func(e *env, id int64) (total, unique int64) {
		var rt struct {
			TotalClicks    int64 `json:"total_clicks"`
			UniqueVisitors int64 `json:"unique_visitors"`
		}
		e.get(fmt.Sprintf("/urls/%d/realtime", id)).decode(t, &rt)
		return rt.TotalClicks, rt.UniqueVisitors
	}

	t.Run("forged headers without proxies", func(t *testing.T) {
		e := newEnv(t, newStore, envConfig{shards: 1})
		u := e.url("forge1", "https://example.com/forge", nil, true)
		for i := range 50 {
			forged := fmt.Sprintf("198.51.100.%d, 10.0.0.%d", i, i)
			if i%5 == 0 {
				forged = fmt.Sprintf("<script>%d</script>", i)
			}
			if r := e.get("/r/forge1", "X-Forwarded-For", forged, "X-Real-IP", forged); r.Status != http.StatusFound {
				t.Fatalf("redirect %d = %d", i, r.Status)
			}
		}
		e.waitClicks("forge1", 50)
		if total, unique := realtime(e, u.ID); total != 50 || unique != 1 {
			t.Errorf("50 forged headers from one client: %d clicks, %d unique visitors; want 50, 1", total, unique)
		}
		e.drainStreams()
		for _, ev := range e.events(u.ID) {
			var d struct {
				IP string `json:"ip"`
			}
			if err := json.Unmarshal([]byte(ev.Details), &d); err != nil || d.IP != "127.0.0.1" {
				t.Fatalf("stored event details %s, want ip 127.0.0.1", ev.Details)
			}
		}
	})

	t.Run("behind a trusted proxy", func(t *testing.T) {
		e := newEnv(t, newStore, envConfig{shards: 1, trusted: []string{"127.0.0.0/8"}})
		u := e.url("proxy1", "https://example.com/proxy", nil, true)
		// Each client forges the left part; the proxy appends what it saw.
		for i := range 50 {
			client := fmt.Sprintf("203.0.113.%d", i%3)
			xff := fmt.Sprintf("6.6.%d.%d, %s", i, i, client)
			if r := e.get("/r/proxy1", "X-Forwarded-For", xff); r.Status != http.StatusFound {
				t.Fatalf("redirect %d = %d", i, r.Status)
			}
		}
		// A trusted hop that wrote garbage: the proxy itself is the visitor.
		e.get("/r/proxy1", "X-Forwarded-For", "999.1.1.1")
		e.waitClicks("proxy1", 51)
		if total, unique := realtime(e, u.ID); total != 51 || unique != 4 {
			t.Errorf("3 clients and the proxy: %d clicks, %d unique visitors; want 51, 4", total, unique)
		}
		e.drainStreams()
		ips := map[string]int{}
		for _, ev := range e.events(u.ID) {
			var d struct {
				IP string `json:"ip"`
			}
			if err := json.Unmarshal([]byte(ev.Details), &d); err != nil {
				t.Fatal(err)
			}
			ips[d.IP]++
		}
		want := map[string]int{"203.0.113.0": 17, "203.0.113.1": 17, "203.0.113.2": 16, "127.0.0.1": 1}
		if fmt.Sprint(ips) != fmt.Sprint(want) {
			t.Errorf("stored ips %v, want %v", ips, want)
		}
	})
}
