package mobileapi

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/latchkey/latchkey/portal/middleware"
	"github.com/latchkey/latchkey/push/approval"
	"github.com/latchkey/latchkey/push/challenge"
	"github.com/latchkey/latchkey/push/pushstore"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

type enrollRequest struct {
	EnrollmentID string `json:"enrollment_id"`
	Secret       string `json:"secret"`
	PublicKey    string `json:"public_key"`
	KeyID        string `json:"key_id"`
	Platform     string `json:"platform"`
	Name         string `json:"name"`
	PushToken    string `json:"push_token"`
}

type enrollResponse struct {
	DeviceID            string     `json:"device_id"`
	KeyID               string     `json:"key_id"`
	User                userJSON   `json:"user"`
	Tenant              tenantJSON `json:"tenant"`
	PollIntervalSeconds int        `json:"poll_interval_seconds"`
}

type userJSON struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
}

type tenantJSON struct {
	Name string `json:"name"`
}

// client returns the app's address and user agent.
func client(c *fiber.Ctx) (ip, ua string) {
	if info, ok := middleware.ClientFrom(c.UserContext()); ok {
		ip = info.IP
	}
	ua = c.Get(fiber.HeaderUserAgent)
	if len(ua) > 256 {
		ua = ua[:256]
	}
	return ip, ua
}

// enroll redeems a one-time enrollment for the device's public key
// (section 1).
func (api *API) enroll(c *fiber.Ctx) error {
	t := tenantOf(c)
	if t == nil {
		return fiber.ErrNotFound
	}
	if status, code, msg := bodyProblem(c); status != 0 {
		return fail(c, status, code, msg)
	}
	var req enrollRequest
	if err := decodeJSON(c.Body(), &req); err != nil {
		return fail(c, fiber.StatusBadRequest, "malformed", err.Error())
	}
	nd, err := req.check()
	if err != nil {
		return fail(c, fiber.StatusBadRequest, "malformed", err.Error())
	}
	ctx := c.UserContext()
	ip, ua := client(c)
	now := api.cfg.Now()
	// Well-formed attempts only reach the secret check within the limit;
	// malformed ones were answered above at no cost.
	n, err := api.cfg.Store(t.ID).Hit(ctx, "mobile-enroll:"+ip, EnrollWindow, now, 1)
	if err != nil {
		return api.internal(c, "count enrollment attempts", err)
	}
	if n > int64(api.cfg.EnrollAttempts) {
		retry := now.Truncate(EnrollWindow).Add(EnrollWindow).Sub(now)
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(retry.Seconds())+1))
		return fail(c, fiber.StatusTooManyRequests, "rate_limited", "too many enrollment attempts from this address; try again later")
	}
	d, u, err := api.cfg.Enrollments.Redeem(ctx, t, req.EnrollmentID, req.Secret, nd)
	switch {
	case errors.Is(err, approval.ErrEnrollmentInvalid):
		return fail(c, fiber.StatusGone, "enrollment_invalid", "the enrollment link is unknown, used or expired; start again in the settings")
	case errors.Is(err, approval.ErrKeyIDTaken):
		return fail(c, fiber.StatusConflict, "key_id_taken", "another of this user's devices has this key_id")
	case errors.Is(err, approval.ErrBadKey):
		return fail(c, fiber.StatusBadRequest, "malformed", "public_key is not a P-256 public key")
	case err != nil:
		return api.internal(c, "enroll device", err)
	}
	api.deviceChanged(c, t, DeviceEvent{Change: DeviceAdded, Device: d, IP: ip, UserAgent: ua})
	name := t.Branding.DisplayName
	if name == "" {
		name = t.Name
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(enrollResponse{DeviceID: d.ID, KeyID: d.KeyID,
		User: userJSON{Username: u.Username, DisplayName: u.DisplayName}, Tenant: tenantJSON{Name: name},
		PollIntervalSeconds: int(api.cfg.PollInterval / time.Second)})
}

func (api *API) deviceChanged(c *fiber.Ctx, t *tenants.Tenant, ev DeviceEvent) {
	if api.cfg.OnDeviceChange != nil {
		api.cfg.OnDeviceChange(c.UserContext(), t, ev)
	}
}

// check validates the request and returns the device it describes.
func (r enrollRequest) check() (approval.NewDevice, error) {
	switch {
	case !approval.ValidEnrollmentID(r.EnrollmentID):
		return approval.NewDevice{}, errors.New("enrollment_id is not 22 base64url characters")
	case !approval.ValidSecret(r.Secret):
		return approval.NewDevice{}, errors.New("secret is not 43 base64url characters")
	case !validKeyID(r.KeyID):
		return approval.NewDevice{}, errors.New("key_id must be 1–128 characters of A–Z, a–z, 0–9, '.', '_', ':' and '-'")
	case r.Platform != "android" && r.Platform != "ios" && r.Platform != "cli":
		return approval.NewDevice{}, errors.New(`platform must be "android", "ios" or "cli"`)
	}
	if err := checkName(r.Name); err != nil {
		return approval.NewDevice{}, err
	}
	if err := checkPushToken(r.PushToken); err != nil {
		return approval.NewDevice{}, err
	}
	if len(r.PublicKey) > 1024 {
		return approval.NewDevice{}, errors.New("public_key is too long")
	}
	der, err := b64.DecodeString(r.PublicKey)
	if err != nil {
		return approval.NewDevice{}, errors.New("public_key is not base64url (no padding)")
	}
	if _, err := approval.ParsePublicKey(der); err != nil {
		return approval.NewDevice{}, errors.New("public_key is not a PKIX DER P-256 public key")
	}
	return approval.NewDevice{Name: r.Name, Platform: r.Platform, KeyID: r.KeyID, PublicKey: der, PushToken: r.PushToken}, nil
}

// challengeJSON is a challenge as the app sees it (section 3): never the
// number.
type challengeJSON struct {
	CID            string                `json:"cid"`
	Purpose        string                `json:"purpose"`
	State          string                `json:"state"`
	NumberMatching bool                  `json:"number_matching"`
	ExpiresAt      time.Time             `json:"expires_at"`
	Context        pushstore.ContextJSON `json:"context"`
}

func challengeOf(ch *challenge.Challenge, now time.Time) challengeJSON {
	return challengeJSON{CID: ch.CID, Purpose: string(ch.Purpose), State: string(ch.StateAt(now)), NumberMatching: ch.Number != 0,
		ExpiresAt: ch.ExpiresAt.UTC().Truncate(time.Second), Context: pushstore.ContextOf(ch.Context)}
}

// listChallenges returns the device's pending challenges, newest first.
func (api *API) listChallenges(c *fiber.Ctx) error {
	t, d := tenantOf(c), deviceOf(c)
	now := api.cfg.Now()
	recs, err := api.cfg.Store(t.ID).ListPendingChallenges(c.UserContext(), d.ID, now)
	if err != nil {
		return api.internal(c, "list challenges", err)
	}
	out := struct {
		Challenges []challengeJSON `json:"challenges"`
	}{Challenges: make([]challengeJSON, 0, len(recs))}
	for _, r := range recs {
		ch, err := pushstore.FromRecord(r)
		if err != nil {
			return api.internal(c, "read challenge", err)
		}
		out.Challenges = append(out.Challenges, challengeOf(ch, now))
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(out)
}

// cidParam returns the :cid of the path, or answers 400.
func cidParam(c *fiber.Ctx) (string, bool) {
	cid := c.Params("cid")
	if !validCID(cid) {
		_ = fail(c, fiber.StatusBadRequest, "malformed", "the challenge id is not 32 lower-case hex digits")
		return "", false
	}
	return cid, true
}

func (api *API) getChallenge(c *fiber.Ctx) error {
	cid, ok := cidParam(c)
	if !ok {
		return nil
	}
	t, d := tenantOf(c), deviceOf(c)
	ch, err := api.cfg.Approvals.Challenge(c.UserContext(), t, d.ID, cid)
	switch {
	case errors.Is(err, challenge.ErrNotFound):
		return fail(c, fiber.StatusNotFound, "not_found", "no such challenge for this device")
	case err != nil:
		return api.internal(c, "load challenge", err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(challengeOf(ch, api.cfg.Now()))
}

// answer applies the device's signed answer (section 3).
func (api *API) answer(c *fiber.Ctx) error {
	cid, ok := cidParam(c)
	if !ok {
		return nil
	}
	ans, err := challenge.DecodeAnswer(c.Body())
	if err != nil {
		return fail(c, fiber.StatusBadRequest, "malformed", err.Error())
	}
	t, d := tenantOf(c), deviceOf(c)
	ch, err := api.cfg.Approvals.Respond(c.UserContext(), t, d, cid, ans)
	if status, code, msg := answerError(err); status != 0 {
		return fail(c, status, code, msg)
	}
	if err != nil {
		return api.internal(c, "answer challenge", err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"state": string(ch.State)})
}

// answerError maps Respond's errors to the statuses of the contract; 0 for
// nil and for errors that are the server's.
func answerError(err error) (int, string, string) {
	switch {
	case err == nil:
		return 0, "", ""
	case errors.Is(err, challenge.ErrNotFound):
		return fiber.StatusNotFound, "not_found", "no such challenge for this device"
	case errors.Is(err, challenge.ErrMalformed), errors.Is(err, challenge.ErrNotCanonical):
		return fiber.StatusBadRequest, "malformed", err.Error()
	case errors.Is(err, challenge.ErrWrongDevice), errors.Is(err, challenge.ErrBadSignature),
		errors.Is(err, challenge.ErrWrongChallenge), errors.Is(err, challenge.ErrStaleTimestamp):
		return fiber.StatusUnauthorized, "unauthenticated", "the answer is not signed by this device for this challenge, now"
	case errors.Is(err, challenge.ErrAlreadyAnswered):
		return fiber.StatusConflict, "already_answered", "the challenge was answered before"
	case errors.Is(err, challenge.ErrExpired):
		return fiber.StatusGone, "expired", "the challenge expired"
	case errors.Is(err, challenge.ErrWrongNumber):
		return fiber.StatusUnprocessableEntity, "wrong_number", "wrong number: the request was denied"
	}
	return 0, "", ""
}

// deviceJSON is the device's own record (section 4).
type deviceJSON struct {
	DeviceID  string    `json:"device_id"`
	Name      string    `json:"name"`
	Platform  string    `json:"platform"`
	CreatedAt time.Time `json:"created_at"`
	Push      bool      `json:"push"`
}

func deviceView(d tenants.Device) deviceJSON {
	return deviceJSON{DeviceID: d.ID, Name: d.Name, Platform: d.Platform, CreatedAt: d.CreatedAt.UTC().Truncate(time.Second),
		Push: d.PushToken != ""}
}

func (api *API) getDevice(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(deviceView(deviceOf(c)))
}

// updateDevice applies fn to the request's device and returns the result.
func (api *API) updateDevice(c *fiber.Ctx, fn func(*tenants.Device)) (tenants.Device, error) {
	t, d := tenantOf(c), deviceOf(c)
	return api.cfg.Store(t.ID).UpdateDevice(c.UserContext(), d.ID, func(dv *tenants.Device) error { fn(dv); return nil })
}

func (api *API) patchDevice(c *fiber.Ctx) error {
	var req struct {
		Name *string `json:"name"`
	}
	if err := decodeJSON(c.Body(), &req); err != nil {
		return fail(c, fiber.StatusBadRequest, "malformed", err.Error())
	}
	if req.Name == nil {
		return fail(c, fiber.StatusBadRequest, "malformed", "name is missing")
	}
	if err := checkName(*req.Name); err != nil {
		return fail(c, fiber.StatusBadRequest, "malformed", err.Error())
	}
	d, err := api.updateDevice(c, func(dv *tenants.Device) { dv.Name = *req.Name })
	if err != nil {
		return api.deviceError(c, "rename device", err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(deviceView(d))
}

func (api *API) putPushToken(c *fiber.Ctx) error {
	var req struct {
		PushToken *string `json:"push_token"`
	}
	if err := decodeJSON(c.Body(), &req); err != nil {
		return fail(c, fiber.StatusBadRequest, "malformed", err.Error())
	}
	if req.PushToken == nil {
		return fail(c, fiber.StatusBadRequest, "malformed", "push_token is missing")
	}
	if err := checkPushToken(*req.PushToken); err != nil {
		return fail(c, fiber.StatusBadRequest, "malformed", err.Error())
	}
	now := api.cfg.Now().UTC()
	if _, err := api.updateDevice(c, func(dv *tenants.Device) { dv.PushToken, dv.PushTokenUpdatedAt = *req.PushToken, now }); err != nil {
		return api.deviceError(c, "update push token", err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (api *API) deleteDevice(c *fiber.Ctx) error {
	t, d := tenantOf(c), deviceOf(c)
	if err := api.cfg.Store(t.ID).DeleteDevice(c.UserContext(), d.ID); err != nil {
		return api.deviceError(c, "remove device", err)
	}
	ip, ua := client(c)
	api.deviceChanged(c, t, DeviceEvent{Change: DeviceRemoved, Device: d, IP: ip, UserAgent: ua})
	return c.SendStatus(fiber.StatusNoContent)
}

// deviceError answers a failed device update: gone meanwhile (a concurrent
// removal) is 401 like any unknown device.
func (api *API) deviceError(c *fiber.Ctx, what string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return api.unauthenticated(c, "device removed")
	}
	return api.internal(c, what, fmt.Errorf("%s: %w", what, err))
}
