// Package mobileapi serves the API of the Latchkey authenticator app on a
// tenant's host, under /api/mobile/v1, exactly as docs/mobile-api.md
// describes it (the OpenAPI form is docs/mobile-api.openapi.json):
// enrollment with a one-time secret, then requests signed with the device's
// P-256 key (device id, ±60 s timestamp, single-use nonce), the device's
// pending challenges, its signed answers and its own record, and
// self-service (unlock, reset) started from the app with the device as one
// factor (portal/flow's StartFromDevice).
//
// The handlers are thin: the tenant comes from the host (the portal's
// tenant middleware runs before Register's routes), push/approval does the
// work, and every answer is JSON; errors are {"error": code, "message":
// text}. Nothing secret (enrollment secret, nonce, signature, push token,
// answer) is logged.
package mobileapi

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/push/approval"
	"github.com/latchkey/latchkey/tenants"
)

// Prefix is the path every route of the API starts with.
const Prefix = "/api/mobile/v1"

// MaxBody bounds a request body (docs/mobile-api.md: at most 16 KiB).
const MaxBody = 16 << 10

// Defaults.
const (
	DefaultPollInterval   = 5 * time.Second
	DefaultEnrollAttempts = 10               // per client address and EnrollWindow
	EnrollWindow          = 10 * time.Minute // the enrollment rate limit's window
	// NonceWindow is the counter window of the nonces (longer than the
	// ±RequestSkew in which a timestamp is accepted).
	NonceWindow = 5 * time.Minute
	// seenEvery is how often a device's LastSeenAt is written at most.
	seenEvery = time.Minute
)

// DeviceChange is what happened to a device.
type DeviceChange string

const (
	DeviceAdded   DeviceChange = "added"   // enrolled
	DeviceRemoved DeviceChange = "removed" // removed itself (DELETE /device)
)

// DeviceEvent tells the integrator about an enrolled or removed device, so
// that the user's other channels can be notified.
type DeviceEvent struct {
	Change    DeviceChange
	Device    tenants.Device // as it was stored; the public key only, no secret
	IP        string         // the app's address as the portal saw it
	UserAgent string
}

// Config configures the API.
type Config struct {
	Store       approval.Scope        // required
	Approvals   *approval.Approvals   // required
	Enrollments *approval.Enrollments // required
	// OnDeviceChange is called after a device was enrolled or removed itself
	// (optional; synchronously, in the request).
	OnDeviceChange func(ctx context.Context, t *tenants.Tenant, ev DeviceEvent)
	// PollInterval is what enrollment tells the app (default 5 s).
	PollInterval time.Duration
	// EnrollAttempts is how many enrollment attempts one client address may
	// make per EnrollWindow (default 10; counted cluster-wide).
	EnrollAttempts int
	// Flows runs self-service started from the app (section 4.5); nil: the
	// selfservice endpoints answer 404 not_enabled (see also SetFlows).
	Flows  *flow.Engine
	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default slog.Default()
}

// API is the mobile API's handlers.
type API struct {
	cfg   Config
	flows atomic.Pointer[flow.Engine]
}

// SetFlows sets the engine of the selfservice endpoints, for an integrator
// that must create the API before the engine (the engine's Pusher needs
// the API's approvals); nil switches them off again.
func (api *API) SetFlows(e *flow.Engine) { api.flows.Store(e) }

// New checks cfg and fills its defaults.
func New(cfg Config) (*API, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("mobileapi: Config.Store is required")
	case cfg.Approvals == nil:
		return nil, errors.New("mobileapi: Config.Approvals is required")
	case cfg.Enrollments == nil:
		return nil, errors.New("mobileapi: Config.Enrollments is required")
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.EnrollAttempts <= 0 {
		cfg.EnrollAttempts = DefaultEnrollAttempts
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	api := &API{cfg: cfg}
	api.flows.Store(cfg.Flows)
	return api, nil
}

// Register mounts the API's routes on r, which must run behind the portal's
// tenant middleware. Unknown paths under Prefix get a JSON 404.
func Register(r fiber.Router, api *API) {
	g := r.Group(Prefix)
	g.Post("/enroll", api.enroll)
	g.Get("/challenges", api.signed, api.listChallenges)
	g.Get("/challenges/:cid", api.signed, api.getChallenge)
	g.Post("/challenges/:cid/answer", api.signed, api.answer)
	g.Get("/device", api.signed, api.getDevice)
	g.Patch("/device", api.signed, api.patchDevice)
	g.Delete("/device", api.signed, api.deleteDevice)
	g.Put("/device/push-token", api.signed, api.putPushToken)
	g.Post("/selfservice", api.signed, api.startSelfService)
	g.Post("/selfservice/step", api.signed, api.selfServiceStep)
	g.Use(func(c *fiber.Ctx) error { return fail(c, fiber.StatusNotFound, "not_found", "no such endpoint") })
}

type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message,omitempty"`
}

func fail(c *fiber.Ctx, status int, code, msg string) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(status).JSON(errorBody{Error: code, Message: msg})
}

func (api *API) internal(c *fiber.Ctx, what string, err error) error {
	api.cfg.Logger.ErrorContext(c.UserContext(), "mobile API: "+what, slog.String("error", err.Error()))
	return fail(c, fiber.StatusInternalServerError, "internal", "something went wrong; try again later")
}
