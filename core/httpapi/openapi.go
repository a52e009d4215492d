package httpapi

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/uptrace/bunrouter"
)

// openAPIDoc is the OpenAPI 3.1 description of every route. The test
// TestOpenAPI keeps it true: each route the router registers is in it,
// each documented operation and status is routed and produced by the
// example requests it carries.
//
//go:embed openapi.json
var openAPIDoc []byte

// rootCodePath is the document's path of GET /{code}, routed only with
// Options.RootCodes.
const rootCodePath = "/{code}"

// openAPIWithoutRootCodes is the document served while root codes are off:
// it does not offer GET /{code}, which then answers 404.
var openAPIWithoutRootCodes = mustWithoutPath(openAPIDoc, rootCodePath)

// openAPI serves the OpenAPI document of the routes this server has.
func (a *api) openAPI(w http.ResponseWriter, req bunrouter.Request) error {
	doc := openAPIWithoutRootCodes
	if a.opts.RootCodes {
		doc = openAPIDoc
	}
	writeJSON(w, http.StatusOK, doc)
	return nil
}

// OpenAPI returns the OpenAPI 3.1 document served at /openapi.json with
// links.root_codes on; with it off, the document leaves out GET /{code}.
func OpenAPI() []byte { return append([]byte(nil), openAPIDoc...) }

// mustWithoutPath returns doc without the path item named path, keeping
// the order of every other member and the document's one-space indent.
func mustWithoutPath(doc []byte, path string) []byte {
	var top orderedObject
	if err := json.Unmarshal(doc, &top); err != nil {
		panic(fmt.Sprintf("openapi.json: %v", err))
	}
	var paths orderedObject
	if err := json.Unmarshal(top.value("paths"), &paths); err != nil {
		panic(fmt.Sprintf("openapi.json paths: %v", err))
	}
	paths.remove(path)
	raw, err := paths.MarshalJSON()
	if err != nil {
		panic(err)
	}
	top.set("paths", raw)
	if raw, err = top.MarshalJSON(); err != nil {
		panic(err)
	}
	// MarshalJSON directly, not json.Marshal, which would escape the
	// document's < > & as \u003c…; Compact drops the members' old
	// layout, so that Indent lays the whole out again.
	var compact, out bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		panic(err)
	}
	if err := json.Indent(&out, compact.Bytes(), "", " "); err != nil {
		panic(err)
	}
	return append(out.Bytes(), '\n')
}

// orderedObject is a JSON object whose members keep their order.
type orderedObject struct {
	keys   []string
	values []json.RawMessage
}

func (o *orderedObject) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("not an object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		o.keys, o.values = append(o.keys, tok.(string)), append(o.values, v)
	}
	return nil
}

func (o orderedObject) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, k := range o.keys {
		if i > 0 {
			b = append(b, ',')
		}
		key, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, key...), ':'), o.values[i]...)
	}
	return append(b, '}'), nil
}

func (o *orderedObject) value(key string) json.RawMessage {
	for i, k := range o.keys {
		if k == key {
			return o.values[i]
		}
	}
	return nil
}

func (o *orderedObject) set(key string, v json.RawMessage) {
	for i, k := range o.keys {
		if k == key {
			o.values[i] = v
			return
		}
	}
	o.keys, o.values = append(o.keys, key), append(o.values, v)
}

func (o *orderedObject) remove(key string) {
	for i, k := range o.keys {
		if k == key {
			o.keys = append(o.keys[:i], o.keys[i+1:]...)
			o.values = append(o.values[:i], o.values[i+1:]...)
			return
		}
	}
}
