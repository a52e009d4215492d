package apptest_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
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
	kdoc := loadKinOpenAPI(t)

	t.Run("valid", func(t *testing.T) {
		// The document is a valid OpenAPI 3.1 document, and every example
		// in it is valid against its schema.
		if err := kdoc.Validate(t.Context(), openapi3.EnableExamplesValidation(), openapi3.EnableSchemaFormatValidation()); err != nil {
			t.Errorf("openapi.json: %v", err)
		}
	})

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
		openAPIFixture(e)
		for _, ref := range openAPIOperations(doc) {
			op := doc.Paths[ref.path][ref.method]
			what := strings.ToUpper(ref.method) + " " + ref.path
			covered := map[string]bool{}

			// The operation's own example request.
			r, sent := sendExample(t, e, ref.method, ref.path, op, nil)
			checkRequest(t, kdoc, ref.path, sent)
			checkResponse(t, kdoc, ref.path, sent, r)
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
					r, sent := sendExample(t, e, ref.method, ref.path, op, resp.Request)
					if strconv.Itoa(r.Status) != st {
						t.Errorf("%s x-request of %s = %d %s", what, st, r.Status, r.Body)
						continue
					}
					checkResponse(t, kdoc, ref.path, sent, r)
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
	t.Run("every option", func(t *testing.T) {
		// The examples make plain links; a link with every option of
		// issue 19 is written, read and listed here, and each request and
		// answer checked against the document as above.
		e := newEnv(t, openSQLite, envConfig{shards: 1, rootCodes: true})
		openAPIFixture(e)
		full := `{"original_url":"https://example.com/full","title":"Every option","user_id":1,"short_code":"full-1",
			"redirect_status":307,"valid_since":"2026-01-01T00:00:00","valid_until":"2036-01-01T00:00:00Z","max_visits":100,
			"expired_url":"https://example.com/expired","tags":["Docs","a_b"],"password":"letmein","rules":[
			{"name":"ios","when":{"os":["ios"],"device":["mobile"],"browser":["safari"],"language":["fr"]},"target":"https://ios.example/"},
			{"when":{"query":{"src":"mail"},"ip":["10.0.0.0/8"],"since":"2026-01-01T00:00:00","until":"2030-01-01T00:00:00"},
			 "targets":[{"url":"https://a.example/","weight":1},{"url":"https://b.example/","weight":3}]}]}`
		basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(":letmein"))
		for _, c := range []struct {
			template, method, target, body string
			header                         []string
		}{
			{"/urls", "post", "/urls", full, nil},
			// null for an option is the same as leaving it out.
			{"/urls", "post", "/urls", `{"original_url":"https://example.com/nulls","title":null,"user_id":null,"short_code":null,
				"redirect_status":null,"valid_since":null,"valid_until":null,"max_visits":null,"expired_url":null,"tags":null,
				"password":null,"rules":null}`, nil},
			{"/urls/{id}", "get", "/urls/4", "", nil},
			{"/urls/{id}", "put", "/urls/4", `{"title":null,"tags":["x"],"max_visits":null,"rules":[{"when":{},"target":"https://x.example/"}]}`, nil},
			{"/urls", "get", "/urls?tags=x&order=newest&limit=5", "", nil},
			{"/urls", "get", "/urls?q=FULL&after_id=9&order=newest&limit=5", "", nil},
			{"/r/{code}", "get", "/r/full-1", "", []string{"Authorization", basic}},
			{"/events", "get", "/events?url_id=4&order=newest&limit=5", "", nil},
			{"/urls/{id}/analytics", "get", "/urls/4/analytics", "", nil},
			{"/urls/{id}/analytics/breakdown", "get", "/urls/4/analytics/breakdown?period=all", "", nil},
			{"/urls/{id}/analytics/breakdown", "get", "/urls/4/analytics/breakdown?period=24h", "", nil},
			{"/urls/{id}/realtime", "get", "/urls/4/realtime", "", nil},
			{"/users", "get", "/users?page=1&per_page=1", "", nil},
		} {
			sent := sentRequest{method: strings.ToUpper(c.method), target: c.target, body: c.body}
			header := c.header
			if c.body != "" {
				sent.ctype = "application/json"
				header = append(header, "Content-Type", sent.ctype)
			}
			r := e.do(sent.method, c.target, c.body, header...)
			if r.Status >= 400 {
				t.Errorf("%s %s = %d %s", sent.method, c.target, r.Status, r.Body)
				continue
			}
			checkRequest(t, kdoc, c.template, sent)
			checkResponse(t, kdoc, c.template, sent, r)
		}
	})

	t.Run("shared responses", func(t *testing.T) {
		// The responses the examples above do not produce, which the
		// document shares between operations through components: each
		// operation's example request without an API key and with a
		// read-only one (auth.require_api_key), twice over a rate limit
		// of one request (rate_limits.create and .redirect), and over a
		// body cap of 8 bytes. Whatever each answers must be a status the
		// operation documents, with a body its schema allows.
		keys := newEnv(t, openSQLite, envConfig{shards: 1, rootCodes: true, requireKey: true})
		openAPIFixture(keys)
		reader, _ := keys.newKey("reader", "read")
		one := httpapi.RateLimit{Requests: 1, Per: time.Hour, Burst: 1}
		limited := newEnv(t, openSQLite, envConfig{shards: 1, rootCodes: true, rateLimits: httpapi.RateLimits{Create: one, Redirect: one}})
		openAPIFixture(limited)
		small := newEnv(t, openSQLite, envConfig{shards: 1, rootCodes: true, maxBody: 8, maxUpload: 8})
		openAPIFixture(small)

		for _, ref := range openAPIOperations(doc) {
			op := doc.Paths[ref.path][ref.method]
			for _, c := range []struct {
				e      *env
				times  int
				header []string
			}{
				{keys, 1, nil},
				{keys, 1, []string{"X-API-Key", reader}},
				{limited, 2, nil},
				{small, 1, nil},
			} {
				for range c.times {
					r, sent := sendExample(t, c.e, ref.method, ref.path, op, nil, c.header...)
					checkResponse(t, kdoc, ref.path, sent, r)
				}
			}
		}
	})
}

// openAPIFixture stores the rows the document's examples name: users
// alice (1) and bob (2), links abc123 (1, alice's), old001 (2) and the
// password-protected lock01 (3, password "letmein"), and event 1.
func openAPIFixture(e *env) {
	e.t.Helper()
	alice := e.user("alice")
	e.user("bob")
	e.url("abc123", "https://example.com/docs", &alice.ID, true)
	e.url("old001", "https://example.com/old", nil, true)
	hash, err := passwords.Bcrypt{Cost: bcrypt.MinCost}.Hash("letmein")
	if err != nil {
		e.t.Fatal(err)
	}
	locked := core.URL{ShortCode: "lock01", OriginalURL: "https://example.com/private", IsActive: true, CreatedAt: t0, UpdatedAt: t0, PasswordHash: hash}
	if err := e.store.CreateURL(e.t.Context(), &locked, nil); err != nil {
		e.t.Fatal(err)
	}
	e.event(1, &alice.ID, "created", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), `{"short_code": "abc123"}`)
}

// opRef names one operation of the document.
type opRef struct{ path, method string }

// openAPIOperations lists the document's operations in a fixed order,
// deletions last, so that the other examples find their rows.
func openAPIOperations(doc oaDoc) []opRef {
	var ops []opRef
	for p, item := range doc.Paths {
		for m := range item {
			ops = append(ops, opRef{p, m})
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		di, dj := ops[i].method == "delete", ops[j].method == "delete"
		if di != dj {
			return dj
		}
		return ops[i].path+ops[i].method < ops[j].path+ops[j].method
	})
	return ops
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

// sentRequest is the request sendExample sent.
type sentRequest struct {
	method, target, body, ctype string
}

// sendExample sends the operation's example request, or req when given.
// Header pairs are sent with it.
func sendExample(t *testing.T, e *env, method, path string, op oaOperation, req *oaRequest, header ...string) (result, sentRequest) {
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
	sent := sentRequest{strings.ToUpper(method), path, body, ctype}
	if ctype != "" {
		header = append(header, "Content-Type", ctype)
	}
	return e.do(sent.method, path, body, header...), sent
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

// The media types of the document's text and image bodies, which
// kin-openapi does not decode by itself: their schemas are strings.
func init() {
	for _, ct := range []string{"text/html", "text/css", "text/javascript", "image/svg+xml", "image/png"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
	}
}

// loadKinOpenAPI loads the document with kin-openapi, which validates
// requests and responses against its schemas (JSON Schema 2020-12 for
// an OpenAPI 3.1 document).
func loadKinOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	kdoc, err := loader.LoadFromData(httpapi.OpenAPI())
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	return kdoc
}

// kinInput is the route of a sent request, as kin-openapi's validators
// take it.
func kinInput(t *testing.T, kdoc *openapi3.T, template string, sent sentRequest) *openapi3filter.RequestValidationInput {
	t.Helper()
	item := kdoc.Paths.Value(template)
	if item == nil || item.GetOperation(sent.method) == nil {
		t.Fatalf("%s %s is not in the document", sent.method, template)
	}
	var rd io.Reader
	if sent.body != "" {
		rd = strings.NewReader(sent.body)
	}
	req := httptest.NewRequest(sent.method, sent.target, rd)
	if sent.ctype != "" {
		req.Header.Set("Content-Type", sent.ctype)
	}
	// The path parameters: the segments of the target in the template's
	// {name} positions.
	params := map[string]string{}
	segs := strings.Split(req.URL.Path, "/")
	for i, seg := range strings.Split(template, "/") {
		if strings.HasPrefix(seg, "{") && i < len(segs) {
			params[strings.Trim(seg, "{}")] = segs[i]
		}
	}
	return &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route: &routers.Route{
			Spec: kdoc, Server: kdoc.Servers[0], Path: template, PathItem: item,
			Method: sent.method, Operation: item.GetOperation(sent.method),
		},
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
}

// checkRequest validates an example request (parameters and body)
// against the operation's schemas.
func checkRequest(t *testing.T, kdoc *openapi3.T, template string, sent sentRequest) {
	t.Helper()
	in := kinInput(t, kdoc, template, sent)
	if err := openapi3filter.ValidateRequest(t.Context(), in); err != nil {
		t.Errorf("%s %s: the example request does not match the document: %v", sent.method, sent.target, err)
	}
}

// checkResponse validates a response (status, headers, content type and
// body) against the operation's documented response. A response the
// document gives no content for must have no body.
func checkResponse(t *testing.T, kdoc *openapi3.T, template string, sent sentRequest, r result) {
	t.Helper()
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: kinInput(t, kdoc, template, sent),
		Status:                 r.Status,
		Header:                 r.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes([]byte(r.Body))
	if err := openapi3filter.ValidateResponse(t.Context(), in); err != nil {
		t.Errorf("%s %s = %d %q (%s): the response does not match the document: %v",
			sent.method, sent.target, r.Status, truncate(r.Body, 200), r.Header.Get("Content-Type"), err)
	}
	ref := in.RequestValidationInput.Route.Operation.Responses.Status(r.Status)
	if ref == nil || ref.Value == nil {
		return
	}
	ct := r.Header.Get("Content-Type")
	if len(ref.Value.Content) == 0 {
		if r.Body != "" {
			t.Errorf("%s %s = %d with a %q body %q; the document gives it none", sent.method, sent.target, r.Status, ct, truncate(r.Body, 200))
		}
	} else if media := ref.Value.Content.Get(ct); media == nil {
		t.Errorf("%s %s = %d with Content-Type %q; the document gives %v", sent.method, sent.target, r.Status, ct, slices.Sorted(maps.Keys(ref.Value.Content)))
	} else if ct == "application/json" && media.Schema != nil {
		var body any
		if err := json.Unmarshal([]byte(r.Body), &body); err == nil {
			for _, m := range undocumentedMembers(media.Schema.Value, body, "body") {
				t.Errorf("%s %s = %d: %s is not in the schema", sent.method, sent.target, r.Status, m)
			}
		}
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// undocumentedMembers lists the members of a JSON value that its schema
// does not name: the document's object schemas list every member a
// response may have, though they do not forbid others.
func undocumentedMembers(s *openapi3.Schema, v any, at string) []string {
	if s == nil {
		return nil
	}
	// The schemas v is checked against: s and its alternatives.
	all := []*openapi3.Schema{s}
	for _, refs := range []openapi3.SchemaRefs{s.AllOf, s.OneOf, s.AnyOf} {
		for _, r := range refs {
			all = append(all, r.Value)
		}
	}
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, member := range v {
			var props []*openapi3.Schema
			open := false
			for _, x := range all {
				if p := x.Properties[k]; p != nil {
					props = append(props, p.Value)
				}
				ap := x.AdditionalProperties
				open = open || ap.Schema != nil || (ap.Has != nil && *ap.Has) || (len(x.Properties) == 0 && len(x.AllOf)+len(x.OneOf)+len(x.AnyOf) == 0)
			}
			if len(props) == 0 && !open {
				out = append(out, at+"."+k)
			}
			for _, p := range props {
				out = append(out, undocumentedMembers(p, member, at+"."+k)...)
			}
		}
	case []any:
		for i, item := range v {
			for _, x := range all {
				if x.Items != nil {
					out = append(out, undocumentedMembers(x.Items.Value, item, fmt.Sprintf("%s[%d]", at, i))...)
				}
			}
		}
	}
	return out
}
