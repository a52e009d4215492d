package httpapi

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/pycompat"
)

// This file turns requests into the typed requests of the core services:
// JSON bodies, query strings, forms and CSV uploads, with the reference's
// presence and type checks in the order spec §4 gives them. Domain rules
// (URL validity, lengths, existing users) are the services' business.

// Client-facing messages of request decoding (spec Appendix A).
const (
	msgBodyNotObject  = "JSON body must be an object"
	msgURLRequired    = "Field 'original_url' is required"
	msgURLNotString   = "Field 'original_url' must be a string"
	msgURLEmpty       = "Field 'original_url' must not be empty"
	msgTitleNotString = "Field 'title' must be a string"
	msgUserIDNotInt   = "Field 'user_id' must be an integer"
	msgActiveNotBool  = "Field 'is_active' must be a boolean"
)

// invalid returns the validation error of field with a formatted message.
func invalid(field, format string, args ...any) error {
	return &core.ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// jsonInt returns the value of an integer JSON number, saturated to the
// int64 range (an id that large names nothing, which the services know);
// ok is false for anything but an integer, booleans included (Q10).
func jsonInt(v pycompat.JSONValue) (n int64, ok bool) {
	n, ok, overflow := v.Int64()
	if overflow {
		if strings.HasPrefix(v.Text, "-") {
			return math.MinInt64, true
		}
		return math.MaxInt64, true
	}
	return n, ok
}

// optionalString reads an optional string member: nil when absent or
// null, an error (msg) when present with another type.
func optionalString(body pycompat.JSONValue, key, msg string) (*string, error) {
	v, ok := body.Get(key)
	switch {
	case !ok || v.Kind == pycompat.JSONNull:
		return nil, nil
	case v.Kind != pycompat.JSONString:
		return nil, invalid(key, "%s", msg)
	}
	return &v.Text, nil
}

// optionalStatus reads the redirect_status member: nil when absent or
// null, an error when not an integer. Which integers a link may have is
// the service's rule.
func optionalStatus(body pycompat.JSONValue) (*int, error) {
	v, ok := body.Get("redirect_status")
	if !ok || v.Kind == pycompat.JSONNull {
		return nil, nil
	}
	n, isInt := jsonInt(v)
	if !isInt {
		return nil, invalid("redirect_status", "Field 'redirect_status' must be an integer")
	}
	st := int(max(min(n, math.MaxInt32), math.MinInt32))
	return &st, nil
}

// decodeLifecycle reads the lifecycle members of a link body: each absent
// (not Set), null (Set, nil) or of its type. Times are the API's form
// (2026-01-02T03:04:05, UTC) or RFC 3339 with a zone.
func decodeLifecycle(body pycompat.JSONValue) (c core.LifecycleChange, err error) {
	for _, f := range []struct {
		key string
		dst *core.Change[time.Time]
	}{{"valid_since", &c.ValidSince}, {"valid_until", &c.ValidUntil}} {
		v, ok := body.Get(f.key)
		if !ok {
			continue
		}
		f.dst.Set = true
		if v.Kind == pycompat.JSONNull {
			continue
		}
		t, ok := parseAPITime(v)
		if !ok {
			return c, invalid(f.key, "Field '%s' must be a time like 2026-01-02T03:04:05", f.key)
		}
		f.dst.Value = &t
	}
	if v, ok := body.Get("max_visits"); ok {
		c.MaxVisits.Set = true
		if v.Kind != pycompat.JSONNull {
			// Not jsonInt: a limit beyond int64 is not the largest limit,
			// as a saturated id names no user; it is refused. One below
			// int64 is still refused by the service as not positive.
			n, isInt, overflow := v.Int64()
			switch {
			case overflow && !strings.HasPrefix(v.Text, "-"):
				return c, invalid("max_visits", "Field 'max_visits' must be at most %d", int64(math.MaxInt64))
			case overflow:
				n = math.MinInt64
			case !isInt:
				return c, invalid("max_visits", "Field 'max_visits' must be an integer")
			}
			c.MaxVisits.Value = &n
		}
	}
	_, c.ExpiredURL.Set = body.Get("expired_url")
	c.ExpiredURL.Value, err = optionalString(body, "expired_url", "Field 'expired_url' must be a string")
	return c, err
}

// decodeTags reads the tags member: set reports it present; null is no
// tags; otherwise it must be a list of strings.
func decodeTags(body pycompat.JSONValue) (set bool, tags []string, err error) {
	v, ok := body.Get("tags")
	if !ok || v.Kind == pycompat.JSONNull {
		return ok, nil, nil
	}
	if v.Kind != pycompat.JSONArray {
		return true, nil, invalid("tags", "Field 'tags' must be a list of strings")
	}
	for _, t := range v.Items {
		if t.Kind != pycompat.JSONString {
			return true, nil, invalid("tags", "Field 'tags' must be a list of strings")
		}
		tags = append(tags, t.Text)
	}
	return true, tags, nil
}

// parseAPITime reads a time given as a JSON string.
func parseAPITime(v pycompat.JSONValue) (time.Time, bool) {
	if v.Kind != pycompat.JSONString {
		return time.Time{}, false
	}
	if t, err := time.Parse(core.TimeLayout, v.Text); err == nil {
		return t, true
	}
	t, err := time.Parse(time.RFC3339, v.Text)
	return t, err == nil
}

// decodeCreateURL applies spec §4.13 steps 1-4 to a POST /urls body (nil
// when the request had none).
func decodeCreateURL(body *pycompat.JSONValue) (core.CreateURLRequest, error) {
	var req core.CreateURLRequest
	obj := pycompat.JSONValue{Kind: pycompat.JSONObject}
	if body != nil && body.Truthy() {
		obj = *body
	}
	if obj.Kind != pycompat.JSONObject {
		return req, invalid("request", msgBodyNotObject)
	}
	candidate, _ := obj.Get("original_url")
	if !candidate.Truthy() {
		candidate, _ = obj.Get("long_url")
	}
	switch {
	case candidate.Kind == pycompat.JSONNull:
		return req, invalid("original_url", msgURLRequired)
	case candidate.Kind != pycompat.JSONString:
		return req, invalid("original_url", msgURLNotString)
	case pycompat.Strip(candidate.Text) == "":
		return req, invalid("original_url", msgURLEmpty)
	}
	req.OriginalURL = candidate.Text
	var err error
	if req.Title, err = optionalString(obj, "title", msgTitleNotString); err != nil {
		return req, err
	}
	if v, ok := obj.Get("user_id"); ok && v.Kind != pycompat.JSONNull {
		n, isInt := jsonInt(v)
		if !isInt {
			return req, invalid("user_id", msgUserIDNotInt)
		}
		req.UserID = &n
	}
	// Link options (issue 19), after the reference's fields.
	if req.ShortCode, err = optionalString(obj, "short_code", "Field 'short_code' must be a string"); err != nil {
		return req, err
	}
	if req.RedirectStatus, err = optionalStatus(obj); err != nil {
		return req, err
	}
	change, err := decodeLifecycle(obj)
	if err != nil {
		return req, err
	}
	req.Lifecycle = core.Lifecycle{ValidSince: change.ValidSince.Value, ValidUntil: change.ValidUntil.Value,
		MaxVisits: change.MaxVisits.Value, ExpiredURL: change.ExpiredURL.Value}
	if _, req.Tags, err = decodeTags(obj); err != nil {
		return req, err
	}
	if _, req.Password, err = decodePassword(obj); err != nil {
		return req, err
	}
	_, req.Rules, err = decodeRules(obj)
	return req, err
}

// decodeRules reads the rules member of a link body: set reports that it
// is present; null or [] is no rules.
func decodeRules(body pycompat.JSONValue) (set bool, rules []core.Rule, err error) {
	v, ok := body.Get("rules")
	switch {
	case !ok || v.Kind == pycompat.JSONNull:
		return ok, nil, nil
	case v.Kind != pycompat.JSONArray:
		return true, nil, invalid("rules", "Field 'rules' must be a list of rules")
	}
	rules, err = core.ParseRules(v.AppendSorted(nil))
	return true, rules, err
}

// decodePassword reads the password member of a link body: set reports
// that it is present, and a null password (no password) is nil.
func decodePassword(body pycompat.JSONValue) (set bool, password *string, err error) {
	v, ok := body.Get("password")
	switch {
	case !ok || v.Kind == pycompat.JSONNull:
		return ok, nil, nil
	case v.Kind != pycompat.JSONString:
		return true, nil, invalid("password", "Field 'password' must be a string")
	}
	return true, &v.Text, nil
}

// decodeShortenForm reads the UI form (spec §4.5) with the rules of POST
// /urls (fix of Q5): long_url stands in for an empty original_url, inputs
// are trimmed, and a user_id that is not an integer is an error.
func decodeShortenForm(form map[string]string) (core.CreateURLRequest, error) {
	var req core.CreateURLRequest
	if raw := form["user_id"]; pycompat.Strip(raw) != "" {
		n, ok, _ := pycompat.ParseInt(raw) // saturated when out of range
		if !ok {
			return req, invalid("user_id", msgUserIDNotInt)
		}
		req.UserID = &n
	}
	req.OriginalURL = form["original_url"]
	if req.OriginalURL == "" {
		req.OriginalURL = form["long_url"]
	}
	switch {
	case req.OriginalURL == "":
		return req, invalid("original_url", msgURLRequired)
	case pycompat.Strip(req.OriginalURL) == "":
		return req, invalid("original_url", msgURLEmpty)
	}
	if t := form["title"]; t != "" {
		req.Title = &t
	}
	return req, nil
}

// updatableURLFields are the members a PUT /urls/{id} body may hold: the
// reference's two, then the link options of issue 19.
var updatableURLFields = []string{"title", "is_active", "original_url", "redirect_status",
	"valid_since", "valid_until", "max_visits", "expired_url", "tags", "password", "rules"}

// decodeUpdateURL applies spec §4.16 steps 2-5 to a PUT /urls/{id} body.
func decodeUpdateURL(body *pycompat.JSONValue) (core.UpdateURLRequest, error) {
	var req core.UpdateURLRequest
	if body == nil || body.Kind != pycompat.JSONObject {
		return req, invalid("request", msgBodyNotObject)
	}
	var unknown []string
	for _, m := range body.Members {
		if !slices.Contains(updatableURLFields, m.Key) {
			unknown = append(unknown, m.Key)
		}
	}
	if len(unknown) > 0 {
		first := slices.Min(unknown)
		return req, invalid(first, "Field '%s' cannot be updated", first)
	}
	var err error
	if req.Title, err = optionalString(*body, "title", msgTitleNotString); err != nil {
		return req, err
	}
	_, req.SetTitle = body.Get("title")
	if active, ok := body.Get("is_active"); ok {
		if active.Kind != pycompat.JSONBool {
			return req, invalid("is_active", msgActiveNotBool)
		}
		req.IsActive = &active.Bool
	}
	if v, ok := body.Get("original_url"); ok {
		switch {
		case v.Kind != pycompat.JSONString:
			return req, invalid("original_url", msgURLNotString)
		case pycompat.Strip(v.Text) == "":
			return req, invalid("original_url", msgURLEmpty)
		}
		req.OriginalURL = &v.Text
	}
	if req.RedirectStatus, err = optionalStatus(*body); err != nil {
		return req, err
	}
	_, req.SetRedirectStatus = body.Get("redirect_status")
	if req.Lifecycle, err = decodeLifecycle(*body); err != nil {
		return req, err
	}
	if req.SetTags, req.Tags, err = decodeTags(*body); err != nil {
		return req, err
	}
	if req.SetPassword, req.Password, err = decodePassword(*body); err != nil {
		return req, err
	}
	req.SetRules, req.Rules, err = decodeRules(*body)
	return req, err
}

// userStrings reads the username and email members of a user body (spec
// §4.9 steps 1-3, §4.10 steps 2-3): create requires both; each present
// one must be a string that is not blank.
func userStrings(body *pycompat.JSONValue, create bool) (username, email *string, err error) {
	if body == nil || body.Kind != pycompat.JSONObject {
		return nil, nil, invalid("request", msgBodyNotObject)
	}
	if create {
		for _, field := range []string{"username", "email"} {
			if _, ok := body.Get(field); !ok {
				return nil, nil, invalid(field, "Field '%s' is required", field)
			}
		}
	}
	for _, field := range []struct {
		name string
		dst  **string
	}{{"username", &username}, {"email", &email}} {
		v, ok := body.Get(field.name)
		switch {
		case !ok:
			continue
		case v.Kind != pycompat.JSONString:
			return nil, nil, invalid(field.name, "Field '%s' must be a string", field.name)
		case pycompat.Strip(v.Text) == "":
			return nil, nil, invalid(field.name, "Field '%s' must not be empty", field.name)
		}
		*field.dst = &v.Text
	}
	return username, email, nil
}

// decodeCreateUser reads a POST /users body.
func decodeCreateUser(body *pycompat.JSONValue) (core.CreateUserRequest, error) {
	username, email, err := userStrings(body, true)
	if err != nil {
		return core.CreateUserRequest{}, err
	}
	return core.CreateUserRequest{Username: *username, Email: *email}, nil
}

// decodeUpdateUser reads a PUT /users/{id} body.
func decodeUpdateUser(body *pycompat.JSONValue) (core.UpdateUserRequest, error) {
	username, email, err := userStrings(body, false)
	return core.UpdateUserRequest{Username: username, Email: email}, err
}

// decodeCreateEvent applies spec §4.21 steps 1-5 to a POST /events body.
func decodeCreateEvent(body *pycompat.JSONValue) (core.CreateEventRequest, error) {
	var req core.CreateEventRequest
	if body == nil || body.Kind != pycompat.JSONObject {
		return req, invalid("request", msgBodyNotObject)
	}
	typ, ok := body.Get("event_type")
	switch {
	case !ok:
		return req, invalid("event_type", "Field 'event_type' is required")
	case typ.Kind != pycompat.JSONString || pycompat.Strip(typ.Text) == "":
		return req, invalid("event_type", "Field 'event_type' must be a non-empty string")
	}
	req.EventType = typ.Text
	urlField, ok := body.Get("url_id")
	if !ok {
		return req, invalid("url_id", "Field 'url_id' is required")
	}
	if req.URLID, ok = jsonInt(urlField); !ok {
		return req, invalid("url_id", "Field 'url_id' must be an integer")
	}
	if v, ok := body.Get("user_id"); ok && v.Kind != pycompat.JSONNull {
		n, isInt := jsonInt(v)
		if !isInt {
			return req, invalid("user_id", msgUserIDNotInt)
		}
		req.UserID = &n
	}
	if d, ok := body.Get("details"); ok && d.Kind != pycompat.JSONNull {
		if d.Kind != pycompat.JSONObject {
			return req, invalid("details", "Field 'details' must be a JSON object")
		}
		req.Details = string(d.AppendPython(nil))
	}
	return req, nil
}

// queryInt reads an integer query parameter: nil when absent, an error
// naming the parameter when present but not an integer (Python's int()).
// Values beyond int64 saturate.
func queryInt(r *http.Request, key string) (*int64, error) {
	raw := queryParam(r, key)
	if raw == nil {
		return nil, nil
	}
	n, ok, _ := pycompat.ParseInt(*raw)
	if !ok {
		return nil, invalid(key, "Query parameter '%s' must be an integer", key)
	}
	return &n, nil
}

// lenientInt reads an integer query parameter that counts as absent when
// it is not an integer (spec §2.4, Q9).
func lenientInt(r *http.Request, key string) *int64 {
	n, err := queryInt(r, key)
	if err != nil {
		return nil
	}
	return n
}

// decodeListURLs reads the query of GET /urls (spec §4.14 steps 1-2, 4).
func decodeListURLs(r *http.Request) (core.ListURLsRequest, error) {
	var req core.ListURLsRequest
	var err error
	if req.UserID, err = queryInt(r, "user_id"); err != nil {
		return req, err
	}
	if raw := queryParam(r, "is_active"); raw != nil {
		switch v := pycompat.Strip(*raw); {
		case strings.EqualFold(v, "true") && pycompat.IsASCII(v):
			req.IsActive = new(true)
		case strings.EqualFold(v, "false") && pycompat.IsASCII(v):
			req.IsActive = new(false)
		default:
			return req, invalid("is_active", "Query parameter 'is_active' must be true or false")
		}
	}
	req.Limit = lenientInt(r, "limit")
	// Tag filters (issue 19): comma-separated lists.
	req.Tags = queryList(r, "tags")
	req.ExcludeTags = queryList(r, "exclude_tags")
	if req.Newest, err = decodeOrder(r); err != nil {
		return req, err
	}
	// Search and keyset paging (the dashboard's list).
	if req.AfterID, err = queryInt(r, "after_id"); err != nil {
		return req, err
	}
	if q := queryParam(r, "q"); q != nil {
		req.Search = *q
	}
	switch queryWord(r, "tags_match", "any") {
	case "any":
	case "all":
		req.AllTags = true
	default:
		return req, invalid("tags_match", "Query parameter 'tags_match' must be any or all")
	}
	return req, nil
}

// queryList reads a comma-separated query parameter, without empty
// entries; nil when absent.
func queryList(r *http.Request, key string) []string {
	raw := queryParam(r, key)
	if raw == nil {
		return nil
	}
	var out []string
	for item := range strings.SplitSeq(*raw, ",") {
		if strings.TrimSpace(item) != "" {
			out = append(out, item)
		}
	}
	return out
}

// decodeListUsers reads the query of GET /users (spec §4.7).
func decodeListUsers(r *http.Request) core.ListUsersRequest {
	return core.ListUsersRequest{Page: lenientInt(r, "page"), PerPage: lenientInt(r, "per_page")}
}

// decodeListEvents reads the query of GET /events (spec §4.19).
func decodeListEvents(r *http.Request) (core.ListEventsRequest, error) {
	var req core.ListEventsRequest
	var err error
	if req.URLID, err = queryInt(r, "url_id"); err != nil {
		return req, err
	}
	if req.UserID, err = queryInt(r, "user_id"); err != nil {
		return req, err
	}
	req.EventType = queryParam(r, "event_type")
	// The reference ignored limit here; as on GET /urls, one that is not
	// an integer counts as absent.
	req.Limit = lenientInt(r, "limit")
	req.Newest, err = decodeOrder(r)
	return req, err
}

// decodeOrder reads the order query parameter of a list: newest, or
// oldest (the default, the reference's order by id).
func decodeOrder(r *http.Request) (newest bool, err error) {
	switch queryWord(r, "order", "oldest") {
	case "oldest":
		return false, nil
	case "newest":
		return true, nil
	}
	return false, invalid("order", "Query parameter 'order' must be newest or oldest")
}

// csvTimeLayouts are the forms accepted for created_at in a users CSV: the
// seed's form and the API's, each with optional fractional seconds and
// one-digit fields.
var csvTimeLayouts = []string{"2006-1-2 15:4:5.999999999", "2006-1-2T15:4:5.999999999"}

// decodeUsersCSV reads a users CSV upload (spec §4.6): a header naming the
// columns (a repeated name keeps the last, as Python's DictReader does),
// then one user per row. Unlike the reference (Q31), a file that is not
// UTF-8 or a syntax error is a validation error, not a 500; a bad
// created_at is marked on its row for the service to refuse.
func decodeUsersCSV(data []byte) ([]core.UserImportRow, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, invalid("file", "CSV file must be UTF-8 encoded")
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, invalid("file", "CSV file could not be parsed: %s", csvErrorText(err))
	}
	col := map[string]int{}
	for i, name := range header {
		col[name] = i
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	var rows []core.UserImportRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, invalid("file", "CSV file could not be parsed: %s", csvErrorText(err))
		}
		line, _ := r.FieldPos(0)
		row := core.UserImportRow{Line: line, Username: field(rec, "username"), Email: field(rec, "email")}
		if createdAt := pycompat.Strip(field(rec, "created_at")); createdAt != "" {
			if t, ok := parseCSVTime(createdAt); ok {
				row.CreatedAt = &t
			} else {
				row.BadCreatedAt = true // the service says so, in its order
			}
		}
		if id := field(rec, "id"); id != "" {
			// A value that is not an integer is passed as 0, which no
			// explicit id may be: the service refuses the row with the
			// message naming the id range.
			n, _, _ := pycompat.ParseInt(id)
			row.ID = &n
		}
		rows = append(rows, row)
	}
}

func parseCSVTime(s string) (time.Time, bool) {
	for _, layout := range csvTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// csvErrorText describes a CSV syntax error without the reader's prefix.
func csvErrorText(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d: %v", pe.Line, pe.Err)
	}
	return err.Error()
}
