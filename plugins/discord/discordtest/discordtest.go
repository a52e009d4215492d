// Package discordtest is a local fake of a Discord webhook for tests: it
// checks every request the way Discord does (a JSON object, content or
// embeds present, the size limits), answers 204, and can answer 429 or 5xx
// first to exercise retries. Nothing outside loopback is reachable from the
// tests, so this is how the discord sink and the notify drill are checked.
package discordtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"
)

// Discord's documented limits.
const (
	maxContent     = 2000
	maxEmbeds      = 10
	maxTitle       = 256
	maxDescription = 4096
	maxEmbedTotal  = 6000
)

// Server is a fake Discord webhook. Its URL is a webhook URL.
type Server struct {
	*httptest.Server
	t *testing.T

	mu       sync.Mutex
	messages []string
	requests int
	rejected []string
	limit429 int     // how many requests still get a 429
	after    float64 // the retry_after of a 429, in seconds
	fail5xx  int     // how many requests still get a 502
}

// Options tune a Server.
type Options struct {
	// RateLimit answers this many requests with 429 and retry_after
	// RetryAfter seconds (and the same Retry-After header), as Discord
	// does, before accepting.
	RateLimit  int
	RetryAfter float64
	// Fail answers this many requests (after any 429s) with 502.
	Fail int
}

// New starts a fake webhook, stopped when the test ends. A request
// Discord would refuse fails the test and gets Discord's 400.
func New(t *testing.T, opts Options) *Server {
	s := &Server{t: t, limit429: opts.RateLimit, after: opts.RetryAfter, fail5xx: opts.Fail}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Messages returns the contents of the messages accepted, in order.
func (s *Server) Messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.messages...)
}

// Requests counts every request received, refused ones included.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Rejected lists why requests were refused with 400.
func (s *Server) Rejected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.rejected...)
}

// Lines returns every alert line accepted (all lines but each message's
// header), in order.
func (s *Server) Lines() []string {
	var out []string
	for _, m := range s.Messages() {
		lines := strings.Split(m, "\n")
		out = append(out, lines[1:]...)
	}
	return out
}

type embed struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Footer      *struct {
		Text string `json:"text"`
	} `json:"footer"`
	Fields []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"fields"`
}

type payload struct {
	Content *string `json:"content"`
	Embeds  []embed `json:"embeds"`
}

func length(s string) int { return len(utf16.Encode([]rune(s))) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
	if r.Method != http.MethodPost {
		s.refuse(w, http.StatusMethodNotAllowed, "method %s", r.Method)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		s.refuse(w, http.StatusBadRequest, "content type %q", ct)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		s.refuse(w, http.StatusBadRequest, "read body: %v", err)
		return
	}
	var p payload
	if body := strings.TrimSpace(string(body)); !strings.HasPrefix(body, "{") {
		s.refuse(w, http.StatusBadRequest, "body is not a JSON object: %.80q", body)
		return
	}
	if err := json.Unmarshal(body, &p); err != nil {
		s.refuse(w, http.StatusBadRequest, "invalid JSON: %v", err)
		return
	}
	content := ""
	if p.Content != nil {
		content = *p.Content
	}
	if content == "" && len(p.Embeds) == 0 {
		s.refuse(w, http.StatusBadRequest, "cannot send an empty message")
		return
	}
	if n := length(content); n > maxContent {
		s.refuse(w, http.StatusBadRequest, "content is %d characters, limit %d", n, maxContent)
		return
	}
	if len(p.Embeds) > maxEmbeds {
		s.refuse(w, http.StatusBadRequest, "%d embeds, limit %d", len(p.Embeds), maxEmbeds)
		return
	}
	total := 0
	for i, e := range p.Embeds {
		if n := length(e.Title); n > maxTitle {
			s.refuse(w, http.StatusBadRequest, "embed %d title is %d characters, limit %d", i, n, maxTitle)
			return
		}
		if n := length(e.Description); n > maxDescription {
			s.refuse(w, http.StatusBadRequest, "embed %d description is %d characters, limit %d", i, n, maxDescription)
			return
		}
		total += length(e.Title) + length(e.Description)
		if e.Footer != nil {
			total += length(e.Footer.Text)
		}
		for _, f := range e.Fields {
			total += length(f.Name) + length(f.Value)
		}
	}
	if total > maxEmbedTotal {
		s.refuse(w, http.StatusBadRequest, "embeds hold %d characters, limit %d", total, maxEmbedTotal)
		return
	}

	s.mu.Lock()
	if s.limit429 > 0 {
		s.limit429--
		after := s.after
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", fmt.Sprint(after))
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprintf(w, `{"message": "You are being rate limited.", "retry_after": %v, "global": false}`, after)
		return
	}
	if s.fail5xx > 0 {
		s.fail5xx--
		s.mu.Unlock()
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	}
	s.messages = append(s.messages, content)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) refuse(w http.ResponseWriter, status int, format string, args ...any) {
	why := fmt.Sprintf(format, args...)
	s.mu.Lock()
	s.rejected = append(s.rejected, why)
	s.mu.Unlock()
	s.t.Errorf("fake Discord refused a request: %s", why)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"message": %q, "code": 50035}`, why)
}
