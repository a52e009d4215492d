package apptest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/httpapi"
)

// newKey stores a fresh key with scopes and returns its secret.
func (e *env) newKey(name string, scopes ...string) (string, core.APIKey) {
	e.t.Helper()
	secret, k, err := core.NewAPIKey(name, scopes, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if err := keyStore(e.store).CreateAPIKey(e.t.Context(), &k); err != nil {
		e.t.Fatalf("CreateAPIKey: %v", err)
	}
	return secret, k
}

// testAPIKeys: with auth.require_api_key, write routes need a valid,
// unrevoked key with the write scope, sent as X-API-Key or Bearer; a key
// changes and deletes only the links it created unless it is an admin
// key; reads and redirects stay open; keys are stored hashed.
func testAPIKeys(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{requireKey: true})
	alice, _ := e.newKey("alice", "write")
	bob, _ := e.newKey("bob", "write")
	reader, _ := e.newKey("reader", "read")
	admin, _ := e.newKey("admin", "admin")
	revoked, rk := e.newKey("old", "write")
	if err := keyStore(e.store).RevokeAPIKey(t.Context(), rk.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	as := func(secret, method, path, body string) result {
		return e.do(method, path, body, "Content-Type", "application/json", "X-API-Key", secret)
	}

	// Who gets in.
	r := e.postJSON("/urls", `{"original_url":"https://example.com/anon"}`)
	r.wantError(t, "create without a key", http.StatusUnauthorized, "API key required")
	if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
	}
	as("ck_"+strings.Repeat("0", 64), "POST", "/urls", `{"original_url":"https://example.com/x"}`).
		wantError(t, "unknown key", http.StatusUnauthorized, "Invalid API key")
	as(revoked, "POST", "/urls", `{"original_url":"https://example.com/x"}`).
		wantError(t, "revoked key", http.StatusUnauthorized, "Invalid API key")
	as(reader, "POST", "/urls", `{"original_url":"https://example.com/x"}`).
		wantError(t, "read-only key", http.StatusForbidden, "API key lacks the write scope")
	for _, path := range []string{"/users", "/events"} {
		e.postJSON(path, `{}`).wantError(t, "POST "+path+" without a key", http.StatusUnauthorized, "API key required")
	}
	e.do("POST", "/shorten-ui", "original_url=https://ui.io/x", "Content-Type", "application/x-www-form-urlencoded").
		wantError(t, "shorten-ui without a key", http.StatusUnauthorized, "API key required")

	var mine struct {
		ID        int64  `json:"id"`
		ShortCode string `json:"short_code"`
	}
	r = as(alice, "POST", "/urls", `{"original_url":"https://example.com/alice"}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("create with alice's key = %d %s", r.Status, r.Body)
	}
	r.decode(t, &mine)
	r = e.do("POST", "/urls", `{"original_url":"https://example.com/bob"}`, "Content-Type", "application/json", "Authorization", "Bearer "+bob)
	if r.Status != http.StatusCreated {
		t.Fatalf("create with bob's Bearer key = %d %s", r.Status, r.Body)
	}
	var bobs struct {
		ID int64 `json:"id"`
	}
	r.decode(t, &bobs)

	// Find-if-exists stays within a key: bob creating alice's URL gets a
	// link of his own, alice creating it again gets hers.
	var again struct {
		ID int64 `json:"id"`
	}
	r = as(bob, "POST", "/urls", `{"original_url":"https://example.com/alice"}`)
	r.decode(t, &again)
	if r.Status != http.StatusCreated || again.ID == mine.ID {
		t.Errorf("bob creates alice's URL = %d, link %d; want 201 and not alice's link %d", r.Status, again.ID, mine.ID)
	}
	r = as(alice, "POST", "/urls", `{"original_url":"https://example.com/alice"}`)
	r.decode(t, &again)
	if r.Status != http.StatusOK || again.ID != mine.ID {
		t.Errorf("alice creates her URL again = %d, link %d; want 200 and her link %d", r.Status, again.ID, mine.ID)
	}

	// Reads and redirects stay open.
	if r := e.get(fmt.Sprintf("/urls/%d", mine.ID)); r.Status != http.StatusOK {
		t.Errorf("read without a key = %d", r.Status)
	}
	if r := e.get("/r/" + mine.ShortCode); r.Status != http.StatusFound {
		t.Errorf("redirect without a key = %d", r.Status)
	}
	// So does a protected link's password form, which a visitor posts
	// without a key, on every redirect path.
	var locked struct {
		ShortCode string `json:"short_code"`
	}
	as(alice, "POST", "/urls", `{"original_url":"https://example.com/locked","password":"open sesame"}`).decode(t, &locked)
	for _, p := range []string{"/r/", "/urls/short/", "/urls/%s/redirect"} {
		path := p + locked.ShortCode
		if strings.Contains(p, "%s") {
			path = fmt.Sprintf(p, locked.ShortCode)
		}
		r := e.do("POST", path, "password=open+sesame", "Content-Type", "application/x-www-form-urlencoded")
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "https://example.com/locked" {
			t.Errorf("password form at %s without a key = %d %s, want 303 to the link", path, r.Status, r.Body)
		}
	}

	// Ownership.
	path := fmt.Sprintf("/urls/%d", mine.ID)
	as(bob, "PUT", path, `{"title":"mine now"}`).wantError(t, "bob updates alice's link", http.StatusForbidden, "URL belongs to another API key")
	as(bob, "DELETE", path, "").wantError(t, "bob deletes alice's link", http.StatusForbidden, "URL belongs to another API key")
	if r := as(alice, "PUT", path, `{"title":"renamed"}`); r.Status != http.StatusOK {
		t.Errorf("alice updates her link = %d %s", r.Status, r.Body)
	}
	as(alice, "DELETE", "/urls/99999", "").wantError(t, "delete a missing link", http.StatusNotFound, "URL not found")
	// Events count in a link's analytics: only its owner (or an admin)
	// posts them, so bob cannot inflate alice's redirect_count.
	event := fmt.Sprintf(`{"url_id":%d,"event_type":"redirect"}`, mine.ID)
	as(bob, "POST", "/events", event).wantError(t, "bob posts an event on alice's link", http.StatusForbidden, "URL belongs to another API key")
	for name, key := range map[string]string{"alice": alice, "admin": admin} {
		if r := as(key, "POST", "/events", event); r.Status != http.StatusCreated {
			t.Errorf("%s posts an event on alice's link = %d %s", name, r.Status, r.Body)
		}
	}
	as(bob, "POST", "/events", `{"url_id":99999,"event_type":"redirect"}`).wantError(t, "event on a missing link", http.StatusNotFound, "URL not found")
	if r := as(admin, "DELETE", fmt.Sprintf("/urls/%d", bobs.ID), ""); r.Status != http.StatusNoContent {
		t.Errorf("admin deletes bob's link = %d %s", r.Status, r.Body)
	}
	if r := as(alice, "DELETE", path, ""); r.Status != http.StatusNoContent {
		t.Errorf("alice deletes her link = %d %s", r.Status, r.Body)
	}
	// A link made before keys were required belongs to no key: admin only.
	old := e.url("old001", "https://example.com/old", nil, true)
	as(alice, "DELETE", fmt.Sprintf("/urls/%d", old.ID), "").wantError(t, "delete an unowned link", http.StatusForbidden, "URL belongs to another API key")
	as(alice, "POST", "/events", fmt.Sprintf(`{"url_id":%d,"event_type":"click"}`, old.ID)).wantError(t, "event on an unowned link", http.StatusForbidden, "URL belongs to another API key")
	// Users are not owned: changing one takes an admin key.
	u := e.user("carol")
	as(alice, "DELETE", fmt.Sprintf("/users/%d", u.ID), "").wantError(t, "write key deletes a user", http.StatusForbidden, "API key lacks the admin scope")
	if r := as(admin, "DELETE", fmt.Sprintf("/users/%d", u.ID), ""); r.Status != http.StatusNoContent {
		t.Errorf("admin deletes a user = %d", r.Status)
	}

	// Stored hashed: no key's text is in the store.
	keys, err := keyStore(e.store).ListAPIKeys(t.Context())
	if err != nil || len(keys) != 5 {
		t.Fatalf("ListAPIKeys = %d keys, %v", len(keys), err)
	}
	for _, k := range keys {
		if k.Hash == alice || strings.Contains(k.Hash, alice[3:]) || len(k.Hash) != 64 || k.Hash == "" {
			t.Errorf("key %d stored as %q", k.ID, k.Hash)
		}
	}
	if keys[0].Hash != core.HashAPIKey(alice) {
		t.Errorf("alice's key hash = %q, want its SHA-256", keys[0].Hash)
	}

	// Off (the default): nothing is asked.
	off := newEnv(t, newStore, envConfig{})
	if r := off.postJSON("/urls", `{"original_url":"https://example.com/open"}`); r.Status != http.StatusCreated {
		t.Errorf("create with keys off = %d", r.Status)
	}
}

// testKeyRateLimit: the create limit counts per API key too, whatever
// address the key is used from.
func testKeyRateLimit(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{requireKey: true, trusted: []string{"127.0.0.0/8"},
		rateLimits: httpapi.RateLimits{Create: httpapi.RateLimit{Requests: 1, Per: time.Hour, Burst: 1}}})
	key, _ := e.newKey("busy", "write")
	other, _ := e.newKey("other", "write")
	create := func(secret, ip, target string) result {
		return e.do("POST", "/urls", `{"original_url":"https://example.com/`+target+`"}`,
			"Content-Type", "application/json", "X-API-Key", secret, "X-Forwarded-For", ip)
	}
	if r := create(key, "203.0.113.1", "k1"); r.Status != http.StatusCreated {
		t.Fatalf("first create = %d %s", r.Status, r.Body)
	}
	create(key, "203.0.113.2", "k2").wantError(t, "the same key from another address", http.StatusTooManyRequests, "Too many requests")
	if r := create(other, "203.0.113.3", "k3"); r.Status != http.StatusCreated {
		t.Errorf("another key from another address = %d %s", r.Status, r.Body)
	}
}
