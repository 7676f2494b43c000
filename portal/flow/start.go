package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// Supported are the factors this engine can verify, in the order they are
// offered (strongest first). Push and TOTP need Deps.Pusher and Deps.TOTP.
var Supported = []tenants.Factor{tenants.FactorPasskey, tenants.FactorPush, tenants.FactorTOTP, tenants.FactorEmail, tenants.FactorSMS, tenants.FactorQuestions}

// supports reports whether this engine is configured to verify f.
func (e *Engine) supports(f tenants.Factor) bool {
	switch f {
	case tenants.FactorPush:
		return e.Pusher != nil
	case tenants.FactorTOTP:
		return e.TOTP != nil
	case tenants.FactorPasskey:
		return e.Passkeys != nil
	case tenants.FactorEmail, tenants.FactorSMS, tenants.FactorQuestions:
		return true
	}
	return false
}

// Startable reports whether a flow may be started for the action from the
// portal's deep links.
func Startable(a tenants.Action) bool {
	switch a {
	case tenants.ActionReset, tenants.ActionUnlock, tenants.ActionChange, tenants.ActionSignIn, tenants.ActionEnroll:
		return true
	}
	return false
}

// NormalizeUsername trims the username a user typed and checks it is
// plausible; the error is the same for every account (it depends on the
// input alone).
func NormalizeUsername(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 256 || !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		return "", ErrInvalidInput
	}
	return s, nil
}

// Start begins a flow for action and returns the token the browser keeps (in
// a cookie). It answers the same for every account state (R1): a token and
// nil, or ErrInvalidInput for a malformed username, or ErrUnavailable when
// the directory cannot be reached at all — both independent of the account.
// The response is padded to the engine's floor (R2).
func (e *Engine) Start(ctx context.Context, t *tenants.Tenant, action tenants.Action, ch tenants.Channel, username string, c Client) (string, error) {
	started := e.Now()
	defer e.pad(ctx, started)
	if !Startable(action) {
		return "", ErrInvalidInput
	}
	username, err := NormalizeUsername(username)
	if err != nil {
		return "", err
	}
	ts := e.Store.Tenant(t.ID)
	now := e.Now()

	// Throttles (R3): a burst from one IP first needs a CAPTCHA, then runs
	// as decoys; a tenant-wide burst needs a CAPTCHA. Keys are per tenant
	// (the counters table is tenant-scoped, R42).
	ipStarts, err := ts.Hit(ctx, "start:ip:"+c.IP, 10*time.Minute, now, 1)
	if err != nil {
		return "", fmt.Errorf("flow: count starts: %w", err)
	}
	tenantStarts, err := ts.Hit(ctx, "start:tenant", time.Minute, now, 1)
	if err != nil {
		return "", fmt.Errorf("flow: count starts: %w", err)
	}
	ipFails, err := ts.Count(ctx, "fail:ip:"+c.IP, time.Hour, now)
	if err != nil {
		return "", fmt.Errorf("flow: count failures: %w", err)
	}
	captcha := needCaptcha(t, ipStarts > int64(e.cfg.CaptchaAfterIP) || tenantStarts > int64(e.cfg.TenantStartsPerMinute) || ipFails >= 3)

	acc, found, err := e.lookup(ctx, t, username)
	if err != nil {
		return "", err
	}
	st := &state{Username: username, IP: c.IP, UserAgent: c.UserAgent, Lang: c.Lang}
	var user tenants.User
	var org tenants.Organisation
	if found {
		user, org, err = e.enrol(ctx, t, acc)
		if err != nil {
			return "", err
		}
		st.GUID, st.Domain, st.DisplayName, st.Admin, st.OrgID = acc.GUID, domainOf(acc.UPN), acc.DisplayName, user.IsAdmin, org.ID
		if !user.FrozenAt.IsZero() || now.Before(user.SelfServiceLockedUntil) {
			st.Decoy = true // looks the same; codes are never sent
		}
	} else {
		st.Decoy = true
		org, _ = e.defaultOrg(ctx, t)
		st.OrgID = org.ID
	}
	if ipStarts > int64(e.cfg.DecoyAfterIP) {
		st.Decoy = true
	}
	rule, enabled := Rule(t, org, action, tenants.ChannelWeb)
	if ch != "" {
		rule, enabled = Rule(t, org, action, ch)
	}
	if !enabled {
		return "", ErrDisabled
	}
	st.Allowed, st.Required = e.allowed(t, rule, st.Admin)
	if st.Admin {
		st.Offered, st.OfferedRequired = e.allowed(t, rule, false)
	}

	switch action {
	case tenants.ActionSignIn, tenants.ActionEnroll:
		st.Step = StepCurrentPassword
	default:
		st.Step = StepChoose
		if st.Required == 0 {
			st.Step = finalStep(action)
		}
	}
	if captcha {
		st.CaptchaNeeded, st.After, st.Step = true, st.Step, StepCaptcha
		if st.CaptchaNonce, err = e.nonce(); err != nil {
			return "", err
		}
	}

	token, id, err := e.newToken()
	if err != nil {
		return "", err
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return "", fmt.Errorf("flow: encode state: %w", err)
	}
	if _, err := ts.CreateFlow(ctx, tenants.Flow{ID: id, Action: action, Channel: ch, UserID: user.ID, State: raw,
		ExpiresAt: now.Add(e.cfg.FlowTTL)}); err != nil {
		return "", fmt.Errorf("flow: create: %w", err)
	}
	target := "username:" + username
	if user.ID != "" {
		target = "user:" + user.ID
	}
	e.audit(ctx, t, c, "anonymous", "flow."+string(action)+".start", target, "started", map[string]string{"flow": id[:12]})
	return token, nil
}

// needCaptcha applies the tenant's CAPTCHA setting to the suspicion signal.
func needCaptcha(t *tenants.Tenant, suspicious bool) bool {
	switch t.SelfService.Captcha {
	case "off":
		return false
	case "always":
		return true
	}
	return suspicious
}

// finalStep is the step that acts, once verification is complete.
func finalStep(a tenants.Action) Step {
	switch a {
	case tenants.ActionReset:
		return StepNewPassword
	case tenants.ActionUnlock:
		return StepUnlock
	case tenants.ActionChange:
		return StepChangePassword
	}
	return StepDone
}

func domainOf(upn string) string {
	if i := strings.LastIndexByte(upn, '@'); i >= 0 {
		return strings.ToLower(upn[i+1:])
	}
	return ""
}

// lookup finds the account through a connector. found is false for an
// unknown (or ambiguous) login; ErrUnavailable when no connector answers.
func (e *Engine) lookup(ctx context.Context, t *tenants.Tenant, username string) (protocol.Account, bool, error) {
	out := e.Dispatcher.Execute(ctx, string(t.ID), hub.Request{Op: protocol.OpLookup, Login: username})
	switch out.Status {
	case hub.Done:
		var acc protocol.Account
		if err := json.Unmarshal(out.Data, &acc); err != nil || acc.GUID == "" {
			e.Logger.ErrorContext(ctx, "lookup answer unreadable", "cmd", out.CommandID, "err", err)
			return protocol.Account{}, false, ErrUnavailable
		}
		return acc, true, nil
	case hub.DirectoryError:
		if out.Code == "NotFound" || out.Code == "Ambiguous" {
			return protocol.Account{}, false, nil
		}
	case hub.Refused:
		if out.Reason == protocol.RefuseScope || out.Reason == protocol.RefuseProtected {
			return protocol.Account{}, false, nil // outside self-service: treated as unknown
		}
	}
	e.Logger.WarnContext(ctx, "lookup failed", "outcome", out.String())
	return protocol.Account{}, false, ErrUnavailable
}

// enrol finds or creates the user's enrollment record for a directory
// account, refreshing what the directory says (automatic enrollment of mail
// and mobile) and the organisation.
func (e *Engine) enrol(ctx context.Context, t *tenants.Tenant, acc protocol.Account) (tenants.User, tenants.Organisation, error) {
	ts := e.Store.Tenant(t.ID)
	orgs, err := ts.ListOrganisations(ctx)
	if err != nil {
		return tenants.User{}, tenants.Organisation{}, fmt.Errorf("flow: organisations: %w", err)
	}
	org, _ := tenants.MatchOrganisation(orgs, t.DefaultOrganisationID, tenants.DirectoryUser{DN: acc.DN, UPN: acc.UPN, Groups: acc.Groups})
	apply := func(u *tenants.User) {
		u.DirectoryGUID, u.Username, u.UPN, u.DisplayName = acc.GUID, acc.Username, acc.UPN, acc.DisplayName
		if org.ID != "" {
			u.OrganisationID = org.ID
		}
		if acc.Mail != "" && (u.Email == "" || u.Enrollment.EmailFromDirectory) {
			u.Email, u.EmailVerified, u.Enrollment.EmailFromDirectory = acc.Mail, true, true
		}
		if acc.Mobile != "" && e.Phone != nil && (u.Phone == "" || u.Enrollment.PhoneFromDirectory) {
			if e164, _, err := e.Phone(acc.Mobile); err == nil {
				u.Phone, u.PhoneVerified, u.Enrollment.PhoneFromDirectory = e164, true, true
			}
		}
	}
	u, err := ts.GetUserByDirectoryGUID(ctx, acc.GUID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		nu := tenants.User{}
		apply(&nu)
		u, err = ts.CreateUser(ctx, nu)
		if errors.Is(err, store.ErrAlreadyExists) { // a concurrent first flow, or a renamed account
			u, err = ts.GetUserByDirectoryGUID(ctx, acc.GUID)
		}
		if err != nil {
			return tenants.User{}, org, fmt.Errorf("flow: create user: %w", err)
		}
		return u, org, nil
	case err != nil:
		return tenants.User{}, org, fmt.Errorf("flow: user: %w", err)
	}
	probe := u
	apply(&probe)
	if probe.Username == u.Username && probe.DisplayName == u.DisplayName && probe.UPN == u.UPN && probe.OrganisationID == u.OrganisationID &&
		probe.Email == u.Email && probe.Phone == u.Phone {
		return u, org, nil
	}
	u, err = ts.UpdateUser(ctx, u.ID, func(u *tenants.User) error { apply(u); return nil })
	if err != nil {
		return tenants.User{}, org, fmt.Errorf("flow: update user: %w", err)
	}
	return u, org, nil
}

func (e *Engine) defaultOrg(ctx context.Context, t *tenants.Tenant) (tenants.Organisation, error) {
	if t.DefaultOrganisationID == "" {
		return tenants.Organisation{}, nil
	}
	return e.Store.Tenant(t.ID).GetOrganisation(ctx, t.DefaultOrganisationID)
}

// Rule is the factor rule of action on channel for a user of org, and
// whether the action is enabled.
func Rule(t *tenants.Tenant, org tenants.Organisation, action tenants.Action, ch tenants.Channel) (tenants.ChannelRule, bool) {
	pol := tenants.Effective(t.Policy, org.Policy)
	ap := pol.Actions[action]
	if ap == nil {
		ap = tenants.DefaultPolicy().Actions[action]
	}
	if ap == nil || (ap.Enabled != nil && !*ap.Enabled) {
		return tenants.ChannelRule{}, false
	}
	r := ap.Channels[ch]
	if r == nil {
		r = ap.Channels[tenants.ChannelWeb]
	}
	if r == nil {
		return tenants.ChannelRule{Required: 1}, true
	}
	out := tenants.ChannelRule{Allowed: slices.Clone(r.Allowed), Required: r.Required}
	if pol.SMSEnabled != nil && !*pol.SMSEnabled {
		out.Allowed = slices.DeleteFunc(out.Allowed, func(f tenants.Factor) bool { return f == tenants.FactorSMS })
	}
	if pol.EmailEnabled != nil && !*pol.EmailEnabled {
		out.Allowed = slices.DeleteFunc(out.Allowed, func(f tenants.Factor) bool { return f == tenants.FactorEmail })
	}
	return out, true
}

// allowed narrows a rule to the factors this engine supports and applies the
// admin rule: two factors at least, never security questions (R15, R25).
func (e *Engine) allowed(t *tenants.Tenant, r tenants.ChannelRule, admin bool) ([]tenants.Factor, int) {
	var out []tenants.Factor
	for _, f := range Supported {
		if !slices.Contains(r.Allowed, f) || !e.supports(f) {
			continue
		}
		if f == tenants.FactorQuestions && admin {
			continue
		}
		out = append(out, f)
	}
	req := max(r.Required, 0)
	if admin {
		req = max(req, 2)
	}
	return out, req
}
