package httpapi

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/pycompat"
)

// readBody reads the whole body, at most limit bytes; a longer body is
// errTooLarge, one cut off by the read timeout errBodyTimeout.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, errTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		// A body that breaks off otherwise is no body, like malformed JSON.
		return nil, bodyError(err)
	}
	return body, nil
}

// bodyError is the answer to a failed body read: errTooLarge beyond the
// cap, errBodyTimeout when the server's read timeout (http.read_timeout)
// cut the body off while the client waits, else nil (the client is gone).
func bodyError(err error) error {
	switch {
	case isTooLarge(err):
		return errTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errBodyTimeout
	}
	return nil
}

// isTooLarge reports whether err is a body read beyond its cap.
func isTooLarge(err error) bool {
	var tooLarge *http.MaxBytesError
	return errors.As(err, &tooLarge)
}

// multipartParts calls fn with each part of a multipart body until fn
// stops (true) or fails. The body is capped at limit bytes: a longer one
// is errTooLarge, one cut off by the read timeout errBodyTimeout. A body
// that is not multipart has no parts; one that breaks off otherwise ends
// them.
func multipartParts(w http.ResponseWriter, r *http.Request, limit int64, fn func(*multipart.Part) (stop bool, err error)) error {
	if r.ContentLength > limit {
		return errTooLarge
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil
	}
	for {
		part, err := mr.NextPart()
		if err != nil {
			return bodyError(err)
		}
		if stop, err := fn(part); stop || err != nil {
			return err
		}
	}
}

// isJSON reports whether the request declares a JSON body:
// application/json or application/*+json (spec §2.3).
func isJSON(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.ToLower(strings.TrimSpace(ct))
	return ct == "application/json" ||
		(strings.HasPrefix(ct, "application/") && strings.HasSuffix(ct, "+json"))
}

// Bodies that are valid JSON but beyond the parser's limits: telling the
// client beats reading no body and naming a missing field.
var (
	errNumberRange = &core.ValidationError{Field: "request", Message: "JSON body has a number out of range"}
	errTooDeep     = &core.ValidationError{Field: "request", Message: "JSON body is nested too deeply"}
	errNonFinite   = &core.ValidationError{Field: "request", Message: "JSON body has NaN or Infinity, which JSON does not allow"}
	errSurrogate   = &core.ValidationError{Field: "request", Message: "JSON body escapes a lone UTF-16 surrogate, which is no character"}
)

// jsonBody returns the request's JSON body, or nil when there is none: a
// non-JSON content type, an empty body or malformed JSON (spec §2.3). A
// body over the limit is errTooLarge; one the parser refuses for a value
// Python reads and Curtain does not store is errNumberRange, errNonFinite,
// errSurrogate or errTooDeep.
func (a *api) jsonBody(w http.ResponseWriter, r *http.Request) (*pycompat.JSONValue, error) {
	if !isJSON(r) {
		return nil, nil
	}
	raw, err := readBody(w, r, a.opts.MaxBodyBytes)
	if err != nil || len(raw) == 0 {
		return nil, err
	}
	// The reference read bytes with Python's json.loads, which takes a
	// UTF-8 byte order mark and UTF-16 or UTF-32 documents too.
	raw, ok := pycompat.DecodeJSONBytes(raw)
	if !ok {
		return nil, nil
	}
	v, err := pycompat.ParseJSON(raw)
	switch {
	case errors.Is(err, pycompat.ErrNumberRange):
		return nil, errNumberRange
	case errors.Is(err, pycompat.ErrTooDeep):
		return nil, errTooDeep
	case errors.Is(err, pycompat.ErrNonFinite):
		return nil, errNonFinite
	case errors.Is(err, pycompat.ErrLoneSurrogate):
		return nil, errSurrogate
	case err != nil:
		return nil, nil
	}
	return &v, nil
}

// queryValue returns the first value of key in a raw query string, as
// Werkzeug's args.get does: pairs split on "&", "+" is a space, invalid
// percent escapes stay literal, invalid UTF-8 becomes U+FFFD.
func queryValue(rawQuery, key string) (string, bool) {
	for pair := range strings.SplitSeq(rawQuery, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if unescapeQuery(k) == key {
			return unescapeQuery(v), true
		}
	}
	return "", false
}

// queryWord reads a query parameter that names one of a few words
// (order, format, period, tags_match): its value lower-cased and without
// surrounding spaces, or def when it is absent.
func queryWord(r *http.Request, key, def string) string {
	raw := queryParam(r, key)
	if raw == nil {
		return def
	}
	return strings.ToLower(pycompat.Strip(*raw))
}

// queryParam is queryValue as a pointer, nil when absent.
func queryParam(r *http.Request, key string) *string {
	v, ok := queryValue(r.URL.RawQuery, key)
	if !ok {
		return nil
	}
	return &v
}

func unescapeQuery(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return validUTF8(s)
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && pycompat.IsHexDigit(s[i+1]) && pycompat.IsHexDigit(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return validUTF8(string(b))
}

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return (c | 0x20) - 'a' + 10
}

// validUTF8 replaces invalid UTF-8 with U+FFFD, as Werkzeug decodes
// paths, queries and forms.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// pathID parses an integer path segment already known to be digits;
// values beyond int64 saturate (and are then not found).
func pathID(s string) int64 {
	n, _, _ := pycompat.ParseInt(s)
	return n
}
