package core

import (
	"strings"
	"testing"
)

func TestValidHTTPURL(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"http://x", true},
		{"https://www.wikipedia.org/", true},
		{"HTTP://Example.com/Up", true},
		{"https://:80", true},
		{"http://x y/", true},
		{"https://exämple.com/päth?q=ü#f", true},
		{"http://[::1]/", true},
		{"http://u@[::1]:80/", true},
		{"http://[fe80::1%25eth0]/", true},
		{"http://[v1.fe]/", true},
		{"http://x/[a]", true},
		{"not-a-real-url", false},
		{"ftp://x", false},
		{"javascript:alert(1)", false},
		{"data:text/html,x", false},
		{"mailto:a@b.c", false},
		{"http:///p", false},
		{"http://?x", false},
		{"http://#f", false},
		{"http:/x", false},
		{"http:", false},
		{"1http://x", false},
		{"h ttp://x", false},
		{"://x", false},
		{"http://[abc/x", false},
		{"http://a]b/", false},
		{"http://[::1]x/", false},
		{"http://x[::1]/", false},
		{"http://[1.2.3.4]/", false},
		{"http://[vg.x]/", false},
		{"http://[v1.]/", false},
		{"http://a]b[@host/", false},
		{"http://x/\tpath", false},
		{"http://x/\r\nSet-Cookie: a", false},
		{"http://x/\x00", false},
		{"http://x/\x7f", false},
		{"http://x/\u0085", false},
		{"\x01http://x", false},
	}
	for _, tt := range tests {
		if got := ValidHTTPURL(tt.in); got != tt.want {
			t.Errorf("ValidHTTPURL(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestValidEmail(t *testing.T) {
	for in, want := range map[string]bool{
		"a@b.c": true, "@.": true, "a@b@c.d": true, "a.b@c": false, "a@b": false, "notanemail": false,
	} {
		if got := validEmail(in); got != want {
			t.Errorf("validEmail(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestTooLong(t *testing.T) {
	if tooLong(strings.Repeat("é", 255), 255) {
		t.Error("255 two-byte characters counted as too long")
	}
	if !tooLong(strings.Repeat("a", 256), 255) {
		t.Error("256 characters not too long")
	}
}
