package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/curtainhq/curtain/core"
)

// Retry rules of every outbound webhook of Curtain. Defaults apply to
// fields left zero.
type Retry struct {
	// Attempts bounds the tries of one request (default 4).
	Attempts int
	// Min and Max bound the jittered exponential backoff after a 5xx or a
	// network error (defaults 250ms and 5s).
	Min, Max time.Duration
	// MaxWait caps a wait a 429 asks for (default 30s); a longer one
	// fails the request, and the caller retries later.
	MaxWait time.Duration
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 4
	}
	if r.Min <= 0 {
		r.Min = 250 * time.Millisecond
	}
	if r.Max < r.Min {
		r.Max = max(5*time.Second, r.Min)
	}
	if r.MaxWait <= 0 {
		r.MaxWait = 30 * time.Second
	}
	return r
}

// Request is one JSON POST.
type Request struct {
	URL    string
	Body   []byte
	Header http.Header
	// RetryAfter reads how long a 429 answer asks to wait from its body,
	// for services that put it there (Discord's retry_after); it returns
	// false when the body says nothing. The Retry-After header is read in
	// any case.
	RetryAfter func(body []byte) (time.Duration, bool)
}

// StatusError is a non-2xx answer that retrying does not fix (a 4xx other
// than 429), or the last answer when the attempts ran out.
type StatusError struct {
	Status int
	// Body is the start of the answer's body.
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("webhook answered HTTP %d: %s", e.Status, e.Body)
}

// Post sends req with client, retrying as the rules say: a 429 after the
// wait it asks for (body, then Retry-After header), a 5xx or a network
// error after jittered exponential backoff, never another 4xx. A failure
// worth retrying later wraps core.ErrUnavailable; a refused request (4xx)
// wraps core.ErrInvalid. Post returns early when ctx ends.
func Post(ctx context.Context, client *http.Client, req Request, rules Retry) error {
	rules = rules.withDefaults()
	backoff := rules.Min
	var last error
	for attempt := 1; ; attempt++ {
		wait, err := postOnce(ctx, client, req)
		if err == nil {
			return nil
		}
		last = err
		if se, ok := errors.AsType[*StatusError](err); ok && se.Status != http.StatusTooManyRequests && se.Status < 500 {
			return fmt.Errorf("post webhook: %w: %w", core.ErrInvalid, err)
		}
		if attempt >= rules.Attempts {
			break
		}
		if wait == 0 {
			wait = backoff/2 + rand.N(backoff/2+1)
			backoff = min(2*backoff, rules.Max)
		}
		if wait > rules.MaxWait {
			break
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("post webhook: %w: %w (after %w)", core.ErrUnavailable, ctx.Err(), last)
		case <-t.C:
		}
	}
	return fmt.Errorf("post webhook: %w: %w", core.ErrUnavailable, last)
}

// postOnce makes one attempt. For a 429 it returns the wait asked for.
func postOnce(ctx context.Context, client *http.Client, req Request) (time.Duration, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return 0, err
	}
	for k, v := range req.Header {
		hr.Header[k] = v
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	resp, err := client.Do(hr)
	if err != nil {
		return 0, redact(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 {
		return 0, nil
	}
	serr := &StatusError{Status: resp.StatusCode, Body: truncate(strings.TrimSpace(string(body)), 300)}
	if resp.StatusCode != http.StatusTooManyRequests {
		return 0, serr
	}
	var wait time.Duration
	if req.RetryAfter != nil {
		wait, _ = req.RetryAfter(body)
	}
	if h := resp.Header.Get("Retry-After"); h != "" {
		if s, err := strconv.ParseFloat(h, 64); err == nil && s >= 0 {
			wait = max(wait, time.Duration(s*float64(time.Second)))
		} else if at, err := http.ParseTime(h); err == nil {
			wait = max(wait, time.Until(at))
		}
	}
	// A 429 without a usable wait still waits a little.
	return max(wait, 50*time.Millisecond), serr
}

// redact drops the URL from a client error: webhook URLs carry secrets.
func redact(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return fmt.Errorf("%s webhook: %w", ue.Op, ue.Err)
	}
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
