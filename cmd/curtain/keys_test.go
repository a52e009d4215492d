package main

import (
	"net/http"
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
