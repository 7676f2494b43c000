package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/latchkey/latchkey/portal/factor/passkey"
	"github.com/latchkey/latchkey/tenants"
)

// RPOf is the WebAuthn relying party of a tenant: its configured host (never
// the request's, R35/R38) and the origin its links use.
func RPOf(links tenants.LinkBuilder, t *tenants.Tenant) passkey.RP {
	origin := strings.TrimSuffix(links.URL(t, "/"), "/")
	host := links.Host(t)
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	name := t.Branding.DisplayName
	if name == "" {
		name = t.Name
	}
	return passkey.RP{ID: host, Origin: origin, DisplayName: name}
}

// PasskeyUser is the WebAuthn user of a record: its handle is the record's
// random id (never the username or email), its credentials those stored.
func PasskeyUser(u tenants.User) (passkey.User, error) {
	pu := passkey.User{ID: []byte(u.ID), Name: u.Username, DisplayName: u.DisplayName}
	if pu.DisplayName == "" {
		pu.DisplayName = u.Username
	}
	if len(u.Enrollment.Passkeys) > 0 {
		if err := json.Unmarshal(u.Enrollment.Passkeys, &pu.Credentials); err != nil {
			return pu, fmt.Errorf("flow: stored passkeys: %w", err)
		}
	}
	return pu, nil
}

// storePasskey replaces (or adds) cred among the user's passkeys.
func storePasskey(u *tenants.User, cred passkey.Credential) error {
	pu, err := PasskeyUser(*u)
	if err != nil {
		return err
	}
	found := false
	for i, c := range pu.Credentials {
		if string(c.ID) == string(cred.ID) {
			pu.Credentials[i], found = cred, true
		}
	}
	if !found {
		pu.Credentials = append(pu.Credentials, cred)
	}
	raw, err := json.Marshal(pu.Credentials)
	if err != nil {
		return fmt.Errorf("flow: encode passkeys: %w", err)
	}
	u.Enrollment.Passkeys = raw
	return nil
}

// StorePasskey saves a newly registered credential on the user (settings).
func StorePasskey(u *tenants.User, cred passkey.Credential) error { return storePasskey(u, cred) }

// beginPasskey prepares a WebAuthn assertion. The options are the same for
// every account (a discoverable request, no list of credential ids), so
// they reveal nothing (R1); the answer must come from the flow's user.
func (e *Engine) beginPasskey(t *tenants.Tenant, f tenants.Flow, st *state) error {
	opts, sess, err := e.Passkeys.BeginLogin(RPOf(e.Links, t), nil, true) // user verification is required for every use (R35)
	if err != nil {
		return fmt.Errorf("flow: passkey: %w", err)
	}
	st.PasskeyOptions, st.PasskeySession = string(opts), sess
	return nil
}

// SubmitPasskey checks the browser's WebAuthn assertion (R35): the
// challenge is used once (the flow's session is cleared in the same
// conditional update), the origin and RP ID are the tenant's, user
// verification is required, and the credential must be the flow user's.
// With no user yet (passwordless sign-in) the credential names the user.
func (e *Engine) SubmitPasskey(ctx context.Context, t *tenants.Tenant, token, stepToken, response string, c Client) (View, error) {
	// Padded like identify (R2): a real account's failure writes its
	// failure count, a decoy's does not; the floor hides the difference.
	defer e.pad(ctx, e.Now())
	f, st, err := e.step(ctx, t, token, stepToken, StepPasskey)
	if err != nil {
		return View{}, err
	}
	if e.Passkeys == nil || st.PasskeySession == nil {
		return View{}, ErrStale
	}
	sess := st.PasskeySession
	st.PasskeySession, st.PasskeyOptions = nil, ""
	// Use the challenge up first: a concurrent or replayed answer loses here.
	if f, err = e.save(ctx, f, st); err != nil {
		return View{}, err
	}
	ts := e.Store.Tenant(t.ID)
	lookup := func(handle []byte) (passkey.User, error) {
		u, err := ts.GetUser(ctx, string(handle))
		if err != nil {
			return passkey.User{}, err
		}
		return PasskeyUser(u)
	}
	a, err := e.Passkeys.FinishLogin(RPOf(e.Links, t), lookup, nil, sess, []byte(response))
	ok := err == nil && a.UserVerified && !st.Decoy && (f.UserID == "" || string(a.UserHandle) == f.UserID)
	if errors.Is(err, passkey.ErrCloneWarning) {
		e.audit(ctx, t, c, "system", "passkey.clone_warning", "user:"+string(a.UserHandle), "denied", nil)
	}
	if !ok {
		st.Error, st.Step = "passkey.failed", StepChoose
		if f.UserID == "" { // passwordless: nothing to count against
			st.Step = StepFailed
			return e.saveView(ctx, t, f, st)
		}
		return e.failed(ctx, t, f, st, c, "passkey")
	}
	uid := string(a.UserHandle)
	if _, err := ts.UpdateUser(ctx, uid, func(u *tenants.User) error { return storePasskey(u, a.Credential) }); err != nil {
		return View{}, fmt.Errorf("flow: save passkey use: %w", err)
	}
	if f.UserID == "" {
		// Passwordless sign-in: the passkey (possession + user
		// verification) stands in for the password and the factor.
		f.UserID = uid
		u, err := ts.GetUser(ctx, uid)
		if err != nil {
			return View{}, fmt.Errorf("flow: user: %w", err)
		}
		if !u.FrozenAt.IsZero() {
			st.Step, st.Result = StepFailed, "too_many_failures"
			return e.saveView(ctx, t, f, st)
		}
		st.Username, st.PasswordOK = u.Username, true
	}
	return e.verifiedFactor(ctx, t, f, st, tenants.FactorPasskey, c)
}

// StartPasswordless begins a sign-in with a passkey alone: no username is
// asked; the authenticator's credential names the user.
func (e *Engine) StartPasswordless(ctx context.Context, t *tenants.Tenant, c Client) (string, error) {
	if e.Passkeys == nil {
		return "", ErrDisabled
	}
	st := &state{Step: StepPasskey, IP: c.IP, UserAgent: c.UserAgent, Lang: c.Lang, Required: 1,
		Allowed: []tenants.Factor{tenants.FactorPasskey}}
	token, id, err := e.newToken()
	if err != nil {
		return "", err
	}
	f := tenants.Flow{ID: id, Action: tenants.ActionSignIn, Channel: tenants.ChannelWeb, TenantID: t.ID}
	if err := e.beginPasskey(t, f, st); err != nil {
		return "", err
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return "", fmt.Errorf("flow: encode state: %w", err)
	}
	f.State, f.ExpiresAt = raw, e.Now().Add(e.cfg.FlowTTL)
	if _, err := e.Store.Tenant(t.ID).CreateFlow(ctx, f); err != nil {
		return "", fmt.Errorf("flow: create: %w", err)
	}
	return token, nil
}
