package httpapi

import (
	_ "embed"
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

// openAPI serves the OpenAPI document.
func (a *api) openAPI(w http.ResponseWriter, req bunrouter.Request) error {
	writeJSON(w, http.StatusOK, openAPIDoc)
	return nil
}

// OpenAPI returns the OpenAPI 3.1 document served at /openapi.json.
func OpenAPI() []byte { return append([]byte(nil), openAPIDoc...) }
