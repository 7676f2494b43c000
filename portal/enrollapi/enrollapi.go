// Package enrollapi serves the connector enrollment endpoint on a tenant's
// host: POST /connector/v1/enroll (protocol.EnrollPath). The handler is thin:
// the tenant comes from the Host (middleware.Tenant ran before it), the body
// is decoded and checked by connector/enroll, and the answer is JSON:
//
//	201 protocol.EnrollResponse
//	400 {"error":"bad_request","message":…}   malformed JSON or a failed Validate
//	401 {"error":"invalid_token"}             unknown, used, expired or another tenant's token, alike
//	413 {"error":"bad_request","message":…}   body over MaxBody
//	429 {"error":"rate_limited","message":…}  too many attempts for the tenant from this address, or for the tenant
//
// The body (which holds the token) is never logged.
package enrollapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/latchkey/latchkey/connector/enroll"
	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/portal/middleware"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/obs"
)

// MaxBody bounds an enrollment request (keys and a few names: a few KiB).
const MaxBody = 16 << 10

// Enroller is the enrollment service (connector/enroll.Service).
type Enroller interface {
	Enroll(ctx context.Context, tenantID tenants.ID, req protocol.EnrollRequest, m enroll.Meta) (protocol.EnrollResponse, error)
}

type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message,omitempty"`
}

// Register mounts the endpoint on r, which must run behind middleware.Tenant.
func Register(r fiber.Router, e Enroller, log *slog.Logger) {
	r.Post(protocol.EnrollPath, Handler(e, log, nil))
}

// Handler answers enrollment requests; now is the clock of its rate limits
// (nil: time.Now).
func Handler(e Enroller, log *slog.Logger, now func() time.Time) fiber.Handler {
	lim := newLimiter(now)
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		t := tenants.From(ctx)
		if t == nil {
			return fiber.ErrNotFound // mounted without the tenant middleware: a wiring bug
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		body := c.Body()
		if len(body) > MaxBody {
			return c.Status(fiber.StatusRequestEntityTooLarge).JSON(errorBody{"bad_request", fmt.Sprintf("the body is larger than %d bytes", MaxBody)})
		}
		req, err := enroll.DecodeRequest(body)
		if err != nil {
			return badRequest(c, err)
		}
		var m enroll.Meta
		if info, ok := middleware.ClientFrom(ctx); ok {
			m.IP = info.IP
		}
		m.UserAgent = truncate(c.Get(fiber.HeaderUserAgent), 256)
		m.RequestID = obs.RequestID(ctx)
		// Well-formed requests only reach the token check (and the audit log)
		// within the limits; malformed ones were answered above at no cost.
		if !lim.allow(string(t.ID), m.IP) {
			c.Set(fiber.HeaderRetryAfter, "60")
			return c.Status(fiber.StatusTooManyRequests).JSON(errorBody{"rate_limited", "too many enrollment attempts; try again in a minute"})
		}
		resp, err := e.Enroll(ctx, t.ID, req, m)
		switch {
		case errors.Is(err, enroll.ErrInvalidToken):
			return c.Status(fiber.StatusUnauthorized).JSON(errorBody{Error: "invalid_token"})
		case err != nil:
			var bad *enroll.BadRequestError
			if errors.As(err, &bad) {
				return badRequest(c, err)
			}
			log.ErrorContext(ctx, "connector enrollment failed", slog.String("error", err.Error()))
			return c.Status(fiber.StatusInternalServerError).JSON(errorBody{"internal", "enrollment failed; try again later"})
		}
		return c.Status(fiber.StatusCreated).JSON(resp)
	}
}

func badRequest(c *fiber.Ctx, err error) error {
	msg := err.Error()
	var bad *enroll.BadRequestError
	if errors.As(err, &bad) {
		msg = bad.Message
	}
	return c.Status(fiber.StatusBadRequest).JSON(errorBody{"bad_request", msg})
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
