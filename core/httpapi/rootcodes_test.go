package httpapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bunrouter"

	"github.com/curtainhq/curtain/core"
)

// TestReservedCodesCoverRoutes: every first path segment of the route
// table is a reserved word, so a custom code can never name a route when
// codes are served at the root.
func TestReservedCodesCoverRoutes(t *testing.T) {
	routes := Routes(Options{Registry: prometheus.NewRegistry(), RootCodes: true})
	if !slices.Contains(routes, "GET /{code}") {
		t.Fatalf("routes with RootCodes lack GET /{code}: %v", routes)
	}
	if slices.Contains(Routes(Options{}), "GET /{code}") {
		t.Fatal("GET /{code} is routed without RootCodes")
	}
	seen := 0
	for _, r := range routes {
		path := r[strings.IndexByte(r, ' ')+1:]
		first, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		if first == "" || strings.HasPrefix(first, "{") {
			continue // the root itself, or the code route
		}
		seen++
		if !slices.ContainsFunc(core.ReservedCodes, func(w string) bool { return strings.EqualFold(w, first) }) {
			t.Errorf("route %q: first segment %q is not in core.ReservedCodes", r, first)
		}
	}
	if seen < 10 {
		t.Fatalf("only %d routes with a first segment checked", seen)
	}
}

func TestNormaliseHost(t *testing.T) {
	for in, want := range map[string]string{
		"Go.Example.COM":      "go.example.com",
		"go.example.com:8080": "go.example.com",
		"go.example.com.":     "go.example.com",
		"[::1]:80":            "::1",
		"::1":                 "::1",
		"":                    "",
	} {
		if got := normaliseHost(in); got != want {
			t.Errorf("normaliseHost(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRequestHost: X-Forwarded-Host counts only from a trusted proxy, and
// then its rightmost entry.
func TestRequestHost(t *testing.T) {
	a := &api{clientIP: clientIP{trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
	r := httptest.NewRequest("GET", "/r/abc", nil)
	r.Host = "internal:8000"
	r.Header.Add("X-Forwarded-Host", "evil.example, go.example")
	r.RemoteAddr = "192.0.2.1:5000"
	if got := a.requestHost(r); got != "internal" {
		t.Errorf("untrusted peer: host = %q, want internal", got)
	}
	r.RemoteAddr = "10.1.2.3:5000"
	if got := a.requestHost(r); got != "go.example" {
		t.Errorf("trusted peer: host = %q, want go.example", got)
	}
	r.Header.Del("X-Forwarded-Host")
	if got := a.requestHost(r); got != "internal" {
		t.Errorf("trusted peer without X-Forwarded-Host: host = %q, want internal", got)
	}
}

// TestOnDomainsCostsNothingWithoutTargets: without a domain that has a
// not-found target, the redirect routes get the redirect handler itself.
func TestOnDomainsCostsNothingWithoutTargets(t *testing.T) {
	h := func(http.ResponseWriter, bunrouter.Request) error { return nil }
	for _, domains := range [][]Domain{nil, {{Host: "plain.example"}}} {
		a := &api{notFoundTargets: domainTargets(domains)}
		if reflect.ValueOf(a.onDomains(h)).Pointer() != reflect.ValueOf(h).Pointer() {
			t.Errorf("domains %v: onDomains wrapped the handler", domains)
		}
	}
	a := &api{notFoundTargets: domainTargets([]Domain{{Host: "Go.Example.", NotFoundURL: "https://example.com/404"}})}
	if reflect.ValueOf(a.onDomains(h)).Pointer() == reflect.ValueOf(h).Pointer() {
		t.Error("a domain with a target: onDomains did not wrap the handler")
	}
	if got := a.notFoundTargets["go.example"]; got != "https://example.com/404" {
		t.Errorf("target of go.example = %q", got)
	}
}

func TestDashboardShortLinkPath(t *testing.T) {
	if bytes.Equal(uiPage, uiPageRootCodes) {
		t.Fatal("the dashboard with root codes is the same page: its short-link path meta tag was not found")
	}
	if !bytes.Contains(uiPageRootCodes, []byte(`content="/"`)) {
		t.Fatal("the root-codes dashboard does not name / as its short-link path")
	}
}
