// Package qr renders the QR code of a short link as an SVG or PNG image for
// the route GET /urls/{id}/qr. It is pure computation over an encoder
// library (github.com/skip2/go-qrcode): no I/O, no state.
package qr

import (
	"bytes"
	"fmt"
	"strconv"

	qrcode "github.com/skip2/go-qrcode"
)

// Size limits of a rendered image, in pixels per side.
const (
	DefaultSize = 256
	MinSize     = 64
	MaxSize     = 2048
)

// quietZone is the blank border around the modules, in modules; the QR
// standard asks for four.
const quietZone = 4

// level is the error recovery level: medium (about 15 % of the code may be
// damaged), a common choice for printed links.
const level = qrcode.Medium

// Modules returns the dark (true) and light modules of text's QR code,
// without the quiet zone, row by row.
func Modules(text string) ([][]bool, error) {
	q, err := qrcode.New(text, level)
	if err != nil {
		return nil, fmt.Errorf("encode qr code: %w", err)
	}
	q.DisableBorder = true
	return q.Bitmap(), nil
}

// SVG renders text's QR code as an SVG document of size×size pixels: one
// path of unit squares over a white background, with a four-module quiet
// zone, scaled by the viewBox so that it stays sharp at any size.
func SVG(text string, size int) ([]byte, error) {
	mods, err := Modules(text)
	if err != nil {
		return nil, err
	}
	n := len(mods) + 2*quietZone
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, size, size, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y, row := range mods {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			// One horizontal run of dark modules per sub-path.
			start := x
			for x < len(row) && row[x] {
				x++
			}
			b.WriteByte('M')
			b.WriteString(strconv.Itoa(start + quietZone))
			b.WriteByte(' ')
			b.WriteString(strconv.Itoa(y + quietZone))
			b.WriteByte('h')
			b.WriteString(strconv.Itoa(x - start))
			b.WriteString("v1h-")
			b.WriteString(strconv.Itoa(x - start))
			b.WriteByte('z')
		}
	}
	b.WriteString(`"/></svg>` + "\n")
	return b.Bytes(), nil
}

// PNG renders text's QR code as a size×size PNG image, black on white,
// with the quiet zone.
func PNG(text string, size int) ([]byte, error) {
	q, err := qrcode.New(text, level)
	if err != nil {
		return nil, fmt.Errorf("encode qr code: %w", err)
	}
	png, err := q.PNG(size)
	if err != nil {
		return nil, fmt.Errorf("render qr png: %w", err)
	}
	return png, nil
}
