package core

import (
	"context"
	"testing"
)

// benchCache answers every Get with one prepared entry, without
// allocating, so that a redirect benchmark measures the service.
type benchCache struct{ vals map[string][]byte }

func (c benchCache) Get(context.Context, []string) (map[string][]byte, error) { return c.vals, nil }
func (benchCache) Set(context.Context, []CacheEntry) error                    { return nil }
func (benchCache) Delete(context.Context, []string) error                     { return nil }

// discardClicks accepts every click.
type discardClicks struct{}

func (discardClicks) Record(context.Context, Click) error { return nil }

// benchRedirectService returns a service whose cache holds code's target
// encoded from t.
func benchRedirectService(code string, t RedirectTarget, cfg ServiceConfig) *Service {
	cfg.Cache = benchCache{vals: map[string][]byte{redirectKey(code): encodeRedirect(t)}}
	cfg.Clicks = discardClicks{}
	return NewService(newFakeStore(), cfg)
}

// BenchmarkRedirect is the service's part of a cached redirect of an
// open link (no password, no rules), recording its click.
func BenchmarkRedirect(b *testing.B) {
	svc := benchRedirectService("abc123", RedirectTarget{OriginalURL: "https://example.com/docs", URLID: 1}, ServiceConfig{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := svc.Redirect(ctx, "abc123", ClickSource{Visitor: "203.0.113.9"}, true); err != nil {
			b.Fatal(err)
		}
	}
}
