package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
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

// curtainSplit runs the binary and returns its stdout and stderr apart,
// and its error (an exit status).
func curtainSplit(t *testing.T, dir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), curtainBin, args...)
	cmd.Dir = dir
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// TestKeysRotate: `curtain keys rotate` prints a new key as create does,
// with the old key's name and scopes; the new key changes and finds the
// old key's links, which it used to get 403 on and duplicate; the old key
// works as the new one until revoked; a second rotation carries the
// chain; list shows which key replaced which; a revoked, replaced or
// unknown key is refused in words.
func TestKeysRotate(t *testing.T) {
	t.Parallel() // its own server, database and ports
	dir := t.TempDir()
	newKey := func(args ...string) (secret, notice string) {
		t.Helper()
		stdout, stderr, err := curtainSplit(t, dir, append([]string{"keys"}, args...)...)
		secret = strings.TrimSuffix(stdout, "\n")
		if err != nil || len(secret) != 67 || !strings.HasPrefix(secret, "ck_") {
			t.Fatalf("keys %s: stdout %q, stderr %q, %v; want the key alone on stdout", strings.Join(args, " "), stdout, stderr, err)
		}
		return secret, stderr
	}
	a, _ := newKey("create", "deploy-bot", "write")

	s := startServer(t, dir, "CURTAIN_AUTH__REQUIRE_API_KEY=true")
	do := func(key, method, path, body string) (int, int64) {
		t.Helper()
		req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", key)
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var l struct {
			ID int64 `json:"id"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&l)
		return resp.StatusCode, l.ID
	}
	status, link := do(a, "POST", "/urls", `{"original_url":"https://example.com/rotate"}`)
	if status != http.StatusCreated {
		t.Fatalf("A creates a link = %d", status)
	}
	path := fmt.Sprintf("/urls/%d", link)

	b, notice := newKey("rotate", "1")
	if want := `created key 2 "deploy-bot" with scopes write; it is shown only now:`; !strings.Contains(notice, want) || !strings.Contains(notice, "replaces key 1") {
		t.Errorf("keys rotate 1 said %q, want %q and the key it replaces", notice, want)
	}
	if got, _ := do(b, "PUT", path, `{"title":"B"}`); got != http.StatusOK {
		t.Errorf("B updates A's link = %d, want 200", got)
	}
	if got, id := do(b, "POST", "/urls", `{"original_url":"https://example.com/rotate"}`); got != http.StatusOK || id != link {
		t.Errorf("B creates A's URL = %d, link %d; want 200 and link %d", got, id, link)
	}
	if got, _ := do(a, "PUT", path, `{"title":"A"}`); got != http.StatusOK {
		t.Errorf("A, not yet revoked, updates the link = %d, want 200", got)
	}
	list := runCurtain(t, dir, nil, "keys", "list")
	if !strings.Contains(list, "REPLACED BY") || !regexp.MustCompile(`(?m)^1 +deploy-bot +write +\S+ +active +2$`).MatchString(list) {
		t.Errorf("keys list does not show key 1 active and replaced by 2:\n%s", list)
	}

	runCurtain(t, dir, nil, "keys", "revoke", "1")
	if got, _ := do(a, "PUT", path, `{"title":"A"}`); got != http.StatusUnauthorized {
		t.Errorf("revoked A updates the link = %d, want 401", got)
	}
	c, _ := newKey("rotate", "2")
	for name, key := range map[string]string{"B": b, "C": c} {
		if got, _ := do(key, "PUT", path, `{"title":"`+name+`"}`); got != http.StatusOK {
			t.Errorf("%s updates the link after B → C = %d, want 200", name, got)
		}
	}
	s.stop(t)

	for id, want := range map[string]string{
		"1":  "keys rotate: key 1 is revoked and cannot be rotated",
		"2":  "keys rotate: key 2 was already replaced by key 3: rotate key 3 instead",
		"99": "keys rotate: no API key 99 (see curtain keys list)",
	} {
		stdout, stderr, err := curtainSplit(t, dir, "keys", "rotate", id)
		if err == nil || stdout != "" || !strings.Contains(stderr, want) || strings.Contains(stderr, "sql:") {
			t.Errorf("keys rotate %s: stdout %q, stderr %q, %v; want a failure saying %q", id, stdout, stderr, err, want)
		}
	}
	if list := runCurtain(t, dir, nil, "keys", "list"); strings.Count(list, "deploy-bot") != 3 {
		t.Errorf("a refused rotation left a key behind:\n%s", list)
	}
}
