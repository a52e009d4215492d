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

func TestLoadRootCodesAndDomains(t *testing.T) {
	got, err := Load(Sources{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Links.RootCodes || len(got.Links.Domains) != 0 {
		t.Errorf("defaults = %v, %v; want root codes off and no domains", got.Links.RootCodes, got.Links.Domains)
	}
	got, err = Load(Sources{Environ: []string{"CURTAIN_LINKS__ROOT_CODES=true",
		"CURTAIN_LINKS__DOMAINS=go.example=https://example.com/missing,cur.tn"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Domain{{Host: "go.example", NotFoundURL: "https://example.com/missing"}, {Host: "cur.tn"}}
	if !got.Links.RootCodes || len(got.Links.Domains) != 2 || got.Links.Domains[0] != want[0] || got.Links.Domains[1] != want[1] {
		t.Errorf("from the environment = %v, %+v; want true, %+v", got.Links.RootCodes, got.Links.Domains, want)
	}
	file := filepath.Join(t.TempDir(), "c.yaml")
	yaml := "links:\n  root_codes: true\n  domains:\n    - host: go.example\n      not_found_url: https://example.com/404\n    - host: cur.tn\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = Load(Sources{File: file})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Links.RootCodes || len(got.Links.Domains) != 2 || got.Links.Domains[0].NotFoundURL != "https://example.com/404" || got.Links.Domains[1].Host != "cur.tn" {
		t.Errorf("from a file = %v, %+v", got.Links.RootCodes, got.Links.Domains)
	}
	_, err = Load(Sources{Environ: []string{"CURTAIN_LINKS__DOMAINS=https://go.example/=ftp://x"}})
	for _, key := range []string{"links.domains.0.host", "links.domains.0.not_found_url"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("bad domain: %v, want an error naming %s", err, key)
		}
	}
}
