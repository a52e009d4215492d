package core

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// fakeVisit is a Visit with fixed answers.
type fakeVisit struct {
	device, os, browser string
	langs               []string
	query               map[string]string
	ip                  netip.Addr
}

func (fakeVisit) Password(context.Context) (string, bool, error) { return "", false, nil }
func (v fakeVisit) Agent() (string, string, string)              { return v.device, v.os, v.browser }
func (v fakeVisit) Languages() []string                          { return v.langs }
func (v fakeVisit) Query(name string) (string, bool) {
	q, ok := v.query[name]
	return q, ok
}
func (v fakeVisit) ClientIP() netip.Addr { return v.ip }

func TestConditionsMatch(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	v := fakeVisit{device: "mobile", os: "ios", browser: "safari", langs: []string{"fr-ca", "en"},
		query: map[string]string{"src": "mail"}, ip: netip.MustParseAddr("192.0.2.7")}
	for _, tc := range []struct {
		name string
		c    Conditions
		want bool
	}{
		{"empty", Conditions{}, true},
		{"device", Conditions{Device: []string{"desktop", "mobile"}}, true},
		{"other device", Conditions{Device: []string{"tablet"}}, false},
		{"os and browser", Conditions{OS: []string{"ios"}, Browser: []string{"safari"}}, true},
		{"os but not browser", Conditions{OS: []string{"ios"}, Browser: []string{"chrome"}}, false},
		{"language prefix", Conditions{Language: []string{"fr"}}, true},
		{"language not a prefix of a word", Conditions{Language: []string{"f"}}, false},
		{"query", Conditions{Query: map[string]string{"src": "mail"}}, true},
		{"query other value", Conditions{Query: map[string]string{"src": "web"}}, false},
		{"cidr", Conditions{IP: []string{"192.0.2.0/24"}}, true},
		{"address", Conditions{IP: []string{"192.0.2.8", "192.0.2.7"}}, true},
		{"other cidr", Conditions{IP: []string{"10.0.0.0/8"}}, false},
		// IPv4 written as IPv4-mapped IPv6, prefix or address, is IPv4.
		{"mapped cidr", Conditions{IP: []string{"::ffff:192.0.2.0/120"}}, true},
		{"mapped address", Conditions{IP: []string{"::ffff:192.0.2.7"}}, true},
		{"other mapped cidr", Conditions{IP: []string{"::ffff:10.0.0.0/104"}}, false},
		{"inside window", Conditions{Since: "2026-05-01T00:00:00", Until: "2026-07-01T00:00:00"}, true},
		{"until is exclusive", Conditions{Until: "2026-06-01T12:00:00"}, false},
		{"before since", Conditions{Since: "2026-06-01T12:00:01"}, false},
	} {
		if got := tc.c.match(v, now); got != tc.want {
			t.Errorf("%s: match = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPickWeightedSticky(t *testing.T) {
	ts := []WeightedURL{{"https://a", 1}, {"https://b", 1}}
	seen := map[string]bool{}
	for i := range 50 {
		visitor := netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}).String()
		first := pickWeighted(ts, visitor, "abc", 0)
		if again := pickWeighted(ts, visitor, "abc", 0); again != first {
			t.Fatalf("visitor %s: %s then %s", visitor, first, again)
		}
		seen[first] = true
	}
	if len(seen) != 2 {
		t.Errorf("50 visitors saw %v, want both targets", seen)
	}
}

// BenchmarkRedirectRules is a cached redirect of a link with two rules,
// the second matching (an iOS visitor), as the HTTP layer runs it: a
// first call that finds the link guarded, then one with the visit.
func BenchmarkRedirectRules(b *testing.B) {
	rules := []Rule{
		{Name: "fr", When: Conditions{Language: []string{"fr"}}, Target: "https://fr.example"},
		{Name: "ios", When: Conditions{OS: []string{"ios"}}, Target: "https://ios.example"},
	}
	svc := benchRedirectService("abc123", RedirectTarget{OriginalURL: "https://example.com/docs", URLID: 1, guard: newLinkGuard("", rules)}, ServiceConfig{})
	ctx := context.Background()
	var v Visit = fakeVisit{device: "mobile", os: "ios", browser: "safari", langs: []string{"en"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := svc.Redirect(ctx, "abc123", ClickSource{Visitor: "203.0.113.9"}, true); err != ErrVisitRequired {
			b.Fatal(err)
		}
		t, _, err := svc.RedirectWith(ctx, "abc123", ClickSource{Visitor: "203.0.113.9"}, true, v)
		if err != nil || t.OriginalURL != "https://ios.example" {
			b.Fatal(t, err)
		}
	}
}
