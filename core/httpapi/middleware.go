package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bunrouter"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/pycompat"
)

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	// keyID is the API key the request presented, for the access log;
	// 0 when it presented none that authenticated.
	keyID int64
}

// recordKey records the id of the API key that authenticated the
// request; the auth check calls it through the wrapped writer.
func (w *statusWriter) recordKey(id int64) { w.keyID = id }

// apiKeyRecorder is a writer that records the request's API key
// (statusWriter).
type apiKeyRecorder interface{ recordKey(id int64) }

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		secureHeaders(w.ResponseWriter.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
		secureHeaders(w.ResponseWriter.Header())
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

// wrap returns h with the one middleware every route shares: it renders
// returned errors, recovers panics, records the metrics of spec §9.1
// under the route template, and writes the access log when enabled.
func (a *api) wrap(template, name string, h bunrouter.HandlerFunc) bunrouter.HandlerFunc {
	// The 405 handler (template "") learns its template per request.
	var rm *routeMetrics
	if template != "" {
		rm = a.metrics.route(template)
	}
	// Answers on /metrics, whatever their method, are neither counted nor
	// logged (spec §4.2).
	isScrape := template == metricsPath
	return func(w http.ResponseWriter, req bunrouter.Request) error {
		start := time.Now()
		// counted is the route the answer is counted under: the matched
		// one, unless the answer names another (a 405, or a path the
		// route did not really match).
		counted, scrape := rm, isScrape
		sw := statusWriters.Get().(*statusWriter)
		sw.ResponseWriter, sw.status, sw.keyID = w, 0, 0
		func() {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					a.logPanic(req.Request, v)
					if sw.status == 0 {
						a.writeError(sw, req.Request, name, errPanic)
					}
				}
			}()
			if err := h(sw, req); err != nil {
				if he, ok := errors.AsType[*httpError](err); ok && he.template != "" {
					counted, scrape = a.metrics.route(he.template), he.template == metricsPath
				}
				a.writeError(sw, req.Request, name, err)
			}
		}()
		status, keyID := sw.status, sw.keyID
		if status == 0 {
			status = http.StatusOK
		}
		sw.ResponseWriter = nil
		statusWriters.Put(sw)
		if scrape {
			return nil
		}
		elapsed := time.Since(start)
		method := methodLabel(req.Method)
		if counted != nil {
			counted.observe(method, status, elapsed)
		} else {
			a.metrics.route(routeOf(req)).observe(method, status, elapsed)
		}
		if a.opts.AccessLog {
			attrs := []slog.Attr{
				slog.String("component", "http"),
				slog.String("method", req.Method),
				slog.String("path", req.URL.Path),
				slog.Int("status_code", status),
				slog.Float64("duration_ms", float64(elapsed.Microseconds()/10)/100),
				slog.String("remote_addr", remoteAddr(req.Request)),
			}
			if name != "" && status != http.StatusNotFound {
				attrs = append(attrs, slog.String("endpoint", name))
			}
			if keyID != 0 {
				// The key presented, not the one it acts as: before
				// revoking a rotated key, its last use shows here.
				attrs = append(attrs, slog.Int64("api_key_id", keyID))
			}
			a.log.LogAttrs(req.Context(), slog.LevelInfo, "request.complete", attrs...)
		}
		return nil
	}
}

// logRequest logs msg about r: the request's attributes, then args.
func (a *api) logRequest(r *http.Request, level slog.Level, msg string, args ...any) {
	a.logRequestID(r, requestID(r), level, msg, args...)
}

// logRequestID is logRequest with the request id already chosen.
func (a *api) logRequestID(r *http.Request, id string, level slog.Level, msg string, args ...any) {
	a.log.Log(r.Context(), level, msg, append([]any{"component", "http", "method", r.Method,
		"path", r.URL.Path, "request_id", id}, args...)...)
}

// logFailure logs a handler failure that became a 500 as the reference
// did (spec §9.2): first Flask's own ERROR line "Exception on <path>
// [<METHOD>]" with the exception, then request.failed with the request's
// attributes and args. Both carry the same request_id.
func (a *api) logFailure(r *http.Request, exception string, args ...any) {
	id := requestID(r)
	a.log.Log(r.Context(), slog.LevelError, "Exception on "+r.URL.Path+" ["+r.Method+"]",
		"request_id", id, "exception", exception)
	a.logRequestID(r, id, slog.LevelError, "request.failed", append(args, "exception", exception)...)
}

// logPanic logs a recovered panic with its stack.
func (a *api) logPanic(r *http.Request, v any) {
	a.logFailure(r, string(debug.Stack()), "panic", fmt.Sprint(v))
}

// routeOf returns the template of the route bunrouter matched, or
// "unmatched".
func routeOf(req bunrouter.Request) string {
	if t := req.Route(); t != "" {
		return t
	}
	return "unmatched"
}

// methodLabel bounds the method label to the standard methods.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete,
		http.MethodOptions, http.MethodPatch, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

// remoteAddr is the access log's client address: the raw X-Forwarded-For
// header if present, else the peer's address without its port, as the
// reference's request.remote_addr (spec §9.2).
func remoteAddr(r *http.Request) string {
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		return xff
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// requestID returns the client's X-Request-Id when it is short and
// printable, else a fresh random id.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && printableASCII(id) {
		return id
	}
	return strconv.FormatUint(rand.Uint64(), 36)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// httpError is a framework-level answer with a fixed status and message.
type httpError struct {
	status  int
	message string
	allow   string // Allow header of a 405
	// template is the route template the answer is counted under when
	// it is not the route the router matched: the route a 405 names, or
	// "unmatched".
	template string
}

func (e *httpError) Error() string { return e.message }

var (
	errNotFound    = &httpError{status: http.StatusNotFound, message: "Not found"}
	errUnmatched   = &httpError{status: http.StatusNotFound, message: "Not found", template: "unmatched"}
	errTooLarge    = &httpError{status: http.StatusRequestEntityTooLarge, message: "Request body too large"}
	errBodyTimeout = &httpError{status: http.StatusRequestTimeout, message: "Request timeout"}
	errPanic       = errors.New("handler panicked")
	errDebugDrill  = errors.New("debug failure drill")
)

// methodNotAllowed answers a method the matched route does not handle:
// 405 with an Allow header and a JSON body (the reference sent an HTML
// page, Q16), or the generic 404 when an integer segment does not hold
// digits (the route did not really match).
func (a *api) methodNotAllowed(w http.ResponseWriter, req bunrouter.Request) error {
	template := req.Route()
	if strings.Contains(template, ":id") && !allDigits(req.Param("id")) {
		return a.fallback(req)
	}
	return a.notAllowed(template)
}

// fallback answers a path whose integer segment was not digits: 405 when
// the path is a literal route with other methods (GET /users/bulk), else
// the generic 404.
func (a *api) fallback(req bunrouter.Request) error {
	if p := req.URL.Path; !strings.ContainsAny(p, ":*") {
		if _, ok := a.allow[p]; ok {
			return a.notAllowed(p)
		}
	}
	return errUnmatched
}

// refusedMethod returns the route template with ":" parameters that path
// matches (an ":id" segment only digits) but that does not take method,
// if any.
func (a *api) refusedMethod(path, method string) (string, bool) {
	segs := strings.Split(path, "/")
	for t, allow := range a.allow {
		if strings.Contains(t, ":") && !strings.Contains(t, "*") && templateMatches(strings.Split(t, "/"), segs) {
			return t, !slices.Contains(strings.Split(allow, ", "), method)
		}
	}
	return "", false
}

// templateMatches reports whether path segments segs match template
// segments tsegs.
func templateMatches(tsegs, segs []string) bool {
	if len(tsegs) != len(segs) {
		return false
	}
	for i, ts := range tsegs {
		switch {
		case ts == ":id":
			if !allDigits(segs[i]) {
				return false
			}
		case strings.HasPrefix(ts, ":"):
			if segs[i] == "" {
				return false
			}
		case ts != segs[i]:
			return false
		}
	}
	return true
}

// notAllowed is the 405 answer of a route template.
func (a *api) notAllowed(template string) error {
	return &httpError{status: http.StatusMethodNotAllowed, message: "Method not allowed", allow: a.allow[template], template: template}
}

// intParams makes a route with an ":id" segment match only unsigned
// decimal digits there (spec §2.4).
func (a *api) intParams(template string, h bunrouter.HandlerFunc) bunrouter.HandlerFunc {
	if !strings.Contains(template, ":id") {
		return h
	}
	return func(w http.ResponseWriter, req bunrouter.Request) error {
		if !allDigits(req.Param("id")) {
			return a.fallback(req)
		}
		return h(w, req)
	}
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// unprocessableRoutes are the routes, by name, whose validation errors
// are 422 with an "errors" object keyed by field (spec §2.6, the user
// routes); every other route answers 400 with an "error" message.
var unprocessableRoutes = map[string]bool{"users.create": true, "users.update": true}

// writeError renders err, returned by the route named name. This is the
// one place errors become statuses.
func (a *api) writeError(w http.ResponseWriter, r *http.Request, name string, err error) {
	var (
		he *httpError
		rl *rateLimitedError
		ve *core.ValidationError
		nf *core.NotFoundError
	)
	switch {
	case errors.As(err, &he):
		if he.allow != "" {
			w.Header().Set("Allow", he.allow)
		}
		writeJSON(w, he.status, errorBody(he.message))
	case errors.As(err, &rl):
		retry := rl.retryAfterSeconds()
		w.Header().Set("Retry-After", retry)
		if rl.password && r.Method == http.MethodPost && wantsHTML(r) {
			writePasswordLimited(w, r, name, retry)
			return
		}
		writeJSON(w, http.StatusTooManyRequests, errorBody(rl.Error()))
	case errors.Is(err, core.ErrPasswordRequired) || errors.Is(err, core.ErrPasswordWrong):
		writePasswordChallenge(w, r, name, err)
	case errors.As(err, &ve) && unprocessableRoutes[name]:
		b := append(make([]byte, 0, 64), `{"errors":{`...)
		b = pycompat.AppendJSONString(b, ve.Field)
		b = append(b, ':')
		b = pycompat.AppendJSONString(b, ve.Message)
		writeJSON(w, http.StatusUnprocessableEntity, append(b, "}}\n"...))
	case errors.As(err, &ve):
		writeJSON(w, http.StatusBadRequest, errorBody(ve.Message))
	case errors.As(err, &nf):
		writeJSON(w, http.StatusNotFound, errorBody(nf.Message))
	case core.ClientGone(r.Context(), err):
		// The client went away; nobody reads this answer.
		w.WriteHeader(499)
	case errors.Is(err, core.ErrUnavailable):
		a.metrics.countUnavailable(unavailableCause(err))
		// Once a second per route: an outage fails every request, and a
		// line each would flood the log and slow the instance.
		if n, ok := a.degradedLog.Ready(name, time.Now(), time.Second); ok {
			a.logRequest(r, slog.LevelWarn, "request.degraded", "error", err.Error(), "requests", n)
		}
		writeJSON(w, http.StatusServiceUnavailable, errorBody("Service unavailable"))
	case errors.Is(err, core.ErrInvalid):
		// A store refused input that validation let through: still the
		// client's input, but worth a look.
		a.logRequest(r, slog.LevelWarn, "request.invalid", "error", err.Error())
		writeJSON(w, http.StatusBadRequest, errorBody("Invalid request"))
	default:
		if err != errPanic {
			a.logFailure(r, err.Error())
		}
		writeJSON(w, http.StatusInternalServerError, errorBody("Internal server error"))
	}
}

func errorBody(message string) []byte {
	b := append(make([]byte, 0, 64), `{"error":`...)
	b = pycompat.AppendJSONString(b, message)
	return append(b, "}\n"...)
}
