package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadTrustedProxies(t *testing.T) {
	got, err := Load(Sources{Environ: []string{"CURTAIN_HTTP__TRUSTED_PROXIES=10.0.0.0/8,127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.HTTP.TrustedProxies, []string{"10.0.0.0/8", "127.0.0.1"}) {
		t.Errorf("from the environment: %q", got.HTTP.TrustedProxies)
	}
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("http:\n  trusted_proxies: [\"192.0.2.0/24\", \"::1\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = Load(Sources{File: file})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.HTTP.TrustedProxies, []string{"192.0.2.0/24", "::1"}) {
		t.Errorf("from a file: %q", got.HTTP.TrustedProxies)
	}
	_, err = Load(Sources{Environ: []string{"CURTAIN_HTTP__TRUSTED_PROXIES=10.0.0.0/99"}})
	if err == nil || !strings.Contains(err.Error(), "http.trusted_proxies") {
		t.Errorf("a bad CIDR: %v, want an error naming http.trusted_proxies", err)
	}
}

func TestLoadLinkSettings(t *testing.T) {
	got, err := Load(Sources{Environ: []string{
		"CURTAIN_LINKS__BLOCKED_HOSTS=Evil.example.,phish.test",
		"CURTAIN_HTTP__PUBLIC_BASE_URL=https://cur.tn",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if h := got.Links.BlockedHostsNormalised(); !slices.Equal(h, []string{"evil.example", "phish.test"}) {
		t.Errorf("blocked hosts = %q", h)
	}
	if got.HTTP.PublicBaseURL != "https://cur.tn" {
		t.Errorf("public base URL = %q", got.HTTP.PublicBaseURL)
	}
	_, err = Load(Sources{Environ: []string{
		"CURTAIN_LINKS__BLOCKED_HOSTS=https://evil.example/",
		"CURTAIN_HTTP__PUBLIC_BASE_URL=javascript:alert(1)",
	}})
	if err == nil || !strings.Contains(err.Error(), "links.blocked_hosts") || !strings.Contains(err.Error(), "http.public_base_url") {
		t.Errorf("bad link settings: %v, want errors naming links.blocked_hosts and http.public_base_url", err)
	}
}

func TestLoadServerTimeouts(t *testing.T) {
	got, err := Load(Sources{Environ: []string{"CURTAIN_HTTP__WRITE_TIMEOUT=45s", "CURTAIN_CLICKS__FINAL_FLUSH_TIMEOUT=3s"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.HTTP.WriteTimeout != 45*time.Second || got.HTTP.ReadTimeout != 30*time.Second || got.HTTP.ReadHeaderTimeout != 10*time.Second ||
		got.Clicks.FinalFlushTimeout != 3*time.Second {
		t.Errorf("timeouts = %+v, final flush %v", got.HTTP, got.Clicks.FinalFlushTimeout)
	}
	_, err = Load(Sources{Environ: []string{"CURTAIN_HTTP__READ_TIMEOUT=0s"}})
	if err == nil || !strings.Contains(err.Error(), "http.read_timeout") {
		t.Errorf("a zero read timeout: %v, want an error naming http.read_timeout", err)
	}
}

func TestLoadRateLimits(t *testing.T) {
	got, err := Load(Sources{})
	if err != nil {
		t.Fatal(err)
	}
	if got.RateLimits.Redirect.Requests != 0 || got.RateLimits.Create.Requests != 0 {
		t.Errorf("rate limits are on by default: %+v", got.RateLimits)
	}
	got, err = Load(Sources{Environ: []string{"CURTAIN_RATE_LIMITS__REDIRECT__REQUESTS=50", "CURTAIN_RATE_LIMITS__REDIRECT__BURST=100",
		"CURTAIN_RATE_LIMITS__REDIS_URL=redis://:pw@127.0.0.1:6379/0"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := got.RateLimits.Redirect; r.Requests != 50 || r.Burst != 100 || r.Per != time.Second {
		t.Errorf("redirect limit = %+v", r)
	}
	if s := got.RateLimits.RedisURL.String(); strings.Contains(s, "pw") {
		t.Errorf("redis_url prints unmasked: %s", s)
	}
	_, err = Load(Sources{Environ: []string{"CURTAIN_RATE_LIMITS__CREATE__REQUESTS=-1", "CURTAIN_RATE_LIMITS__REDIS_URL=http://x"}})
	if err == nil || !strings.Contains(err.Error(), "rate_limits.create") || !strings.Contains(err.Error(), "rate_limits.redis_url") {
		t.Errorf("bad rate limits: %v", err)
	}
}
