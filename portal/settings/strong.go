package settings

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey/latchkey/portal/factor/passkey"
	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/tenants"
)

// TOTPMaker makes and checks authenticator-app secrets (portal/factor/totp).
type TOTPMaker interface {
	New(t *tenants.Tenant, accountName string) (tenants.TOTPEnrollment, string, error)
	Check(t *tenants.Tenant, e tenants.TOTPEnrollment, code string, now time.Time) (int64, error)
}

// DeviceEnroller starts a device enrollment (push/approval.Enrollments).
type DeviceEnroller interface {
	Start(ctx context.Context, t *tenants.Tenant, userID, baseURL string) (link string, expires time.Time, err error)
}

// pendingTOTP is a TOTP secret shown as a QR code but not yet confirmed.
type pendingTOTP struct {
	E   tenants.TOTPEnrollment `json:"e"`
	URI string                 `json:"uri"`
}

// ErrNoTOTP: TOTP is not configured on this server.
var ErrNoTOTP = errors.New("settings: authenticator apps are not available")

// StartTOTP makes a new secret and returns its otpauth URI (for the QR code)
// and the token of the pending setup. Nothing changes until ConfirmTOTP.
func (s *Service) StartTOTP(ctx context.Context, t *tenants.Tenant, userID string) (uri, token string, err error) {
	if s.TOTP == nil {
		return "", "", ErrNoTOTP
	}
	ts := s.Store.Tenant(t.ID)
	u, err := ts.GetUser(ctx, userID)
	if err != nil {
		return "", "", fmt.Errorf("settings: user: %w", err)
	}
	account := u.UPN
	if account == "" {
		account = u.Username
	}
	e, uri, err := s.TOTP.New(t, account)
	if err != nil {
		return "", "", fmt.Errorf("settings: new TOTP secret: %w", err)
	}
	token, id, err := flow.NewToken(s.Rand)
	if err != nil {
		return "", "", err
	}
	if err := s.savePending(ctx, t, id, u.ID, pendingTOTPKind, s.now().Add(s.codeTTL()), pendingTOTP{E: e, URI: uri}); err != nil {
		return "", "", err
	}
	return uri, token, nil
}

// PendingTOTP returns the URI of a pending TOTP setup.
func (s *Service) PendingTOTP(ctx context.Context, t *tenants.Tenant, userID, token string) (string, error) {
	var p pendingTOTP
	_, err := s.loadPending(ctx, t, userID, token, pendingTOTPKind, &p)
	return p.URI, err
}

// ConfirmTOTP checks a first code from the app and then makes the secret the
// user's (replacing an older one); the user is notified (R14).
func (s *Service) ConfirmTOTP(ctx context.Context, t *tenants.Tenant, userID, token, code string, c flow.Client) error {
	var p pendingTOTP
	f, err := s.loadPending(ctx, t, userID, token, pendingTOTPKind, &p)
	if err != nil {
		return err
	}
	counter, err := s.TOTP.Check(t, p.E, code, s.now())
	if err != nil {
		return ErrWrongCode
	}
	ts := s.Store.Tenant(t.ID)
	if err := ts.DeleteFlow(ctx, f.ID); err != nil {
		return ErrCodeExpired
	}
	e := p.E
	e.LastCounter, e.CreatedAt = counter, s.now()
	u, err := ts.UpdateUser(ctx, userID, func(u *tenants.User) error { u.Enrollment.TOTP = &e; return nil })
	if err != nil {
		return fmt.Errorf("settings: save TOTP: %w", err)
	}
	s.audit(ctx, t, u, c, "factor.totp.set")
	s.notifyFactor(ctx, t, u, c)
	return nil
}

// DeviceRemoved audits and notifies the removal of a device.
func (s *Service) DeviceRemoved(ctx context.Context, t *tenants.Tenant, userID, name string, c flow.Client) {
	u, err := s.Store.Tenant(t.ID).GetUser(ctx, userID)
	if err != nil {
		return
	}
	s.audit(ctx, t, u, c, "device.removed")
	s.notifyFactor(ctx, t, u, c)
}

// DeviceResetWait is how long a user's "I lost my phone" request waits
// before the devices are removed; every channel is told at once, so the
// real owner can cancel a request someone else made.
const DeviceResetWait = 24 * time.Hour

// RequestDeviceReset starts the lost-device procedure (like Passly's "reset
// 2FA token"): after DeviceResetWait the user's devices are removed and a new
// one can be enrolled. The user is notified on every channel.
func (s *Service) RequestDeviceReset(ctx context.Context, t *tenants.Tenant, userID string, c flow.Client) error {
	now := s.now()
	u, err := s.Store.Tenant(t.ID).UpdateUser(ctx, userID, func(u *tenants.User) error {
		if u.Enrollment.DeviceResetRequestedAt.IsZero() {
			u.Enrollment.DeviceResetRequestedAt = now
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("settings: request device reset: %w", err)
	}
	s.audit(ctx, t, u, c, "device.reset.requested")
	_ = s.notifyAll(ctx, t, u, c)
	return nil
}

// CancelDeviceReset withdraws a pending lost-device request.
func (s *Service) CancelDeviceReset(ctx context.Context, t *tenants.Tenant, userID string, c flow.Client) error {
	u, err := s.Store.Tenant(t.ID).UpdateUser(ctx, userID, func(u *tenants.User) error {
		u.Enrollment.DeviceResetRequestedAt = time.Time{}
		return nil
	})
	if err != nil {
		return fmt.Errorf("settings: cancel device reset: %w", err)
	}
	s.audit(ctx, t, u, c, "device.reset.cancelled")
	return nil
}

// ApplyDeviceReset removes the user's devices when a lost-device request
// has waited long enough, and reports whether it did. The settings page
// calls it on every visit.
func (s *Service) ApplyDeviceReset(ctx context.Context, t *tenants.Tenant, userID string, c flow.Client) (bool, error) {
	ts := s.Store.Tenant(t.ID)
	u, err := ts.GetUser(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("settings: user: %w", err)
	}
	req := u.Enrollment.DeviceResetRequestedAt
	if req.IsZero() || s.now().Before(req.Add(DeviceResetWait)) {
		return false, nil
	}
	n, err := RemoveDevices(ctx, ts, userID)
	if err != nil {
		return false, err
	}
	if u, err = ts.UpdateUser(ctx, userID, func(u *tenants.User) error {
		u.Enrollment.DeviceResetRequestedAt = time.Time{}
		return nil
	}); err != nil {
		return false, fmt.Errorf("settings: finish device reset: %w", err)
	}
	s.audit(ctx, t, u, c, "device.reset.done")
	_ = s.notifyAll(ctx, t, u, c)
	return n > 0, nil
}

// HelpdeskWindow is how long a help desk's pending removal of an admin's
// devices waits for the second operator; after it, asking again starts over.
const HelpdeskWindow = 24 * time.Hour

// Help-desk device reset refusals.
var (
	// ErrSameOperator: the operator who asked cannot also approve.
	ErrSameOperator = errors.New("settings: the operator who asked cannot approve: a second operator must run the same command")
	// ErrNoOperator: the help desk's operator is not named.
	ErrNoOperator = errors.New("settings: the operator must be named (it goes into the audit log)")
)

// DeviceReset is the outcome of a help desk's device reset.
type DeviceReset struct {
	Removed int
	// Pending: the user is an admin, and the removal now waits for a second
	// operator (the other admins were told).
	Pending bool
	// RequestedBy is the first operator, when a second one approved.
	RequestedBy string
	// Alerted counts the admins told of a pending request (the target too).
	Alerted int
	// Done: the devices were removed (an error after it concerns the notice).
	Done bool
}

// ResetDevices is the help desk's "reset the user's devices" (a lost phone,
// the user verified out of band): every device goes, a pending lost-device
// request is settled, and the user hears of it on every channel, so that a
// help desk talked into it by someone else is noticed by the real owner.
// For an admin it takes two operators (R18): the first call records the
// request and alerts the other admins, a call by another operator within
// HelpdeskWindow carries it out. operator is the audit actor (compared
// without case).
func (s *Service) ResetDevices(ctx context.Context, t *tenants.Tenant, userID, operator string) (DeviceReset, error) {
	operator = strings.ToLower(strings.TrimSpace(operator))
	if operator == "" {
		return DeviceReset{}, ErrNoOperator
	}
	ts := s.Store.Tenant(t.ID)
	now := s.now()
	var res DeviceReset
	// Decide first; the pending request stays until the devices are gone,
	// so a failed removal can be approved again.
	u, err := ts.UpdateUser(ctx, userID, func(u *tenants.User) error {
		res = DeviceReset{}
		if !u.IsAdmin {
			return nil
		}
		p := u.Enrollment.HelpdeskDeviceReset
		switch {
		case p == nil || !now.Before(p.At.Add(HelpdeskWindow)):
			u.Enrollment.HelpdeskDeviceReset = &tenants.HelpdeskRequest{By: operator, At: now}
			res.Pending = true
		case p.By == operator:
			return ErrSameOperator
		default:
			res.RequestedBy = p.By
		}
		return nil
	})
	if errors.Is(err, ErrSameOperator) {
		return DeviceReset{}, err
	}
	if err != nil {
		return DeviceReset{}, fmt.Errorf("settings: reset devices: %w", err)
	}
	if res.Pending {
		if _, err := ts.AppendAudit(ctx, tenants.AuditEvent{Actor: operator, Action: "device.reset.pending", Target: "user:" + u.ID, Outcome: "pending"}); err != nil {
			return res, fmt.Errorf("settings: audit device reset: %w", err)
		}
		res.Alerted, err = s.alertAdmins(ctx, t, u)
		return res, err
	}
	if res.Removed, err = RemoveDevices(ctx, ts, userID); err != nil {
		return res, err
	}
	res.Done = true
	if u, err = ts.UpdateUser(ctx, userID, func(u *tenants.User) error {
		u.Enrollment.DeviceResetRequestedAt, u.Enrollment.HelpdeskDeviceReset = time.Time{}, nil
		return nil
	}); err != nil {
		return res, fmt.Errorf("settings: reset devices: %w", err)
	}
	detail := map[string]string{"count": fmt.Sprint(res.Removed)}
	if res.RequestedBy != "" {
		detail["requested_by"] = res.RequestedBy
	}
	if _, err := ts.AppendAudit(ctx, tenants.AuditEvent{Actor: operator, Action: "device.reset", Target: "user:" + u.ID, Outcome: "success",
		Detail: detail}); err != nil {
		return res, fmt.Errorf("settings: audit device reset: %w", err)
	}
	return res, s.notifyAll(ctx, t, u, flow.Client{Lang: u.Locale})
}

// alertAdmins tells the tenant's admins, and the admin u it is about, of a
// pending help-desk removal of u's devices; it returns how many were told.
func (s *Service) alertAdmins(ctx context.Context, t *tenants.Tenant, u tenants.User) (int, error) {
	admins, err := flow.Admins(ctx, s.Store.Tenant(t.ID), u.ID)
	if err != nil {
		return 0, err
	}
	if u.Email != "" {
		admins = append(admins, u) // the real owner can stop it
	}
	var errs []error
	n := 0
	for _, a := range admins {
		err := s.Messenger.Send(ctx, t, flow.Message{Channel: tenants.MessageEmail, To: a.Email, Kind: "helpdesk_approval",
			Lang: a.Locale, Username: u.Username, DisplayName: u.DisplayName, Time: s.now()})
		if err == nil {
			n++
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return n, fmt.Errorf("settings: alert admins: %w", err)
	}
	return n, nil
}

// DeviceStore is what removing devices needs (store.TenantStore).
type DeviceStore interface {
	ListDevices(ctx context.Context, userID string) ([]tenants.Device, error)
	DeleteDevice(ctx context.Context, id string) error
}

// RemoveDevices deletes every device of the user (an admin's "reset the
// user's devices", or a lost-device request that has waited).
func RemoveDevices(ctx context.Context, ts DeviceStore, userID string) (int, error) {
	ds, err := ts.ListDevices(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("settings: list devices: %w", err)
	}
	for _, d := range ds {
		if err := ts.DeleteDevice(ctx, d.ID); err != nil {
			return 0, fmt.Errorf("settings: remove device: %w", err)
		}
	}
	return len(ds), nil
}

// notifyAll tells the user about a device change on every channel they have.
// The web paths go on when queueing fails (the change is made); the help
// desk's command reports it.
func (s *Service) notifyAll(ctx context.Context, t *tenants.Tenant, u tenants.User, c flow.Client) error {
	m := flow.Message{Kind: "factor_changed", Lang: c.Lang, Username: u.Username, DisplayName: u.DisplayName, IP: c.IP, UserAgent: c.UserAgent, Time: s.now()}
	var errs []error
	if u.Email != "" {
		m.Channel, m.To = tenants.MessageEmail, u.Email
		errs = append(errs, s.Messenger.Send(ctx, t, m))
	}
	if u.Phone != "" && u.PhoneVerified {
		m.Channel, m.To = tenants.MessageSMS, u.Phone
		errs = append(errs, s.Messenger.Send(ctx, t, m))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("settings: notify %s: %w", u.ID, err)
	}
	return nil
}

// pendingPasskey is a passkey registration in progress.
type pendingPasskey struct {
	Session []byte `json:"session"`
}

// ErrNoPasskeys: passkeys are not available on this server.
var ErrNoPasskeys = errors.New("settings: passkeys are not available")

// BeginPasskey starts registering a passkey for the user and returns the
// WebAuthn options for the browser and the token of the pending ceremony.
func (s *Service) BeginPasskey(ctx context.Context, t *tenants.Tenant, userID string, rp passkey.RP) (options []byte, token string, err error) {
	if s.Passkeys == nil {
		return nil, "", ErrNoPasskeys
	}
	ts := s.Store.Tenant(t.ID)
	u, err := ts.GetUser(ctx, userID)
	if err != nil {
		return nil, "", fmt.Errorf("settings: user: %w", err)
	}
	pu, err := flow.PasskeyUser(u)
	if err != nil {
		return nil, "", err
	}
	opts, sess, err := s.Passkeys.BeginRegistration(rp, pu)
	if err != nil {
		return nil, "", fmt.Errorf("settings: passkey: %w", err)
	}
	token, id, err := flow.NewToken(s.Rand)
	if err != nil {
		return nil, "", err
	}
	if err := s.savePending(ctx, t, id, u.ID, pendingPasskeyKind, s.now().Add(passkey.Timeout), pendingPasskey{Session: sess}); err != nil {
		return nil, "", err
	}
	return opts, token, nil
}

// FinishPasskey checks the browser's new credential and stores it. The
// pending ceremony is used up first, so its challenge works once.
func (s *Service) FinishPasskey(ctx context.Context, t *tenants.Tenant, userID, token string, rp passkey.RP, response []byte, name string, c flow.Client) error {
	if s.Passkeys == nil {
		return ErrNoPasskeys
	}
	ts := s.Store.Tenant(t.ID)
	var p pendingPasskey
	f, err := s.loadPending(ctx, t, userID, token, pendingPasskeyKind, &p)
	if err != nil {
		return err
	}
	if err := ts.DeleteFlow(ctx, f.ID); err != nil {
		return ErrCodeExpired
	}
	u, err := ts.GetUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("settings: user: %w", err)
	}
	pu, err := flow.PasskeyUser(u)
	if err != nil {
		return err
	}
	cred, err := s.Passkeys.FinishRegistration(rp, pu, p.Session, response)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrWrongCode, err)
	}
	if name = strings.TrimSpace(name); name == "" || len(name) > 64 {
		name = "Passkey"
	}
	cred.Name, cred.CreatedAt = name, s.now()
	u, err = ts.UpdateUser(ctx, userID, func(u *tenants.User) error { return flow.StorePasskey(u, cred) })
	if err != nil {
		return fmt.Errorf("settings: save passkey: %w", err)
	}
	s.audit(ctx, t, u, c, "factor.passkey.added")
	s.notifyFactor(ctx, t, u, c)
	return nil
}
