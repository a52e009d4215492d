package geoip_test

import (
	"testing"

	"github.com/curtainhq/curtain/core/geoip"
	"github.com/curtainhq/curtain/internal/testenv"
)

func TestCountry(t *testing.T) {
	path := testenv.GeoIPDatabase(t, map[string]string{"203.0.113.0/24": "NZ", "2001:db8::/32": "DE"})
	db, err := geoip.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for addr, want := range map[string]string{
		"203.0.113.9": "NZ", "::ffff:203.0.113.9": "NZ", "2001:db8::1": "DE",
		"198.51.100.1": "", "not an address": "", "": "",
	} {
		if got := db.Country(addr); got != want {
			t.Errorf("Country(%q) = %q, want %q", addr, got, want)
		}
	}
	if _, err := geoip.Open(t.TempDir() + "/missing.mmdb"); err == nil {
		t.Error("Open of a missing file succeeded")
	}
}
