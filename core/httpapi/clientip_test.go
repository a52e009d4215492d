package httpapi

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("2001:db8::/32")}
	tests := []struct {
		name    string
		trusted bool
		peer    string
		xff     []string
		want    string
	}{
		{"no proxies: the peer", false, "203.0.113.9:5000", []string{"1.1.1.1"}, "203.0.113.9"},
		{"no proxies: IPv6 peer", false, "[2001:db8::1]:80", nil, "2001:db8::1"},
		{"no proxies: mapped peer", false, "[::ffff:203.0.113.9]:80", nil, "203.0.113.9"},
		{"untrusted peer ignores XFF", true, "203.0.113.9:5000", []string{"10.1.1.1"}, "203.0.113.9"},
		{"trusted peer, one hop", true, "10.0.0.1:5000", []string{"198.51.100.7"}, "198.51.100.7"},
		{"forged left part ignored", true, "10.0.0.1:5000", []string{"6.6.6.6, 198.51.100.7"}, "198.51.100.7"},
		{"chain of trusted proxies", true, "10.0.0.1:5000", []string{"evil, 198.51.100.7, 192.0.2.1, 10.9.9.9"}, "198.51.100.7"},
		{"several header lines", true, "10.0.0.1:5000", []string{"6.6.6.6", "198.51.100.7, 10.2.2.2"}, "198.51.100.7"},
		{"all hops trusted", true, "10.0.0.1:5000", []string{"10.3.3.3, 10.2.2.2"}, "10.3.3.3"},
		{"garbage from a trusted hop stops the walk", true, "10.0.0.1:5000", []string{"<script>"}, "10.0.0.1"},
		{"garbage left of the client", true, "10.0.0.1:5000", []string{"not-an-ip, 198.51.100.7"}, "198.51.100.7"},
		{"entry with a port", true, "10.0.0.1:5000", []string{"198.51.100.7:4711"}, "198.51.100.7"},
		{"bracketed IPv6", true, "10.0.0.1:5000", []string{"[2001:db9::5]"}, "2001:db9::5"},
		{"no XFF from a trusted peer", true, "10.0.0.1:5000", nil, "10.0.0.1"},
		{"empty entries skipped", true, "10.0.0.1:5000", []string{"198.51.100.7, , "}, "198.51.100.7"},
		{"trusted IPv6 proxy", true, "[2001:db8::9]:443", []string{"198.51.100.8"}, "198.51.100.8"},
		{"peer not an address", false, "pipe", nil, ""},
	}
	for _, tt := range tests {
		c := clientIP{}
		if tt.trusted {
			c.trusted = trusted
		}
		r := &http.Request{RemoteAddr: tt.peer, Header: http.Header{}}
		for _, v := range tt.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := c.of(r); got != tt.want {
			t.Errorf("%s: client = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestClientIPPeerDoesNotAllocate(t *testing.T) {
	r := &http.Request{RemoteAddr: "203.0.113.9:5000", Header: http.Header{}}
	var c clientIP
	if n := testing.AllocsPerRun(100, func() { _ = c.of(r) }); n != 0 {
		t.Errorf("client address of an IPv4 peer allocates %.0f times", n)
	}
}
