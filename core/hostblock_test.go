package core

import (
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// TestBlocklistReadsHostsAsBrowsers: a blocked host cannot be reached
// through another spelling that the redirect's Location or a browser
// turns back into it: IDNA-folded characters, numeric IPv4 forms,
// IPv4-mapped and uncompressed IPv6 addresses.
func TestBlocklistReadsHostsAsBrowsers(t *testing.T) {
	hosts, err := NormaliseBlockedHosts([]string{"evil.example", "127.0.0.1", "[::1]", "169.254.169.254", "10.1"})
	if err != nil {
		t.Fatal(err)
	}
	b := newHostBlocklist(hosts)
	for _, target := range []string{
		"http://evil.example/", "http://EVIL.example./", "http://a.evil.example/",
		"http://ｅｖｉｌ.example/", "http://evil。example/", "http://evil\uff0eexample/", "http://ev\u00adil.example/",
		"http://\u24d4vil.example/", "http://evil.\U0001D41Example/", "http://%EF%BD%85vil.example/",
		"http://\U0001CCD6vil.example/", "http://evil.\u0378example/",
		"http://127.0.0.1/", "http://2130706433/", "http://0x7f.1/", "http://0x7F000001/", "http://0177.0.0.1/",
		"http://127.1/", "http://127.0.1/", "http://017700000001/", "http://0x7f.0.0.0x1./", "http://0000000000000177.1/",
		"http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[0:0:0:0:0:0:0:1]/", "http://[::1]:8080/",
		"http://2852039166/", "http://[::ffff:a9fe:a9fe]/", "http://169.254.43518/",
		"http://10.0.0.1/", "http://167772161/",
		"http://256.1.1.1/", "http://1.2.3.4.5/", "http://09.1/", "http://a.0x/", "http://[::ffff:zz]/",
	} {
		if !b.blocks(target) {
			t.Errorf("%s is not blocked", target)
		}
	}
	for _, target := range []string{
		"http://example.com/", "http://notevil.example/", "http://evil.example.org/", "http://bücher.de/",
		"http://пример.испытание/", "http://127.0.0.2/", "http://2130706434/", "http://[::2]/", "https://:80",
		"http://1.2.3.4.example/", "http://0x7f.example/", "http://a.0x1g/", "http://10.0.0.2.nip.io/",
	} {
		if b.blocks(target) {
			t.Errorf("%s is blocked", target)
		}
	}
}

// TestIDNAFoldedMatchesIDNA: idnaFolded holds exactly the characters that
// the IDNA profile of core/httpapi's Location turns into ASCII or drops.
// On a mismatch (a new golang.org/x/net) it prints the table to paste.
func TestIDNAFoldedMatchesIDNA(t *testing.T) {
	profile := idna.New(idna.MapForLookup(), idna.Transitional(true), idna.StrictDomainName(false))
	folds := func(r rune) bool {
		out, err := profile.ToASCII("a" + string(r) + "b")
		return err == nil && !strings.HasPrefix(out, "xn--")
	}
	mismatch := 0
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		if utf8.ValidRune(r) && folds(r) != unicode.Is(idnaFolded, r) {
			if mismatch++; mismatch <= 10 {
				t.Errorf("U+%04X: folded by IDNA %v, in idnaFolded %v", r, folds(r), !folds(r))
			}
		}
	}
	if mismatch == 0 {
		return
	}
	var r16, r32 strings.Builder
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) || !folds(r) {
			continue
		}
		end := r
		for end < unicode.MaxRune && utf8.ValidRune(end+1) && folds(end+1) {
			end++
		}
		if end < 0x10000 {
			fmt.Fprintf(&r16, "\t\t{0x%04X, 0x%04X, 1},\n", r, end)
		} else {
			fmt.Fprintf(&r32, "\t\t{0x%05X, 0x%05X, 1},\n", r, end)
		}
		r = end
	}
	t.Logf("idnaFolded should be:\n\tR16: []unicode.Range16{\n%s\t},\n\tR32: []unicode.Range32{\n%s\t},", &r16, &r32)
}
