package mobileapi

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"github.com/latchkey/latchkey/push/approval"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

const localDevice = "mobileapi.device"

// tenantOf returns the request's tenant (nil when the API was mounted
// without the tenant middleware: a wiring bug, answered 404).
func tenantOf(c *fiber.Ctx) *tenants.Tenant { return tenants.From(c.UserContext()) }

// unauthenticated answers every failed request signature alike (R34); the
// cause goes to the debug log only.
func (api *API) unauthenticated(c *fiber.Ctx, cause string) error {
	api.cfg.Logger.DebugContext(c.UserContext(), "mobile API: request not authenticated", slog.String("cause", cause))
	return fail(c, fiber.StatusUnauthorized, "unauthenticated", "the request is not signed by an enrolled device")
}

// bodyProblem returns the status, code and message for an oversized body
// (413) or a body that is not JSON (400); status 0 when the body is fine.
func bodyProblem(c *fiber.Ctx) (int, string, string) {
	body := c.Body()
	if len(body) > MaxBody {
		return fiber.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is larger than %d bytes", MaxBody)
	}
	if len(body) > 0 && !jsonContentType(c.Get(fiber.HeaderContentType)) {
		return fiber.StatusBadRequest, "malformed", "Content-Type must be application/json"
	}
	return 0, "", ""
}

// signed authenticates a request signed by an enrolled device of the
// tenant (docs/mobile-api.md section 2) and stores the device for the
// handler: the timestamp within ±60 s, the device known, the signature
// valid under its key, then the nonce new for this device.
func (api *API) signed(c *fiber.Ctx) error {
	t := tenantOf(c)
	if t == nil {
		return fiber.ErrNotFound
	}
	if status, code, msg := bodyProblem(c); status != 0 {
		return fail(c, status, code, msg)
	}
	auth, err := ParseAuth(c.Get(HeaderDevice), c.Get(HeaderTimestamp), c.Get(HeaderNonce), c.Get(HeaderSignature))
	if err != nil {
		return api.unauthenticated(c, err.Error())
	}
	now := api.cfg.Now()
	if !auth.Fresh(now) {
		return api.unauthenticated(c, "stale timestamp")
	}
	ctx := c.UserContext()
	ts := api.cfg.Store(t.ID)
	d, err := ts.GetDevice(ctx, auth.DeviceID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return api.unauthenticated(c, "unknown device")
	case err != nil:
		return api.internal(c, "load device", err)
	}
	pub, err := approval.ParsePublicKey(d.PublicKey)
	if err != nil {
		return api.unauthenticated(c, "device key unusable")
	}
	if !auth.Verify(pub, c.Method(), string(c.Request().RequestURI()), c.Body()) {
		return api.unauthenticated(c, "bad signature")
	}
	// The window is picked by the signed timestamp, not the clock, so a
	// replay always meets the same counter; ts+2 min keeps the counter's
	// window open past the last moment the timestamp is accepted (ts+60 s),
	// so purging ended windows can never forget a live nonce.
	n, err := ts.Hit(ctx, "mobile-nonce:"+d.ID+":"+auth.Nonce, NonceWindow, auth.Timestamp.Add(2*RequestSkew), 1)
	if err != nil {
		return api.internal(c, "record nonce", err)
	}
	if n > 1 {
		return api.unauthenticated(c, "replayed nonce")
	}
	if now.Sub(d.LastSeenAt) >= seenEvery {
		seen := now.UTC()
		if d, err = ts.UpdateDevice(ctx, d.ID, func(dv *tenants.Device) error { dv.LastSeenAt = seen; return nil }); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return api.unauthenticated(c, "device removed")
			}
			return api.internal(c, "touch device", err)
		}
	}
	c.Locals(localDevice, d)
	return c.Next()
}

// deviceOf returns the device signed decided on.
func deviceOf(c *fiber.Ctx) tenants.Device {
	d, _ := c.Locals(localDevice).(tenants.Device)
	return d
}
