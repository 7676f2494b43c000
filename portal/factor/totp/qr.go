package totp

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// DefaultQRTitle is the accessible name QRSVG gives the code.
const DefaultQRTitle = "QR code to add this account to your authenticator app"

// The PNG sizes QRPNG accepts, in pixels.
const (
	MinPNGSize = 64
	MaxPNGSize = 2048
)

// svgScale is the rendered size of one module in CSS pixels; a stylesheet
// can override the width and height attributes.
const svgScale = 6

// qrLevel is the error correction level: M (15%) is what enrollment QR
// codes commonly use and keeps the symbol small.
const qrLevel = qrcode.Medium

// QRSVG draws uri as an inline SVG QR code with DefaultQRTitle.
func QRSVG(uri string) (string, error) {
	return QRSVGTitled(uri, DefaultQRTitle)
}

// QRSVGTitled draws uri as an inline SVG QR code whose <title> (the
// accessible name, role="img") is title — pass a translated one. The SVG is
// made only of <svg>, <title> and <rect> elements with plain attributes: no
// style attribute, no <style>, no data: URL, so the portal's CSP (no inline
// styles, no data: images) allows it inline. It includes the 4-module
// quiet zone; each dark row run is one rect.
func QRSVGTitled(uri, title string) (string, error) {
	q, err := qrcode.New(uri, qrLevel)
	if err != nil {
		return "", fmt.Errorf("totp: QR code: %w", err)
	}
	bits := q.Bitmap()
	n := len(bits)
	dim := strconv.Itoa(n)
	px := strconv.Itoa(n * svgScale)

	var b strings.Builder
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + dim + ` ` + dim +
		`" width="` + px + `" height="` + px + `" role="img" shape-rendering="crispEdges"><title>`)
	if err := xml.EscapeText(&b, []byte(title)); err != nil {
		return "", fmt.Errorf("totp: QR title: %w", err)
	}
	b.WriteString(`</title><rect x="0" y="0" width="` + dim + `" height="` + dim + `" fill="#ffffff"/>`)
	for y, row := range bits {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="1" fill="#000000"/>`, start, y, x-start)
		}
	}
	b.WriteString(`</svg>`)
	return b.String(), nil
}

// QRPNG draws uri as a size×size PNG QR code (quiet zone included; larger
// when the symbol needs more than size pixels), for clients that cannot
// show inline SVG. Serve it from the portal's own
// origin, never as a data: URL (the CSP forbids those).
func QRPNG(uri string, size int) ([]byte, error) {
	if size < MinPNGSize || size > MaxPNGSize {
		return nil, fmt.Errorf("totp: PNG size %d is outside %d..%d", size, MinPNGSize, MaxPNGSize)
	}
	q, err := qrcode.New(uri, qrLevel)
	if err != nil {
		return nil, fmt.Errorf("totp: QR code: %w", err)
	}
	png, err := q.PNG(size)
	if err != nil {
		return nil, fmt.Errorf("totp: encode PNG: %w", err)
	}
	return png, nil
}
