package testenv

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// GeoIPDatabase writes a small MaxMind DB file in a temporary directory,
// mapping each network (CIDR) of countries to its ISO country code in the
// GeoLite2-Country record shape (country.iso_code), and returns its path.
// Reserved networks such as the documentation ranges are allowed.
func GeoIPDatabase(tb testing.TB, countries map[string]string) string {
	tb.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-Country", IncludeReservedNetworks: true, RecordSize: 24})
	if err != nil {
		tb.Fatalf("geoip database: %v", err)
	}
	for cidr, code := range countries {
		_, network, err := net.ParseCIDR(cidr)
		if err != nil {
			tb.Fatalf("geoip database: %v", err)
		}
		rec := mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(code)}}
		if err := tree.Insert(network, rec); err != nil {
			tb.Fatalf("geoip database: insert %s: %v", cidr, err)
		}
	}
	path := filepath.Join(tb.TempDir(), "country.mmdb")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatalf("geoip database: %v", err)
	}
	defer f.Close()
	if _, err := tree.WriteTo(f); err != nil {
		tb.Fatalf("geoip database: write: %v", err)
	}
	return path
}
