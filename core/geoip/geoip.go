// Package geoip maps a client address to its country with a MaxMind DB
// file (GeoLite2-Country, GeoIP2-Country or City, or any database whose
// records carry country.iso_code), for the country breakdown. No database
// is shipped; analytics.geoip_path names one.
package geoip

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
)

// DB is an open country database, safe for concurrent use.
type DB struct {
	r *maxminddb.Reader
}

// Open opens the MaxMind DB file at path.
func Open(path string) (*DB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open geoip database %s: %w", path, err)
	}
	return &DB{r: r}, nil
}

// record is the part of a database record Country reads.
type record struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
}

// Country returns the upper-case ISO 3166-1 alpha-2 code of addr's
// country, or "" when addr is not an address or the database does not
// know it.
func (d *DB) Country(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return ""
	}
	var rec record
	if err := d.r.Lookup(ip.Unmap()).Decode(&rec); err != nil {
		return ""
	}
	if len(rec.Country.ISOCode) != 2 {
		return ""
	}
	return strings.ToUpper(rec.Country.ISOCode)
}

// Close releases the database.
func (d *DB) Close() error { return d.r.Close() }
