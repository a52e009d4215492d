package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/uptrace/bunrouter"

	"github.com/curtainhq/curtain/core"
)

// pluginStatus answers GET /health/plugins: {"plugins": …} with what
// Options.PluginStatus reports (the host's view of each plugin: state,
// health and the reason when unhealthy), for `curtain plugins`. Without
// a PluginStatus the route is a 404.
func (a *api) pluginStatus(w http.ResponseWriter, req bunrouter.Request) error {
	if a.opts.PluginStatus == nil {
		return errNotFound
	}
	body, err := json.Marshal(struct {
		Plugins any `json:"plugins"`
	}{a.opts.PluginStatus()})
	if err != nil {
		return err
	}
	respond(w, http.StatusOK, core.CacheNone, body, func(b []byte, v []byte) []byte { return append(b, v...) })
	return nil
}
