package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
)

// contentSecurityPolicy is the policy of every HTML answer: everything
// from this origin only (the dashboard's scripts, styles, images and API
// calls), no inline script or style unless a page lists its hashes, no
// plugins, no framing, forms posting only here.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Security header values, allocated once.
var (
	headerCSP            = []string{contentSecurityPolicy}
	headerNoSniff        = []string{"nosniff"}
	headerFrameDeny      = []string{"DENY"}
	headerReferrerPolicy = []string{"strict-origin-when-cross-origin"}
)

// secureHeaders adds the security headers of the answer's content type,
// just before its header is sent: nosniff on everything, and on HTML a
// Content-Security-Policy (unless the handler set its own), frame denial
// and a referrer policy. Every wrapped route gets them, pages added later
// included.
func secureHeaders(h http.Header) {
	h["X-Content-Type-Options"] = headerNoSniff
	ct := h["Content-Type"]
	if len(ct) == 0 || !strings.HasPrefix(ct[0], "text/html") {
		return
	}
	if _, ok := h["Content-Security-Policy"]; !ok {
		h["Content-Security-Policy"] = headerCSP
	}
	h["X-Frame-Options"] = headerFrameDeny
	h["Referrer-Policy"] = headerReferrerPolicy
}

// noSniff adds nosniff to the answers of h, a handler served outside the
// route table (the Prometheus scrape), as secureHeaders does to the rest.
func noSniff(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["X-Content-Type-Options"] = headerNoSniff
		h.ServeHTTP(w, r)
	})
}

// pageCSP is the policy of a page with inline <script> and <style>
// elements: the base policy plus the hash of each, so that exactly these
// inline blocks run and nothing injected does.
func pageCSP(page []byte) []string {
	scripts := inlineHashes(page, "script")
	styles := inlineHashes(page, "style")
	csp := contentSecurityPolicy
	if scripts != "" {
		csp = strings.Replace(csp, "script-src 'self'", "script-src 'self'"+scripts, 1)
	}
	if styles != "" {
		csp = strings.Replace(csp, "style-src 'self'", "style-src 'self'"+styles, 1)
	}
	return []string{csp}
}

// inlineHashes returns " 'sha256-…'" for the content of each inline
// <tag>…</tag> element of page (elements with a src are not inline).
func inlineHashes(page []byte, tag string) string {
	var out strings.Builder
	open, end := []byte("<"+tag), []byte("</"+tag+">")
	for rest := page; ; {
		i := bytes.Index(rest, open)
		if i < 0 {
			return out.String()
		}
		rest = rest[i+len(open):]
		gt := bytes.IndexByte(rest, '>')
		if gt < 0 {
			return out.String()
		}
		attrs := rest[:gt]
		rest = rest[gt+1:]
		j := bytes.Index(rest, end)
		if j < 0 {
			return out.String()
		}
		if !bytes.Contains(attrs, []byte("src=")) {
			sum := sha256.Sum256(rest[:j])
			out.WriteString(" 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'")
		}
		rest = rest[j+len(end):]
	}
}
