package config

// Analytics configures the analytics breakdowns
// (GET /urls/{id}/analytics/breakdown).
type Analytics struct {
	// GeoIPPath names a MaxMind DB file (GeoLite2-Country or any database
	// whose records carry country.iso_code) that maps each redirect's
	// client address to its country, for the country breakdown. Empty
	// (the default): no country. None is shipped.
	GeoIPPath string `koanf:"geoip_path"`
}
