package qr_test

import (
	"bytes"
	"image/png"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/curtainhq/curtain/core/qr"
)

const link = "https://cur.tn/r/abc123"

// svgModules reads the dark modules back from an SVG of SVG(), without
// the quiet zone.
func svgModules(t *testing.T, svg []byte, n int) [][]bool {
	t.Helper()
	m := regexp.MustCompile(`d="([^"]*)"`).FindSubmatch(svg)
	if m == nil {
		t.Fatalf("no path in %s", svg)
	}
	grid := make([][]bool, n)
	for i := range grid {
		grid[i] = make([]bool, n)
	}
	run := regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`)
	rest := string(m[1])
	for _, r := range run.FindAllStringSubmatch(rest, -1) {
		x, _ := strconv.Atoi(r[1])
		y, _ := strconv.Atoi(r[2])
		w, _ := strconv.Atoi(r[3])
		for i := range w {
			grid[y-4][x-4+i] = true
		}
		rest = strings.Replace(rest, r[0], "", 1)
	}
	if rest != "" {
		t.Fatalf("path has unparsed rest %q", rest)
	}
	return grid
}

func TestSVGDrawsTheModules(t *testing.T) {
	want, err := qr.Modules(link)
	if err != nil {
		t.Fatal(err)
	}
	svg, err := qr.SVG(link, 300)
	if err != nil {
		t.Fatal(err)
	}
	n := len(want)
	if !bytes.Contains(svg, []byte(`width="300" height="300" viewBox="0 0 `+strconv.Itoa(n+8)+" "+strconv.Itoa(n+8)+`"`)) {
		t.Errorf("SVG header = %.200s, want 300 px and a %d-module view box", svg, n+8)
	}
	if diff := cmp.Diff(want, svgModules(t, svg, n)); diff != "" {
		t.Errorf("SVG modules differ from the code (-want +got):\n%s", diff)
	}
	other, _ := qr.Modules("https://cur.tn/r/abc124")
	if cmp.Equal(want, other) {
		t.Error("two links encode to the same modules")
	}
}

func TestPNGDrawsTheModules(t *testing.T) {
	want, err := qr.Modules(link)
	if err != nil {
		t.Fatal(err)
	}
	const size = 512
	b, err := qr.PNG(link, size)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if got := img.Bounds().Dx(); got != size {
		t.Fatalf("PNG width = %d, want %d", got, size)
	}
	n := len(want) + 8
	for y, row := range want {
		for x, dark := range row {
			px := int((float64(x+4) + 0.5) * size / float64(n))
			py := int((float64(y+4) + 0.5) * size / float64(n))
			r, _, _, _ := img.At(px, py).RGBA()
			if got := r == 0; got != dark {
				t.Fatalf("module (%d,%d) dark = %v, want %v", x, y, got, dark)
			}
		}
	}
}
