package core

import (
	"context"
	"net/netip"
	"testing"
)

// plainHasher "hashes" by prefixing: the benchmarks measure what the
// password feature costs the redirect path, not the KDF (bcrypt costs
// what its work factor says, by design).
type plainHasher struct{}

func (plainHasher) Hash(pw string) (string, error) { return "plain:" + pw, nil }
func (plainHasher) Verify(hash, pw string) bool    { return hash == "plain:"+pw }

// givenPassword is a Visit that presents a password and nothing else.
type givenPassword string

func (p givenPassword) Password(context.Context) (string, bool, error) { return string(p), true, nil }
func (givenPassword) Agent() (string, string, string)                  { return "", "", "" }
func (givenPassword) Languages() []string                              { return nil }
func (givenPassword) Query(string) (string, bool)                      { return "", false }
func (givenPassword) ClientIP() netip.Addr                             { return netip.Addr{} }

// BenchmarkRedirectOpenWithHasher is BenchmarkRedirect on a service
// configured with a password hasher: an open link must cost the same.
func BenchmarkRedirectOpenWithHasher(b *testing.B) {
	svc := benchRedirectService("abc123", RedirectTarget{OriginalURL: "https://example.com/docs", URLID: 1}, ServiceConfig{Passwords: plainHasher{}})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := svc.Redirect(ctx, "abc123", ClickSource{Visitor: "203.0.113.9"}, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedirectPassword is a cached redirect of a protected link
// with the right password, as the HTTP layer runs it: a first call that
// finds the link protected, then one with the credentials.
func BenchmarkRedirectPassword(b *testing.B) {
	svc := benchRedirectService("abc123", RedirectTarget{OriginalURL: "https://example.com/docs", URLID: 1, guard: newLinkGuard("plain:letmein", nil)},
		ServiceConfig{Passwords: plainHasher{}})
	ctx := context.Background()
	var creds Visit = givenPassword("letmein")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := svc.Redirect(ctx, "abc123", ClickSource{Visitor: "203.0.113.9"}, true); err != ErrVisitRequired {
			b.Fatal(err)
		}
		if _, _, err := svc.RedirectWith(ctx, "abc123", ClickSource{Visitor: "203.0.113.9"}, true, creds); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRedirectPassword(t *testing.T) {
	svc := benchRedirectService("abc123", RedirectTarget{OriginalURL: "https://example.com/docs", URLID: 1, guard: newLinkGuard("plain:letmein", nil)},
		ServiceConfig{Passwords: plainHasher{}})
	ctx := t.Context()
	if _, _, err := svc.Redirect(ctx, "abc123", ClickSource{Visitor: "v"}, true); err != ErrVisitRequired {
		t.Errorf("no visit: %v, want ErrVisitRequired", err)
	}
	if _, _, err := svc.RedirectWith(ctx, "abc123", ClickSource{Visitor: "v"}, true, givenPassword("nope")); err != ErrPasswordWrong {
		t.Errorf("wrong password: %v, want ErrPasswordWrong", err)
	}
	tg, _, err := svc.RedirectWith(ctx, "abc123", ClickSource{Visitor: "v"}, true, givenPassword("letmein"))
	if err != nil || tg.OriginalURL != "https://example.com/docs" {
		t.Errorf("right password: %+v, %v", tg, err)
	}
	// The cached entry keeps the hash through a round trip.
	got, ok := decodeRedirect(encodeRedirect(RedirectTarget{OriginalURL: "https://x", URLID: 2, guard: newLinkGuard("h", nil)}))
	if !ok || got.guard == nil || got.guard.passwordHash != "h" {
		t.Errorf("decode(encode) = %+v, %v", got, ok)
	}
}
