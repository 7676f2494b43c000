package middleware

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/latchkey/latchkey/portal/i18n"
	"github.com/latchkey/latchkey/tenants"
)

// LangCookie is the cookie that remembers an explicit language choice.
const LangCookie = "lang"

const langCookieMaxAge = 365 * 24 * time.Hour

// Locale chooses the request's language (i18n.Catalog.Choose: ?lang=, the
// lang cookie, Accept-Language, the tenant's default, English) and puts it
// into the context (i18n.WithLang). A valid ?lang= is remembered in the lang
// cookie (Path=/, SameSite=Lax, HttpOnly, Secure when tls). It runs after
// Tenant, so an unknown host never gets a cookie.
func Locale(cat *i18n.Catalog, tls bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ch := cat.Choose(Preference(c))
		if ch.Remember {
			c.Cookie(&fiber.Cookie{
				Name:     LangCookie,
				Value:    ch.Lang,
				Path:     "/",
				MaxAge:   int(langCookieMaxAge / time.Second),
				Secure:   tls,
				HTTPOnly: true,
				SameSite: fiber.CookieSameSiteLaxMode,
			})
		}
		c.SetUserContext(i18n.WithLang(c.UserContext(), ch.Lang))
		return c.Next()
	}
}

// Preference collects what the request (and its tenant, when known) says
// about language.
func Preference(c *fiber.Ctx) i18n.Preference {
	p := i18n.Preference{
		Query:          c.Query("lang"),
		Cookie:         c.Cookies(LangCookie),
		AcceptLanguage: c.Get(fiber.HeaderAcceptLanguage),
	}
	if t := tenants.From(c.UserContext()); t != nil {
		p.TenantDefault = t.DefaultLocale
	}
	return p
}
