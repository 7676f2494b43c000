package totp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"strconv"
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
)

const quietZone = 4

// svgModules parses an SVG from QRSVGTitled and paints its rects back into
// a module grid. It fails the test on anything but <svg>, <title> and
// <rect>, on any style attribute, and on rect attributes other than
// x/y/width/height/fill.
func svgModules(t *testing.T, svg string) (grid [][]bool, title string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	n, depth := -1, 0
	var inTitle bool
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			depth++
			attrs := map[string]string{}
			for _, a := range el.Attr {
				if strings.EqualFold(a.Name.Local, "style") {
					t.Fatalf("style attribute on <%s>", el.Name.Local)
				}
				attrs[a.Name.Local] = a.Value
			}
			switch el.Name.Local {
			case "svg":
				if depth != 1 || el.Name.Space != "http://www.w3.org/2000/svg" || attrs["role"] != "img" {
					t.Fatalf("bad <svg>: %v", el)
				}
				f := strings.Fields(attrs["viewBox"])
				if len(f) != 4 || f[0] != "0" || f[1] != "0" || f[2] != f[3] {
					t.Fatalf("viewBox %q", attrs["viewBox"])
				}
				n, _ = strconv.Atoi(f[2])
				grid = make([][]bool, n)
				for i := range grid {
					grid[i] = make([]bool, n)
				}
			case "title":
				if depth != 2 || title != "" {
					t.Fatal("misplaced <title>")
				}
				inTitle = true
			case "rect":
				if depth != 2 || n < 0 || len(el.Attr) != 5 {
					t.Fatalf("bad <rect>: %v", el.Attr)
				}
				var v [4]int
				for i, k := range []string{"x", "y", "width", "height"} {
					if v[i], err = strconv.Atoi(attrs[k]); err != nil {
						t.Fatalf("rect %s=%q", k, attrs[k])
					}
				}
				x, y, w, h := v[0], v[1], v[2], v[3]
				if x < 0 || y < 0 || w < 1 || h < 1 || x+w > n || y+h > n {
					t.Fatalf("rect %v outside the %d-module grid", v, n)
				}
				dark := attrs["fill"] == "#000000"
				if !dark && attrs["fill"] != "#ffffff" {
					t.Fatalf("fill %q", attrs["fill"])
				}
				for yy := y; yy < y+h; yy++ {
					for xx := x; xx < x+w; xx++ {
						grid[yy][xx] = dark
					}
				}
			default:
				t.Fatalf("element <%s>", el.Name.Local)
			}
		case xml.EndElement:
			depth--
			inTitle = false
		case xml.CharData:
			if inTitle {
				title += string(el)
			} else if strings.TrimSpace(string(el)) != "" {
				t.Fatalf("text outside <title>: %q", el)
			}
		case xml.ProcInst, xml.Directive, xml.Comment:
			t.Fatalf("unexpected %T", el)
		}
	}
	if n < 0 {
		t.Fatal("no <svg>")
	}
	return grid, title
}

// TestQRSVGIsCSPSafe_R26: the enrollment QR is well-formed XML of only
// <svg>, <title> and <rect> with plain attributes (no style, no data:), has
// an accessible title, and its rects paint exactly the encoder's modules.
func TestQRSVGIsCSPSafe_R26(t *testing.T) {
	_, uri, err := testService(t).New(acme, "ann@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	svg, err := QRSVG(uri)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(svg, "style") || strings.Contains(svg, "data:") || strings.Contains(svg, "<image") {
		t.Error("SVG mentions style, data: or <image>")
	}
	grid, title := svgModules(t, svg)
	if title != DefaultQRTitle {
		t.Errorf("title %q", title)
	}
	q, err := qrcode.New(uri, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	want := q.Bitmap()
	if len(grid) != 17+4*q.VersionNumber+2*quietZone || len(want) != len(grid) {
		t.Fatalf("%d modules, want %d for version %d", len(grid), 17+4*q.VersionNumber+2*quietZone, q.VersionNumber)
	}
	for y := range want {
		for x := range want[y] {
			if grid[y][x] != want[y][x] {
				t.Fatalf("module (%d,%d) differs from the encoder's", x, y)
			}
		}
	}
	checkQRStructure(t, grid)
}

// TestQRSVGModuleCount: the symbol grows with the content as the QR
// standard's byte-mode capacities at level M say (version v is 17+4v
// modules wide, plus the quiet zone), and each is a structurally valid
// symbol.
func TestQRSVGModuleCount(t *testing.T) {
	for _, c := range []struct{ length, version int }{{14, 1}, {15, 2}, {106, 6}, {107, 7}, {122, 7}, {123, 8}, {152, 8}, {153, 9}} {
		svg, err := QRSVG(strings.Repeat("a", c.length))
		if err != nil {
			t.Fatal(err)
		}
		grid, _ := svgModules(t, svg)
		if want := 17 + 4*c.version + 2*quietZone; len(grid) != want {
			t.Errorf("%d bytes: %d modules, want %d (version %d)", c.length, len(grid), want, c.version)
		}
		checkQRStructure(t, grid)
	}
}

// TestQRSVGTitleEscaped: a translated title is escaped, so the SVG stays
// well-formed and cannot inject markup.
func TestQRSVGTitleEscaped(t *testing.T) {
	title := `Code "QR" <script>alert(1)</script> & co`
	svg, err := QRSVGTitled("otpauth://totp/x:y?secret=AA", title)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(svg, "<script") {
		t.Error("title not escaped")
	}
	if _, got := svgModules(t, svg); got != title {
		t.Errorf("title %q, want %q", got, title)
	}
}

// checkQRStructure checks what a reader locates and decodes first: the
// light quiet zone, the three finder patterns with their separators, the
// timing patterns, the dark module, and both copies of the format
// information, which must be a valid BCH codeword for error correction
// level M.
func checkQRStructure(t *testing.T, grid [][]bool) {
	t.Helper()
	n := len(grid)
	size := n - 2*quietZone
	at := func(x, y int) bool { return grid[y+quietZone][x+quietZone] }
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			inside := x >= quietZone && y >= quietZone && x < n-quietZone && y < n-quietZone
			if !inside && grid[y][x] {
				t.Fatalf("dark module (%d,%d) in the quiet zone", x, y)
			}
		}
	}
	for _, o := range [][2]int{{0, 0}, {size - 7, 0}, {0, size - 7}} {
		for dy := -1; dy <= 7; dy++ {
			for dx := -1; dx <= 7; dx++ {
				x, y := o[0]+dx, o[1]+dy
				if x < 0 || y < 0 || x >= size || y >= size {
					continue
				}
				ring := max(abs(dx-3), abs(dy-3)) // 0..4 from the centre
				want := ring != 2 && ring != 4
				if at(x, y) != want {
					t.Fatalf("finder at %v: module (%d,%d) is %v", o, x, y, at(x, y))
				}
			}
		}
	}
	for i := 8; i < size-8; i++ {
		if at(i, 6) != (i%2 == 0) || at(6, i) != (i%2 == 0) {
			t.Fatalf("timing pattern broken at %d", i)
		}
	}
	if !at(8, size-8) {
		t.Fatal("dark module missing")
	}
	var first, second int
	bit := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	for i := 0; i <= 5; i++ {
		first |= bit(at(8, i)) << i
	}
	first |= bit(at(8, 7))<<6 | bit(at(8, 8))<<7 | bit(at(7, 8))<<8
	for i := 9; i < 15; i++ {
		first |= bit(at(14-i, 8)) << i
	}
	for i := 0; i < 8; i++ {
		second |= bit(at(size-1-i, 8)) << i
	}
	for i := 8; i < 15; i++ {
		second |= bit(at(8, size-15+i)) << i
	}
	if first != second {
		t.Fatalf("format copies differ: %015b %015b", first, second)
	}
	raw := first ^ 0x5412
	data := raw >> 10
	rem := data
	for range 10 {
		rem = rem<<1 ^ (rem>>9)*0x537
	}
	if raw != data<<10|rem&0x3ff {
		t.Fatalf("format information %015b is not a BCH codeword", first)
	}
	if ecl := data >> 3; ecl != 0 {
		t.Fatalf("error correction level bits %02b, want 00 (M)", ecl)
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// TestQRPNG: a PNG of the requested size; sizes outside the bounds are
// refused.
func TestQRPNG(t *testing.T) {
	_, uri, err := testService(t).New(acme, "ann@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	b, err := QRPNG(uri, 256)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() != 256 || r.Dy() != 256 {
		t.Errorf("bounds %v", r)
	}
	for _, size := range []int{-1, 0, MinPNGSize - 1, MaxPNGSize + 1} {
		if _, err := QRPNG(uri, size); err == nil {
			t.Errorf("size %d accepted", size)
		}
	}
	if _, err := QRPNG(strings.Repeat("a", 3000), 256); err == nil {
		t.Error("over-long content accepted")
	}
	if _, err := QRSVG(strings.Repeat("a", 3000)); err == nil {
		t.Error("over-long content accepted by QRSVG")
	}
}
