package settings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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
	Kind string                 `json:"kind"` // "totp"
	E    tenants.TOTPEnrollment `json:"e"`
	URI  string                 `json:"uri"`
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
	raw, _ := json.Marshal(pendingTOTP{Kind: "totp", E: e, URI: uri})
	if _, err := ts.CreateFlow(ctx, tenants.Flow{ID: id, Action: tenants.ActionEnroll, Channel: tenants.ChannelWeb, UserID: u.ID, State: raw,
		ExpiresAt: s.now().Add(s.codeTTL())}); err != nil {
		return "", "", fmt.Errorf("settings: pending TOTP: %w", err)
	}
	return uri, token, nil
}

// PendingTOTP returns the URI of a pending TOTP setup.
func (s *Service) PendingTOTP(ctx context.Context, t *tenants.Tenant, userID, token string) (string, error) {
	_, p, err := s.loadTOTP(ctx, t, userID, token)
	return p.URI, err
}

func (s *Service) loadTOTP(ctx context.Context, t *tenants.Tenant, userID, token string) (tenants.Flow, pendingTOTP, error) {
	var p pendingTOTP
	if token == "" {
		return tenants.Flow{}, p, ErrCodeExpired
	}
	f, err := s.Store.Tenant(t.ID).GetFlow(ctx, flow.IDOf(token))
	if err != nil || f.UserID != userID || !s.now().Before(f.ExpiresAt) {
		return f, p, ErrCodeExpired
	}
	if err := json.Unmarshal(f.State, &p); err != nil || p.Kind != "totp" {
		return f, p, ErrCodeExpired
	}
	return f, p, nil
}

// ConfirmTOTP checks a first code from the app and then makes the secret the
// user's (replacing an older one); the user is notified (R14).
func (s *Service) ConfirmTOTP(ctx context.Context, t *tenants.Tenant, userID, token, code string, c flow.Client) error {
	f, p, err := s.loadTOTP(ctx, t, userID, token)
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
