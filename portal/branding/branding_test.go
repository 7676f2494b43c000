package branding

import (
	"bytes"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/tenants"
)

func TestValidColor(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"#1d4ed8", "#1d4ed8", true},
		{"#ABCDEF", "#abcdef", true},
		{" #000000 ", "#000000", true},
		{"#abc", "", false},
		{"red", "", false},
		{"#12345g", "", false},
		{"1d4ed8", "", false},
		{"#1d4ed8;}body{display:none", "", false},
		{"#1d4ed8\n", "#1d4ed8", true},
		{"", "", false},
	} {
		got, ok := ValidColor(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ValidColor(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestThemeFallsBackToDefaults(t *testing.T) {
	th := ThemeOf(tenants.Branding{PrimaryColor: "javascript:alert(1)", AccentColor: "#ff0000"})
	if th.Primary != DefaultPrimary {
		t.Errorf("primary = %q, want default %q", th.Primary, DefaultPrimary)
	}
	if th.Accent != "#ff0000" {
		t.Errorf("accent = %q, want #ff0000", th.Accent)
	}
	css := string(th.CSS())
	for _, want := range []string{"--lk-primary: " + DefaultPrimary + ";", "--lk-accent: #ff0000;"} {
		if !strings.Contains(css, want) {
			t.Errorf("CSS lacks %q:\n%s", want, css)
		}
	}
	if strings.Contains(css, "javascript") {
		t.Errorf("invalid colour leaked into CSS:\n%s", css)
	}
}

func TestContrastText(t *testing.T) {
	for _, tc := range []struct{ bg, want string }{
		{"#000000", "#ffffff"},
		{"#ffffff", "#000000"},
		{"#1d4ed8", "#ffffff"}, // dark blue
		{"#facc15", "#000000"}, // yellow
	} {
		if got := contrastText(tc.bg); got != tc.want {
			t.Errorf("contrastText(%s) = %s, want %s", tc.bg, got, tc.want)
		}
	}
}

func TestLogoOf(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	svg := []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>`)
	for _, tc := range []struct {
		name string
		data []byte
		ct   string
		ok   bool
	}{
		{"png", png, "image/png", true},
		{"png with params", png, "Image/PNG; charset=binary", true},
		{"svg", svg, "image/svg+xml", true},
		{"html as png", []byte("<html><script>alert(1)</script>"), "image/png", false},
		{"html type", []byte("<html>"), "text/html", false},
		{"svg type but not svg", []byte("<html>"), "image/svg+xml", false},
		{"empty", nil, "image/png", false},
		{"too big", append(bytes.Clone(png), make([]byte, MaxLogoSize)...), "image/png", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, ok := LogoOf(tenants.Branding{Logo: tc.data, LogoContentType: tc.ct})
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if ok && !strings.HasPrefix(l.ContentType, "image/") {
				t.Errorf("content type %q", l.ContentType)
			}
		})
	}
}

// FuzzValidColor: whatever a tenant stores as a colour, only "#rrggbb" in
// lower case reaches the stylesheet.
func FuzzValidColor(f *testing.F) {
	for _, s := range []string{"#1d4ed8", "#ABC", "red;}", "#ffffff\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ValidColor(s)
		if !ok {
			return
		}
		if len(got) != 7 || got[0] != '#' || strings.Trim(got[1:], "0123456789abcdef") != "" {
			t.Fatalf("ValidColor(%q) accepted %q", s, got)
		}
		css := string(Theme{Primary: got, Accent: got}.CSS())
		if strings.Count(css, "{") != 1 || strings.Count(css, "}") != 1 {
			t.Fatalf("CSS structure changed by %q:\n%s", s, css)
		}
	})
}
