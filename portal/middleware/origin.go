package middleware

import (
	"errors"
	"log/slog"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/latchkey/latchkey/tenants"
)

// ErrCrossSite answers a state-changing request that a browser says came
// from another site.
var ErrCrossSite = fiber.NewError(fiber.StatusForbidden, "this form was sent from another site; open the page on its own address and try again")

// SameOrigin refuses POST, PUT, PATCH and DELETE requests that a browser
// marks as coming from another site: Sec-Fetch-Site "cross-site" or
// "same-site" (another tenant's host under the platform domain), or an
// Origin whose host does not belong to the request's tenant. A request
// without either (an old browser, a script, Origin "null" from the
// no-referrer policy) goes on: the forms' step and CSRF tokens are what
// protect them; this is the second defence. Mount it after Tenant, in front
// of the portal's pages only (the connector and mobile APIs have no
// browser).
func SameOrigin(r TenantResolver, log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		switch c.Method() {
		case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
			return c.Next()
		}
		// Fetch metadata, then a real Origin. The pages send Referrer-Policy
		// no-referrer, so a browser's own form posts carry Origin "null".
		switch strings.ToLower(string(c.Request().Header.Peek("Sec-Fetch-Site"))) {
		case "cross-site", "same-site": // same-site: another tenant under the platform domain
			return crossSite(c, log, "sec-fetch-site")
		}
		origin := string(c.Request().Header.Peek(fiber.HeaderOrigin))
		if origin == "" || origin == "null" {
			return c.Next() // nothing to tell: the forms' tokens decide
		}
		ctx := c.UserContext()
		t := tenants.From(ctx)
		u, err := url.Parse(origin)
		if err != nil || u.Host == "" || t == nil {
			return crossSite(c, log, "origin unreadable")
		}
		host, err := tenants.NormalizeHost(u.Host)
		if err != nil {
			return crossSite(c, log, "origin host invalid")
		}
		ot, err := r.Resolve(ctx, host)
		switch {
		case errors.Is(err, tenants.ErrUnknownHost) || err == nil && (ot == nil || ot.ID != t.ID):
			return crossSite(c, log, "origin of another site")
		case err != nil:
			log.ErrorContext(ctx, "resolve origin", "error", err)
			return fiber.ErrServiceUnavailable
		}
		return c.Next()
	}
}

func crossSite(c *fiber.Ctx, log *slog.Logger, why string) error {
	log.InfoContext(c.UserContext(), "cross-site request refused", "reason", why, "path", c.Path())
	return ErrCrossSite
}
