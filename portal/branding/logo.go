package branding

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/tenants"
)

// MaxLogoSize is the largest logo the portal serves; a bigger one is treated
// as absent (the admin console refuses to store one).
const MaxLogoSize = 512 << 10

// LogoCSP is the Content-Security-Policy the logo is served with. An SVG
// opened on its own is a document: this lets it style itself and nothing
// else — no script, no external fetch.
const LogoCSP = "default-src 'none'; style-src 'unsafe-inline'"

// Logo is a tenant's logo, ready to serve.
type Logo struct {
	Data        []byte
	ContentType string
}

// LogoOf returns the tenant's logo and true when there is one the portal may
// serve: non-empty, at most MaxLogoSize bytes, and of an image type on the
// allow-list (PNG, JPEG, WebP, SVG) whose bytes look like that type. Anything
// else (for instance "text/html" stored by mistake) is not served at all.
func LogoOf(b tenants.Branding) (Logo, bool) {
	data := b.Logo
	if len(data) == 0 || len(data) > MaxLogoSize {
		return Logo{}, false
	}
	ct := strings.ToLower(strings.TrimSpace(b.LogoContentType))
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = strings.TrimSpace(ct[:i])
	}
	switch ct {
	case "image/png", "image/jpeg", "image/webp":
		if http.DetectContentType(data) != ct {
			return Logo{}, false
		}
	case "image/svg+xml":
		if !looksLikeSVG(data) {
			return Logo{}, false
		}
	default:
		return Logo{}, false
	}
	return Logo{Data: data, ContentType: ct}, true
}

// looksLikeSVG reports whether data starts (after a BOM, whitespace, an XML
// declaration or comments) with an <svg element somewhere in its first KiB.
func looksLikeSVG(data []byte) bool {
	head := data
	if len(head) > 1024 {
		head = head[:1024]
	}
	return bytes.Contains(bytes.ToLower(head), []byte("<svg"))
}
