package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/tenants"
)

// View is what the page of a flow's current step shows.
type View struct {
	Step      Step
	Action    tenants.Action
	StepToken string // the hidden field every form of this page carries
	// Options are the factors the user may pick now; Verified are done.
	Options   []tenants.Factor
	Verified  []tenants.Factor
	Required  int
	Remaining int
	// Factor and CodeExpiresAt describe the pending code (StepCode).
	Factor        tenants.Factor
	CodeExpiresAt time.Time
	CodeDead      bool
	Questions     []string
	// PushNumber is the number to type on the phone (StepPush) and
	// PushExpiresAt when the wait ends.
	PushNumber    int
	PushExpiresAt time.Time
	// PasskeyOptions is the WebAuthn request for the page's script (JSON).
	PasskeyOptions string
	// Error is the catalog key of an inline error and Field its form field;
	// Rules the password rules a new password broke (tenants.Password… and
	// directory refusals such as "in_history", "too_young").
	Error, Field string
	Rules        []string
	// Result is how a finished flow ended (StepDone, StepFailed).
	Result    string
	Reference string
	// Locked and LockoutEnds are the directory lockout (unlock).
	Locked      bool
	LockoutEnds time.Time
	// DisplayName is shown only once verification passed.
	DisplayName string
	// UserID is set when a sign-in finished: the handler starts the session.
	UserID string
	// PasswordPolicy is the organisation's policy, DirectoryPolicy the
	// directory's effective policy for the account (when it could be read).
	PasswordPolicy  tenants.PasswordPolicy
	DirectoryPolicy *protocol.PasswordPolicy
	ExpiresAt       time.Time
}

// View returns the current page of the flow of token.
func (e *Engine) View(ctx context.Context, t *tenants.Tenant, token string) (View, error) {
	f, st, err := e.load(ctx, t, token)
	if err != nil {
		return View{}, err
	}
	if st.Step == StepActing {
		since := st.ActingSince
		if since.IsZero() { // saved by a node that did not record it yet
			since = f.UpdatedAt
		}
		if !e.Now().Before(since.Add(ActingLimit)) {
			return e.abandon(ctx, t, token, f, st)
		}
	}
	return e.view(ctx, t, f, st), nil
}

// settleLate records the outcome of a directory operation whose flow was
// abandoned while it ran: "could not confirm" becomes what happened.
func (e *Engine) settleLate(ctx context.Context, t *tenants.Tenant, token, result string) (View, error) {
	for range 3 {
		f, st, err := e.load(ctx, t, token)
		if err != nil {
			return View{}, err
		}
		if st.Step != StepDone || st.Result != "unconfirmed" {
			return e.view(ctx, t, f, st), nil
		}
		st.Result, st.Reference = result, ""
		v, err := e.saveView(ctx, t, f, st)
		if !errors.Is(err, ErrStale) {
			return v, err
		}
	}
	return View{}, ErrStale
}

// ActingLimit is how long a flow may stay in StepActing. The dispatcher
// answers within a command's lifetime (at most protocol.MaxCommandTTL) plus
// a grace, so a flow still acting after this was left behind by a node that
// died or lost its database mid-operation.
const ActingLimit = protocol.MaxCommandTTL + 30*time.Second

// abandon settles a flow left in StepActing: whether the directory write ran
// is not known here, so the user is told exactly that (as for an unknown
// outcome) instead of a page that waits forever; the audit says so too. If
// the operation's own answer wins the race, that is what the user sees.
func (e *Engine) abandon(ctx context.Context, t *tenants.Tenant, token string, f tenants.Flow, st *state) (View, error) {
	ref, err := e.nonce()
	if err != nil {
		return View{}, err
	}
	st.Step, st.Result, st.Reference = StepDone, "unconfirmed", ref[:12]
	v, err := e.saveView(ctx, t, f, st)
	if errors.Is(err, ErrStale) {
		if f, st, err = e.load(ctx, t, token); err != nil {
			return View{}, err
		}
		return e.view(ctx, t, f, st), nil
	}
	if err != nil {
		return View{}, err
	}
	e.audit(ctx, t, Client{IP: st.IP, UserAgent: st.UserAgent}, "user:"+f.UserID, actAction(f.Action), "user:"+f.UserID, "failure",
		map[string]string{"flow": f.ID[:12], "outcome": "abandoned"})
	return v, nil
}

// actAction is the audit action of the directory operation of a flow.
func actAction(a tenants.Action) string {
	if a == tenants.ActionUnlock {
		return "account.unlock"
	}
	return "password." + string(a)
}

func (e *Engine) saveView(ctx context.Context, t *tenants.Tenant, f tenants.Flow, st *state) (View, error) {
	nf, err := e.save(ctx, f, st)
	if err != nil {
		return View{}, err
	}
	return e.view(ctx, t, nf, st), nil
}

func (e *Engine) view(ctx context.Context, t *tenants.Tenant, f tenants.Flow, st *state) View {
	offered, required := st.offered()
	v := View{Step: st.Step, Action: f.Action, StepToken: e.stepToken(f), Verified: slices.Clone(st.Verified),
		Required: required, Remaining: st.shownRemaining(), Questions: st.Questions, Error: st.Error, Field: st.Field,
		Rules: st.Rules, Result: st.Result, Reference: st.Reference, Locked: st.Locked, LockoutEnds: st.LockoutEnds,
		ExpiresAt: f.ExpiresAt, DirectoryPolicy: st.DirPolicy}
	for _, fa := range offered {
		if !st.verified(fa) {
			v.Options = append(v.Options, fa)
		}
	}
	if st.Code != nil {
		v.Factor, v.CodeExpiresAt, v.CodeDead = st.Code.Factor, st.Code.ExpiresAt, st.Code.Dead
	}
	if st.Push != nil {
		v.PushNumber, v.PushExpiresAt = st.Push.Number, st.Push.ExpiresAt
	}
	v.PasskeyOptions = st.PasskeyOptions
	if st.satisfied() && !st.Decoy {
		v.DisplayName = st.DisplayName
	}
	if st.Step == StepDone && st.Result == "signed_in" {
		v.UserID = f.UserID
	}
	v.PasswordPolicy = e.passwordPolicy(ctx, t, st)
	return v
}

// passwordPolicy is the effective password policy of the flow's organisation.
func (e *Engine) passwordPolicy(ctx context.Context, t *tenants.Tenant, st *state) tenants.PasswordPolicy {
	var org tenants.Organisation
	if st.OrgID != "" {
		org, _ = e.Store.Tenant(t.ID).GetOrganisation(ctx, st.OrgID)
	}
	p := tenants.Effective(t.Policy, org.Policy).Password
	if p == nil {
		p = tenants.DefaultPolicy().Password
	}
	return *p
}

// complete runs when verification is complete: sign-in ends here; the other
// actions read the account's status (now that it may be shown, R8) and the
// directory's policy, then move to their final step.
func (e *Engine) complete(ctx context.Context, t *tenants.Tenant, f tenants.Flow, st *state, c Client) (View, error) {
	if st.Decoy { // cannot happen: decoys never verify; fail safe
		st.Step, st.Result = StepFailed, "too_many_failures"
		return e.saveView(ctx, t, f, st)
	}
	e.resetFailures(ctx, t, f.UserID)
	switch f.Action {
	case tenants.ActionSignIn, tenants.ActionEnroll:
		if !st.PasswordOK {
			st.Step = StepCurrentPassword
			return e.saveView(ctx, t, f, st)
		}
		st.Step, st.Result = StepDone, "signed_in"
		e.audit(ctx, t, c, "user:"+f.UserID, "signin", "user:"+f.UserID, "success", nil)
		return e.saveView(ctx, t, f, st)
	}
	out := e.Dispatcher.Execute(ctx, string(t.ID), hub.Request{Op: protocol.OpReadStatus, Target: st.GUID, Domain: st.Domain})
	if out.Status == hub.Done {
		var s protocol.AccountStatus
		if err := json.Unmarshal(out.Data, &s); err == nil {
			if s.Disabled {
				st.Step, st.Result = StepDone, "helpdesk"
				e.audit(ctx, t, c, "user:"+f.UserID, "flow."+string(f.Action), "user:"+f.UserID, "denied", map[string]string{"reason": "disabled"})
				return e.saveView(ctx, t, f, st)
			}
			st.Locked, st.LockoutEnds = s.Locked, s.LockoutEnds
		}
	}
	if f.Action == tenants.ActionUnlock && out.Status == hub.Done && !st.Locked {
		st.Step, st.Result = StepDone, "not_locked"
		return e.saveView(ctx, t, f, st)
	}
	if f.Action == tenants.ActionReset || f.Action == tenants.ActionChange {
		pol := e.Dispatcher.Execute(ctx, string(t.ID), hub.Request{Op: protocol.OpReadPolicy, Target: st.GUID, Domain: st.Domain})
		if pol.Status == hub.Done {
			var p protocol.PasswordPolicy
			if json.Unmarshal(pol.Data, &p) == nil {
				st.DirPolicy = &p
			}
		}
	}
	st.Step = finalStep(f.Action)
	return e.saveView(ctx, t, f, st)
}

func (e *Engine) resetFailures(ctx context.Context, t *tenants.Tenant, userID string) {
	if userID == "" {
		return
	}
	ts := e.Store.Tenant(t.ID)
	u, err := ts.GetUser(ctx, userID)
	if err != nil || u.FailedVerifications == 0 {
		return
	}
	if _, err := ts.UpdateUser(ctx, userID, func(u *tenants.User) error { u.FailedVerifications = 0; return nil }); err != nil {
		e.Logger.WarnContext(ctx, "reset failure count", "err", err)
	}
}

// checkNewPassword applies the organisation's policy before anything goes to
// the directory (R11, R12). It returns false with st.Error set when the
// password is refused.
func (e *Engine) checkNewPassword(ctx context.Context, t *tenants.Tenant, st *state, pw, confirm string) bool {
	if pw == "" {
		st.Error, st.Field = "password.required", "new_password"
		return false
	}
	if pw != confirm {
		st.Error, st.Field = "password.mismatch", "confirm_password"
		return false
	}
	words := []string{st.Username, st.DisplayName, t.Name}
	if vs := e.passwordPolicy(ctx, t, st).Check(pw, words); len(vs) > 0 {
		st.Error, st.Field = "password.rules", "new_password"
		for _, v := range vs {
			st.Rules = append(st.Rules, v.Code)
		}
		return false
	}
	return true
}

// SubmitNewPassword sets the new password of a verified reset (which also
// unlocks the account).
func (e *Engine) SubmitNewPassword(ctx context.Context, t *tenants.Tenant, token, stepToken, pw, confirm string, c Client) (View, error) {
	f, st, err := e.step(ctx, t, token, stepToken, StepNewPassword)
	if err != nil {
		return View{}, err
	}
	if !st.satisfied() || st.Decoy {
		return View{}, ErrStale
	}
	if !e.checkNewPassword(ctx, t, st, pw, confirm) {
		return e.saveView(ctx, t, f, st)
	}
	return e.act(ctx, t, token, f, st, c, hub.Request{Op: protocol.OpReset, Target: st.GUID, Domain: st.Domain, Password: []byte(pw), Unlock: true})
}

// SubmitChange changes the password of a verified change flow: the current
// password travels with the new one, and the directory checks it (it works for
// expired and must-change passwords too, where a bind would fail).
func (e *Engine) SubmitChange(ctx context.Context, t *tenants.Tenant, token, stepToken, old, pw, confirm string, c Client) (View, error) {
	f, st, err := e.step(ctx, t, token, stepToken, StepChangePassword)
	if err != nil {
		return View{}, err
	}
	if !st.satisfied() || st.Decoy {
		return View{}, ErrStale
	}
	if old == "" {
		st.Error, st.Field = "password.current_required", "current_password"
		return e.saveView(ctx, t, f, st)
	}
	if !e.checkNewPassword(ctx, t, st, pw, confirm) {
		return e.saveView(ctx, t, f, st)
	}
	return e.act(ctx, t, token, f, st, c, hub.Request{Op: protocol.OpChange, Target: st.GUID, Domain: st.Domain, Password: []byte(pw), OldPassword: []byte(old)})
}

// ConfirmUnlock unlocks the verified account.
func (e *Engine) ConfirmUnlock(ctx context.Context, t *tenants.Tenant, token, stepToken string, c Client) (View, error) {
	f, st, err := e.step(ctx, t, token, stepToken, StepUnlock)
	if err != nil {
		return View{}, err
	}
	if !st.satisfied() || st.Decoy {
		return View{}, ErrStale
	}
	return e.act(ctx, t, token, f, st, c, hub.Request{Op: protocol.OpUnlock, Target: st.GUID, Domain: st.Domain})
}

// directoryRule maps a directory refusal code to the rule shown to the user.
var directoryRule = map[string]string{
	"TooShort":            "dir_too_short",
	"NotComplex":          "dir_not_complex",
	"InHistory":           "dir_in_history",
	"TooYoung":            "dir_too_young",
	"PasswordRestriction": "dir_restriction",
}

// act runs the directory operation once: the flow moves to StepActing in one
// conditional update first, so a concurrent or replayed submission cannot
// run it twice; then it records the one definite outcome.
func (e *Engine) act(ctx context.Context, t *tenants.Tenant, token string, f tenants.Flow, st *state, c Client, req hub.Request) (View, error) {
	back := st.Step
	st.Step, st.ActingSince = StepActing, e.Now()
	// The flow outlives the operation and its settling: an expiry (and the
	// retention sweep) must not take the row from under the answer.
	if keep := st.ActingSince.Add(2 * ActingLimit); f.ExpiresAt.Before(keep) {
		f.ExpiresAt = keep
	}
	nf, err := e.save(ctx, f, st)
	if err != nil {
		protocol.Zero(req.Password)
		protocol.Zero(req.OldPassword)
		return View{}, err
	}
	f = nf
	out := e.Dispatcher.Execute(ctx, string(t.ID), req)
	detail := map[string]string{"flow": f.ID[:12], "outcome": string(out.Status), "cmd": out.CommandID}
	if out.Code != "" {
		detail["code"] = out.Code
	}
	action := actAction(f.Action)
	actor, target := "user:"+f.UserID, "user:"+f.UserID
	switch {
	case out.Status == hub.Done:
		st.Result = map[tenants.Action]string{tenants.ActionReset: "reset", tenants.ActionChange: "changed", tenants.ActionUnlock: "unlocked"}[f.Action]
		st.Step = StepDone
		e.audit(ctx, t, c, actor, action, target, "success", detail)
		v, err := e.saveView(ctx, t, f, st)
		// The directory changed whatever the flow row says: the sessions
		// end and the user is told even when the save lost (R13, R14).
		e.afterAct(ctx, t, f, st, c)
		if errors.Is(err, ErrStale) {
			// Abandoned meanwhile (see abandon): now the outcome is known.
			return e.settleLate(ctx, t, token, st.Result)
		}
		return v, err
	case out.Status == hub.DirectoryError && directoryRule[out.Code] != "":
		st.Step, st.Error, st.Field, st.Rules = back, "password.directory", "new_password", []string{directoryRule[out.Code]}
	case out.Status == hub.DirectoryError && out.Code == "WrongPassword":
		st.Step = back
		st.Error, st.Field = "password.current_wrong", "current_password"
		e.audit(ctx, t, c, actor, action, target, "failure", detail)
		return e.failed(ctx, t, f, st, c, "current_password")
	case out.Status == hub.Offline || out.Status == hub.TimedOut || (out.Status == hub.DirectoryError && out.Code == "Unavailable"):
		// Definite: nothing ran. The user may try again.
		st.Step, st.Error = back, "directory.unavailable"
	case out.Status == hub.Refused || (out.Status == hub.DirectoryError && (out.Code == "AccessDenied" || out.Code == "Disabled" || out.Code == "AccountExpired")):
		st.Step, st.Result = StepDone, "helpdesk"
	case out.Status == hub.Unknown:
		ref, _ := e.nonce()
		st.Step, st.Result, st.Reference = StepDone, "unconfirmed", ref[:12]
	default:
		ref, _ := e.nonce()
		st.Step, st.Error, st.Reference = back, "directory.error", ref[:12]
	}
	e.audit(ctx, t, c, actor, action, target, "failure", detail)
	return e.saveView(ctx, t, f, st)
}

// afterAct notifies the user on another channel than the ones just used
// where possible (R14), with a "this wasn't me" link, and ends the user's
// sessions after a reset or change (R13).
func (e *Engine) afterAct(ctx context.Context, t *tenants.Tenant, f tenants.Flow, st *state, c Client) {
	ts := e.Store.Tenant(t.ID)
	if f.Action != tenants.ActionUnlock {
		if _, err := ts.RevokeUserSessions(ctx, f.UserID, "", e.Now()); err != nil {
			e.Logger.ErrorContext(ctx, "end sessions after reset", "err", err)
		}
	}
	kind := map[tenants.Action]string{tenants.ActionReset: "reset_done", tenants.ActionChange: "change_done", tenants.ActionUnlock: "unlock_done"}[f.Action]
	e.NotifyUser(ctx, t, f.UserID, kind, st.Verified, c)
}

// NotifyUser sends a notification of kind to the user on the channels not in
// used (falling back to the used ones when the user has no other), with a
// fresh "this wasn't me" link. Failures are logged: the action is done.
func (e *Engine) NotifyUser(ctx context.Context, t *tenants.Tenant, userID, kind string, used []tenants.Factor, c Client) {
	u, err := e.Store.Tenant(t.ID).GetUser(ctx, userID)
	if err != nil {
		e.Logger.ErrorContext(ctx, "notify: user", "err", err)
		return
	}
	now := e.Now()
	report, err := e.newReport(ctx, t, u.ID, Suspect{Action: kindAction[kind], IP: c.IP, UserAgent: c.UserAgent, Time: now})
	if err != nil {
		e.Logger.ErrorContext(ctx, "notify: report link", "err", err)
	}
	type dest struct {
		f  tenants.Factor
		ch tenants.MessageChannel
		to string
	}
	var all []dest
	if u.Email != "" && u.EmailVerified {
		all = append(all, dest{tenants.FactorEmail, tenants.MessageEmail, u.Email})
	}
	if u.Phone != "" && u.PhoneVerified {
		all = append(all, dest{tenants.FactorSMS, tenants.MessageSMS, u.Phone})
	}
	var pick []dest
	for _, d := range all {
		if !slices.Contains(used, d.f) {
			pick = append(pick, d)
		}
	}
	if len(pick) == 0 && len(all) > 0 {
		pick = all[:1]
	}
	for _, d := range pick {
		m := Message{Channel: d.ch, To: d.to, Kind: kind, Lang: c.Lang, Username: u.Username, DisplayName: u.DisplayName,
			IP: c.IP, UserAgent: c.UserAgent, Time: now}
		if report != "" {
			m.ReportURL = e.Links.URL(t, "/report/"+report)
		}
		if err := e.Messenger.Send(ctx, t, m); err != nil {
			e.Logger.ErrorContext(ctx, "notify: queue", "kind", kind, "err", err)
		}
	}
}

// kindAction is the action a notification kind tells of ("" when it is not
// one of the directory actions).
var kindAction = map[string]tenants.Action{"reset_done": tenants.ActionReset, "change_done": tenants.ActionChange,
	"unlock_done": tenants.ActionUnlock}

// newReport creates the flow behind a "this wasn't me" link about s and
// returns its token. Opening the link changes nothing (a mail scanner may
// open it); only confirming the page does.
func (e *Engine) newReport(ctx context.Context, t *tenants.Tenant, userID string, s Suspect) (string, error) {
	token, id, err := e.newToken()
	if err != nil {
		return "", err
	}
	raw, _ := json.Marshal(&state{Step: StepReport, About: &s})
	_, err = e.Store.Tenant(t.ID).CreateFlow(ctx, tenants.Flow{ID: id, Action: ActionReport, Channel: tenants.ChannelWeb, UserID: userID,
		State: raw, ExpiresAt: e.Now().Add(reportTTL)})
	if err != nil {
		return "", fmt.Errorf("flow: report link: %w", err)
	}
	return token, nil
}

// CheckReportLink reports whether token is a live "this wasn't me" flow of
// tenant t (ErrNoFlow otherwise). It reads only: the link's page may be
// opened by anyone (a mail scanner, or a victim sent someone else's link).
func (e *Engine) CheckReportLink(ctx context.Context, t *tenants.Tenant, token string) error {
	f, _, err := e.load(ctx, t, token)
	if err != nil {
		return err
	}
	if f.Action != ActionReport {
		return ErrNoFlow
	}
	return nil
}

// ConfirmReport handles "this wasn't me": it freezes self-service for the
// account, ends its sessions, alerts the tenant's admins and the user, and
// audits it. Self-service stays frozen until an admin lifts it.
func (e *Engine) ConfirmReport(ctx context.Context, t *tenants.Tenant, token, stepToken string, c Client) (View, error) {
	f, st, err := e.step(ctx, t, token, stepToken, StepReport)
	if err != nil {
		return View{}, err
	}
	if f.Action != ActionReport || f.UserID == "" {
		return View{}, ErrStale
	}
	now := e.Now()
	ts := e.Store.Tenant(t.ID)
	u, err := ts.UpdateUser(ctx, f.UserID, func(u *tenants.User) error {
		if u.FrozenAt.IsZero() {
			u.FrozenAt = now
		}
		return nil
	})
	if err != nil {
		return View{}, fmt.Errorf("flow: freeze: %w", err)
	}
	if _, err := ts.RevokeUserSessions(ctx, u.ID, "", now); err != nil {
		return View{}, fmt.Errorf("flow: end sessions: %w", err)
	}
	st.Step, st.Result = StepDone, "reported"
	v, err := e.saveView(ctx, t, f, st)
	if err != nil {
		return v, err
	}
	about := Suspect{}
	if st.About != nil {
		about = *st.About
	}
	e.reported(ctx, t, u, c, "link", about)
	return v, nil
}

// Reported finishes a "this wasn't me" report made elsewhere (a push denied
// as "report" on the phone: the account is frozen already) about the action
// s: it ends the user's sessions, alerts the tenant's admins and the user,
// and audits.
func (e *Engine) Reported(ctx context.Context, t *tenants.Tenant, userID string, s Suspect) {
	ts := e.Store.Tenant(t.ID)
	u, err := ts.GetUser(ctx, userID)
	if err != nil {
		e.Logger.ErrorContext(ctx, "report: user", "err", err)
		return
	}
	if _, err := ts.RevokeUserSessions(ctx, u.ID, "", e.Now()); err != nil {
		e.Logger.ErrorContext(ctx, "report: end sessions", "err", err)
	}
	e.reported(ctx, t, u, Client{Lang: u.Locale}, "push", s)
}

// reported audits a report by the client c (the one who reported) and tells
// the admins and the user about the suspect action s.
func (e *Engine) reported(ctx context.Context, t *tenants.Tenant, u tenants.User, c Client, via string, s Suspect) {
	detail := map[string]string{"via": via}
	if s.Action != "" {
		detail["action"] = string(s.Action)
	}
	if s.IP != "" {
		detail["suspect_ip"] = s.IP
	}
	e.audit(ctx, t, c, "user:"+u.ID, "selfservice.frozen", "user:"+u.ID, "reported", detail)
	m := Message{Action: s.Action, Username: u.Username, DisplayName: u.DisplayName, IP: s.IP, UserAgent: s.UserAgent,
		Browser: s.Browser, Time: s.Time}
	if m.Time.IsZero() {
		m.Time = e.Now()
	}
	e.alertAdmins(ctx, t, u, m)
	if u.Email != "" {
		m.Channel, m.To, m.Kind, m.Lang = tenants.MessageEmail, u.Email, "frozen", c.Lang
		_ = e.Messenger.Send(ctx, t, m)
	}
}

// alertAdmins emails every admin of the tenant the report m is about.
func (e *Engine) alertAdmins(ctx context.Context, t *tenants.Tenant, u tenants.User, m Message) {
	admins, err := Admins(ctx, e.Store.Tenant(t.ID), u.ID)
	if err != nil {
		e.Logger.ErrorContext(ctx, "alert admins: list users", "err", err)
		return
	}
	for _, a := range admins {
		m.Channel, m.To, m.Kind, m.Lang = tenants.MessageEmail, a.Email, "report_alert", a.Locale
		if err := e.Messenger.Send(ctx, t, m); err != nil {
			e.Logger.ErrorContext(ctx, "alert admins: queue", "err", err)
		}
	}
}

// UserLister pages through a tenant's users (store.TenantStore).
type UserLister interface {
	ListUsers(ctx context.Context, after string, limit int) ([]tenants.User, error)
}

// Admins returns the tenant's admins that have an email address, except the
// user except (the one an alert is about).
func Admins(ctx context.Context, ts UserLister, except string) ([]tenants.User, error) {
	var out []tenants.User
	after := ""
	for {
		page, err := ts.ListUsers(ctx, after, 200)
		if err != nil {
			return out, fmt.Errorf("flow: list admins: %w", err)
		}
		for _, a := range page {
			if a.IsAdmin && a.Email != "" && a.ID != except {
				out = append(out, a)
			}
		}
		if len(page) < 200 {
			return out, nil
		}
		after = page[len(page)-1].Username
	}
}
