package portal

import (
	"context"
	"log/slog"

	"github.com/gofiber/fiber/v2"
)

// healthz answers 200 while the process is alive.
func healthz(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	return c.SendString("ok\n")
}

// readyz answers 200 when ready reports no error and 503 otherwise. The
// cause is logged, never sent: the endpoint is reachable from outside.
func readyz(ready func(ctx context.Context) error, log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		if ready != nil {
			ctx, cancel := context.WithTimeout(c.UserContext(), readyTimeout)
			defer cancel()
			if err := ready(ctx); err != nil {
				log.WarnContext(ctx, "not ready", "error", err)
				return c.Status(fiber.StatusServiceUnavailable).SendString("not ready\n")
			}
		}
		return c.SendString("ready\n")
	}
}
