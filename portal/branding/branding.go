// Package branding turns a tenant's Branding into what the portal serves: a
// stylesheet of CSS custom properties (the colours, validated, with readable
// text colours worked out) and the logo with a content type that is safe to
// send. It knows nothing of HTTP frameworks.
package branding

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/tenants"
)

// Default colours, used when a tenant sets none or an invalid one.
const (
	DefaultPrimary = "#1d4ed8"
	DefaultAccent  = "#0f766e"
)

// Theme is a tenant's validated colours.
type Theme struct {
	Primary         string // "#rrggbb"
	PrimaryContrast string // text on Primary: "#ffffff" or "#000000"
	Accent          string
	AccentContrast  string
}

// ThemeOf validates b's colours, falling back to the defaults for any that is
// not "#rrggbb", and picks the more readable of black and white text for each.
func ThemeOf(b tenants.Branding) Theme {
	primary, ok := ValidColor(b.PrimaryColor)
	if !ok {
		primary = DefaultPrimary
	}
	accent, ok := ValidColor(b.AccentColor)
	if !ok {
		accent = DefaultAccent
	}
	return Theme{
		Primary:         primary,
		PrimaryContrast: contrastText(primary),
		Accent:          accent,
		AccentContrast:  contrastText(accent),
	}
}

// CSS returns the stylesheet that sets the theme as custom properties on
// :root; static/app.css uses them. Only validated colours reach it, so no
// tenant-controlled text ever ends up in CSS.
func (t Theme) CSS() []byte {
	return fmt.Appendf(nil,
		":root {\n  --lk-primary: %s;\n  --lk-primary-contrast: %s;\n  --lk-accent: %s;\n  --lk-accent-contrast: %s;\n}\n",
		t.Primary, t.PrimaryContrast, t.Accent, t.AccentContrast)
}

// ValidColor reports whether s is a colour in "#rrggbb" form and returns it in
// lower case. Surrounding spaces are tolerated; nothing else is ("#abc",
// "red", "rgb(…)" and "#12345g" are all refused).
func ValidColor(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) != 7 || s[0] != '#' {
		return "", false
	}
	for i := 1; i < 7; i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return "", false
		}
	}
	return strings.ToLower(s), true
}

// contrastText returns "#ffffff" or "#000000", whichever contrasts more with
// the valid colour c (WCAG 2 relative luminance).
func contrastText(c string) string {
	l := luminance(c)
	// contrast ratio against white: 1.05/(l+0.05); against black: (l+0.05)/0.05
	if 1.05/(l+0.05) >= (l+0.05)/0.05 {
		return "#ffffff"
	}
	return "#000000"
}

// luminance is the WCAG 2 relative luminance of a valid "#rrggbb" colour.
func luminance(c string) float64 {
	channel := func(hex string) float64 {
		v, _ := strconv.ParseUint(hex, 16, 8) // c is valid: two hex digits
		s := float64(v) / 255
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*channel(c[1:3]) + 0.7152*channel(c[3:5]) + 0.0722*channel(c[5:7])
}
