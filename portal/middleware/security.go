package middleware

import "github.com/gofiber/fiber/v2"

// Security header values.
const (
	// CSP allows nothing inline and nothing from elsewhere; scripts may
	// fetch from the page's own origin (the push page's long poll).
	CSP               = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	PermissionsPolicy = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
	HSTS              = "max-age=63072000; includeSubDomains"
)

// SecurityHeaders sets the security headers on every response, before the
// handlers run so that error pages get them too. Cache-Control defaults to
// no-store (pages may show a username); handlers of cacheable resources
// (static assets, theme, logo) override it. HSTS is sent only when the portal
// is reached over TLS (tls: served with TLS or behind a TLS-terminating proxy).
func SecurityHeaders(tls bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		SetSecurityHeaders(c, tls)
		return c.Next()
	}
}

// SetSecurityHeaders sets the headers SecurityHeaders sends.
func SetSecurityHeaders(c *fiber.Ctx, tls bool) {
	h := &c.Response().Header
	h.Set("Content-Security-Policy", CSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", PermissionsPolicy)
	h.Set("Cache-Control", "no-store")
	if tls {
		h.Set("Strict-Transport-Security", HSTS)
	}
}
