package middleware

import (
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
)

// AccessLog writes one line per request: method, route template, status and
// duration; request_id and tenant_id come from the context through the
// logger's obs handler. It never logs the raw path, query string, headers or
// body: they may carry usernames or codes. Requests for an unknown host are
// logged at debug level only (scanners must not fill the log), and a request
// that panicked is logged with status 500.
func AccessLog(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		method := methodLabel(c.Method())
		done := false
		defer func() {
			status := c.Response().StatusCode()
			if !done {
				status = fiber.StatusInternalServerError // panicking
			}
			level := slog.LevelInfo
			if IsUnknownHost(c) {
				level = slog.LevelDebug
			}
			log.LogAttrs(c.UserContext(), level, "http request",
				slog.String("method", method),
				slog.String("route", RouteLabel(c)),
				slog.Int("status", status),
				slog.Duration("duration", time.Since(start)))
		}()
		finish(c, c.Next())
		done = true
		return nil
	}
}
