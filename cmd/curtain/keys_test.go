package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeysCommand: keys made with `curtain keys create` open the write
// routes of a server with auth.require_api_key; `revoke` closes them at
// once; `list` shows both states; with keys off, serve warns.
func TestKeysCommand(t *testing.T) {
	t.Parallel() // its own server, database and ports
	dir := t.TempDir()
	out := runCurtain(t, dir, nil, "keys", "create", "deploy-bot", "write")
	var secret string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "ck_") {
			secret = strings.TrimSpace(line)
		}
	}
	if len(secret) != 67 {
		t.Fatalf("keys create printed no key:\n%s", out)
	}
	runCurtain(t, dir, nil, "keys", "create", "auditor", "read")

	s := startServer(t, dir, "CURTAIN_AUTH__REQUIRE_API_KEY=true")
	post := func(key string) int {
		req, _ := http.NewRequest("POST", s.base+"/urls", strings.NewReader(`{"original_url":"https://example.com/k"}`))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(""); got != http.StatusUnauthorized {
		t.Errorf("create without a key = %d, want 401", got)
	}
	if got := post(secret); got != http.StatusCreated {
		t.Errorf("create with the key = %d, want 201", got)
	}
	if out := runCurtain(t, dir, nil, "keys", "revoke", "1"); !strings.Contains(out, "revoked key 1") {
		t.Errorf("keys revoke: %s", out)
	}
	if got := post(secret); got != http.StatusUnauthorized {
		t.Errorf("create with a revoked key = %d, want 401", got)
	}
	list := runCurtain(t, dir, nil, "keys", "list")
	if !strings.Contains(list, "deploy-bot") || !strings.Contains(list, "revoked") || !strings.Contains(list, "auditor") ||
		strings.Contains(list, secret) {
		t.Errorf("keys list:\n%s", list)
	}
	s.stop(t)

	open := startServer(t, dir)
	open.stop(t)
	if !strings.Contains(open.logs.String(), "auth.disabled") {
		t.Errorf("serve with keys off logged no auth.disabled warning:\n%s", open.logs.String())
	}
}

// TestKeysRevokeUnknown: revoking a key id that does not exist says so,
// in words rather than the driver's "sql: no rows in result set", and
// exits 1; a key that exists is still revoked, twice as well.
func TestKeysRevokeUnknown(t *testing.T) {
	store := []string{"--sqlite-path", filepath.Join(t.TempDir(), "keys.db")}
	keys := func(args ...string) (string, error) {
		var stdout, stderr strings.Builder
		err := run(t.Context(), append(append([]string{"keys"}, store...), args...), nil, &stdout, &stderr)
		return stdout.String(), err
	}
	if _, err := keys("create", "bot"); err != nil {
		t.Fatalf("keys create: %v", err)
	}
	for _, id := range []string{"99", "2"} {
		_, err := keys("revoke", id)
		want := "keys revoke: no API key " + id + " (see curtain keys list)"
		if err == nil || err.Error() != want {
			t.Errorf("keys revoke %s: err = %v, want %q", id, err, want)
			continue
		}
		var stderr strings.Builder
		if code := exitCode(err, &stderr); code != 1 || strings.Contains(stderr.String(), "sql:") {
			t.Errorf("keys revoke %s: exit %d, stderr %q; want 1 and no driver error", id, code, stderr.String())
		}
	}
	for range 2 {
		if out, err := keys("revoke", "1"); err != nil || !strings.Contains(out, "revoked key 1") {
			t.Errorf("keys revoke 1 = %q, %v", out, err)
		}
	}
}
