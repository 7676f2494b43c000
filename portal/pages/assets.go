package pages

import (
	"github.com/gofiber/fiber/v2"

	"github.com/latchkey/latchkey/portal/branding"
	"github.com/latchkey/latchkey/portal/view"
	"github.com/latchkey/latchkey/tenants"
)

// Cache lifetimes.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheTenant    = "public, max-age=86400"
	cacheRevalid   = "no-cache"
)

// Static serves the embedded static assets under view.StaticPrefix. They are
// the same for every tenant, so the route is mounted before tenant
// resolution (the tenant-neutral error pages use the stylesheet too). A URL
// carrying the asset's current version is cached for a year; any other is
// revalidated.
func (h *Handlers) Static(c *fiber.Ctx) error {
	a, ok := h.Assets.Get(c.Params("name"))
	if !ok {
		return fiber.ErrNotFound
	}
	cache := cacheRevalid
	if c.Query("v") == a.Version {
		cache = cacheImmutable
	}
	c.Set(fiber.HeaderCacheControl, cache)
	c.Set(fiber.HeaderContentType, a.ContentType)
	return c.Send(a.Data)
}

// StaticRoute is the route Static is mounted on.
const StaticRoute = view.StaticPrefix + ":name"

// theme serves the tenant's colours as CSS custom properties.
func (h *Handlers) theme(c *fiber.Ctx) error {
	t := tenants.From(c.UserContext())
	if t == nil {
		return fiber.ErrNotFound
	}
	setTenantCache(c, t)
	c.Set(fiber.HeaderContentType, "text/css; charset=utf-8")
	return c.Send(branding.ThemeOf(t.Branding).CSS())
}

// logo serves the tenant's logo, or 404 when there is none it may serve.
// An SVG is a document when opened on its own, so it gets a CSP that allows
// its own styles and nothing else.
func (h *Handlers) logo(c *fiber.Ctx) error {
	t := tenants.From(c.UserContext())
	if t == nil {
		return fiber.ErrNotFound
	}
	l, ok := branding.LogoOf(t.Branding)
	if !ok {
		return fiber.ErrNotFound
	}
	setTenantCache(c, t)
	c.Set(fiber.HeaderContentType, l.ContentType)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderContentSecurityPolicy, branding.LogoCSP)
	return c.Send(l.Data)
}

// setTenantCache lets a browser cache a tenant resource for a day when the
// URL names the tenant's current version (pages link ?v=<ResourceVersion>,
// which changes whenever the tenant does).
func setTenantCache(c *fiber.Ctx, t *tenants.Tenant) {
	if c.Query("v") != "" && c.Query("v") == itoa(t.ResourceVersion) {
		c.Set(fiber.HeaderCacheControl, cacheTenant)
		return
	}
	c.Set(fiber.HeaderCacheControl, cacheRevalid)
}
