package flow

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/latchkey/latchkey/tenants"
)

// StartFromDevice begins an unlock or reset from the authenticator app (the
// mobile channel, Nervepoint's "mobile interface"): the request was signed
// by the user's enrolled device, so the device counts as one verified
// factor (push), and the mobile channel's policy decides how many more are
// needed. The app then drives the same steps as the browser (Choose,
// SubmitCode, SubmitNewPassword, ConfirmUnlock) with the returned token.
// An admin still needs two factors, so the device is never enough alone for
// one (a push alone never resets an admin).
func (e *Engine) StartFromDevice(ctx context.Context, t *tenants.Tenant, action tenants.Action, userID string, c Client) (string, View, error) {
	if action != tenants.ActionReset && action != tenants.ActionUnlock {
		return "", View{}, ErrInvalidInput
	}
	ts := e.Store.Tenant(t.ID)
	u, err := ts.GetUser(ctx, userID)
	if err != nil {
		return "", View{}, fmt.Errorf("flow: user: %w", err)
	}
	now := e.Now()
	if !u.FrozenAt.IsZero() || now.Before(u.SelfServiceLockedUntil) {
		return "", View{}, ErrDisabled
	}
	if u.DirectoryGUID == "" {
		return "", View{}, ErrInvalidInput
	}
	var org tenants.Organisation
	if u.OrganisationID != "" {
		org, _ = ts.GetOrganisation(ctx, u.OrganisationID)
	}
	rule, enabled := Rule(t, org, action, tenants.ChannelMobile)
	if !enabled {
		return "", View{}, ErrDisabled
	}
	st := &state{Username: u.Username, GUID: u.DirectoryGUID, Domain: domainOf(u.UPN), DisplayName: u.DisplayName, Admin: u.IsAdmin,
		OrgID: org.ID, IP: c.IP, UserAgent: c.UserAgent, Lang: c.Lang, Verified: []tenants.Factor{tenants.FactorPush}}
	st.Allowed, st.Required = e.allowed(t, rule, u.IsAdmin)
	if !slices.Contains(st.Allowed, tenants.FactorPush) {
		st.Allowed = append([]tenants.Factor{tenants.FactorPush}, st.Allowed...)
	}
	st.Required = max(st.Required, 1)
	token, id, err := e.newToken()
	if err != nil {
		return "", View{}, err
	}
	st.Step = StepChoose
	f := tenants.Flow{ID: id, TenantID: t.ID, Action: action, Channel: tenants.ChannelMobile, UserID: u.ID, ExpiresAt: now.Add(e.cfg.FlowTTL)}
	raw, err := json.Marshal(st)
	if err != nil {
		return "", View{}, fmt.Errorf("flow: encode state: %w", err)
	}
	f.State = raw
	if f, err = ts.CreateFlow(ctx, f); err != nil {
		return "", View{}, fmt.Errorf("flow: create: %w", err)
	}
	e.audit(ctx, t, c, "user:"+u.ID, "flow."+string(action)+".start", "user:"+u.ID, "started", map[string]string{"flow": id[:12], "channel": "mobile"})
	if st.satisfied() {
		v, err := e.complete(ctx, t, f, st, c)
		return token, v, err
	}
	return token, e.view(ctx, t, f, st), nil
}
