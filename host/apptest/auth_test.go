package apptest_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
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
	// A link with options of its own (a custom code, tags, a visit
	// limit, a password) is made by another store call; its creator owns
	// it all the same (it used to belong to no key: 403 for its creator).
	var slug struct {
		ID int64 `json:"id"`
	}
	r = as(alice, "POST", "/urls", `{"original_url":"https://example.com/opts","short_code":"alice-slug","tags":["a"],"max_visits":5}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("alice creates a link with options = %d %s", r.Status, r.Body)
	}
	r.decode(t, &slug)
	slugPath := fmt.Sprintf("/urls/%d", slug.ID)
	if r := as(alice, "PUT", slugPath, `{"title":"mine"}`); r.Status != http.StatusOK {
		t.Errorf("alice updates her link with options = %d %s, want 200", r.Status, r.Body)
	}
	as(bob, "PUT", slugPath, `{"title":"bob"}`).wantError(t, "bob updates alice's link with options", http.StatusForbidden, "URL belongs to another API key")
	if r := as(alice, "DELETE", slugPath, ""); r.Status != http.StatusNoContent && r.Status != http.StatusOK {
		t.Errorf("alice deletes her link with options = %d %s", r.Status, r.Body)
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
	// A rotated key and its replacement share one budget: the limit
	// counts the key a request acts as, the newest.
	old, fresh := e.newKey("fresh", "write")
	rotated, _ := e.rotateKey(fresh)
	if r := create(rotated, "203.0.113.4", "k4"); r.Status != http.StatusCreated {
		t.Errorf("the replacement's first create = %d %s", r.Status, r.Body)
	}
	create(old, "203.0.113.5", "k5").wantError(t, "the replaced key after its replacement", http.StatusTooManyRequests, "Too many requests")
}

// rotateKey rotates key old as `curtain keys rotate` does and returns the
// new key's secret.
func (e *env) rotateKey(old core.APIKey) (string, core.APIKey) {
	e.t.Helper()
	secret, k, err := core.NewAPIKey(old.Name, old.Scopes, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if err := keyStore(e.store).RotateAPIKey(e.t.Context(), old.ID, &k); err != nil {
		e.t.Fatalf("RotateAPIKey(%d): %v", old.ID, err)
	}
	return secret, k
}

// testAPIKeyRotation: rotating a write key gives the new key the links
// the old one owns (it changes them, and find-if-exists answers them);
// the old key, until revoked, acts as the new one, and after another
// rotation as the newest; a revoked, replaced or missing key is not
// rotated. The new key used to get 403 on the old key's links and a
// second link for the same URL.
func testAPIKeyRotation(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{requireKey: true})
	ks := keyStore(e.store)
	as := func(secret, method, path, body string) result {
		return e.do(method, path, body, "Content-Type", "application/json", "X-API-Key", secret)
	}
	create := func(secret, target string) (int, int64) {
		var l struct {
			ID int64 `json:"id"`
		}
		r := as(secret, "POST", "/urls", `{"original_url":"https://example.com/`+target+`"}`)
		r.decode(t, &l)
		return r.Status, l.ID
	}
	mustCreate := func(who, secret, target string) int64 {
		t.Helper()
		status, id := create(secret, target)
		if status != http.StatusCreated {
			t.Fatalf("%s creates %s = %d, want 201", who, target, status)
		}
		return id
	}
	wantFound := func(who, secret, target string, want int64) {
		t.Helper()
		if status, id := create(secret, target); status != http.StatusOK || id != want {
			t.Errorf("%s creates %s again = %d, link %d; want 200 and link %d", who, target, status, id, want)
		}
	}
	wantEdit := func(who, secret string, id int64) {
		t.Helper()
		if r := as(secret, "PUT", fmt.Sprintf("/urls/%d", id), `{"title":"`+who+`"}`); r.Status != http.StatusOK {
			t.Errorf("%s updates link %d = %d %s, want 200", who, id, r.Status, r.Body)
		}
	}
	a, ka := e.newKey("deploy-bot", "write")
	bob, _ := e.newKey("bob", "write")
	first := mustCreate("A", a, "first")

	// A → B: B owns and finds A's link.
	b, kb := e.rotateKey(ka)
	if kb.ID == ka.ID || kb.Name != ka.Name || !slices.Equal(kb.Scopes, ka.Scopes) {
		t.Errorf("rotated key = %+v, want a new key named and scoped as %+v", kb, ka)
	}
	wantEdit("B", b, first)
	wantFound("B", b, "first", first)
	// A still works, as B: its new links are B's, and both find them.
	byA := mustCreate("A", a, "by-a")
	wantEdit("B", b, byA)
	wantFound("B", b, "by-a", byA)
	byB := mustCreate("B", b, "by-b")
	wantEdit("A", a, byB)
	wantFound("A", a, "by-b", byB)
	wantFound("A", a, "first", first)
	// Another key owns none of them.
	as(bob, "PUT", fmt.Sprintf("/urls/%d", first), `{"title":"bob"}`).
		wantError(t, "bob updates a rotated key's link", http.StatusForbidden, "URL belongs to another API key")

	// Revoking A closes A only.
	if err := ks.RevokeAPIKey(t.Context(), ka.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	as(a, "POST", "/urls", `{"original_url":"https://example.com/late"}`).
		wantError(t, "revoked A", http.StatusUnauthorized, "Invalid API key")
	wantEdit("B", b, first)

	// B → C carries the chain: B acts as C, and C owns everything.
	c, kc := e.rotateKey(kb)
	for _, id := range []int64{first, byA, byB} {
		wantEdit("C", c, id)
	}
	byB2 := mustCreate("B", b, "by-b2")
	wantEdit("C", c, byB2)
	wantFound("C", c, "by-b2", byB2)
	wantFound("B", b, "first", first)
	as(a, "POST", "/urls", `{"original_url":"https://example.com/late"}`).
		wantError(t, "revoked A after B → C", http.StatusUnauthorized, "Invalid API key")

	// X → Y → Z with X still active: X acts as Z, the newest.
	x, kx := e.newKey("ci", "write")
	_, ky := e.rotateKey(kx)
	z, kz := e.rotateKey(ky)
	byX := mustCreate("X", x, "by-x")
	wantEdit("Z", z, byX)
	wantFound("Z", z, "by-x", byX)
	// A link recorded under a replaced key (one created with it while it
	// was being rotated) belongs to the newest key too.
	late := e.url("late01", "https://example.com/late-owner", nil, true)
	if err := ks.SetURLOwner(t.Context(), late.ID, kx.ID); err != nil {
		t.Fatal(err)
	}
	wantEdit("Z", z, late.ID)

	// What is not rotated.
	for _, tc := range []struct {
		name string
		id   int64
		want error
	}{{"revoked A", ka.ID, core.ErrKeyRevoked}, {"replaced B", kb.ID, core.ErrKeyReplaced}, {"missing", 9999, core.ErrNotFound}} {
		_, k, _ := core.NewAPIKey("again", []string{"write"}, time.Now())
		if err := ks.RotateAPIKey(t.Context(), tc.id, &k); !errors.Is(err, tc.want) {
			t.Errorf("rotate %s = %v, want %v", tc.name, err, tc.want)
		}
	}

	// The list says which key replaced which.
	keys, err := ks.ListAPIKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	replaced := map[int64]int64{}
	for _, k := range keys {
		replaced[k.ID] = k.ReplacedBy
	}
	want := map[int64]int64{ka.ID: kb.ID, kb.ID: kc.ID, kc.ID: 0, kx.ID: ky.ID, ky.ID: kz.ID, kz.ID: 0}
	for id, by := range want {
		if replaced[id] != by {
			t.Errorf("key %d replaced by %d, want %d", id, replaced[id], by)
		}
	}
	if len(keys) != 7 {
		t.Errorf("ListAPIKeys = %d keys, want 7 (no key left by a refused rotation)", len(keys))
	}
}

// testAccessLogKey: the access log names the API key a write presented
// (api_key_id), a rotated key's own id rather than the key it acts as, so
// that an operator sees when clients stopped using it before revoking it;
// a request with no key, or a key refused, names none.
func testAccessLogKey(t *testing.T, newStore storeFactory) {
	e := newEnv(t, newStore, envConfig{requireKey: true, accessLog: true})
	e.newKey("other", "write")
	a, ka := e.newKey("ci", "write")
	_, kb := e.rotateKey(ka)
	e.do("POST", "/urls", `{"original_url":"https://example.com/logged"}`, "Content-Type", "application/json", "X-API-Key", a)
	e.do("POST", "/urls", `{"original_url":"https://example.com/nokey"}`, "Content-Type", "application/json")
	e.do("POST", "/urls", `{"original_url":"https://example.com/badkey"}`, "Content-Type", "application/json", "X-API-Key", "ck_nope")
	lines := e.logs.lines(t)
	var got []any
	for _, l := range lines {
		if l["message"] == "request.complete" {
			got = append(got, l["api_key_id"])
		}
	}
	want := []any{float64(ka.ID), nil, nil}
	if !slices.Equal(got, want) {
		t.Errorf("api_key_id of a rotated key's write, a keyless one and a refused one = %v, want %v (key %d was replaced by %d)", got, want, ka.ID, kb.ID)
	}
}
