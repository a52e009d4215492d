// Command client is a small Curtain API client: it creates a short link,
// follows it as a visitor would, and reads the link's analytics, using
// nothing but net/http and encoding/json.
//
//	go run ./examples/client -server http://127.0.0.1:5000 -url https://example.com/
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	server := fs.String("server", "http://127.0.0.1:5000", "base URL of the Curtain server")
	target := fs.String("url", "https://example.com/", "the long URL to shorten")
	title := fs.String("title", "", "an optional title")
	apiKey := fs.String("api-key", os.Getenv("CURTAIN_API_KEY"), "API key, when the server requires one (sent as X-API-Key)")
	wait := fs.Duration("wait", 10*time.Second, "how long to wait for the click to show in the analytics")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c := &Client{Base: strings.TrimSuffix(*server, "/"), APIKey: *apiKey, HTTP: &http.Client{Timeout: 10 * time.Second}}

	link, err := c.Create(ctx, *target, *title)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s/r/%s -> %s (id %d)\n", c.Base, link.ShortCode, link.OriginalURL, link.ID)

	location, status, err := c.Follow(ctx, link.ShortCode)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "followed: 302 to %s, which answered %d\n", location, status)

	// Clicks are counted asynchronously; poll the real-time figures.
	deadline := time.Now().Add(*wait)
	var rt Realtime
	for {
		if rt, err = c.Realtime(ctx, link.ID); err != nil {
			return err
		}
		if rt.TotalClicks > 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	fmt.Fprintf(stdout, "realtime: %d clicks, %d unique visitors\n", rt.TotalClicks, rt.UniqueVisitors)

	an, err := c.Analytics(ctx, link.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "analytics: %d events stored (%v)\n", an.TotalEvents, an.EventCounts)
	return nil
}

// Client calls the Curtain API.
type Client struct {
	Base   string // "http://127.0.0.1:5000"
	APIKey string // sent as X-API-Key when set
	HTTP   *http.Client
}

// Link is a short URL as the API returns it.
type Link struct {
	ID          int64   `json:"id"`
	ShortCode   string  `json:"short_code"`
	OriginalURL string  `json:"original_url"`
	Title       *string `json:"title"`
	IsActive    bool    `json:"is_active"`
}

// Realtime holds the click figures of GET /urls/ID/realtime.
type Realtime struct {
	TotalClicks    int64            `json:"total_clicks"`
	UniqueVisitors int64            `json:"unique_visitors"`
	Hourly         map[string]int64 `json:"hourly"`
}

// Analytics holds the stored-event figures of GET /urls/ID/analytics.
type Analytics struct {
	TotalEvents   int64            `json:"total_events"`
	RedirectCount int64            `json:"redirect_count"`
	EventCounts   map[string]int64 `json:"event_counts"`
}

// APIError is an error answer of the API.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Message) }

// Create shortens a URL (or returns the active link that has it).
func (c *Client) Create(ctx context.Context, url, title string) (Link, error) {
	body := map[string]any{"original_url": url}
	if title != "" {
		body["title"] = title
	}
	var l Link
	err := c.call(ctx, http.MethodPost, "/urls", body, &l)
	return l, err
}

// Follow requests the short link, and then its target, as a browser
// would; it returns the target and the target's status.
func (c *Client) Follow(ctx context.Context, code string) (string, int, error) {
	noFollow := *c.HTTP
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+"/r/"+code, nil)
	if err != nil {
		return "", 0, err
	}
	resp, err := noFollow.Do(req)
	if err != nil {
		return "", 0, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return "", 0, &APIError{resp.StatusCode, "short link did not redirect"}
	}
	location := resp.Header.Get("Location")
	req, err = http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
	if err != nil {
		return "", 0, err
	}
	resp, err = c.HTTP.Do(req)
	if err != nil {
		return location, 0, fmt.Errorf("follow to %s: %w", location, err)
	}
	resp.Body.Close()
	return location, resp.StatusCode, nil
}

// Realtime reads the real-time click figures of a link.
func (c *Client) Realtime(ctx context.Context, id int64) (Realtime, error) {
	var rt Realtime
	err := c.call(ctx, http.MethodGet, fmt.Sprintf("/urls/%d/realtime", id), nil, &rt)
	return rt, err
}

// Analytics reads the stored-event figures of a link.
func (c *Client) Analytics(ctx context.Context, id int64) (Analytics, error) {
	var a Analytics
	err := c.call(ctx, http.MethodGet, fmt.Sprintf("/urls/%d/analytics", id), nil, &a)
	return a, err
}

// call sends a JSON request and decodes a JSON answer into out; an error
// answer becomes an *APIError carrying the server's message.
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.APIKey != "" {
		req.Header.Set("X-API-Key", c.APIKey)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return &APIError{resp.StatusCode, e.Error}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return errors.Join(fmt.Errorf("decode %s %s", method, path), err)
	}
	return nil
}
