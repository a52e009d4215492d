package httpapi

import (
	"bytes"
	"embed"
	"errors"
	"html"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/uptrace/bunrouter"

	"github.com/curtainhq/curtain/core"
)

// web holds the dashboard (index.html and its assets) and the API
// reference page. Nothing is loaded from outside the server.
//
//go:embed web
var web embed.FS

// page returns an embedded file of web; the names are fixed, so a missing
// one is a build mistake.
func page(name string) []byte {
	b, err := web.ReadFile("web/" + name)
	if err != nil {
		panic(err)
	}
	return b
}

var (
	uiPage = page("index.html")
	// uiPageRootCodes is the dashboard with root codes on: its short
	// links are /{code}.
	uiPageRootCodes = bytes.Replace(uiPage, []byte(`<meta name="curtain-short-link-path" content="/r/">`),
		[]byte(`<meta name="curtain-short-link-path" content="/">`), 1)
	docsPage = page("docs.html")
	// uiCSP and docsCSP let exactly the pages' own inline blocks run.
	uiCSP   = pageCSP(uiPage)
	docsCSP = pageCSP(docsPage)
)

// index serves the dashboard (spec §4.4, grown into the dashboard: the
// reference's form and route list are still on it).
func (a *api) index(w http.ResponseWriter, req bunrouter.Request) error {
	w.Header()["Content-Security-Policy"] = uiCSP
	writeHTML(w, http.StatusOK, a.uiPage)
	return nil
}

// docs serves the readable API reference, rendered in the browser from
// /openapi.json by an embedded script.
func (a *api) docs(w http.ResponseWriter, req bunrouter.Request) error {
	w.Header()["Content-Security-Policy"] = docsCSP
	writeHTML(w, http.StatusOK, string(docsPage))
	return nil
}

// assets serves the dashboard's scripts and styles from web/.
func (a *api) assets(w http.ResponseWriter, req bunrouter.Request) error {
	name := req.Param("path")
	if !fs.ValidPath(name) || path.Ext(name) == ".html" {
		return errNotFound
	}
	b, err := web.ReadFile("web/" + name)
	if err != nil {
		return errNotFound
	}
	h := w.Header()
	h.Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}

// shortenUI creates a URL from the UI form and answers an HTML fragment
// (spec §4.5), with the fixes of Q5: the same creation service as POST
// /urls, validation errors as 400 fragments, everything HTML-escaped, and
// links built from Options.PublicBaseURL when set, else from the Host
// header only when it is a plain host[:port].
func (a *api) shortenUI(w http.ResponseWriter, req bunrouter.Request) error {
	form, err := a.formValues(w, req.Request, "original_url", "long_url", "title", "user_id")
	if err != nil {
		return err
	}
	in, err := decodeShortenForm(form)
	var u core.URL
	var created bool
	if err == nil {
		u, created, err = a.svc.CreateURL(req.Context(), in)
	}
	var ve *core.ValidationError
	if errors.As(err, &ve) {
		writeHTML(w, http.StatusBadRequest, `<div id="message" class="error">`+html.EscapeString(ve.Message)+`</div>`)
		return nil
	}
	if err != nil {
		return err
	}
	base := a.publicBase(req.Request)
	redirect := html.EscapeString(base + a.shortLinkPath() + u.ShortCode)
	payload := html.EscapeString(base + "/urls/" + strconv.FormatInt(u.ID, 10))
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeHTML(w, status, `<div id="message" class="success">Short URL ready!<br><br>`+
		`<strong>Redirect:</strong> <a href="`+redirect+`" target="_blank">`+redirect+`</a><br>`+
		`<strong>Payload:</strong> <a href="`+payload+`" target="_blank">`+payload+`</a></div>`)
	return nil
}

// publicBase is the scheme and host of the links the service hands out:
// Options.PublicBaseURL when set, else "http://" and the Host header when
// it is a plain host[:port], else "" (links relative to the server).
func (a *api) publicBase(r *http.Request) string {
	if a.opts.PublicBaseURL != "" {
		return a.opts.PublicBaseURL
	}
	if validHost(r.Host) {
		return "http://" + r.Host
	}
	return ""
}

func writeHTML(w http.ResponseWriter, status int, body string) {
	w.Header()["Content-Type"] = headerHTML
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// formValues returns the first value of each named field of a urlencoded
// or multipart form body; other bodies have no fields.
func (a *api) formValues(w http.ResponseWriter, r *http.Request, names ...string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mediaType {
	case "application/x-www-form-urlencoded":
		body, err := readBody(w, r, a.opts.MaxBodyBytes)
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			if v, ok := queryValue(string(body), name); ok {
				out[name] = v
			}
		}
	case "multipart/form-data":
		err := multipartParts(w, r, a.opts.MaxBodyBytes, func(part *multipart.Part) (bool, error) {
			name := part.FormName()
			if _, seen := out[name]; seen || part.FileName() != "" || !slices.Contains(names, name) {
				return false, nil
			}
			v, err := io.ReadAll(part)
			if isTooLarge(err) {
				return true, errTooLarge
			}
			out[name] = validUTF8(string(v))
			return false, nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// validHost reports whether h is a plain host[:port]: a DNS name or IPv4
// address of letters, digits, dots and hyphens, or a bracketed IPv6
// address, and an optional numeric port.
func validHost(h string) bool {
	host, port := h, ""
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return false
		}
		if addr, err := netip.ParseAddr(h[1:end]); err != nil || !addr.Is6() || addr.Zone() != "" {
			return false
		}
		host, port = "", h[end+1:]
		if port != "" {
			if port[0] != ':' {
				return false
			}
			port = port[1:]
		}
	} else {
		if i := strings.LastIndexByte(h, ':'); i >= 0 {
			host, port = h[:i], h[i+1:]
		}
		if host == "" || len(host) > 253 || host[0] == '.' || host[0] == '-' {
			return false
		}
		for i := 0; i < len(host); i++ {
			c := host[i]
			if !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-') {
				return false
			}
		}
	}
	if strings.HasSuffix(h, ":") {
		return false
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || !allDigits(port) {
			return false
		}
	}
	return true
}
