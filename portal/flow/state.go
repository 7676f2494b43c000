package flow

import (
	"slices"
	"time"

	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/tenants"
)

// Step is where a flow stands: which page the user sees next.
type Step string

// The steps.
const (
	StepCaptcha         Step = "captcha"          // prove you are a person first
	StepCurrentPassword Step = "current_password" // sign-in: the current password
	StepChoose          Step = "choose"           // pick a verification method
	StepCode            Step = "code"             // enter the code sent by email or SMS
	StepQuestions       Step = "questions"        // answer security questions
	StepNewPassword     Step = "new_password"     // reset: choose the new password
	StepChangePassword  Step = "change_password"  // change: current + new password
	StepUnlock          Step = "unlock"           // unlock: confirm (shows the lockout)
	StepDone            Step = "done"             // finished; Result says how
	StepLocked          Step = "locked"           // too many failures: self-service locked
	StepFailed          Step = "failed"           // the flow ended without success
	StepReport          Step = "report"           // "this wasn't me": confirm the report
	StepActing          Step = "acting"           // the directory operation is under way
	StepTOTP            Step = "totp"             // enter the authenticator app's code
	StepPush            Step = "push"             // approve on the phone; the page shows the number
	StepPasskey         Step = "passkey"          // the browser asks the passkey (WebAuthn)
)

// ActionReport is the pseudo-action of a "this wasn't me" link's flow.
const ActionReport tenants.Action = "report"

// state is the JSON kept in tenants.Flow.State. It never holds a password, a
// code or an answer: codes only as HMACs, questions as their text.
type state struct {
	Step Step `json:"step"`
	// Username is what the user typed (trimmed): decoy questions derive from it.
	Username string `json:"username"`
	// GUID addresses the directory account; empty for a decoy.
	GUID        string `json:"guid,omitempty"`
	Domain      string `json:"domain,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	// Decoy: the account cannot be verified (unknown, frozen, locked out of
	// self-service, throttled); the flow looks normal and never succeeds.
	Decoy bool `json:"decoy,omitempty"`
	// Disabled: the directory account is disabled; verification works, the
	// action is refused afterwards with "contact the help desk".
	Disabled bool   `json:"disabled,omitempty"`
	Admin    bool   `json:"admin,omitempty"`
	OrgID    string `json:"org,omitempty"`
	// Required distinct factors from Allowed; Verified so far.
	Required int              `json:"required"`
	Allowed  []tenants.Factor `json:"allowed"`
	Verified []tenants.Factor `json:"verified,omitempty"`
	// Offered and OfferedRequired are, for an admin, what the method page
	// shows until a first factor is verified: the rule as any account of
	// the organisation sees it, so that the page does not tell an admin's
	// username from another (R1). The admin rule (Allowed, Required) counts
	// all along and shows once a factor has passed.
	Offered         []tenants.Factor `json:"offered,omitempty"`
	OfferedRequired int              `json:"offered_required,omitempty"`
	// Captcha: a CAPTCHA must be solved first (Nonce draws its digits).
	CaptchaNeeded bool   `json:"captcha_needed,omitempty"`
	CaptchaNonce  string `json:"captcha_nonce,omitempty"`
	// After is the step the CAPTCHA gate leads to.
	After Step `json:"after,omitempty"`
	// Code is the pending one-time code.
	Code *pendingCode `json:"code,omitempty"`
	// PasskeySession is the pending WebAuthn assertion (its challenge) and
	// PasskeyOptions the options the page hands to the browser.
	PasskeySession []byte `json:"passkey_session,omitempty"`
	PasskeyOptions string `json:"passkey_options,omitempty"`
	// Push is the pending push challenge.
	Push *pendingPush `json:"push,omitempty"`
	// Questions are the questions asked (text).
	Questions []string `json:"questions,omitempty"`
	// Failures counts failed verifications in this flow.
	Failures int `json:"failures,omitempty"`
	// PasswordOK: sign-in's current password was accepted.
	PasswordOK bool `json:"password_ok,omitempty"`
	// Status seen when verification finished (unlock shows it).
	Locked      bool      `json:"locked,omitempty"`
	LockoutEnds time.Time `json:"lockout_ends,omitzero"`
	// DirPolicy is the directory's effective password policy for the
	// account, read when verification finished.
	DirPolicy *protocol.PasswordPolicy `json:"dir_policy,omitempty"`
	// About is, in a report flow, the action the "this wasn't me" link was
	// sent for, as the alert shows it.
	About *Suspect `json:"about,omitempty"`
	// ActingSince is when the directory operation started (StepActing).
	ActingSince time.Time `json:"acting_since,omitzero"`
	// Result is the outcome key of a finished flow ("reset", "unlocked",
	// "not_locked", "changed", "signed_in", "reported", "helpdesk", …).
	Result string `json:"result,omitempty"`
	// Reference is the id shown with an unexpected failure.
	Reference string `json:"reference,omitempty"`
	// Error and Field are the inline error of the last answer (a catalog
	// key) and the form field it belongs to; cleared by the next step.
	Error string `json:"error,omitempty"`
	Field string `json:"field,omitempty"`
	// Rules are the password rules the last new password broke.
	Rules     []string `json:"rules,omitempty"`
	IP        string   `json:"ip,omitempty"`
	UserAgent string   `json:"ua,omitempty"`
	Lang      string   `json:"lang,omitempty"`
}

// pendingPush is a push challenge the browser waits for. CID is empty for
// a decoy (or a user without a device): it never gets approved.
type pendingPush struct {
	CID       string    `json:"cid,omitempty"`
	Number    int       `json:"number"`
	ExpiresAt time.Time `json:"expires_at"`
}

// pendingCode is a code sent by email or SMS: only its HMAC is kept.
type pendingCode struct {
	Factor    tenants.Factor `json:"factor"`
	MAC       []byte         `json:"mac,omitempty"` // nil for a decoy: nothing matches
	Nonce     string         `json:"nonce"`         // part of the binding: a resend makes a new one
	ExpiresAt time.Time      `json:"expires_at"`
	Attempts  int            `json:"attempts,omitempty"`
	Sends     int            `json:"sends"`
	Dead      bool           `json:"dead,omitempty"` // used up or out of attempts
}

func (st *state) verified(f tenants.Factor) bool { return slices.Contains(st.Verified, f) }

// satisfied reports whether enough distinct factors are verified: Required of
// them, and never security questions alone (R27).
func (st *state) satisfied() bool {
	if len(st.Verified) < st.Required {
		return false
	}
	if st.Required == 0 {
		return true
	}
	for _, f := range st.Verified {
		if f != tenants.FactorQuestions {
			return true
		}
	}
	return false
}

// offered is the list and count the method page shows now.
func (st *state) offered() ([]tenants.Factor, int) {
	if st.Offered != nil && len(st.Verified) == 0 {
		return st.Offered, st.OfferedRequired
	}
	return st.Allowed, st.Required
}

// shownRemaining is remaining as the method page shows it (see Offered).
func (st *state) shownRemaining() int {
	if _, req := st.offered(); st.Offered != nil && len(st.Verified) == 0 {
		return max(req, 1)
	}
	return st.remaining()
}

// remaining is how many more factors are needed (at least one more while
// only questions are verified).
func (st *state) remaining() int {
	if st.satisfied() {
		return 0
	}
	return max(st.Required-len(st.Verified), 1)
}

// Suspect is the action a "this wasn't me" report is about: what was done,
// from where and when, as the admins' alert and the user's notice show it.
type Suspect struct {
	Action    tenants.Action `json:"action,omitempty"`
	IP        string         `json:"ip,omitempty"`
	UserAgent string         `json:"ua,omitempty"`
	Browser   string         `json:"browser,omitempty"` // a summary, when the raw header is not known
	Time      time.Time      `json:"time,omitzero"`
}
