package apptest_test

import (
	"bytes"
	"fmt"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/curtainhq/curtain/core/qr"
)

// TestQRCode checks GET /urls/{id}/qr on both stores: the SVG and PNG
// encode the short link (the public base URL when set, else the Host
// header), bad parameters are 400 and an unknown link 404.
func TestQRCode(t *testing.T) {
	eachStore(t, func(t *testing.T, open storeFactory) {
		e := newEnv(t, open, envConfig{publicBase: "https://cur.tn/"})
		u := e.url("qr0001", "https://example.com/qr", nil, true)
		path := fmt.Sprintf("/urls/%d/qr", u.ID)

		r := e.get(path)
		if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "image/svg+xml" {
			t.Fatalf("GET %s = %d %q %s", path, r.Status, r.Header.Get("Content-Type"), r.Body)
		}
		want, err := qr.SVG("https://cur.tn/r/qr0001", qr.DefaultSize)
		if err != nil {
			t.Fatal(err)
		}
		if r.Body != string(want) {
			t.Errorf("GET %s is not the SVG of https://cur.tn/r/qr0001:\n%.300s", path, r.Body)
		}
		if got := r.Header.Get("X-Short-Link"); got != "https://cur.tn/r/qr0001" {
			t.Errorf("X-Short-Link = %q", got)
		}

		r = e.get(path + "?format=png&size=128")
		if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("GET %s?format=png = %d %q", path, r.Status, r.Header.Get("Content-Type"))
		}
		img, err := png.Decode(bytes.NewReader([]byte(r.Body)))
		if err != nil {
			t.Fatalf("PNG body does not decode: %v", err)
		}
		if img.Bounds().Dx() != 128 {
			t.Errorf("PNG width = %d, want 128", img.Bounds().Dx())
		}
		wantPNG, _ := qr.PNG("https://cur.tn/r/qr0001", 128)
		if r.Body != string(wantPNG) {
			t.Error("PNG body is not the code of https://cur.tn/r/qr0001")
		}

		// The parameters read as order and the integer parameters do.
		r = e.get(path + "?format=%20PNG&size=%20128%20")
		if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "image/png" || r.Body != string(wantPNG) {
			t.Errorf("GET %s?format=%%20PNG&size=%%20128%%20 = %d %q, want the 128-pixel PNG", path, r.Status, r.Header.Get("Content-Type"))
		}

		for _, bad := range []struct{ query, want string }{
			{"?format=gif", "Query parameter 'format' must be svg or png"},
			{"?size=12", "Query parameter 'size' must be an integer from 64 to 2048"},
			{"?size=big", "Query parameter 'size' must be an integer from 64 to 2048"},
		} {
			r := e.get(path + bad.query)
			if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, bad.want) {
				t.Errorf("GET %s%s = %d %s, want 400 %q", path, bad.query, r.Status, r.Body, bad.want)
			}
		}
		if r := e.get("/urls/999999/qr"); r.Status != http.StatusNotFound || !strings.Contains(r.Body, "URL not found") {
			t.Errorf("GET /urls/999999/qr = %d %s, want 404", r.Status, r.Body)
		}
	})
}

// TestQRCodeHostLink checks that without a public base URL the code
// encodes the link at the Host the client used.
func TestQRCodeHostLink(t *testing.T) {
	e := newEnv(t, openSQLite, envConfig{})
	u := e.url("qr0002", "https://example.com/qr2", nil, true)
	r := e.get(fmt.Sprintf("/urls/%d/qr", u.ID))
	want := e.srv.URL + "/r/qr0002"
	if r.Status != http.StatusOK || r.Header.Get("X-Short-Link") != want {
		t.Errorf("GET qr = %d, X-Short-Link %q, want %q", r.Status, r.Header.Get("X-Short-Link"), want)
	}
}
