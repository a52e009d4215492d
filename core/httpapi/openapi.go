package httpapi

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"

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
// it does not offer GET /{code}, which then answers 404. It is built on
// first use, not at the start of every process (plugins and commands
// run the same binary).
var openAPIWithoutRootCodes = sync.OnceValue(func() []byte { return mustWithoutPath(openAPIDoc, rootCodePath) })

// openAPI serves the OpenAPI document of the routes this server has.
func (a *api) openAPI(w http.ResponseWriter, req bunrouter.Request) error {
	doc := openAPIWithoutRootCodes()
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
	p := top.index("paths")
	var paths orderedObject
	if p < 0 || json.Unmarshal(top.values[p], &paths) != nil {
		panic("openapi.json: no paths object")
	}
	if i := paths.index(path); i >= 0 {
		paths.keys = slices.Delete(paths.keys, i, i+1)
		paths.values = slices.Delete(paths.values, i, i+1)
	}
	raw, err := paths.MarshalJSON()
	if err != nil {
		panic(err)
	}
	top.values[p] = raw
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

// index returns the position of key's member, or -1.
func (o *orderedObject) index(key string) int { return slices.Index(o.keys, key) }
