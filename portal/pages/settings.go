package pages

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"github.com/latchkey/latchkey/portal/factor/questions"
	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/portal/session"
	"github.com/latchkey/latchkey/portal/settings"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

const pendingCookie = "lk_pending"

// Account holds what the signed-in pages need.
type Account struct {
	Store    store.Store
	Sessions *session.Manager
	Settings *settings.Service
	// Key signs the settings forms' CSRF tokens (≥32 bytes).
	Key []byte
	// QR draws a URI as an inline SVG (portal/factor/totp.QRSVG); nil: links
	// only.
	QR func(uri string) (string, error)
	// Links builds the device-enrollment link from the tenant's host.
	Links tenants.LinkBuilder
}

func (h *Handlers) registerAccount(r fiber.Router) {
	r.Get("/settings", h.settingsPage)
	r.Post("/settings/contact", h.withStepUp(h.settingsContact))
	r.Post("/settings/verify", h.withStepUp(h.settingsVerify))
	r.Post("/settings/questions", h.withStepUp(h.settingsQuestions))
	r.Post("/settings/remove", h.withStepUp(h.settingsRemove))
	r.Post("/settings/totp", h.withStepUp(h.settingsTOTP))
	r.Post("/settings/passkey/begin", h.withStepUp(h.passkeyBegin))
	r.Post("/settings/passkey/finish", h.withStepUp(h.passkeyFinish))
	r.Post("/settings/totp/confirm", h.withStepUp(h.settingsTOTPConfirm))
	r.Post("/settings/device", h.withStepUp(h.settingsDevice))
	r.Post("/settings/device/remove", h.withStepUp(h.settingsDeviceRemove))
	r.Post("/settings/device/lost", h.withStepUp(func(c *fiber.Ctx, s tenants.Session) error {
		ctx := c.UserContext()
		if err := h.Account.Settings.RequestDeviceReset(ctx, tenants.From(ctx), s.UserID, client(c)); err != nil {
			return err
		}
		return c.Redirect("/settings?notice=saved#devices", fiber.StatusSeeOther)
	}))
	r.Post("/settings/device/lost/cancel", h.withStepUp(func(c *fiber.Ctx, s tenants.Session) error {
		ctx := c.UserContext()
		if err := h.Account.Settings.CancelDeviceReset(ctx, tenants.From(ctx), s.UserID, client(c)); err != nil {
			return err
		}
		return c.Redirect("/settings?notice=saved#devices", fiber.StatusSeeOther)
	}))
	r.Post("/signout", h.signout)
	r.Get("/me", h.me)
}

// signedIn starts the user's session when a sign-in flow finishes, or
// rotates the current one when the same user re-authenticated (step-up, R36).
func (h *Handlers) signedIn(c *fiber.Ctx, userID string) error {
	ctx := c.UserContext()
	t := tenants.From(ctx)
	ts := h.Account.Store.Tenant(t.ID)
	name := session.CookieName(h.TLS)
	if old := utils.CopyString(c.Cookies(name)); old != "" {
		if s, err := h.Account.Sessions.Get(ctx, ts, old); err == nil && s.UserID == userID {
			tok, _, err := h.Account.Sessions.StepUp(ctx, ts, old)
			if err != nil {
				return err
			}
			h.sessionCookie(c, tok)
			return nil
		}
	}
	cl := client(c)
	tok, _, err := h.Account.Sessions.Start(ctx, ts, userID, cl.IP, cl.UserAgent)
	if err != nil {
		return err
	}
	h.sessionCookie(c, tok)
	return nil
}

func (h *Handlers) sessionCookie(c *fiber.Ctx, tok string) {
	ck := &fiber.Cookie{Name: session.CookieName(h.TLS), Value: tok, Path: "/", HTTPOnly: true, Secure: h.TLS, SameSite: fiber.CookieSameSiteLaxMode}
	if tok == "" {
		ck.Expires, ck.MaxAge = time.Unix(1, 0), -1
	}
	c.Cookie(ck)
}

// current returns the session of the request, or false (R38: the session is
// looked up in the host's tenant only, so another tenant's cookie finds
// nothing).
func (h *Handlers) current(c *fiber.Ctx) (tenants.Session, string, bool) {
	ctx := c.UserContext()
	t := tenants.From(ctx)
	tok := utils.CopyString(c.Cookies(session.CookieName(h.TLS)))
	if tok == "" || t == nil {
		return tenants.Session{}, "", false
	}
	s, err := h.Account.Sessions.Get(ctx, h.Account.Store.Tenant(t.ID), tok)
	if err != nil {
		return tenants.Session{}, "", false
	}
	return s, tok, true
}

func (h *Handlers) csrf(s tenants.Session) string {
	m := hmac.New(sha256.New, h.Account.Key)
	m.Write([]byte("csrf\x00" + s.ID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// withStepUp guards a settings change: a live session, its CSRF token, and a
// recent authentication (R37) — otherwise 403 with a way to confirm.
func (h *Handlers) withStepUp(next func(c *fiber.Ctx, s tenants.Session) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		s, _, ok := h.current(c)
		if !ok {
			return h.renderStatus(c, fiber.StatusUnauthorized, "settings.signedout")
		}
		if !hmac.Equal([]byte(bodyValue(c, "csrf")), []byte(h.csrf(s))) {
			return h.renderStatus(c, fiber.StatusForbidden, "settings.csrf")
		}
		if !h.Account.Sessions.RecentlyAuthenticated(s) {
			return h.renderStatus(c, fiber.StatusForbidden, "settings.stepup")
		}
		return next(c, s)
	}
}

type statusBody struct {
	Key      string
	StepUp   string // the re-authentication link
	SignedIn bool
}

func (h *Handlers) renderStatus(c *fiber.Ctx, status int, key string) error {
	b := statusBody{Key: key}
	if s, _, ok := h.current(c); ok {
		b.SignedIn = true
		if u, err := h.Account.Store.Tenant(tenants.From(c.UserContext()).ID).GetUser(c.UserContext(), s.UserID); err == nil {
			b.StepUp = "/enroll?username=" + url.QueryEscape(u.Username)
		}
	}
	p, err := h.page(c, key+".title", "/settings", b)
	if err != nil {
		return err
	}
	return h.render(c, status, "settings_status", p)
}

type settingsBody struct {
	O          settings.Overview
	CSRF       string
	Pending    string // kind of a pending verification
	PendingTo  string
	Error      string
	Notice     string
	StepUp     bool // a recent authentication allows changes now
	StepUpLink string
	Slots      []int
	// TOTP: whether the server offers it, the pending setup's URI and QR.
	TOTPOn     bool
	TOTPURI    string
	TOTPQR     template.HTML
	PasskeysOn bool
	Passkeys   int
	DevicesOn  bool
	Devices    []tenants.Device
	// DeviceLink and DeviceQR show a fresh device enrollment.
	DeviceLink string
	DeviceQR   template.HTML
	DeviceExp  string
	// LostSince is when a pending lost-device request takes effect.
	LostSince string
}

func (h *Handlers) settingsPage(c *fiber.Ctx) error {
	s, _, ok := h.current(c)
	if !ok {
		return c.Redirect("/enroll", fiber.StatusSeeOther)
	}
	return h.showSettings(c, s, fiber.StatusOK, "", utils.CopyString(c.Query("notice")))
}

func (h *Handlers) showSettings(c *fiber.Ctx, s tenants.Session, status int, errKey, notice string, opts ...func(*settingsBody)) error {
	ctx := c.UserContext()
	t := tenants.From(ctx)
	o, err := h.Account.Settings.Overview(ctx, t, s.UserID)
	if err != nil {
		return err
	}
	b := settingsBody{O: o, CSRF: h.csrf(s), Error: errKey, StepUp: h.Account.Sessions.RecentlyAuthenticated(s),
		StepUpLink: "/enroll?username=" + url.QueryEscape(o.User.Username)}
	if notice == "saved" || notice == "sent" {
		b.Notice = "settings.notice." + notice
	}
	for i := range o.QuestionsRequired {
		b.Slots = append(b.Slots, i)
	}
	if tok := utils.CopyString(c.Cookies(h.cookieName(pendingCookie))); tok != "" {
		if kind, to, err := h.Account.Settings.Pending(ctx, t, s.UserID, tok); err == nil {
			b.Pending, b.PendingTo = kind, to
		}
	}
	b.TOTPOn = h.Account.Settings.TOTP != nil
	if b.PasskeysOn = h.Account.Settings.Passkeys != nil; b.PasskeysOn {
		if pu, err := flow.PasskeyUser(o.User); err == nil {
			b.Passkeys = len(pu.Credentials)
		}
	}
	if tok := utils.CopyString(c.Cookies(h.cookieName(totpCookie))); tok != "" && b.TOTPOn {
		if uri, err := h.Account.Settings.PendingTOTP(ctx, t, s.UserID, tok); err == nil {
			b.TOTPURI, b.TOTPQR = uri, h.qr(uri)
		}
	}
	if b.DevicesOn = h.Account.Settings.Devices != nil; b.DevicesOn {
		if _, err := h.Account.Settings.ApplyDeviceReset(ctx, t, s.UserID, client(c)); err != nil {
			return err
		}
		if b.O, err = h.Account.Settings.Overview(ctx, t, s.UserID); err != nil {
			return err
		}
		if !b.O.User.Enrollment.DeviceResetRequestedAt.IsZero() {
			b.LostSince = b.O.User.Enrollment.DeviceResetRequestedAt.Add(settings.DeviceResetWait).Local().Format("2006-01-02 15:04")
		}
		if b.Devices, err = h.Account.Store.Tenant(t.ID).ListDevices(ctx, s.UserID); err != nil {
			return err
		}
	}
	for _, o := range opts {
		o(&b)
	}
	if b.DeviceLink != "" {
		b.DeviceQR = h.qr(b.DeviceLink)
	}
	p, err := h.page(c, "settings.title", "/settings", b)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.render(c, status, "settings", p)
}

func (h *Handlers) settingsContact(c *fiber.Ctx, s tenants.Session) error {
	ctx := c.UserContext()
	kind := utils.CopyString(c.FormValue("kind"))
	tok, err := h.Account.Settings.StartContact(ctx, tenants.From(ctx), s.UserID, kind, utils.CopyString(c.FormValue("value")), client(c))
	switch {
	case errors.Is(err, settings.ErrBadEmail):
		return h.showSettings(c, s, fiber.StatusUnprocessableEntity, "settings.error.email", "")
	case errors.Is(err, settings.ErrBadPhone):
		return h.showSettings(c, s, fiber.StatusUnprocessableEntity, "settings.error.phone", "")
	case err != nil:
		return err
	}
	h.setCookie(c, pendingCookie, tok, 15*time.Minute)
	return c.Redirect("/settings?notice=sent", fiber.StatusSeeOther)
}

func (h *Handlers) settingsVerify(c *fiber.Ctx, s tenants.Session) error {
	return h.confirmPending(c, s, pendingCookie, "code.wrong", h.Account.Settings.ConfirmContact)
}

// confirmPending answers the code form of a pending setup whose token is in
// cookie: a wrong code shows wrongKey, a used-up or expired setup is
// forgotten, success clears the cookie and goes back to the page.
func (h *Handlers) confirmPending(c *fiber.Ctx, s tenants.Session, cookie, wrongKey string,
	confirm func(ctx context.Context, t *tenants.Tenant, userID, token, code string, cl flow.Client) error) error {
	ctx := c.UserContext()
	tok := utils.CopyString(c.Cookies(h.cookieName(cookie)))
	err := confirm(ctx, tenants.From(ctx), s.UserID, tok, utils.CopyString(c.FormValue("code")), client(c))
	switch {
	case errors.Is(err, settings.ErrWrongCode):
		return h.showSettings(c, s, fiber.StatusUnprocessableEntity, wrongKey, "")
	case errors.Is(err, settings.ErrCodeExpired):
		h.setCookie(c, cookie, "", -1)
		return h.showSettings(c, s, fiber.StatusUnprocessableEntity, "code.dead", "")
	case err != nil:
		return err
	}
	h.setCookie(c, cookie, "", -1)
	return c.Redirect("/settings?notice=saved", fiber.StatusSeeOther)
}

func (h *Handlers) settingsQuestions(c *fiber.Ctx, s tenants.Session) error {
	ctx := c.UserContext()
	var qs, as []string
	for i := range 10 {
		q, ok := formValue(c, "q"+itoa(int64(i)))
		if !ok {
			break
		}
		a, _ := formValue(c, "a"+itoa(int64(i)))
		qs, as = append(qs, q), append(as, a)
	}
	err := h.Account.Settings.SetQuestions(ctx, tenants.From(ctx), s.UserID, qs, as, client(c))
	switch {
	case errors.Is(err, settings.ErrAdminNoQs):
		return h.showSettings(c, s, fiber.StatusUnprocessableEntity, "settings.error.admin_questions", "")
	case err != nil && !errors.Is(err, store.ErrNotFound):
		if isValidation(err) {
			return h.showSettings(c, s, fiber.StatusUnprocessableEntity, "settings.error.questions", "")
		}
		return err
	}
	return c.Redirect("/settings?notice=saved", fiber.StatusSeeOther)
}

// isValidation tells a user's setup mistake from a server failure.
func isValidation(err error) bool {
	return errors.Is(err, questions.ErrInvalidSetup) || errors.Is(err, flow.ErrInvalidInput)
}

func (h *Handlers) settingsRemove(c *fiber.Ctx, s tenants.Session) error {
	ctx := c.UserContext()
	err := h.Account.Settings.Remove(ctx, tenants.From(ctx), s.UserID, utils.CopyString(c.FormValue("factor")), client(c))
	switch {
	case errors.Is(err, settings.ErrNotRemovable):
		return h.showSettings(c, s, fiber.StatusUnprocessableEntity, "settings.error.directory", "")
	case errors.Is(err, settings.ErrLastFactor):
		return h.showSettings(c, s, fiber.StatusUnprocessableEntity, "settings.error.last", "")
	case err != nil:
		return err
	}
	return c.Redirect("/settings?notice=saved", fiber.StatusSeeOther)
}

func (h *Handlers) signout(c *fiber.Ctx) error {
	ctx := c.UserContext()
	if s, tok, ok := h.current(c); ok {
		if !hmac.Equal([]byte(bodyValue(c, "csrf")), []byte(h.csrf(s))) {
			return h.renderStatus(c, fiber.StatusForbidden, "settings.csrf")
		}
		_ = h.Account.Sessions.End(ctx, h.Account.Store.Tenant(tenants.From(ctx).ID), tok)
	}
	h.sessionCookie(c, "")
	return c.Redirect("/signin", fiber.StatusSeeOther)
}

const (
	totpCookie    = "lk_totp"
	passkeyCookie = "lk_passkey"
)

// passkeyBegin answers the settings page's script with WebAuthn creation
// options (JSON); the ceremony's challenge stays on the server.
func (h *Handlers) passkeyBegin(c *fiber.Ctx, s tenants.Session) error {
	ctx := c.UserContext()
	t := tenants.From(ctx)
	opts, tok, err := h.Account.Settings.BeginPasskey(ctx, t, s.UserID, flow.RPOf(h.Account.Links, t))
	if errors.Is(err, settings.ErrNoPasskeys) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	h.setCookie(c, passkeyCookie, tok, 5*time.Minute)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(opts)
}

func (h *Handlers) passkeyFinish(c *fiber.Ctx, s tenants.Session) error {
	ctx := c.UserContext()
	t := tenants.From(ctx)
	tok := utils.CopyString(c.Cookies(h.cookieName(passkeyCookie)))
	h.setCookie(c, passkeyCookie, "", -1)
	err := h.Account.Settings.FinishPasskey(ctx, t, s.UserID, tok, flow.RPOf(h.Account.Links, t), []byte(c.FormValue("response")),
		utils.CopyString(c.FormValue("name")), client(c))
	switch {
	case errors.Is(err, settings.ErrCodeExpired), errors.Is(err, settings.ErrWrongCode):
		return h.showSettings(c, s, fiber.StatusUnprocessableEntity, "passkey.failed", "")
	case err != nil:
		return err
	}
	return c.Redirect("/settings?notice=saved#passkeys", fiber.StatusSeeOther)
}

// qr draws uri as inline SVG, or nothing (the link is shown as text too).
func (h *Handlers) qr(uri string) template.HTML {
	if h.Account.QR == nil {
		return ""
	}
	svg, err := h.Account.QR(uri)
	if err != nil {
		return ""
	}
	return template.HTML(svg) // made by our own encoder from <svg>/<rect> only
}

func (h *Handlers) settingsTOTP(c *fiber.Ctx, s tenants.Session) error {
	ctx := c.UserContext()
	_, tok, err := h.Account.Settings.StartTOTP(ctx, tenants.From(ctx), s.UserID)
	if errors.Is(err, settings.ErrNoTOTP) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	h.setCookie(c, totpCookie, tok, 10*time.Minute)
	return c.Redirect("/settings#totp", fiber.StatusSeeOther)
}

func (h *Handlers) settingsTOTPConfirm(c *fiber.Ctx, s tenants.Session) error {
	return h.confirmPending(c, s, totpCookie, "totp.wrong", h.Account.Settings.ConfirmTOTP)
}

// settingsDevice starts a device enrollment and shows its QR code and link
// once, on this response (the secret is not kept anywhere to show again).
func (h *Handlers) settingsDevice(c *fiber.Ctx, s tenants.Session) error {
	ctx := c.UserContext()
	t := tenants.From(ctx)
	if h.Account.Settings.Devices == nil {
		return fiber.ErrNotFound
	}
	link, exp, err := h.Account.Settings.Devices.Start(ctx, t, s.UserID, h.Account.Links.URL(t, ""))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.showSettings(c, s, fiber.StatusOK, "", "", func(b *settingsBody) {
		b.DeviceLink, b.DeviceExp = link, exp.Local().Format("15:04")
	})
}

func (h *Handlers) settingsDeviceRemove(c *fiber.Ctx, s tenants.Session) error {
	ctx := c.UserContext()
	t := tenants.From(ctx)
	ts := h.Account.Store.Tenant(t.ID)
	id := utils.CopyString(c.FormValue("device"))
	d, err := ts.GetDevice(ctx, id)
	if err != nil || d.UserID != s.UserID {
		return fiber.ErrNotFound // R41: another user's or tenant's device is not found
	}
	if err := ts.DeleteDevice(ctx, id); err != nil {
		return err
	}
	h.Account.Settings.DeviceRemoved(ctx, t, s.UserID, d.Name, client(c))
	return c.Redirect("/settings?notice=saved", fiber.StatusSeeOther)
}

// me answers who is signed in, for scripts and tests: 401 without a live
// session (R12, R13, R38).
func (h *Handlers) me(c *fiber.Ctx) error {
	s, _, ok := h.current(c)
	if !ok {
		return c.Status(fiber.StatusUnauthorized).JSON(fiber.Map{"error": "not signed in"})
	}
	u, err := h.Account.Store.Tenant(tenants.From(c.UserContext()).ID).GetUser(c.UserContext(), s.UserID)
	if err != nil {
		return c.Status(fiber.StatusUnauthorized).JSON(fiber.Map{"error": "not signed in"})
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"username": u.Username, "display_name": u.DisplayName, "recently_authenticated": h.Account.Sessions.RecentlyAuthenticated(s)})
}
