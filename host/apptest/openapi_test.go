package apptest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/httpapi"
	"github.com/curtainhq/curtain/host/passwords"
)

// The parts of an OpenAPI document the test reads.
type (
	oaDoc struct {
		OpenAPI    string                            `json:"openapi"`
		Paths      map[string]map[string]oaOperation `json:"paths"`
		Components struct {
			Schemas   map[string]json.RawMessage `json:"schemas"`
			Responses map[string]json.RawMessage `json:"responses"`
		} `json:"components"`
	}
	oaOperation struct {
		OperationID string                `json:"operationId"`
		Summary     string                `json:"summary"`
		Parameters  []oaParameter         `json:"parameters"`
		RequestBody *oaBody               `json:"requestBody"`
		Responses   map[string]oaResponse `json:"responses"`
	}
	oaParameter struct {
		Name    string `json:"name"`
		In      string `json:"in"`
		Example any    `json:"example"`
	}
	oaBody struct {
		Content map[string]struct {
			Example any `json:"example"`
		} `json:"content"`
	}
	oaResponse struct {
		Ref         string `json:"$ref"`
		Description string `json:"description"`
		Content     map[string]struct {
			Example any `json:"example"`
		} `json:"content"`
		Request *oaRequest `json:"x-request"`
	}
	// oaRequest is the request that produces a documented response.
	oaRequest struct {
		Path      map[string]any    `json:"path"`
		Query     map[string]string `json:"query"`
		Body      any               `json:"body"`
		Form      map[string]string `json:"form"`
		Multipart map[string]string `json:"multipart"`
	}
)

func loadOpenAPI(t *testing.T) oaDoc {
	t.Helper()
	var doc oaDoc
	if err := json.Unmarshal(httpapi.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return doc
}

// TestOpenAPI keeps the document true: it lists exactly the routes the
// router registers, its example requests succeed against a real server,
// and each documented status is produced by the request the document
// gives for it (or is one of the shared responses any route may give).
func TestOpenAPI(t *testing.T) {
	doc := loadOpenAPI(t)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}

	t.Run("routes", func(t *testing.T) {
		var documented []string
		for p, item := range doc.Paths {
			for m, op := range item {
				documented = append(documented, strings.ToUpper(m)+" "+p)
				if op.OperationID == "" || op.Summary == "" {
					t.Errorf("%s %s has no operationId or summary", m, p)
				}
			}
		}
		// With root codes on, so that GET /{code} is in the table.
		routed := httpapi.Routes(httpapi.Options{Registry: prometheus.NewRegistry(), RootCodes: true})
		sort.Strings(documented)
		sort.Strings(routed)
		if diff := cmp.Diff(routed, documented); diff != "" {
			t.Errorf("routes (-registered +documented):\n%s", diff)
		}
	})

	t.Run("references", func(t *testing.T) {
		raw := string(httpapi.OpenAPI())
		for _, m := range refPattern(raw) {
			name := m[strings.LastIndexByte(m, '/')+1:]
			switch {
			case strings.HasPrefix(m, "#/components/schemas/"):
				if _, ok := doc.Components.Schemas[name]; !ok {
					t.Errorf("dangling $ref %s", m)
				}
			case strings.HasPrefix(m, "#/components/responses/"):
				if _, ok := doc.Components.Responses[name]; !ok {
					t.Errorf("dangling $ref %s", m)
				}
			default:
				t.Errorf("unexpected $ref %s", m)
			}
		}
	})

	t.Run("examples", func(t *testing.T) {
		e := newEnv(t, openSQLite, envConfig{shards: 1, rootCodes: true})
		alice := e.user("alice")
		e.user("bob")
		e.url("abc123", "https://example.com/docs", &alice.ID, true)
		e.url("old001", "https://example.com/old", nil, true)
		// A password-protected link (issue 19), password "letmein".
		hash, err := passwords.Bcrypt{Cost: bcrypt.MinCost}.Hash("letmein")
		if err != nil {
			t.Fatal(err)
		}
		locked := core.URL{ShortCode: "lock01", OriginalURL: "https://example.com/private", IsActive: true, CreatedAt: t0, UpdatedAt: t0, PasswordHash: hash}
		if err := e.store.CreateURL(t.Context(), &locked, nil); err != nil {
			t.Fatal(err)
		}
		e.event(1, &alice.ID, "created", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), `{"short_code": "abc123"}`)

		type opRef struct{ path, method string }
		var ops []opRef
		for p, item := range doc.Paths {
			for m := range item {
				ops = append(ops, opRef{p, m})
			}
		}
		// Deletions last, so that the other examples find their rows.
		sort.Slice(ops, func(i, j int) bool {
			di, dj := ops[i].method == "delete", ops[j].method == "delete"
			if di != dj {
				return dj
			}
			return ops[i].path+ops[i].method < ops[j].path+ops[j].method
		})
		for _, ref := range ops {
			op := doc.Paths[ref.path][ref.method]
			what := strings.ToUpper(ref.method) + " " + ref.path
			covered := map[string]bool{}

			// The operation's own example request.
			r := sendExample(t, e, ref.method, ref.path, op, nil)
			status := strconv.Itoa(r.Status)
			covered[status] = true
			if _, ok := op.Responses[status]; !ok {
				t.Errorf("%s example = %d %s, an undocumented status", what, r.Status, r.Body)
			} else if hasSuccess(op) && r.Status >= 400 {
				t.Errorf("%s example = %d %s, want success", what, r.Status, r.Body)
			}

			for _, st := range slices.Sorted(maps.Keys(op.Responses)) {
				resp := op.Responses[st]
				switch {
				case resp.Request != nil:
					r := sendExample(t, e, ref.method, ref.path, op, resp.Request)
					if strconv.Itoa(r.Status) != st {
						t.Errorf("%s x-request of %s = %d %s", what, st, r.Status, r.Body)
						continue
					}
					covered[st] = true
					checkExampleBody(t, what+" "+st, resp, r)
				case resp.Ref != "":
					covered[st] = true // a shared response (413, 500, 503)
				case !covered[st]:
					t.Errorf("%s documents %s but gives no request that produces it", what, st)
				}
			}
		}
	})
}

// hasSuccess reports whether an operation documents a 2xx or 3xx.
func hasSuccess(op oaOperation) bool {
	for st := range op.Responses {
		if st[0] == '2' || st[0] == '3' {
			return true
		}
	}
	return false
}

// refPattern returns every "$ref" target in a JSON text.
func refPattern(raw string) []string {
	var out []string
	for rest := raw; ; {
		i := strings.Index(rest, `"$ref": "`)
		if i < 0 {
			return out
		}
		rest = rest[i+len(`"$ref": "`):]
		out = append(out, rest[:strings.IndexByte(rest, '"')])
	}
}

// sendExample sends the operation's example request, or req when given.
func sendExample(t *testing.T, e *env, method, path string, op oaOperation, req *oaRequest) result {
	t.Helper()
	query := url.Values{}
	for _, p := range op.Parameters {
		v := p.Example
		if req != nil {
			v = nil
			if pv, ok := req.Path[p.Name]; ok && p.In == "path" {
				v = pv
			}
		}
		if v == nil {
			continue
		}
		s := fmt.Sprint(v)
		switch p.In {
		case "path":
			path = strings.Replace(path, "{"+p.Name+"}", url.PathEscape(s), 1)
		case "query":
			query.Set(p.Name, s)
		}
	}
	if req != nil {
		for k, v := range req.Query {
			query.Set(k, v)
		}
	}
	if strings.Contains(path, "{") {
		t.Fatalf("%s %s: no example for a path parameter", method, path)
	}
	if len(query) > 0 {
		path += "?" + query.Encode()
	}

	var body, ctype string
	if op.RequestBody != nil {
		for ct, media := range op.RequestBody.Content {
			ctype = ct
			example := media.Example
			if req != nil {
				switch {
				case req.Form != nil:
					example = req.Form
				case req.Multipart != nil:
					example = req.Multipart
				default:
					example = req.Body
				}
			}
			body = encodeBody(t, ct, example, &ctype)
		}
	}
	if ctype != "" {
		return e.do(strings.ToUpper(method), path, body, "Content-Type", ctype)
	}
	return e.do(strings.ToUpper(method), path, body)
}

// encodeBody encodes an example in its media type; multipart sets the
// boundary in *ctype.
func encodeBody(t *testing.T, ct string, example any, ctype *string) string {
	t.Helper()
	switch ct {
	case "application/json":
		if example == nil {
			return ""
		}
		b, err := json.Marshal(example)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	case "application/x-www-form-urlencoded":
		vals := url.Values{}
		for k, v := range toStrings(example) {
			vals.Set(k, v)
		}
		return vals.Encode()
	case "multipart/form-data":
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k, v := range toStrings(example) {
			if k == "file" {
				w, _ := mw.CreateFormFile(k, "users.csv")
				w.Write([]byte(v))
			} else {
				mw.WriteField(k, v)
			}
		}
		mw.Close()
		*ctype = mw.FormDataContentType()
		return buf.String()
	}
	t.Fatalf("no encoder for %s", ct)
	return ""
}

func toStrings(v any) map[string]string {
	out := map[string]string{}
	switch m := v.(type) {
	case map[string]any:
		for k, x := range m {
			out[k] = fmt.Sprint(x)
		}
	case map[string]string:
		maps.Copy(out, m)
	}
	return out
}

// checkExampleBody compares an error response with its documented
// example (success bodies carry ids and times that differ per run).
func checkExampleBody(t *testing.T, what string, resp oaResponse, r result) {
	t.Helper()
	for ct, media := range resp.Content {
		if media.Example == nil || r.Status < 400 {
			continue
		}
		switch ct {
		case "application/json":
			var got any
			if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
				t.Errorf("%s: body %q is not JSON", what, r.Body)
				continue
			}
			if diff := cmp.Diff(media.Example, got); diff != "" {
				t.Errorf("%s: body differs from the documented example (-doc +got):\n%s", what, diff)
			}
		case "text/html":
			if r.Body != media.Example {
				t.Errorf("%s: body = %q, documented %q", what, r.Body, media.Example)
			}
		}
	}
}

func TestDocsPage(t *testing.T) {
	e := newEnv(t, openSQLite, envConfig{})
	r := e.get("/docs")
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(r.Body, `src="/assets/docs.js"`) {
		t.Errorf("GET /docs = %d %q", r.Status, r.Header.Get("Content-Type"))
	}
	// Without links.root_codes the document does not offer GET /{code}
	// (which answers 404); with it, the whole document is served.
	r = e.get("/openapi.json")
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/json" ||
		strings.Contains(r.Body, `"/{code}"`) || !strings.Contains(r.Body, `"/r/{code}"`) {
		t.Errorf("GET /openapi.json without root codes = %d %q, /{code} listed: %v", r.Status, r.Header.Get("Content-Type"), strings.Contains(r.Body, `"/{code}"`))
	}
	if r := e.get("/abc123"); r.Status != http.StatusNotFound {
		t.Errorf("GET /abc123 without root codes = %d, want 404", r.Status)
	}
	root := newEnv(t, openSQLite, envConfig{rootCodes: true})
	if r := root.get("/openapi.json"); r.Status != http.StatusOK || r.Body != string(httpapi.OpenAPI()) {
		t.Errorf("GET /openapi.json with root codes = %d, not the whole document", r.Status)
	}
}
