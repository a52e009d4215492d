package httpapi

import (
	"net/http"
	"strconv"

	"github.com/uptrace/bunrouter"

	"github.com/curtainhq/curtain/core"
	"github.com/curtainhq/curtain/core/pycompat"
	"github.com/curtainhq/curtain/core/qr"
)

// Validation errors of GET /urls/{id}/qr.
var (
	errQRFormat = &core.ValidationError{Field: "format", Message: "Query parameter 'format' must be svg or png"}
	errQRSize   = &core.ValidationError{Field: "size", Message: "Query parameter 'size' must be an integer from 64 to 2048"}
)

// qrCode answers the QR code of a link's short link (base + "/r/" + code,
// or base + "/" + code with root codes; the base as for POST /shorten-ui) as SVG (the default) or PNG, size
// pixels per side (default 256). The image of a link does not change, so
// clients may cache it for a day.
func (a *api) qrCode(w http.ResponseWriter, req bunrouter.Request) error {
	r := req.Request
	// size reads as the other integer parameters do (Python's int()).
	format := queryWord(r, "format", "svg")
	if format != "svg" && format != "png" {
		return errQRFormat
	}
	size := qr.DefaultSize
	if s := queryParam(r, "size"); s != nil {
		n, ok, _ := pycompat.ParseInt(*s)
		if !ok || n < qr.MinSize || n > qr.MaxSize {
			return errQRSize
		}
		size = int(n)
	}
	u, _, err := a.svc.GetURL(r.Context(), pathID(req.Param("id")))
	if err != nil {
		return err
	}
	link := a.shortLink(r, u.ShortCode)
	var body []byte
	var ctype string
	if format == "png" {
		body, err = qr.PNG(link, size)
		ctype = "image/png"
	} else {
		body, err = qr.SVG(link, size)
		ctype = "image/svg+xml"
	}
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("X-Short-Link", link)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return nil
}
