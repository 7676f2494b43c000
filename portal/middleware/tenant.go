package middleware

import (
	"context"
	"errors"
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/obs"
)

// TenantResolver finds the tenant that owns a host (normalised with
// tenants.NormalizeHost). It returns an error wrapping tenants.ErrUnknownHost
// when no tenant owns it.
type TenantResolver interface {
	Resolve(ctx context.Context, host string) (*tenants.Tenant, error)
}

// maxLoggedHost bounds the unknown host written to the debug log.
const maxLoggedHost = 100

// Tenant resolves the request's tenant from its host and puts it into the
// context (tenants.With, obs.WithTenantID), together with the client view
// (ClientFrom).
//
// The host is the Host header, or a forwarded host only when the peer is one
// of proxies (tenants.TrustedProxies.ClientView; security.md R9). Nothing
// else in the request can choose the tenant: X-Tenant-ID, X-Host, a tenant
// parameter and the like are never read (R38).
//
// An invalid or unknown host gets a 404 that the error handler renders as a
// tenant-neutral page, with no side effect: no cookie, nothing stored, and a
// debug-level log line only. A resolver failure (the store is down) is logged
// and answered 503.
func Tenant(proxies tenants.TrustedProxies, r TenantResolver, log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		info := proxies.ClientView(
			c.Context().RemoteIP().String(),
			// The raw header: fasthttp's Request().Host() is the parsed URI's
			// host, which turns "acme.example@globex.example" into globex.
			string(c.Request().Header.Host()),
			c.Context().IsTLS(),
			func(name string) string { return string(c.Request().Header.Peek(name)) },
		)
		ctx := c.UserContext()
		host, err := tenants.NormalizeHost(info.Host)
		if err != nil {
			return unknownHost(c, log, info.Host, "invalid host")
		}
		t, err := r.Resolve(ctx, host)
		switch {
		case errors.Is(err, tenants.ErrUnknownHost) || err == nil && t == nil:
			return unknownHost(c, log, host, "unknown host")
		case err != nil:
			log.ErrorContext(ctx, "resolve tenant", "error", err)
			return fiber.ErrServiceUnavailable
		}
		ctx = tenants.With(ctx, t)
		ctx = obs.WithTenantID(ctx, string(t.ID))
		ctx = withClient(ctx, info)
		c.SetUserContext(ctx)
		return c.Next()
	}
}

func unknownHost(c *fiber.Ctx, log *slog.Logger, host, reason string) error {
	if len(host) > maxLoggedHost {
		host = host[:maxLoggedHost] + "…"
	}
	log.DebugContext(c.UserContext(), "no tenant for request", "reason", reason, "host", host)
	c.Locals(localUnknownHost, true)
	c.Locals(localRoute, RouteUnknownHost)
	return fiber.ErrNotFound
}

type clientKey struct{}

func withClient(ctx context.Context, info tenants.ClientInfo) context.Context {
	return context.WithValue(ctx, clientKey{}, info)
}

// ClientFrom returns the client view of the request (address and scheme as
// the trusted proxies report them) that Tenant stored, and whether there is one.
func ClientFrom(ctx context.Context) (tenants.ClientInfo, bool) {
	info, ok := ctx.Value(clientKey{}).(tenants.ClientInfo)
	return info, ok
}
