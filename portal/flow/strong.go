package flow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/latchkey/latchkey/portal/factor/totp"
	"github.com/latchkey/latchkey/tenants"
)

// pushLifetime is how long the browser waits for a push (R30: ≤120 s).
const pushLifetime = 120 * time.Second

// *totp.Service is the engine's TOTP.
var _ TOTP = (*totp.Service)(nil)

var errReplay = errors.New("flow: TOTP code already used")

// SubmitTOTP checks an authenticator-app code (R26): ±1 time step, and a
// step at or before the last accepted one is refused and the user alerted.
func (e *Engine) SubmitTOTP(ctx context.Context, t *tenants.Tenant, token, stepToken, code string, c Client) (View, error) {
	// Padded like identify (R2): a real account's failure writes its
	// failure count, a decoy's does not; the floor hides the difference.
	defer e.pad(ctx, e.Now())
	f, st, err := e.step(ctx, t, token, stepToken, StepTOTP)
	if err != nil {
		return View{}, err
	}
	if e.TOTP == nil || st.Decoy || f.UserID == "" {
		st.Error, st.Field = "totp.wrong", "code"
		return e.failed(ctx, t, f, st, c, "totp")
	}
	ts := e.Store.Tenant(t.ID)
	u, err := ts.GetUser(ctx, f.UserID)
	if err != nil {
		return View{}, fmt.Errorf("flow: user: %w", err)
	}
	if u.Enrollment.TOTP == nil {
		st.Error, st.Field = "totp.wrong", "code"
		return e.failed(ctx, t, f, st, c, "totp")
	}
	now := e.Now()
	counter, err := e.TOTP.Check(t, *u.Enrollment.TOTP, code, now)
	checked := err == nil
	if checked {
		// Record the step in the user record: of two uses of one code
		// exactly one passes (UpdateUser re-runs fn on a concurrent change).
		_, err = ts.UpdateUser(ctx, u.ID, func(u *tenants.User) error {
			if u.Enrollment.TOTP == nil || counter <= u.Enrollment.TOTP.LastCounter {
				return errReplay
			}
			u.Enrollment.TOTP.LastCounter = counter
			return nil
		})
	}
	if errors.Is(err, errReplay) || errors.Is(err, totp.ErrReplay) {
		st.Error, st.Field = "totp.reused", "code"
		e.audit(ctx, t, c, "anonymous", "totp.replay", "user:"+u.ID, "denied", nil)
		e.NotifyUser(ctx, t, u.ID, "factor_changed", nil, c)
		return e.failed(ctx, t, f, st, c, "totp_replay")
	}
	if err != nil && !checked { // wrong, malformed, or a seed that does not open
		e.Logger.DebugContext(ctx, "totp refused", "err", err)
		st.Error, st.Field = "totp.wrong", "code"
		return e.failed(ctx, t, f, st, c, "totp")
	}
	if err != nil {
		return View{}, fmt.Errorf("flow: TOTP: %w", err)
	}
	return e.verifiedFactor(ctx, t, f, st, tenants.FactorTOTP, c)
}

// startPush asks the Pusher for a challenge. A decoy, or a user the limits
// refuse or without a device, gets a random number that nothing answers.
func (e *Engine) startPush(ctx context.Context, t *tenants.Tenant, f tenants.Flow, st *state, c Client) error {
	p := &pendingPush{ExpiresAt: e.Now().Add(pushLifetime)}
	if !st.Decoy && f.UserID != "" && e.Pusher != nil {
		cid, n, ok, err := e.Pusher.Push(ctx, t, f.UserID, f.Action, c)
		if err != nil {
			return fmt.Errorf("flow: push: %w", err)
		}
		if ok {
			p.CID, p.Number = cid, n
		}
	}
	if p.Number == 0 {
		n, err := e.pushNumber()
		if err != nil {
			return err
		}
		p.Number = n
	}
	st.Push = p
	return nil
}

// pushNumber draws a decoy's number as push/challenge draws a real one:
// uniform over 10–99, bytes 180–255 drawn again (modulo 90 they would
// favour 10–85, and a decoy could be told apart over many tries, R1).
func (e *Engine) pushNumber() (int, error) {
	var b [1]byte
	for range 64 {
		if _, err := io.ReadFull(e.Rand, b[:]); err != nil {
			return 0, fmt.Errorf("flow: read random: %w", err)
		}
		if b[0] < 180 {
			return 10 + int(b[0])%90, nil
		}
	}
	return 0, errors.New("flow: random source keeps returning bytes ≥ 180")
}

// PushDone reports whether the flow's push wait is over; when the phone
// approved it records the factor. The browser calls it (long polling) from
// the push page; it changes the flow only on the server's own evidence.
func (e *Engine) PushDone(ctx context.Context, t *tenants.Tenant, token string, c Client) (bool, error) {
	f, st, err := e.load(ctx, t, token)
	if err != nil {
		return true, err
	}
	if st.Step != StepPush || st.Push == nil {
		return true, nil
	}
	now := e.Now()
	state := "pending"
	if st.Push.CID != "" && e.Pusher != nil { // a node without push: wait out the expiry
		if state, err = e.Pusher.Status(ctx, t, st.Push.CID); err != nil {
			return false, fmt.Errorf("flow: push status: %w", err)
		}
	}
	if state == "pending" && now.Before(st.Push.ExpiresAt) {
		return false, nil
	}
	st.Push = nil
	switch state {
	case "approved":
		_, err = e.verifiedFactor(ctx, t, f, st, tenants.FactorPush, c)
	case "reported":
		st.Step, st.Result = StepDone, "reported"
		_, err = e.saveView(ctx, t, f, st)
	case "denied":
		st.Step, st.Error = StepChoose, "push.denied"
		_, err = e.failed(ctx, t, f, st, c, "push")
	default: // expired, or a decoy's wait ran out
		st.Step, st.Error = StepChoose, "push.expired"
		_, err = e.saveView(ctx, t, f, st)
	}
	if errors.Is(err, ErrStale) {
		return true, nil // another request recorded it
	}
	return true, err
}
