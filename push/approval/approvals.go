package approval

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/portal/notify"
	"github.com/latchkey/latchkey/push/challenge"
	"github.com/latchkey/latchkey/push/fcm"
	"github.com/latchkey/latchkey/push/pushstore"
	"github.com/latchkey/latchkey/tenants"
)

// DefaultApp is the "app" the phone names for challenges of the portal.
const DefaultApp = "Self-service portal"

// Config configures Approvals.
type Config struct {
	// Store is the tenants store, per tenant. Required.
	Store Scope
	// Sender delivers FCM messages (push/fcm.Sender); nil: no push messages
	// at all, the app finds challenges by polling.
	Sender challenge.Sender
	// Limits are the push-fatigue limits (zero fields: the defaults of
	// challenge.DefaultLimits).
	Limits challenge.Limits
	// Lifetime of a challenge (0: challenge.MaxLifetime, the maximum).
	Lifetime time.Duration
	// DisableNumberMatching turns number matching off (on by default, R28).
	DisableNumberMatching bool
	// App is the client name the phone shows (default DefaultApp).
	App string
	// OnReport is called once when a user answers a challenge with "this
	// wasn't me", after the user's self-service was frozen (FrozenAt). The
	// portal uses it to end the user's sessions, alert the tenant's admins
	// and audit it (R29), with the challenge's context (what was asked, from
	// where). Optional; it runs synchronously in the request.
	OnReport func(ctx context.Context, t *tenants.Tenant, c *challenge.Challenge)
	// Now is the clock (default time.Now); Rand the source of challenge ids
	// and numbers (default crypto/rand).
	Now    func() time.Time
	Rand   io.Reader
	Logger *slog.Logger
}

// Approvals runs push approval: it implements portal/flow's Pusher and
// applies the devices' answers. It is safe for concurrent use.
type Approvals struct {
	cfg        Config
	svc        *challenge.Service
	challenges *pushstore.Challenges
	polling    bool // no Sender: nothing is pushed
}

var _ flow.Pusher = (*Approvals)(nil)

// New checks cfg and builds the push service over the store.
func New(cfg Config) (*Approvals, error) {
	if cfg.Store == nil {
		return nil, errors.New("approval: Config.Store is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.App == "" {
		cfg.App = DefaultApp
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	issuer, err := challenge.NewIssuer(challenge.Config{Lifetime: cfg.Lifetime, DisableNumberMatching: cfg.DisableNumberMatching,
		Rand: cfg.Rand, Now: cfg.Now})
	if err != nil {
		return nil, fmt.Errorf("approval: %w", err)
	}
	ps := cfg.Store.pushScope()
	limiter, err := challenge.NewLimiter(pushstore.NewHistory(ps, cfg.Now), cfg.Limits, cfg.Now)
	if err != nil {
		return nil, fmt.Errorf("approval: %w", err)
	}
	a := &Approvals{cfg: cfg, challenges: pushstore.NewChallenges(ps), polling: cfg.Sender == nil}
	sender := cfg.Sender
	if sender == nil {
		sender = noSender{}
	}
	a.svc, err = challenge.NewService(challenge.ServiceConfig{Issuer: issuer, Store: a.challenges, Limiter: limiter, Sender: sender,
		Now: cfg.Now})
	if err != nil {
		return nil, fmt.Errorf("approval: %w", err)
	}
	return a, nil
}

// errNoSender is what noSender answers; Push treats it as "poll only".
var errNoSender = errors.New("no push sender configured")

// noSender stands in for a missing Sender: challenges are only polled.
type noSender struct{}

func (noSender) Send(context.Context, challenge.Message) error { return errNoSender }

// Push implements flow.Pusher: a challenge for the user's most recently
// seen device, within the push-fatigue limits. ok is false, with no error,
// when the user has no device or the limits refuse (nothing is created or
// sent then). A failed send keeps the challenge (the app polls); a token
// FCM no longer knows is cleared from the device.
func (a *Approvals) Push(ctx context.Context, t *tenants.Tenant, userID string, action tenants.Action, c flow.Client) (string, int, bool, error) {
	ts := a.cfg.Store(t.ID)
	devs, err := ts.ListDevices(ctx, userID)
	if err != nil {
		return "", 0, false, fmt.Errorf("approval: devices of user %s: %w", userID, err)
	}
	d, ok := pickDevice(devs)
	if !ok {
		return "", 0, false, nil
	}
	dev, err := DeviceOf(d)
	if err != nil {
		return "", 0, false, fmt.Errorf("approval: %w", err)
	}
	req := challenge.Request{Tenant: t.ID, UserID: userID, DeviceID: d.ID, Purpose: action, Context: a.context(t, action, c)}
	ch, err := a.svc.Push(ctx, req, dev)
	var refused *challenge.RefusedError
	switch {
	case errors.As(err, &refused):
		a.cfg.Logger.InfoContext(ctx, "push refused by the limits", slog.String("user", userID), slog.String("rule", string(refused.Rule)))
		return "", 0, false, nil
	case errors.Is(err, challenge.ErrSendFailed) && ch != nil:
		a.sendFailed(ctx, t, d, ch, err)
	case err != nil:
		return "", 0, false, fmt.Errorf("approval: %w", err)
	}
	return ch.CID, ch.Number, true, nil
}

// sendFailed notes a push that did not go out; the challenge stays for
// polling. An unregistered token is cleared so it is not tried again.
func (a *Approvals) sendFailed(ctx context.Context, t *tenants.Tenant, d tenants.Device, ch *challenge.Challenge, err error) {
	switch {
	case a.polling || d.PushToken == "":
		return // polling only: nothing to send to
	case errors.Is(err, fcm.ErrUnregistered):
		_, uerr := a.cfg.Store(t.ID).UpdateDevice(ctx, d.ID, func(dv *tenants.Device) error {
			if dv.PushToken == d.PushToken { // not a token the app just sent
				dv.PushToken, dv.PushTokenUpdatedAt = "", a.cfg.Now().UTC()
			}
			return nil
		})
		if uerr != nil {
			a.cfg.Logger.WarnContext(ctx, "clear unregistered push token", slog.String("device", d.ID), slog.String("error", uerr.Error()))
			return
		}
		a.cfg.Logger.InfoContext(ctx, "push token unregistered; the device polls", slog.String("device", d.ID))
	default:
		a.cfg.Logger.WarnContext(ctx, "push message not sent; the device polls", slog.String("device", d.ID),
			slog.String("cid", ch.CID), slog.String("error", err.Error()))
	}
}

// pickDevice returns the most recently seen device that has a key (newest
// enrollment on a tie).
func pickDevice(devs []tenants.Device) (tenants.Device, bool) {
	devs = slices.DeleteFunc(slices.Clone(devs), func(d tenants.Device) bool { return d.KeyID == "" || len(d.PublicKey) == 0 })
	if len(devs) == 0 {
		return tenants.Device{}, false
	}
	return slices.MaxFunc(devs, func(x, y tenants.Device) int {
		if c := x.LastSeenAt.Compare(y.LastSeenAt); c != 0 {
			return c
		}
		if c := x.CreatedAt.Compare(y.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(x.ID, y.ID)
	}), true
}

// context is what the phone shows about the request.
func (a *Approvals) context(t *tenants.Tenant, action tenants.Action, c flow.Client) challenge.Context {
	name := t.Branding.DisplayName
	if name == "" {
		name = t.Name
	}
	browser := notify.SummarizeUserAgent(c.UserAgent, "")
	if browser == "" {
		browser = "A browser"
	}
	ip := c.IP
	if ip == "" {
		ip = "unknown"
	}
	return challenge.Context{Action: action, TenantName: name, App: a.cfg.App, IP: ip, Browser: browser, Time: a.cfg.Now().UTC()}
}

// Status implements flow.Pusher: the challenge's state as of now (a pending
// challenge past its expiry is "expired").
func (a *Approvals) Status(ctx context.Context, t *tenants.Tenant, cid string) (string, error) {
	c, err := a.challenges.Get(ctx, t.ID, cid)
	if err != nil {
		return "", fmt.Errorf("approval: %w", err)
	}
	return string(c.StateAt(a.cfg.Now())), nil
}

// Challenge returns the challenge cid if it was sent to device deviceID,
// else an error wrapping challenge.ErrNotFound (also for another device's,
// user's or tenant's challenge).
func (a *Approvals) Challenge(ctx context.Context, t *tenants.Tenant, deviceID, cid string) (*challenge.Challenge, error) {
	c, err := a.challenges.Get(ctx, t.ID, cid)
	if err != nil {
		return nil, fmt.Errorf("approval: %w", err)
	}
	if c.DeviceID != deviceID {
		return nil, fmt.Errorf("approval: %w", challenge.ErrNotFound)
	}
	return c, nil
}

// Respond applies device d's signed answer to challenge cid (see
// challenge.Service.Respond for the checks and errors). A challenge of
// another device is challenge.ErrNotFound. When this answer reports the
// challenge ("this wasn't me"), the user's self-service is frozen and
// OnReport is called.
func (a *Approvals) Respond(ctx context.Context, t *tenants.Tenant, d tenants.Device, cid string, ans challenge.SignedAnswer) (*challenge.Challenge, error) {
	if _, err := a.Challenge(ctx, t, d.ID, cid); err != nil {
		return nil, err
	}
	dev, err := DeviceOf(d)
	if err != nil {
		return nil, fmt.Errorf("approval: %w", err)
	}
	c, err := a.svc.Respond(ctx, t.ID, cid, dev, ans)
	if c != nil && c.State == challenge.StateReported && !errors.Is(err, challenge.ErrAlreadyAnswered) {
		if ferr := a.freeze(ctx, t, c); ferr != nil {
			return c, errors.Join(err, ferr)
		}
	}
	if err != nil {
		return c, fmt.Errorf("approval: %w", err)
	}
	return c, nil
}

// freeze sets the user's FrozenAt (the limiter did so already unless its
// update failed) and calls OnReport.
func (a *Approvals) freeze(ctx context.Context, t *tenants.Tenant, c *challenge.Challenge) error {
	userID := c.UserID
	now := a.cfg.Now().UTC()
	_, err := a.cfg.Store(t.ID).UpdateUser(ctx, userID, func(u *tenants.User) error {
		if u.FrozenAt.IsZero() {
			u.FrozenAt = now
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("approval: freeze user %s: %w", userID, err)
	}
	a.cfg.Logger.WarnContext(ctx, "push challenge reported: self-service frozen", slog.String("user", userID))
	if a.cfg.OnReport != nil {
		a.cfg.OnReport(ctx, t, c)
	}
	return nil
}
