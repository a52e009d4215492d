package httpapi

import (
	"net/http/httptest"
	"slices"
	"testing"
)

func TestVisitAgent(t *testing.T) {
	for _, tc := range []struct {
		ua                  string
		device, os, browser string
	}{
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", "mobile", "ios", "safari"},
		{"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1", "tablet", "ios", "safari"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "desktop", "windows", "chrome"},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "desktop", "linux", "firefox"},
		{"Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "tablet", "android", "chrome"},
		{"Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36", "mobile", "android", "chrome"},
	} {
		r := httptest.NewRequest("GET", "/r/abc", nil)
		r.Header.Set("User-Agent", tc.ua)
		v := &visit{a: &api{}, r: r}
		if d, o, b := v.Agent(); d != tc.device || o != tc.os || b != tc.browser {
			t.Errorf("Agent(%.40s…) = %q %q %q, want %q %q %q", tc.ua, d, o, b, tc.device, tc.os, tc.browser)
		}
	}
}

func TestVisitLanguagesAndQuery(t *testing.T) {
	r := httptest.NewRequest("GET", "/r/abc?src=mail&src=web", nil)
	r.Header.Set("Accept-Language", "fr-CA, fr;q=0.9, de;q=0, *;q=0.1, EN ; q=0.5")
	v := &visit{a: &api{}, r: r}
	if got, want := v.Languages(), []string{"fr-ca", "fr", "en"}; !slices.Equal(got, want) {
		t.Errorf("Languages = %q, want %q", got, want)
	}
	if q, ok := v.Query("src"); !ok || q != "mail" {
		t.Errorf("Query(src) = %q, %v; want the first value", q, ok)
	}
	if _, ok := v.Query("none"); ok {
		t.Error("Query(none) found a value")
	}
}

func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		origin, host string
		want         bool
	}{
		{"https://cur.tn", "cur.tn", true},
		{"http://localhost:5000", "localhost:5000", true},
		{"https://evil.example", "cur.tn", false},
		{"null", "cur.tn", false},
		{"https://cur.tn:8443", "cur.tn", false},
	} {
		if got := sameOrigin(tc.origin, tc.host); got != tc.want {
			t.Errorf("sameOrigin(%q, %q) = %v, want %v", tc.origin, tc.host, got, tc.want)
		}
	}
}
