// Package pages holds the portal's page handlers. They are thin: read the
// tenant and language from the context, parse the little input a page takes,
// and render a template (package view). Nothing here decides anything about
// users or directories; the self-service flow engine that will answer the
// action forms lives elsewhere and comes later.
package pages

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/latchkey/latchkey/portal/branding"
	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/portal/i18n"
	"github.com/latchkey/latchkey/portal/view"
	"github.com/latchkey/latchkey/tenants"
)

// Handlers serves the pages of a tenant's portal.
type Handlers struct {
	View    *view.Renderer
	Assets  *view.Assets
	Catalog *i18n.Catalog
	// Links builds canonical URLs from the tenant's configured host, never
	// from the request (security.md R9).
	Links tenants.LinkBuilder
	// Flow runs the self-service flows; nil: the action forms answer that
	// self-service is not enabled yet.
	Flow *flow.Engine
	// TLS: browsers reach the portal over TLS (__Host- cookies, Secure).
	TLS bool
	// Account serves sessions and /settings; nil: sign-in flows end
	// without a session and /settings is not mounted.
	Account *Account
	// DrawCaptcha draws CAPTCHA digits as a PNG (portal/captcha).
	DrawCaptcha func(digits string) ([]byte, error)
}

// Register mounts the tenant pages on r. Every route needs the tenant in the
// request context (middleware.Tenant runs before them).
func (h *Handlers) Register(r fiber.Router) {
	r.Get("/", func(c *fiber.Ctx) error { return c.Redirect("/signin", fiber.StatusSeeOther) })
	r.Get("/signin", h.signin)
	for _, a := range Actions {
		r.Get(a.Path, h.identify(a))
		if h.Flow != nil {
			r.Post(a.Path, h.start(a))
		} else {
			r.Post(a.Path, h.submit(a))
		}
	}
	if h.Flow != nil {
		h.registerFlow(r)
	}
	if h.Account != nil {
		h.registerAccount(r)
	}
	r.Get("/theme.css", h.theme)
	r.Get("/branding/logo", h.logo)
}

// MobileEnroll answers the enrollment link (push/approval.EnrollPath) when
// it is opened in a browser instead of the app: a page in the tenant's
// branding and the user's language that says what to do. The URL carries a
// one-time secret: the page never echoes it, and it is kept out of caches
// and referrers.
func (h *Handlers) MobileEnroll(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("Referrer-Policy", "no-referrer")
	p, err := h.page(c, "mobile_enroll.title", "/m/enroll", nil)
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, "mobile_enroll", p)
}

// page builds the layout data for the tenant and language of c.
func (h *Handlers) page(c *fiber.Ctx, titleKey, path string, body any) (view.Page, error) {
	ctx := c.UserContext()
	t := tenants.From(ctx)
	if t == nil {
		// Routes are mounted behind the tenant middleware; reaching here
		// without a tenant is a wiring bug, not a user error.
		return view.Page{}, fiber.ErrNotFound
	}
	lang := i18n.Lang(ctx)
	name := t.Branding.DisplayName
	if name == "" {
		name = t.Name
	}
	v := itoa(t.ResourceVersion)
	brand := &view.Brand{
		Name:        name,
		SupportText: t.Branding.SupportText,
		ThemeURL:    "/theme.css?v=" + v,
	}
	if _, ok := branding.LogoOf(t.Branding); ok {
		brand.LogoURL = "/branding/logo?v=" + v
	}
	p := view.Page{
		Lang:      lang,
		TitleKey:  titleKey,
		Brand:     brand,
		Canonical: h.Links.URL(t, path),
		Body:      body,
	}
	for _, l := range h.Catalog.Languages() {
		name, _ := h.Catalog.Lookup(l, "language.name")
		p.Languages = append(p.Languages, view.LanguageLink{Lang: l, Name: name, URL: "?lang=" + l, Current: l == lang})
	}
	return p, nil
}

// render writes a page as the response.
func (h *Handlers) render(c *fiber.Ctx, status int, name string, p view.Page) error {
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return h.View.Render(c, name, p)
}

func (h *Handlers) signin(c *fiber.Ctx) error {
	p, err := h.page(c, "signin.title", "/signin", nil)
	if err != nil {
		return err
	}
	return h.render(c, fiber.StatusOK, "signin", p)
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
