package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadRedirectDefaults(t *testing.T) {
	got, err := Load(Sources{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Links.RedirectStatus != 302 || got.Links.PermanentMaxAge != 0 {
		t.Errorf("defaults = %d, %v; want 302, 0", got.Links.RedirectStatus, got.Links.PermanentMaxAge)
	}
	got, err = Load(Sources{Environ: []string{"CURTAIN_LINKS__REDIRECT_STATUS=308", "CURTAIN_LINKS__PERMANENT_MAX_AGE=1h"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Links.RedirectStatus != 308 || got.Links.PermanentMaxAge != time.Hour {
		t.Errorf("from the environment = %d, %v; want 308, 1h", got.Links.RedirectStatus, got.Links.PermanentMaxAge)
	}
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("links:\n  redirect_status: 301\n  permanent_max_age: 10m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = Load(Sources{File: file})
	if err != nil {
		t.Fatal(err)
	}
	if got.Links.RedirectStatus != 301 || got.Links.PermanentMaxAge != 10*time.Minute {
		t.Errorf("from a file = %d, %v; want 301, 10m", got.Links.RedirectStatus, got.Links.PermanentMaxAge)
	}
	got, err = Load(Sources{Environ: []string{"CURTAIN_LINKS__EXPIRED_URL=https://cur.tn/expired"}})
	if err != nil || got.Links.ExpiredURL != "https://cur.tn/expired" {
		t.Errorf("links.expired_url from the environment = %q, %v", got.Links.ExpiredURL, err)
	}
	_, err = Load(Sources{Environ: []string{"CURTAIN_LINKS__REDIRECT_STATUS=303", "CURTAIN_LINKS__PERMANENT_MAX_AGE=-1s", "CURTAIN_LINKS__EXPIRED_URL=ftp://x"}})
	for _, key := range []string{"links.redirect_status", "links.permanent_max_age", "links.expired_url"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("bad link settings: %v, want an error naming %s", err, key)
		}
	}
}
