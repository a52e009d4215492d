// Package httpapi is Curtain's HTTP API (spec §4): bunrouter handlers over
// a core.Service, the JSON conventions of spec §2, one function mapping
// errors to statuses, Prometheus request metrics labelled by route
// template, an optional access log, and the small web UI.
//
// Handlers return errors; one middleware renders them, recovers panics,
// records metrics and writes the access log. Bad input is answered with a
// 4xx and a JSON error, never a 5xx.
package httpapi

import (
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uptrace/bunrouter"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/logpace"
)

// Default request body limits.
const (
	DefaultMaxBodyBytes   = 1 << 20  // JSON and form bodies
	DefaultMaxUploadBytes = 10 << 20 // the CSV upload of POST /users/bulk
)

// metricsPath serves the Prometheus exposition when Options.Registry is
// set; nothing answered there is counted or logged.
const metricsPath = "/metrics"

// Options configures the handler. The zero value works: no metrics, no
// access log, debug routes disabled, default body limits.
type Options struct {
	// Logger receives failures (always) and the access log (when
	// AccessLog is set). Default: discard.
	Logger *slog.Logger
	// Registry receives the request metrics of spec §9.1. When set, GET
	// /metrics serves it (not counted in the metrics, not logged).
	Registry *prometheus.Registry
	// InstanceID is reported by GET /health.
	InstanceID string
	// DebugRoutes is asked on every GET /debug/fail; when it returns true
	// the route fails with a 500 for incident drills (spec §4.3).
	DebugRoutes func() bool
	// AccessLog logs one request.complete line per request (spec §9.2).
	// Off by default: a healthy service logs nothing per request.
	AccessLog bool
	// MaxBodyBytes caps JSON and form bodies; default 1 MiB.
	MaxBodyBytes int64
	// MaxUploadBytes caps the body of POST /users/bulk; default 10 MiB.
	MaxUploadBytes int64
	// TrustedProxies are the proxies whose X-Forwarded-For entries are
	// believed (http.trusted_proxies); none by default: the client is the
	// socket peer.
	TrustedProxies []netip.Prefix
	// PublicBaseURL is the scheme and host clients reach the service at
	// (http.public_base_url, e.g. "https://cur.tn"), used for the links of
	// POST /shorten-ui; empty: taken from a plain Host header.
	PublicBaseURL string
	// WriteTimeout is the deadline of each write of a streamed list (GET
	// /users, GET /events), which may take longer than the server's
	// write timeout as long as the client keeps reading; set it to that
	// timeout. Zero: no deadline of its own.
	WriteTimeout time.Duration
	// Auth requires API keys on the write routes; off by default.
	Auth Auth
	// RateLimits limits redirects and creates per client and per API key;
	// off by default.
	RateLimits RateLimits
	// Readiness lists the dependencies GET /health/ready probes; none by
	// default (always ready).
	Readiness []Check
	// Stopping, when set and true, makes GET /health/ready answer 503
	// "shutting_down" without probing: the server is about to stop
	// (http.shutdown_delay) and should get no new requests.
	Stopping func() bool
	// PluginStatus, when set, is reported by GET /health/plugins (a
	// JSON-encodable value: the plugin host's Status).
	PluginStatus func() any
	// VisitorKey, when set, turns on privacy mode's visitor identity: a
	// redirect records HMAC-SHA256(VisitorKey, client address) instead
	// of the address (privacy.visitor_key).
	VisitorKey []byte
	// RootCodes serves GET /{code} as GET /r/{code} (links.root_codes),
	// and the short links the API hands out become /{code}; off by
	// default, as in the reference.
	RootCodes bool
	// Domains are the host names short links are served on, each with an
	// optional not-found target (links.domains). Codes are global: they
	// resolve on every host.
	Domains []Domain
	// DropUserAgent and DropReferrer keep a redirect's User-Agent and
	// Referer headers out of the click it records (privacy mode's
	// privacy.store_user_agent and privacy.store_referrer set to false).
	// A dropped User-Agent's class (core/uaclass) is kept in its place.
	DropUserAgent, DropReferrer bool
	// Country, when set, maps a client address to its ISO country code
	// ("" when unknown) for the click's Country (analytics.geoip_path);
	// it is called on the address before privacy mode hashes it.
	Country func(addr string) string
}

// api holds the handler's dependencies.
type api struct {
	svc     *core.Service
	opts    Options
	log     *slog.Logger
	metrics *metrics
	// clientIP tells the client's address (visitor identity).
	clientIP clientIP
	// memLimiter counts rate limits in process when no shared limiter is
	// configured.
	memLimiter *MemoryLimiter
	// passwordLimiter counts password attempts in process when no
	// shared limiter is set.
	passwordLimiter *MemoryLimiter
	// keyGuard limits failed API-key attempts; nil when there is no key
	// store.
	keyGuard *keyGuard
	// allow is the Allow header of each route template ("GET, HEAD,
	// OPTIONS"), for 405 and OPTIONS answers.
	allow map[string]string
	// notFound is the wrapped generic 404 handler.
	notFound bunrouter.HandlerFunc
	// visitors hashes client addresses in privacy mode; nil otherwise.
	visitors *visitorHasher
	// notFoundTargets maps each configured domain (lower case) to where
	// its redirect misses go; empty when no domain has one.
	notFoundTargets map[string]string
	// uiPage is the dashboard page, which knows the short-link path.
	uiPage string
	// degradedLog paces request.degraded, per route.
	degradedLog logpace.Keyed
}

// route is one entry of the route table.
type route struct {
	method, template, name string
	handler                bunrouter.HandlerFunc
}

// New returns the HTTP handler of the API.
func New(svc *core.Service, opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxUploadBytes <= 0 {
		opts.MaxUploadBytes = DefaultMaxUploadBytes
	}
	opts.PublicBaseURL = strings.TrimRight(opts.PublicBaseURL, "/")
	a := &api{
		svc:      svc,
		opts:     opts,
		log:      opts.Logger,
		metrics:  newMetrics(opts.Registry),
		clientIP: clientIP{trusted: opts.TrustedProxies},

		notFoundTargets: domainTargets(opts.Domains),
		uiPage:          string(uiPage),
	}
	if opts.RootCodes {
		a.uiPage = string(uiPageRootCodes)
	}
	if len(opts.VisitorKey) > 0 {
		a.visitors = newVisitorHasher(opts.VisitorKey)
	}
	if opts.RateLimits.Shared == nil && (opts.RateLimits.Redirect.enabled() || opts.RateLimits.Create.enabled()) {
		a.memLimiter = NewMemoryLimiter()
	}
	a.passwordLimiter = NewMemoryLimiter()
	if opts.Auth.RequireAPIKey || opts.Auth.Keys != nil {
		// Reads of a protected link look a presented key up as well,
		// whether keys are required or not (targetView).
		a.keyGuard = newKeyGuard(opts.RateLimits.Auth, opts.RateLimits.Shared)
	}
	routes := a.routeTable()
	a.notFound = a.wrap("unmatched", "", func(w http.ResponseWriter, req bunrouter.Request) error {
		// bunrouter sends a path whose parameter has a static tail
		// (/urls/:id/analytics, /urls/:code/redirect) here when only the
		// method is wrong: that is still a 405.
		if t, ok := a.refusedMethod(req.URL.Path, req.Method); ok {
			return a.notAllowed(t)
		}
		return errNotFound
	})
	router := bunrouter.New(
		bunrouter.WithNotFoundHandler(a.notFound),
		bunrouter.WithMethodNotAllowedHandler(a.wrap("", "", a.methodNotAllowed)),
	)
	methods := map[string][]string{} // of each template
	for _, r := range routes {
		ms := methods[r.template]
		if ms == nil {
			router.Handle(http.MethodOptions, r.template,
				a.wrap(r.template, "options", a.intParams(r.template, a.options)))
			ms = append(ms, http.MethodOptions)
		}
		h := a.wrap(r.template, r.name, a.intParams(r.template, a.authenticated(r, a.rateLimited(r))))
		router.Handle(r.method, r.template, h)
		ms = append(ms, r.method)
		if r.method == http.MethodGet {
			router.Handle(http.MethodHead, r.template, h)
			ms = append(ms, http.MethodHead)
		}
		methods[r.template] = ms
	}
	if opts.Registry != nil {
		mh := bunrouter.HTTPHandler(noSniff(promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{})))
		router.GET(metricsPath, mh)
		router.HEAD(metricsPath, mh)
		router.OPTIONS(metricsPath, a.wrap(metricsPath, "options", a.options))
		methods[metricsPath] = []string{http.MethodGet, http.MethodHead, http.MethodOptions}
	}
	a.allow = make(map[string]string, len(methods))
	for t, ms := range methods {
		slices.Sort(ms)
		a.allow[t] = strings.Join(ms, ", ")
	}
	return &server{api: a, router: router}
}

// routeTable lists the routes New registers (besides HEAD for each GET,
// OPTIONS for each template, and GET /metrics when a Registry is set).
func (a *api) routeTable() []route {
	routes := []route{
		{"GET", "/", "ui.index", a.index},
		{"POST", "/shorten-ui", "ui.shorten", a.shortenUI},
		{"GET", "/assets/*path", "ui.assets", a.assets},
		{"GET", "/docs", "docs.page", a.docs},
		{"GET", "/openapi.json", "docs.openapi", a.openAPI},
		{"GET", "/health", "system.health", a.health},
		{"GET", "/health/ready", "system.ready", a.ready},
		{"GET", "/health/plugins", "system.plugins", a.pluginStatus},
		{"GET", "/debug/fail", "system.debug_fail", a.debugFail},
		{"GET", "/static/*path", "static", a.staticFiles},
		{"POST", "/users/bulk", "users.bulk_create", a.bulkUsers},
		{"GET", "/users", "users.list", a.listUsers},
		{"POST", "/users", "users.create", a.createUser},
		{"GET", "/users/:id", "users.get", a.getUser},
		{"PUT", "/users/:id", "users.update", a.updateUser},
		{"DELETE", "/users/:id", "users.delete", a.deleteUser},
		{"POST", "/urls", "urls.create", a.createURL},
		{"GET", "/urls", "urls.list", a.listURLs},
		{"GET", "/urls/:id", "urls.get", a.getURL},
		{"PUT", "/urls/:id", "urls.update", a.updateURL},
		{"DELETE", "/urls/:id", "urls.delete", a.deleteURL},
		{"GET", "/urls/:id/analytics", "urls.analytics", a.analytics},
		{"GET", "/urls/:id/analytics/breakdown", "urls.analytics_breakdown", a.breakdown},
		{"GET", "/urls/:id/realtime", "urls.realtime", a.realtime},
		{"GET", "/urls/:id/qr", "urls.qr", a.qrCode},
		{"GET", "/r/:code", "redirect.short", a.onDomains(a.redirect)},
		{"GET", "/urls/short/:code", "redirect.alias_short", a.onDomains(a.redirect)},
		{"GET", "/urls/:code/redirect", "redirect.alias_redirect", a.onDomains(a.redirect)},
		{"POST", "/r/:code", "redirect.short_password", a.redirect},
		{"POST", "/urls/short/:code", "redirect.alias_short_password", a.redirect},
		{"POST", "/urls/:code/redirect", "redirect.alias_redirect_password", a.redirect},
		{"GET", "/events", "events.list", a.listEvents},
		{"POST", "/events", "events.create", a.createEvent},
		{"GET", "/events/:id", "events.get", a.getEvent},
	}
	if a.opts.RootCodes {
		routes = append(routes, route{"GET", "/:code", "redirect.root", a.onDomains(a.redirect)})
	}
	return routes
}

// Routes lists every route New(svc, opts) registers as "METHOD /path",
// with OpenAPI path templates ("/urls/{id}"); HEAD and OPTIONS, which
// every GET route and every path answer, are left out.
func Routes(opts Options) []string {
	var out []string
	for _, r := range (&api{opts: opts}).routeTable() {
		out = append(out, r.method+" "+openAPIPath(r.template))
	}
	if opts.Registry != nil {
		out = append(out, "GET /metrics")
	}
	return out
}

// openAPIPath turns a bunrouter template into an OpenAPI path template.
func openAPIPath(template string) string {
	segs := strings.Split(template, "/")
	for i, s := range segs {
		if len(s) > 1 && (s[0] == ':' || s[0] == '*') {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/")
}

// server routes on the decoded path and refuses what Werkzeug would not
// route: unclean paths and trailing slashes (bunrouter would redirect
// them).
type server struct {
	api    *api
	router *bunrouter.Router
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Route on the decoded path, as the reference does ("/urls/%31" is
	// URL 1); bunrouter prefers RawPath when it is set.
	r.URL.RawPath = ""
	if strings.IndexByte(r.URL.Path, 0) >= 0 {
		// bunrouter's lookup indexes out of range on a NUL byte; no route
		// or stored code holds one, so U+FFFD routes the same way.
		r.URL.Path = strings.ReplaceAll(r.URL.Path, "\x00", "\uFFFD")
	}
	p := r.URL.Path
	if p == "" || p[0] != '/' || (p != "/" && (p[len(p)-1] == '/' || !cleanPath(p))) {
		_ = s.api.notFound(w, bunrouter.NewRequest(r))
		return
	}
	defer func() {
		// Handlers recover their own panics; this catches the router's.
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.api.logPanic(r, v)
			writeJSON(w, http.StatusInternalServerError, errorBody("Internal server error"))
		}
	}()
	_ = s.router.ServeHTTPError(w, r)
}

// cleanPath reports whether p has no empty, "." or ".." segments.
func cleanPath(p string) bool {
	for seg := range strings.SplitSeq(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}
