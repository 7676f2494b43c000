package middleware

import (
	"encoding/hex"
	"fmt"
	"io"

	"github.com/gofiber/fiber/v2"

	"github.com/latchkey/latchkey/tenants/obs"
)

// HeaderRequestID is the response header carrying the request id.
const HeaderRequestID = "X-Request-ID"

// NewRequestID returns 128 random bits from rnd as 32 hex digits.
func NewRequestID(rnd io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", fmt.Errorf("read random request id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// RequestID gives every request a fresh random id: it is sent back in
// X-Request-ID, put into the context (obs.WithRequestID) so every log line
// carries it, and shown on error pages as the reference. An inbound
// X-Request-ID is never read: a client must not choose the id that ties log
// lines and audit records together.
func RequestID(rnd io.Reader) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if _, err := EnsureRequestID(c, rnd); err != nil {
			return err
		}
		return c.Next()
	}
}

// EnsureRequestID returns the request's id, making one as RequestID does when
// the request has none yet: the error handler uses it for errors raised before
// any middleware ran (an oversized body is refused by the server itself).
func EnsureRequestID(c *fiber.Ctx, rnd io.Reader) (string, error) {
	if id := obs.RequestID(c.UserContext()); id != "" {
		return id, nil
	}
	id, err := NewRequestID(rnd)
	if err != nil {
		return "", err
	}
	c.Set(HeaderRequestID, id)
	c.SetUserContext(obs.WithRequestID(c.UserContext(), id))
	return id, nil
}
