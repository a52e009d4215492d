package apptest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// secretHost is the host of every target of the protected links below:
// no answer to a request that may not change the link may hold it.
const secretHost = "secret.example"

// protectedLink is a password-protected link with every kind of target.
const protectedLink = `{"original_url":"https://secret.example/a","password":"pw","tags":["p"],` +
	`"expired_url":"https://secret.example/gone","max_visits":100,` +
	`"rules":[{"name":"v1","when":{"query":{"v":"1"}},"target":"https://secret.example/v1"},` +
	`{"when":{},"targets":[{"url":"https://secret.example/x","weight":1},{"url":"https://secret.example/y","weight":3}]}]}`

// readRoutes are the read routes that show link id (with tag "p" and
// owner user uid) or its events.
func readRoutes(id, uid int64) []string {
	return []string{
		fmt.Sprintf("/urls/%d", id), "/urls", "/urls?order=newest", "/urls?tags=p", "/urls?limit=500",
		fmt.Sprintf("/urls?user_id=%d", uid), fmt.Sprintf("/urls/%d/analytics", id),
		"/events", "/events?order=newest", fmt.Sprintf("/events?url_id=%d", id),
		fmt.Sprintf("/urls/%d/qr", id), fmt.Sprintf("/urls/%d/qr?format=png", id), "/",
	}
}

// testProtectedReads: a password-protected link's targets (original_url,
// expired_url, its rules' targets, the same members of its events'
// details) are shown only to a request whose key may change the link:
// the key that created it (or its replacement after a rotation) or an
// admin key. Anyone else, with no key, a read key, another write key or
// an invalid one, reads the link with those values null, on every read
// route. Open links read as before. Before, every read route showed the
// targets to anyone.
func testProtectedReads(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{requireKey: true})
	alice, aliceKey := e.newKey("alice", "write")
	bob, _ := e.newKey("bob", "write")
	reader, _ := e.newKey("reader", "read")
	admin, _ := e.newKey("admin", "admin")
	owner := e.user("owner")
	as := func(secret, method, path, body string) result {
		return e.do(method, path, body, "Content-Type", "application/json", "X-API-Key", secret)
	}

	// The creating and updating requests see what they sent.
	var link struct {
		ID        int64  `json:"id"`
		ShortCode string `json:"short_code"`
	}
	r := as(alice, "POST", "/urls", strings.Replace(protectedLink, `{`, fmt.Sprintf(`{"user_id":%d,`, owner.ID), 1))
	if r.Status != http.StatusCreated || !strings.Contains(r.Body, `"original_url":"https://secret.example/a"`) {
		t.Fatalf("create = %d %s, want 201 with the target", r.Status, r.Body)
	}
	r.decode(t, &link)
	path := fmt.Sprintf("/urls/%d", link.ID)
	full := as(alice, "PUT", path, `{"original_url":"https://secret.example/b"}`)
	if full.Status != http.StatusOK || !strings.Contains(full.Body, `"original_url":"https://secret.example/b"`) {
		t.Fatalf("update = %d %s, want 200 with the new target", full.Status, full.Body)
	}
	// A visit through the rule, with the password: its redirect event
	// names the rule's target (stored before the answer: no shards).
	if r := e.get("/r/"+link.ShortCode+"?v=1", "Authorization", basic("", "pw")); r.Status != http.StatusFound {
		t.Fatalf("redirect with the password = %d %s", r.Status, r.Body)
	}
	// An open link of alice's, and an event a client posted about the
	// protected link naming a target.
	var openLink struct {
		ID int64 `json:"id"`
	}
	r = as(alice, "POST", "/urls", `{"original_url":"https://open.example/page"}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("create open link = %d %s", r.Status, r.Body)
	}
	r.decode(t, &openLink)
	if r := as(alice, "POST", "/events", fmt.Sprintf(`{"event_type":"note","url_id":%d,"details":{"target":"https://secret.example/c","n":1}}`, link.ID)); r.Status != http.StatusCreated {
		t.Fatalf("post an event = %d %s", r.Status, r.Body)
	}
	var events []struct {
		ID int64 `json:"id"`
	}
	e.get(fmt.Sprintf("/events?url_id=%d", link.ID)).decode(t, &events)
	if len(events) != 4 { // created, updated, redirect, note
		t.Fatalf("events of the link = %d, want 4", len(events))
	}
	routes := readRoutes(link.ID, owner.ID)
	for _, ev := range events {
		routes = append(routes, fmt.Sprintf("/events/%d", ev.ID))
	}

	// Those who may change the link see everything, marked private.
	rotated, _ := e.rotateKey(aliceKey)
	for who, secret := range map[string]string{"alice": alice, "alice's replacement": rotated, "admin": admin} {
		r := as(secret, "GET", path, "")
		if r.Status != http.StatusOK || !strings.Contains(r.Body, `"original_url":"https://secret.example/b"`) ||
			!strings.Contains(r.Body, `"expired_url":"https://secret.example/gone"`) || !strings.Contains(r.Body, `"target":"https://secret.example/v1"`) {
			t.Errorf("GET %s as %s = %d %s, want the targets", path, who, r.Status, r.Body)
		}
		if r.Body != full.Body {
			t.Errorf("GET %s as %s = %s\nwant the update's answer %s", path, who, r.Body, full.Body)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "private, no-store" {
			t.Errorf("GET %s as %s Cache-Control = %q, want private, no-store", path, who, cc)
		}
		for _, p := range []string{fmt.Sprintf("/events?url_id=%d", link.ID), fmt.Sprintf("/urls/%d/analytics", link.ID), "/urls?tags=p"} {
			if r := as(secret, "GET", p, ""); !strings.Contains(r.Body, secretHost) {
				t.Errorf("GET %s as %s = %s, want the targets", p, who, r.Body)
			}
		}
	}

	// Everyone else, after the owner's reads filled the caches.
	others := map[string][]string{
		"no key":         nil,
		"a read key":     {"X-API-Key", reader},
		"another key":    {"Authorization", "Bearer " + bob},
		"an unknown key": {"X-API-Key", "ck_" + strings.Repeat("0", 64)},
	}
	for who, header := range others {
		for _, p := range routes {
			for _, method := range []string{"GET", "HEAD"} {
				r := e.do(method, p, "", header...)
				if r.Status != http.StatusOK {
					t.Errorf("%s %s with %s = %d %s", method, p, who, r.Status, r.Body)
				}
				if strings.Contains(r.Body, secretHost) || strings.Contains(fmt.Sprint(r.Header), secretHost) {
					t.Errorf("%s %s with %s shows a target: %v %s", method, p, who, r.Header, r.Body)
				}
			}
		}
		var got map[string]any
		e.get(path, header...).decode(t, &got)
		want := map[string]any{"original_url": nil, "expired_url": nil, "password_protected": true, "short_code": link.ShortCode}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("GET %s with %s: %s = %v, want %v", path, who, k, got[k], v)
			}
		}
		rules, _ := json.Marshal(got["rules"])
		if want := `[{"name":"v1","target":null,"when":{"query":{"v":"1"}}},{"targets":[{"url":null,"weight":1},{"url":null,"weight":3}],"when":{}}]`; string(rules) != want {
			t.Errorf("GET %s with %s: rules = %s, want %s", path, who, rules, want)
		}
		var evs []struct {
			Details map[string]any `json:"details"`
		}
		e.get(fmt.Sprintf("/events?url_id=%d", link.ID), header...).decode(t, &evs)
		for i, member := range []string{"original_url", "original_url", "target", "target"} {
			if v, ok := evs[i].Details[member]; !ok || v != nil {
				t.Errorf("event %d with %s: details %v, want %s null", i, who, evs[i].Details, member)
			}
		}
		if evs[3].Details["n"] != 1.0 {
			t.Errorf("the posted event's other details with %s: %v", who, evs[3].Details)
		}
		var an map[string]any
		e.get(fmt.Sprintf("/urls/%d/analytics", link.ID), header...).decode(t, &an)
		if v, ok := an["original_url"]; !ok || v != nil || len(an) != 8 {
			t.Errorf("analytics with %s = %v, want the eight fields, original_url null", who, an)
		}
	}

	// Open links read the same for everyone, without Cache-Control.
	openPath := fmt.Sprintf("/urls/%d", openLink.ID)
	anon := e.get(openPath)
	if !strings.Contains(anon.Body, `"original_url":"https://open.example/page"`) || anon.Header.Get("Cache-Control") != "" {
		t.Errorf("GET %s without a key = %v %s", openPath, anon.Header, anon.Body)
	}
	if r := as(alice, "GET", openPath, ""); r.Body != anon.Body {
		t.Errorf("GET %s as alice = %s, without a key %s", openPath, r.Body, anon.Body)
	}

	// A revoked owner key no longer sees the targets.
	if err := keyStore(e.store).RevokeAPIKey(t.Context(), aliceKey.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if r := as(alice, "GET", path, ""); strings.Contains(r.Body, secretHost) {
		t.Errorf("GET %s with alice's revoked key = %s", path, r.Body)
	}
	if r := as(rotated, "GET", path, ""); !strings.Contains(r.Body, secretHost) {
		t.Errorf("GET %s with the replacement after the old key's revocation = %s", path, r.Body)
	}
}

// testProtectedReadsKeysOff: with auth.require_api_key off, reads of a
// protected link still look a presented key up: an admin key sees the
// targets, no key does not (a link created without a key belongs to no
// key).
func testProtectedReadsKeysOff(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{})
	admin, _ := e.newKey("admin", "admin")
	writer, _ := e.newKey("writer", "write")
	r := e.postJSON("/urls", protectedLink)
	if r.Status != http.StatusCreated || !strings.Contains(r.Body, secretHost) {
		t.Fatalf("create without a key = %d %s, want 201 with the target", r.Status, r.Body)
	}
	var link struct {
		ID int64 `json:"id"`
	}
	r.decode(t, &link)
	for _, p := range readRoutes(link.ID, 0) {
		for who, header := range map[string][]string{"no key": nil, "a write key": {"X-API-Key", writer}} {
			if r := e.get(p, header...); r.Status != http.StatusOK || strings.Contains(r.Body, secretHost) {
				t.Errorf("GET %s with %s = %d %s", p, who, r.Status, r.Body)
			}
		}
	}
	if r := e.get(fmt.Sprintf("/urls/%d", link.ID), "X-API-Key", admin); !strings.Contains(r.Body, secretHost) {
		t.Errorf("GET as admin with keys off = %s, want the targets", r.Body)
	}
}

// testProtectedSearch: GET /urls?q= finds a password-protected link by
// its code or title for anyone, but by its hidden original URL only for
// a request that may see it (the owning key, before and after a
// rotation, or an admin key): a search that matches only there returns nothing to anyone else,
// who would otherwise learn a part of the target from the answer.
func testProtectedSearch(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{requireKey: true})
	alice, aliceKey := e.newKey("alice", "write")
	bob, _ := e.newKey("bob", "write")
	reader, _ := e.newKey("reader", "read")
	admin, _ := e.newKey("admin", "admin")
	r := e.do("POST", "/urls", `{"original_url":"https://secret.example/plan","password":"pw","title":"Locked"}`,
		"Content-Type", "application/json", "X-API-Key", alice)
	if r.Status != http.StatusCreated {
		t.Fatalf("create = %d %s", r.Status, r.Body)
	}
	var link struct {
		ShortCode string `json:"short_code"`
	}
	r.decode(t, &link)
	found := func(r result) bool { return strings.Contains(r.Body, `"short_code":"`+link.ShortCode+`"`) }
	rotated, _ := e.rotateKey(aliceKey)
	for who, header := range map[string][]string{
		"no key":         nil,
		"a read key":     {"X-API-Key", reader},
		"another key":    {"X-API-Key", bob},
		"an unknown key": {"X-API-Key", "ck_" + strings.Repeat("0", 64)},
	} {
		for _, q := range []string{"secret", "SECRET.example/pl", "plan"} {
			if r := e.get("/urls?order=newest&q="+q, header...); r.Status != http.StatusOK || r.Body != "[]\n" {
				t.Errorf("GET /urls?q=%s with %s = %d %s, want [] (the match is in the hidden target)", q, who, r.Status, r.Body)
			}
		}
		for _, q := range []string{"locked", link.ShortCode} {
			if r := e.get("/urls?q="+q, header...); r.Status != http.StatusOK || !found(r) || strings.Contains(r.Body, secretHost) {
				t.Errorf("GET /urls?q=%s with %s = %d %s, want the link without its target", q, who, r.Status, r.Body)
			}
		}
	}
	for who, secret := range map[string]string{"alice": alice, "alice's replacement": rotated, "admin": admin} {
		r := e.get("/urls?q=secret.example/plan", "X-API-Key", secret)
		if r.Status != http.StatusOK || !found(r) || !strings.Contains(r.Body, secretHost) || r.Header.Get("Cache-Control") != "private, no-store" {
			t.Errorf("GET /urls?q=secret.example/plan as %s = %d %v %s, want the link with its target, private", who, r.Status, r.Header, r.Body)
		}
	}
}
