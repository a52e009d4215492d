package httpapi

import (
	"errors"
	"html"
	"io"
	"mime/multipart"
	"net/http"

	"github.com/uptrace/bunrouter"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/uaclass"
)

// options answers OPTIONS with the route's methods (spec §2.5).
func (a *api) options(w http.ResponseWriter, req bunrouter.Request) error {
	w.Header().Set("Allow", a.allow[routeOf(req)])
	w.WriteHeader(http.StatusOK)
	return nil
}

// health never touches the store (fix of Q15).
func (a *api) health(w http.ResponseWriter, req bunrouter.Request) error {
	respond(w, http.StatusOK, core.CacheNone, health{a.opts.InstanceID}, appendHealth)
	return nil
}

// debugFail fails on purpose when debug routes are enabled (spec §4.3).
func (a *api) debugFail(w http.ResponseWriter, req bunrouter.Request) error {
	if a.opts.DebugRoutes == nil || !a.opts.DebugRoutes() {
		return errNotFound
	}
	return errDebugDrill
}

// staticFiles is the framework's static route; there are no static files.
func (a *api) staticFiles(w http.ResponseWriter, req bunrouter.Request) error {
	return errNotFound
}

// --- users ---

func (a *api) listUsers(w http.ResponseWriter, req bunrouter.Request) error {
	lw := newListWriter(w, appendUser, a.opts.WriteTimeout)
	err := a.svc.EachUser(req.Context(), decodeListUsers(req.Request), lw.chunk)
	return lw.end(a, req.Request, err)
}

func (a *api) getUser(w http.ResponseWriter, req bunrouter.Request) error {
	u, err := a.svc.GetUser(req.Context(), pathID(req.Param("id")))
	if err != nil {
		return err
	}
	respond(w, http.StatusOK, core.CacheNone, u, appendUser)
	return nil
}

func (a *api) createUser(w http.ResponseWriter, req bunrouter.Request) error {
	body, err := a.jsonBody(w, req.Request)
	if err != nil {
		return err
	}
	in, err := decodeCreateUser(body)
	if err != nil {
		return err
	}
	u, err := a.svc.CreateUser(req.Context(), in)
	if err != nil {
		return err
	}
	respond(w, http.StatusCreated, core.CacheNone, u, appendUser)
	return nil
}

func (a *api) updateUser(w http.ResponseWriter, req bunrouter.Request) error {
	body, err := a.jsonBody(w, req.Request)
	if err != nil && !errors.Is(err, core.ErrInvalid) {
		return err
	}
	id := pathID(req.Param("id"))
	var in core.UpdateUserRequest
	if err == nil {
		in, err = decodeUpdateUser(body)
	}
	if err != nil {
		// An unknown user is reported before a bad body (spec §4.10).
		if _, uerr := a.svc.GetUser(req.Context(), id); uerr != nil {
			return uerr
		}
		return err
	}
	u, err := a.svc.UpdateUser(req.Context(), id, in)
	if err != nil {
		return err
	}
	respond(w, http.StatusOK, core.CacheNone, u, appendUser)
	return nil
}

func (a *api) deleteUser(w http.ResponseWriter, req bunrouter.Request) error {
	if err := a.svc.DeleteUser(req.Context(), pathID(req.Param("id"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

var errFileRequired = &core.ValidationError{Field: "file", Message: "Field 'file' is required"}

// bulkUsers imports a CSV upload (spec §4.6).
func (a *api) bulkUsers(w http.ResponseWriter, req bunrouter.Request) error {
	r := req.Request
	data, err := uploadedFile(w, r, "file", a.opts.MaxUploadBytes)
	if err != nil {
		return err
	}
	rows, err := decodeUsersCSV(data)
	if err != nil {
		return err
	}
	n, err := a.svc.ImportUsers(r.Context(), rows)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if n > 0 {
		status = http.StatusCreated
	}
	respond(w, status, core.CacheNone, n, appendCount)
	return nil
}

// uploadedFile returns the content of the first multipart file part named
// field with a non-empty filename, from a body of at most limit bytes. A
// missing part, or a body that is not multipart, is errFileRequired.
func uploadedFile(w http.ResponseWriter, r *http.Request, field string, limit int64) ([]byte, error) {
	var data []byte
	found := false
	err := multipartParts(w, r, limit, func(part *multipart.Part) (bool, error) {
		if part.FormName() != field || part.FileName() == "" {
			return false, nil
		}
		var err error
		data, err = io.ReadAll(part)
		if err != nil {
			if err := bodyError(err); err != nil {
				return true, err
			}
			return true, errFileRequired
		}
		found = true
		return true, nil
	})
	if err == nil && !found {
		err = errFileRequired
	}
	return data, err
}

// --- URLs ---

func (a *api) createURL(w http.ResponseWriter, req bunrouter.Request) error {
	body, err := a.jsonBody(w, req.Request)
	if err != nil {
		return err
	}
	in, err := decodeCreateURL(body)
	if err != nil {
		return err
	}
	u, created, err := a.svc.CreateURL(req.Context(), in)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	respond(w, status, core.CacheBypass, u, appendURL)
	return nil
}

func (a *api) listURLs(w http.ResponseWriter, req bunrouter.Request) error {
	in, err := decodeListURLs(req.Request)
	if err != nil {
		return err
	}
	view := a.targetView(w, req.Request)
	if in.Search != "" {
		// A search reads the hidden targets the request may see only.
		if in.Reader, err = view.access(); err != nil {
			return err
		}
	}
	urls, cache, err := a.svc.ListURLs(req.Context(), in)
	if err != nil {
		return err
	}
	return view.respondURLs(cache, urls)
}

func (a *api) getURL(w http.ResponseWriter, req bunrouter.Request) error {
	u, cache, err := a.svc.GetURL(req.Context(), pathID(req.Param("id")))
	if err != nil {
		return err
	}
	return a.respondURL(w, req.Request, cache, u)
}

func (a *api) updateURL(w http.ResponseWriter, req bunrouter.Request) error {
	body, err := a.jsonBody(w, req.Request)
	if err != nil && !errors.Is(err, core.ErrInvalid) {
		return err
	}
	id := pathID(req.Param("id"))
	var in core.UpdateURLRequest
	if err == nil {
		in, err = decodeUpdateURL(body)
	}
	if err != nil {
		// An unknown URL is reported before a bad body (spec §4.16).
		if uerr := a.svc.CheckURL(req.Context(), id); uerr != nil {
			return uerr
		}
		return err
	}
	u, err := a.svc.UpdateURL(req.Context(), id, in)
	if err != nil {
		return err
	}
	respond(w, http.StatusOK, core.CacheBypass, u, appendURL)
	return nil
}

func (a *api) deleteURL(w http.ResponseWriter, req bunrouter.Request) error {
	if err := a.svc.DeleteURL(req.Context(), pathID(req.Param("id"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) analytics(w http.ResponseWriter, req bunrouter.Request) error {
	an, cache, err := a.svc.Analytics(req.Context(), pathID(req.Param("id")))
	if err != nil {
		return err
	}
	return respondTargets(a, w, req.Request, cache, an.Protected, an.URLID, an, appendAnalytics, appendHiddenAnalytics)
}

// breakdown serves GET /urls/{id}/analytics/breakdown?period=24h|7d|30d|all.
func (a *api) breakdown(w http.ResponseWriter, req bunrouter.Request) error {
	period := queryWord(req.Request, "period", "")
	bd, err := a.svc.Breakdown(req.Context(), pathID(req.Param("id")), period)
	if err != nil {
		return err
	}
	respond(w, http.StatusOK, core.CacheNone, bd, appendBreakdown)
	return nil
}

func (a *api) realtime(w http.ResponseWriter, req bunrouter.Request) error {
	rt, err := a.svc.Realtime(req.Context(), pathID(req.Param("id")))
	if err != nil {
		return err
	}
	respond(w, http.StatusOK, core.CacheNone, rt, appendRealtime)
	return nil
}

// --- redirects ---

const (
	redirectPage1 = "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target URL: <a href=\""
	redirectPage2 = "\">"
	redirectPage3 = "</a>. If not, click the link.\n"
)

// redirect serves the three redirect paths (spec §4.18). HEAD requests
// answer the same but record no click (fix of Q17).
func (a *api) redirect(w http.ResponseWriter, req bunrouter.Request) error {
	r := req.Request
	code := validUTF8(req.Param("code"))
	record := r.Method != http.MethodHead
	var src core.ClickSource
	if record {
		src = a.clickSource(r)
	}
	var (
		t     core.RedirectTarget
		cache core.CacheStatus
		err   error
	)
	if r.Method == http.MethodPost {
		// Only the password form of a protected link posts here. A probe
		// that records nothing tells an open link (POST stays the
		// reference's 405) from one that needs the visit, and from a
		// protected one that ran out since its form was shown (its
		// expired target).
		if t, cache, err = a.svc.Redirect(r.Context(), code, core.ClickSource{}, false); err == nil && !t.ExpiredProtected() {
			return a.notAllowed(req.Route())
		}
	} else {
		t, cache, err = a.svc.Redirect(r.Context(), code, src, record)
	}
	if err == core.ErrVisitRequired {
		// A link with a password or rules (issue 19).
		t, cache, err = a.redirectVisit(w, r, code, src, record)
	}
	if err != nil {
		return err
	}
	if r.Method == http.MethodPost {
		// The password form: the browser follows with a GET.
		t.Status, t.CacheControl = http.StatusSeeOther, ""
	}
	h := w.Header()
	h["Location"] = []string{location(t.OriginalURL)}
	h["Content-Type"] = headerHTML
	h["X-Cache"] = cacheHeader(cache)
	if t.CacheControl != "" {
		h["Cache-Control"] = []string{t.CacheControl}
	}
	w.WriteHeader(t.Status)
	if !record {
		return nil
	}
	buf := getBuffer()
	escaped := htmlEscape(t.OriginalURL)
	buf.b = append(buf.b, redirectPage1...)
	buf.b = append(buf.b, escaped...)
	buf.b = append(buf.b, redirectPage2...)
	buf.b = append(buf.b, escaped...)
	buf.b = append(buf.b, redirectPage3...)
	_, _ = w.Write(buf.b)
	putBuffer(buf)
	return nil
}

// clickSource is what a redirect records of its client: the visitor (the
// address through trusted proxies, or its keyed hash in privacy mode), its
// country when a GeoIP database is configured (looked up before the
// hash), and the User-Agent and Referer unless privacy mode drops them.
// A dropped User-Agent is classified first (device, browser, OS, bot), so
// that bots are still counted as bots and do not use up a link's
// max_visits; only its class goes on.
func (a *api) clickSource(r *http.Request) core.ClickSource {
	src := core.ClickSource{Visitor: a.clientIP.of(r)}
	if a.opts.Country != nil {
		src.Country = a.opts.Country(src.Visitor)
	}
	src.Visitor = a.visitorID(src.Visitor)
	if a.opts.DropUserAgent {
		src.Agent = uaclass.ClassifyAgent(r.UserAgent())
	} else {
		src.UserAgent = r.UserAgent()
	}
	if !a.opts.DropReferrer {
		src.Referrer = r.Referer()
	}
	return src
}

// htmlEscape escapes like Python's html.escape (&, <, >, ", '), without
// allocating when nothing needs escaping.
func htmlEscape(s string) string {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '&', '<', '>', '"', '\'':
			return html.EscapeString(s)
		}
	}
	return s
}

// --- events ---

func (a *api) listEvents(w http.ResponseWriter, req bunrouter.Request) error {
	in, err := decodeListEvents(req.Request)
	if err != nil {
		return err
	}
	if presentedKey(req.Request) != "" {
		// The list goes out before its later chunks are read: with a
		// key it may show a protected link's targets (targetView).
		w.Header()["Cache-Control"] = noStore
	}
	view := a.targetView(w, req.Request)
	lw := newListWriter(w, appendEvent, a.opts.WriteTimeout)
	err = a.svc.EachEvent(req.Context(), in, func(events []core.Event) error {
		if err := view.hideEvents(events); err != nil {
			return err
		}
		return lw.chunk(events)
	})
	return lw.end(a, req.Request, err)
}

func (a *api) getEvent(w http.ResponseWriter, req bunrouter.Request) error {
	e, err := a.svc.GetEvent(req.Context(), pathID(req.Param("id")))
	if err != nil {
		return err
	}
	view := a.targetView(w, req.Request)
	if err := view.hideEvent(&e); err != nil {
		return err
	}
	respond(w, http.StatusOK, core.CacheNone, e, appendEvent)
	return nil
}

func (a *api) createEvent(w http.ResponseWriter, req bunrouter.Request) error {
	body, err := a.jsonBody(w, req.Request)
	if err != nil {
		return err
	}
	in, err := decodeCreateEvent(body)
	if err != nil {
		return err
	}
	// An event counts in its link's analytics: a key posts events only
	// about the links it may change.
	if k := keyOf(req.Context()); k != nil {
		if err := a.checkOwner(req.Context(), k, in.URLID); err != nil {
			return err
		}
	}
	e, err := a.svc.CreateEvent(req.Context(), in)
	if err != nil {
		return err
	}
	respond(w, http.StatusCreated, core.CacheNone, e, appendEvent)
	return nil
}
