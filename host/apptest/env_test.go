package apptest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/crypto/bcrypt"

	"github.com/curtainhq/curtain/cmd/curtain/config"
	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/consumer"
	"github.com/curtainhq/curtain/core/httpapi"
	"github.com/curtainhq/curtain/core/uaclass"
	"github.com/curtainhq/curtain/drivers/postgres"
	"github.com/curtainhq/curtain/drivers/sqlite"
	"github.com/curtainhq/curtain/host"
	"github.com/curtainhq/curtain/host/passwords"
	"github.com/curtainhq/curtain/internal/testenv"
	"github.com/curtainhq/curtain/plugins/memory"
)

// storeFactory opens a fresh, empty, migrated store for one test and
// closes it when the test ends.
type storeFactory func(t *testing.T) core.Store

func openSQLite(t *testing.T) core.Store { return openSQLiteTB(t) }

// eachStore runs f as a subtest on each store, "sqlite" and "postgres";
// the PostgreSQL one is skipped with -short.
func eachStore(t *testing.T, f func(t *testing.T, open storeFactory)) {
	t.Helper()
	for _, s := range []struct {
		name string
		open storeFactory
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		t.Run(s.name, func(t *testing.T) {
			if s.name == "postgres" && testing.Short() {
				t.Skip("PostgreSQL; skipped with -short")
			}
			f(t, s.open)
		})
	}
}

// openSQLiteTB opens a store in a temporary file.
func openSQLiteTB(tb testing.TB) core.Store {
	tb.Helper()
	s, err := sqlite.Open(tb.Context(), filepath.Join(tb.TempDir(), "curtain.db"))
	if err != nil {
		tb.Fatalf("open sqlite store: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// openPostgres opens a store in a schema of its own, dropped when the test
// ends. An unreachable server fails the test.
func openPostgres(t *testing.T) core.Store {
	t.Helper()
	_, dsn := testenv.PostgresSchema(t, "curtain_api_")
	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("open postgres store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// envConfig selects the backends of one test environment. The zero value
// is the embedded default: memory counter and cache, no click recorder
// (clicks are stored synchronously), no shards.
type envConfig struct {
	counter    core.Counter                // default memory.NewCounter()
	noCounter  bool                        // no counter at all
	noCache    bool                        // no cache
	cache      core.Cache                  // replaces the memory cache
	shards     int                         // memory click shards behind a host.ClickBatcher
	clicks     core.ClickRecorder          // a recorder without shards
	wrapStore  func(core.Store) core.Store // failure injection
	debug      bool                        // enable /debug/fail
	accessLog  bool                        // log request.complete
	maxBody    int64                       // Options.MaxBodyBytes
	maxUpload  int64                       // Options.MaxUploadBytes
	wrapServer func(http.Handler) http.Handler
	readiness  []httpapi.Check // Options.Readiness
	trusted    []string        // Options.TrustedProxies, parsed
	publicBase string          // Options.PublicBaseURL
	blocked    []string        // ServiceConfig.BlockedHosts
	rateLimits httpapi.RateLimits
	requireKey bool   // Options.Auth over the store's keys
	visitorKey []byte // Options.VisitorKey (privacy mode)
	// Options.DropUserAgent and DropReferrer (privacy.store_user_agent
	// and privacy.store_referrer false).
	dropUserAgent, dropReferrer bool
	country                     func(addr string) string // Options.Country (analytics.geoip_path)
	// ServiceConfig.RedirectStatus and PermanentMaxAge (issue 19).
	redirectStatus  int
	permanentMaxAge time.Duration
	expiredURL      string           // ServiceConfig.ExpiredURL
	rootCodes       bool             // Options.RootCodes
	domains         []httpapi.Domain // Options.Domains
}

// env is one API server over a fresh store.
type env struct {
	t       *testing.T
	store   core.Store // the real store, for seeding and checks
	cache   *memory.Cache
	shards  []*memory.ClickShard
	batcher *host.ClickBatcher
	reg     *prometheus.Registry
	logs    *syncBuffer
	srv     *httptest.Server
	client  *http.Client
}

// syncBuffer collects log lines from concurrent handlers.
type syncBuffer struct{ testenv.LogBuffer }

// lines returns the logged JSON objects.
func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// jsonLogHandler logs like the reference (spec §9.2): timestamp, level,
// message keys.
func jsonLogHandler(w io.Writer) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case slog.TimeKey:
				a.Key = "timestamp"
			case slog.MessageKey:
				a.Key = "message"
			}
			return a
		},
	})
}

func newEnv(t *testing.T, newStore storeFactory, cfg envConfig) *env {
	t.Helper()
	store := newStore(t)
	e := &env{t: t, store: store, reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	e.reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	logger := slog.New(jsonLogHandler(e.logs))
	svcCfg := core.ServiceConfig{Logger: logger}
	switch {
	case cfg.noCounter:
	case cfg.counter != nil:
		svcCfg.Counter = cfg.counter
	default:
		svcCfg.Counter = memory.NewCounter()
	}
	switch {
	case cfg.noCache:
	case cfg.cache != nil:
		svcCfg.Cache = cfg.cache
	default:
		e.cache = memory.NewCache()
		svcCfg.Cache = e.cache
	}
	if cfg.shards > 0 {
		named := make([]core.NamedShard, cfg.shards)
		for i := range named {
			sh := memory.NewClickShard()
			e.shards = append(e.shards, sh)
			named[i] = core.NamedShard{Name: fmt.Sprintf("shard%d", i), Shard: sh}
		}
		b, err := host.NewClickBatcher(named, store, host.BatcherConfig{FlushInterval: time.Millisecond}, host.Options{Logger: logger})
		if err != nil {
			t.Fatalf("NewClickBatcher: %v", err)
		}
		t.Cleanup(func() { b.Close(context.Background()) })
		e.batcher = b
		svcCfg.Clicks, svcCfg.Shards = b, b
	}
	if cfg.clicks != nil {
		svcCfg.Clicks = cfg.clicks
	}
	svcStore := store
	if cfg.wrapStore != nil {
		svcStore = cfg.wrapStore(store)
	}
	svcCfg.BlockedHosts = cfg.blocked
	svcCfg.RedirectStatus, svcCfg.PermanentMaxAge = cfg.redirectStatus, cfg.permanentMaxAge
	svcCfg.ExpiredURL = cfg.expiredURL
	// The cheapest bcrypt cost: the tests check behaviour, not the KDF.
	svcCfg.Passwords = passwords.Bcrypt{Cost: bcrypt.MinCost}
	svcCfg.ClassifyAgent = uaclass.ClassifyAgent
	svc := core.NewService(svcStore, svcCfg)
	trusted, err := config.ParseTrustedProxies(cfg.trusted)
	if err != nil {
		t.Fatalf("trusted proxies: %v", err)
	}
	var h http.Handler = httpapi.New(svc, httpapi.Options{
		Logger:         logger,
		Registry:       e.reg,
		InstanceID:     "probe-host",
		DebugRoutes:    func() bool { return cfg.debug },
		AccessLog:      cfg.accessLog,
		MaxBodyBytes:   cfg.maxBody,
		MaxUploadBytes: cfg.maxUpload,
		Readiness:      cfg.readiness,
		// The host's view of its plugins; the real one is tested end to
		// end in cmd/curtain (TestPluginsCommand).
		PluginStatus: func() any {
			return []map[string]any{{"name": "counter", "kind": "counter", "source": "builtin memory", "version": "0.1.0",
				"pid": 4242, "state": "running", "healthy": true, "since": "2026-12-05T17:00:00Z", "restarts": 0}}
		},
		TrustedProxies: trusted,
		PublicBaseURL:  cfg.publicBase,
		VisitorKey:     cfg.visitorKey,
		DropUserAgent:  cfg.dropUserAgent,
		DropReferrer:   cfg.dropReferrer,
		Country:        cfg.country,
		RateLimits:     cfg.rateLimits,
		RootCodes:      cfg.rootCodes,
		Domains:        cfg.domains,
		Auth:           httpapi.Auth{RequireAPIKey: cfg.requireKey, Keys: keyStore(store)},
	})
	if cfg.wrapServer != nil {
		h = cfg.wrapServer(h)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	e.client = &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	return e
}

// result is a finished response.
type result struct {
	Status int
	Header http.Header
	Body   string
}

// do sends a request; header pairs follow the body.
func (e *env) do(method, path, body string, header ...string) result {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatalf("new request %s %s: %v", method, path, err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if strings.EqualFold(header[i], "Host") {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read %s %s: %v", method, path, err)
	}
	return result{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

func (e *env) get(path string, header ...string) result { return e.do("GET", path, "", header...) }

func (e *env) postJSON(path, body string) result {
	return e.do("POST", path, body, "Content-Type", "application/json")
}

func (e *env) putJSON(path, body string) result {
	return e.do("PUT", path, body, "Content-Type", "application/json")
}

// want checks status and exact body.
func (r result) want(t *testing.T, what string, status int, body string) {
	t.Helper()
	if r.Status != status || r.Body != body {
		t.Errorf("%s = %d %q\nwant %d %q", what, r.Status, r.Body, status, body)
	}
}

// wantError checks a {"error": msg} answer.
func (r result) wantError(t *testing.T, what string, status int, msg string) {
	t.Helper()
	r.want(t, what, status, errJSON(msg))
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s Content-Type = %q, want application/json", what, ct)
	}
	if xc := r.Header.Get("X-Cache"); xc != "" {
		t.Errorf("%s carries X-Cache %q; errors never do", what, xc)
	}
}

// wantCache checks the X-Cache header.
func (r result) wantCache(t *testing.T, what, want string) {
	t.Helper()
	if got := r.Header.Get("X-Cache"); got != want {
		t.Errorf("%s X-Cache = %q, want %q", what, got, want)
	}
}

// decode parses a JSON body.
func (r result) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("decode %q: %v", r.Body, err)
	}
}

func errJSON(msg string) string {
	b, _ := json.Marshal(msg)
	return `{"error":` + string(b) + "}\n"
}

func errorsJSON(field, msg string) string {
	return `{"errors":{"` + field + `":"` + msg + `"}}` + "\n"
}

// Seeding goes straight to the store, with fixed times.

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (e *env) user(name string) core.User {
	e.t.Helper()
	u := core.User{Username: name, Email: name + "@example.com", CreatedAt: time.Date(2026, 1, 3, 8, 30, 0, 0, time.UTC)}
	if err := e.store.CreateUser(e.t.Context(), &u); err != nil {
		e.t.Fatalf("CreateUser %s: %v", name, err)
	}
	return u
}

func (e *env) url(code, original string, owner *int64, active bool) core.URL {
	e.t.Helper()
	u := core.URL{UserID: owner, ShortCode: code, OriginalURL: original, IsActive: active, CreatedAt: t0, UpdatedAt: t0}
	if err := e.store.CreateURL(e.t.Context(), &u, nil); err != nil {
		e.t.Fatalf("CreateURL %s: %v", code, err)
	}
	return u
}

func (e *env) event(urlID int64, userID *int64, typ string, ts time.Time, details string) core.Event {
	e.t.Helper()
	ev := core.Event{URLID: &urlID, UserID: userID, EventType: typ, Timestamp: ts, Details: details}
	if err := e.store.CreateEvent(e.t.Context(), &ev); err != nil {
		e.t.Fatalf("CreateEvent %s: %v", typ, err)
	}
	return ev
}

// events lists the stored events of a URL.
func (e *env) events(urlID int64) []core.Event {
	e.t.Helper()
	evs, err := e.store.ListEvents(e.t.Context(), core.EventFilter{URLID: &urlID})
	if err != nil {
		e.t.Fatalf("ListEvents: %v", err)
	}
	return evs
}

// waitClicks waits until the shards hold n clicks of code in total, the
// batcher having flushed them.
func (e *env) waitClicks(code string, n int64) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var total int64
		for _, sh := range e.shards {
			st, err := sh.Stats(e.t.Context(), core.StatsRequest{Code: code})
			if err != nil {
				e.t.Fatalf("shard stats: %v", err)
			}
			total += st.Total
		}
		if total == n {
			return
		}
		if total > n || time.Now().After(deadline) {
			e.t.Fatalf("shards hold %d clicks of %s, want %d", total, code, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// drainStreams stores every click still in the shards' streams, as the
// stream consumer does.
func (e *env) drainStreams() {
	e.t.Helper()
	c := consumer.New(e.store, e.batcher, consumer.Config{Block: time.Millisecond})
	if err := c.Flush(e.t.Context()); err != nil {
		e.t.Fatalf("flush streams: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

// keyStore is the store's API-key capability, or nil.
func keyStore(s core.Store) core.KeyStore {
	k, _ := s.(core.KeyStore)
	return k
}

// urlJSON renders a URL object as the API must (sorted keys).
func urlJSON(u core.URL) string {
	title := "null"
	if u.Title != nil {
		b, _ := json.Marshal(*u.Title)
		title = string(b)
	}
	owner := "null"
	if u.UserID != nil {
		owner = fmt.Sprint(*u.UserID)
	}
	return fmt.Sprintf(`{"created_at":"%s","id":%d,"is_active":%t,"original_url":%q,"short_code":%q,"title":%s,"updated_at":"%s","user_id":%s}`,
		u.CreatedAt.UTC().Format(core.TimeLayout), u.ID, u.IsActive, u.OriginalURL, u.ShortCode, title,
		u.UpdatedAt.UTC().Format(core.TimeLayout), owner)
}
