package config

import "testing"

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies([]string{"10.1.2.3/8", " 127.0.0.1 ", "::1"})
	if err != nil || len(got) != 3 || got[0].String() != "10.0.0.0/8" || got[1].String() != "127.0.0.1/32" || got[2].String() != "::1/128" {
		t.Errorf("ParseTrustedProxies = %v, %v", got, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "fe80::1%eth0", "1.2.3"} {
		if _, err := ParseTrustedProxies([]string{bad}); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted", bad)
		}
	}
}

func TestDebugRoutesEnabled(t *testing.T) {
	for _, v := range []string{"true", "TRUE", " True ", "1", "yes"} {
		if !debugRoutesEnabled(v) {
			t.Errorf("debugRoutesEnabled(%q) = false", v)
		}
	}
	for _, v := range []string{"", "false", "0", "no", "on"} {
		if debugRoutesEnabled(v) {
			t.Errorf("debugRoutesEnabled(%q) = true", v)
		}
	}
}
