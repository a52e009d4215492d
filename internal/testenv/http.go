package testenv

import (
	"io"
	"net/http"
	"strings"
	"time"
)

// noRedirects is a client that returns redirects instead of following
// them, as the API's tests want to see the 302 itself.
var noRedirects = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
}

// Request sends method to url with body (as JSON when not empty), without
// following redirects, and returns the response with its body read.
func Request(method, url, body string) (*http.Response, string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}
