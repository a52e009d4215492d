package pycompat

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// parseWithJSONText builds the same JSONValue as ParseJSON on top of the
// go-json-experiment tokenizer (the future encoding/json/jsontext), which
// also keeps object members in order. It exists only to compare the two:
// BenchmarkParseJSON decides which one ParseJSON uses.
func parseWithJSONText(data []byte) (JSONValue, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(data), jsontext.AllowDuplicateNames(true))
	v, err := jsontextValue(dec)
	if err != nil {
		return JSONValue{}, err
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return JSONValue{}, ErrMalformedJSON
	}
	return v, nil
}

func jsontextValue(dec *jsontext.Decoder) (JSONValue, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		return JSONValue{}, ErrMalformedJSON
	}
	switch tok.Kind() {
	case 'n':
		return JSONValue{}, nil
	case 't', 'f':
		return JSONValue{Kind: JSONBool, Bool: tok.Bool()}, nil
	case '"':
		return JSONValue{Kind: JSONString, Text: tok.String()}, nil
	case '0':
		text := tok.String()
		if !strings.ContainsAny(text, ".eE") {
			if text == "-0" {
				text = "0"
			}
			return JSONValue{Kind: JSONNumber, Text: text, Integer: true}, nil
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return JSONValue{}, ErrMalformedJSON
		}
		return JSONValue{Kind: JSONNumber, Text: pyFloatRepr(f)}, nil
	case '[':
		v := JSONValue{Kind: JSONArray, Items: []JSONValue{}}
		for dec.PeekKind() != ']' {
			item, err := jsontextValue(dec)
			if err != nil {
				return JSONValue{}, err
			}
			v.Items = append(v.Items, item)
		}
		_, err := dec.ReadToken()
		return v, err
	case '{':
		v := JSONValue{Kind: JSONObject, Members: []JSONMember{}}
		var index memberIndex
		for dec.PeekKind() != '}' {
			tok, err := dec.ReadToken()
			if err != nil {
				return JSONValue{}, ErrMalformedJSON
			}
			key := tok.String() // the token is only valid until the next read
			val, err := jsontextValue(dec)
			if err != nil {
				return JSONValue{}, err
			}
			if i, ok := index.find(v.Members, key); ok {
				v.Members[i].Value = val
			} else {
				v.Members = append(v.Members, JSONMember{Key: key, Value: val})
				index.add(v.Members)
			}
		}
		_, err := dec.ReadToken()
		return v, err
	}
	return JSONValue{}, ErrMalformedJSON
}

// benchDocs are the documents the service parses: a POST /urls body, a
// POST /events body with details, and a cached URL list entry.
var benchDocs = map[string]string{
	"create":  `{"original_url": "https://example.com/some/long/path?q=1&r=2", "title": "Ünïcode title", "user_id": 12}`,
	"event":   `{"event_type": "click", "url_id": 3, "user_id": null, "details": {"referrer": "https://news.example", "tags": ["a", "b", 1.5, true], "n": {"x": 1e3}}}`,
	"urllist": "[" + strings.TrimSuffix(strings.Repeat(`{"id": 1, "user_id": null, "short_code": "000001", "original_url": "https://x/", "title": null, "is_active": true, "created_at": "2026-01-01T00:00:00", "updated_at": "2026-01-01T00:00:00"}, `, 100), ", ") + "]",
}

func TestJSONTextParserAgrees(t *testing.T) {
	for name, doc := range benchDocs {
		a, err := ParseJSON([]byte(doc))
		if err != nil {
			t.Fatalf("%s: ParseJSON: %v", name, err)
		}
		b, err := parseWithJSONText([]byte(doc))
		if err != nil {
			t.Fatalf("%s: jsontext: %v", name, err)
		}
		if got, want := string(b.AppendPython(nil)), string(a.AppendPython(nil)); got != want {
			t.Errorf("%s: jsontext gives %s, ParseJSON %s", name, got, want)
		}
	}
}

// BenchmarkParseJSON compares the hand-written parser with one built on
// jsontext. Compare with benchstat over -count runs; allocations are the
// steadier figure on a shared machine.
func BenchmarkParseJSON(b *testing.B) {
	for _, name := range []string{"create", "event", "urllist"} {
		doc := []byte(benchDocs[name])
		b.Run(name+"/handwritten", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseJSON(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/jsontext", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parseWithJSONText(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
