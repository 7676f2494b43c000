package settings

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/tenants"
)

// A pending setup — a contact to verify, a TOTP secret to confirm, a passkey
// ceremony — is a short-lived flow row of the user, keyed by the SHA-256 of
// the token its cookie holds. The row says which kind of setup it is, so a
// token of one kind never opens another.
type pendingEnvelope struct {
	Kind string          `json:"pending"`
	Data json.RawMessage `json:"data"`
}

// The kinds of pending setups.
const (
	pendingContact     = "contact"
	pendingTOTPKind    = "totp"
	pendingPasskeyKind = "passkey"
)

// savePending stores v as the pending setup id (from flow.NewToken) of the
// user until expires.
func (s *Service) savePending(ctx context.Context, t *tenants.Tenant, id, userID, kind string, expires time.Time, v any) error {
	raw, err := encodePending(kind, v)
	if err != nil {
		return err
	}
	if _, err := s.Store.Tenant(t.ID).CreateFlow(ctx, tenants.Flow{ID: id, Action: tenants.ActionEnroll, Channel: tenants.ChannelWeb,
		UserID: userID, State: raw, ExpiresAt: expires}); err != nil {
		return fmt.Errorf("settings: pending %s: %w", kind, err)
	}
	return nil
}

// loadPending decodes the user's unexpired pending setup of kind named by
// token into v; ErrCodeExpired for anything else.
func (s *Service) loadPending(ctx context.Context, t *tenants.Tenant, userID, token, kind string, v any) (tenants.Flow, error) {
	if token == "" {
		return tenants.Flow{}, ErrCodeExpired
	}
	f, err := s.Store.Tenant(t.ID).GetFlow(ctx, flow.IDOf(token))
	if err != nil || f.UserID != userID || f.Action != tenants.ActionEnroll || !s.now().Before(f.ExpiresAt) {
		return f, ErrCodeExpired
	}
	var env pendingEnvelope
	if json.Unmarshal(f.State, &env) != nil || env.Kind != kind || json.Unmarshal(env.Data, v) != nil {
		return f, ErrCodeExpired
	}
	return f, nil
}

// encodePending is the flow State of a pending setup of kind.
func encodePending(kind string, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err == nil {
		var raw []byte
		if raw, err = json.Marshal(pendingEnvelope{Kind: kind, Data: data}); err == nil {
			return raw, nil
		}
	}
	return nil, fmt.Errorf("settings: encode pending %s: %w", kind, err)
}
