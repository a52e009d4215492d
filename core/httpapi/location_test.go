package httpapi

import (
	"strings"
	"testing"
	"time"

	"github.com/curtainhq/curtain/core"
)

func TestLocation(t *testing.T) {
	// Expected values are what Werkzeug 3.1's iri_to_uri returns.
	tests := []struct{ in, want string }{
		{"https://exämple.com/päth?q=ü&x=a b", "https://xn--exmple-cua.com/p%C3%A4th?q=%C3%BC&x=a%20b"},
		{"HTTPS://Example.com/Up", "https://example.com/Up"},
		{"https://example.com/a/b?c=d&e=f", "https://example.com/a/b?c=d&e=f"},
		{`http://x/a|b"c^d<e>f`, "http://x/a%7Cb%22c%5Ed%3Ce%3Ef"},
		{"http://x/[a]", "http://x/%5Ba%5D"},
		{"http://x/p?q=[a]#frag#ment", "http://x/p?q=%5Ba%5D#frag#ment"},
		{"http://u:p@x/", "http://u:p@x/"},
		{"http://u%20s:@x/", "http://u%20s@x/"},
		{"http://:pw@x/", "http://x/"},
		{"http://x:080/", "http://x:80/"},
		{"http://x:0/", "http://x/"},
		{"http://x/a\tb\r\nc", "http://x/abc"},
		{"http://[::1]:80/p", "http://[::1]:80/p"},
		{"https://:80", "https://:80"},
		{"http://x/?", "http://x/"},
		{"http://x/#", "http://x/"},
		{"http://x?q", "http://x?q"},
		{"http://x", "http://x"},
		{"https://straße.de/", "https://strasse.de/"},
		{"http://x/%zz%41", "http://x/%zz%41"},
		{"http://x/a b?c d#e f", "http://x/a%20b?c%20d#e%20f"},
		{"http://x/\x01", "http://x/%01"},
		{"https://exämple.com:8443/p", "https://xn--exmple-cua.com:8443/p"},
		{"http://EXample.COM./", "http://example.com./"},
		{"http://a@b@c/", "http://a%40b@c/"},
		{"http://x/p;a=b", "http://x/p;a=b"},
		{"http://☃.net/", "http://xn--n3h.net/"},
		// Where Werkzeug raises (a 500 in the reference) the URL is sent
		// percent-encoded instead.
		{"http://x:abc/", "http://x:abc/"},
		{"http://x:99999/", "http://x:99999/"},
		{"http://a..b/ü", "http://a..b/%C3%BC"},
		{"http://[::1/", "http://[::1/"},
	}
	for _, tt := range tests {
		if got := location(tt.in); got != tt.want {
			t.Errorf("location(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLocationFastPathDoesNotAllocate(t *testing.T) {
	for _, in := range []string{"https://hackstack.io/jade/uplink/1", "http://x:8080/a?b=c&d=e", "https://example.com"} {
		if !locationUnchanged(in) {
			t.Errorf("locationUnchanged(%q) = false", in)
		}
		if n := testing.AllocsPerRun(100, func() { _ = location(in) }); n != 0 {
			t.Errorf("location(%q) allocates %v times", in, n)
		}
	}
}

func FuzzLocation(f *testing.F) {
	for _, s := range []string{"https://exämple.com/päth?q=ü&x=a b", "http://[::1]:80/p", "http://u:p@x:080/#f", "HTTP://X/%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := location(s)
		for i := 0; i < len(got); i++ {
			if c := got[i]; c <= ' ' || c >= 0x7f {
				t.Fatalf("location(%q) = %q holds byte %#x", s, got, c)
			}
		}
		if locationUnchanged(s) {
			if uri, ok := iriToURI(s); !ok || uri != s {
				t.Fatalf("fast path kept %q but iriToURI gives %q, %v", s, uri, ok)
			}
		}
	})
}

func BenchmarkJSONEncode(b *testing.B) {
	title := "Ops review river"
	owner := int64(1)
	ts := time.Date(2025, 10, 14, 15, 7, 51, 0, time.UTC)
	urls := make([]core.URL, 100)
	for i := range urls {
		urls[i] = core.URL{ID: int64(i + 1), UserID: &owner, ShortCode: "d5DnL5", OriginalURL: "https://hackstack.io/jade/uplink/" + strings.Repeat("x", i%20),
			Title: &title, IsActive: true, CreatedAt: ts, UpdatedAt: ts}
	}
	enc := appendList(appendURL)
	b.Run("url", func(b *testing.B) {
		buf := make([]byte, 0, 1024)
		b.ReportAllocs()
		for b.Loop() {
			buf = appendURL(buf[:0], urls[0])
		}
	})
	b.Run("list100", func(b *testing.B) {
		buf := make([]byte, 0, 64<<10)
		b.ReportAllocs()
		for b.Loop() {
			buf = enc(buf[:0], urls)
		}
	})
	b.Run("event", func(b *testing.B) {
		e := core.Event{ID: 1, URLID: &owner, EventType: "created", Timestamp: ts,
			Details: `{"short_code": "d5DnL5", "original_url": "https://hackstack.io/jade/uplink/1"}`}
		buf := make([]byte, 0, 1024)
		b.ReportAllocs()
		for b.Loop() {
			buf = appendEvent(buf[:0], e)
		}
	})
}
