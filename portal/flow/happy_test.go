package flow_test

import (
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/tenants"
)

// alice has a mail, a mobile and security questions.
func alice(h *harness) tenants.User {
	return h.account(acct{login: "alice", mail: "alice@corp.example.com", mobile: "+41 79 123 45 67", questions: true})
}

// verifyEmailAndQuestions takes a reset or unlock flow of alice through the
// email code and her questions.
func verifyEmailAndQuestions(t *testing.T, f *fl) {
	t.Helper()
	code := f.mailCode(tenants.FactorEmail, "alice@corp.example.com")
	wantStep(t, f.v, flow.StepCode)
	v := f.code(code)
	wantStep(t, v, flow.StepChoose)
	if v.Remaining != 1 || !slices.Equal(v.Verified, []tenants.Factor{tenants.FactorEmail}) {
		t.Fatalf("after the email code: remaining %d, verified %v", v.Remaining, v.Verified)
	}
	v = f.choose(tenants.FactorQuestions)
	wantStep(t, v, flow.StepQuestions)
	if !slices.Equal(v.Questions, flow.DefaultQuestionList[:3]) {
		t.Fatalf("questions = %q, want alice's", v.Questions)
	}
	f.answer(answers...)
}

// TestResetHappyPath_R13_R14: a reset with an email code and questions sets
// the password once (with unlock), ends the user's sessions, and tells the
// user on the channel they did not verify with.
func TestResetHappyPath_R13_R14(t *testing.T) {
	h := newHarness(t)
	u := alice(h)
	sess := h.session(u.ID)
	f := h.start(tenants.ActionReset, "alice")
	wantStep(t, f.v, flow.StepChoose)
	if f.v.Required != 2 || !slices.Equal(f.v.Options, []tenants.Factor{tenants.FactorEmail, tenants.FactorSMS, tenants.FactorQuestions}) {
		t.Fatalf("required %d, options %v", f.v.Required, f.v.Options)
	}
	if f.v.DisplayName != "" {
		t.Errorf("display name %q shown before verification", f.v.DisplayName)
	}
	verifyEmailAndQuestions(t, f)
	wantStep(t, f.v, flow.StepNewPassword)
	if f.v.DisplayName != "Alice Example" || f.v.DirectoryPolicy == nil || f.v.DirectoryPolicy.History != 24 {
		t.Errorf("after verification: display name %q, directory policy %+v", f.v.DisplayName, f.v.DirectoryPolicy)
	}
	if h.sessionRevoked(sess) {
		t.Fatal("session revoked before the reset")
	}
	before := h.mail.count()
	v := f.newPassword(newPassword)
	wantStep(t, v, flow.StepDone)
	if v.Result != "reset" {
		t.Fatalf("result %q, want reset", v.Result)
	}
	resets := h.dir.writes()
	if len(resets) != 1 || resets[0].Op != protocol.OpReset || !resets[0].Unlock || resets[0].Status != "done" {
		t.Fatalf("directory writes = %+v, want one reset with unlock", resets)
	}
	if got := h.dir.get("alice").Password; got != newPassword {
		t.Fatalf("directory password %q", got)
	}
	if !h.sessionRevoked(sess) {
		t.Error("R13: session not revoked after the reset")
	}
	// R14: verified by email, so the notice goes by SMS.
	after := h.mail.since(before)
	if len(after) != 1 || after[0].Kind != "reset_done" || after[0].Channel != tenants.MessageSMS || after[0].To != "+41791234567" {
		t.Fatalf("R14: notifications = %+v, want one reset_done by SMS", after)
	}
	if after[0].ReportURL == "" {
		t.Error("reset_done has no report link")
	}
	for _, m := range h.mail.all() {
		if (m.Kind == "email_code" || m.Kind == "sms_code") != (m.Code != "") {
			t.Errorf("message %s carries code %q", m.Kind, m.Code)
		}
	}
	if len(h.audits("password.reset")) != 1 {
		t.Error("reset not audited once")
	}
	// A replay of the last form changes nothing.
	if _, err := h.eng.SubmitNewPassword(h.ctx, h.ten, f.token, f.v.StepToken, newPassword+"x", newPassword+"x", f.c); err == nil {
		t.Error("replayed new password accepted")
	}
	if len(h.dir.writes()) != 1 {
		t.Error("replay reached the directory")
	}
}

// TestResetNotifiesUsedChannelWithoutOther_R14: a user with email only is
// told on it.
func TestResetNotifiesUsedChannelWithoutOther_R14(t *testing.T) {
	h := newHarness(t)
	h.account(acct{login: "alice", mail: "alice@corp.example.com", questions: true})
	f := h.start(tenants.ActionReset, "alice")
	verifyEmailAndQuestions(t, f)
	n := h.mail.count()
	f.newPassword(newPassword)
	got := h.mail.since(n)
	if len(got) != 1 || got[0].Kind != "reset_done" || got[0].To != "alice@corp.example.com" {
		t.Fatalf("notifications = %+v", got)
	}
}

// TestResetPasswordRules_R11: the organisation's policy and the directory's
// refusals come back as rules; the flow stays at the new-password step.
func TestResetPasswordRules_R11(t *testing.T) {
	h := newHarness(t)
	alice(h)
	f := h.start(tenants.ActionReset, "alice")
	verifyEmailAndQuestions(t, f)
	v, err := h.eng.SubmitNewPassword(h.ctx, h.ten, f.token, f.v.StepToken, newPassword, newPassword+"!", f.c)
	f.must("mismatch", v, err)
	if v.Error != "password.mismatch" || v.Step != flow.StepNewPassword {
		t.Fatalf("mismatch: %+v", v)
	}
	v = f.newPassword("short")
	if v.Error != "password.rules" || !slices.Contains(v.Rules, tenants.PasswordTooShort) {
		t.Fatalf("short: error %q rules %v", v.Error, v.Rules)
	}
	v = f.newPassword("Alice-Example-2030")
	if v.Error != "password.rules" || !slices.Contains(v.Rules, tenants.PasswordContextWord) {
		t.Fatalf("context word: error %q rules %v", v.Error, v.Rules)
	}
	if len(h.dir.writes()) != 0 {
		t.Fatal("a refused password reached the directory")
	}
	v = f.newPassword("Autumn-Leaves-77!")
	if v.Step != flow.StepNewPassword || v.Error != "password.directory" || !slices.Equal(v.Rules, []string{"dir_in_history"}) {
		t.Fatalf("in history: %+v", v)
	}
	v = f.newPassword(newPassword)
	if v.Result != "reset" {
		t.Fatalf("result %q", v.Result)
	}
}

// TestUnlockHappyPath_R8: unlock with SMS and email after a lockout shows the
// lockout before confirming and then unlocks.
func TestUnlockHappyPath_R8(t *testing.T) {
	h := newHarness(t)
	u := h.account(acct{login: "alice", mail: "alice@corp.example.com", mobile: "+41 79 123 45 67", locked: true})
	sess := h.session(u.ID)
	f := h.start(tenants.ActionUnlock, "alice")
	if f.v.Locked || !f.v.LockoutEnds.IsZero() {
		t.Fatal("R8: lockout shown before verification")
	}
	code := f.mailCode(tenants.FactorSMS, "+41791234567")
	if f.v.Factor != tenants.FactorSMS {
		t.Fatalf("factor %q", f.v.Factor)
	}
	f.code(code)
	code = f.mailCode(tenants.FactorEmail, "alice@corp.example.com")
	v := f.code(code)
	wantStep(t, v, flow.StepUnlock)
	if !v.Locked || !v.LockoutEnds.Equal(t0.Add(25*time.Minute)) {
		t.Fatalf("unlock page: locked %v until %v", v.Locked, v.LockoutEnds)
	}
	if len(h.dir.writes()) != 0 {
		t.Fatal("R8: write before confirming")
	}
	v = f.unlock()
	if v.Step != flow.StepDone || v.Result != "unlocked" {
		t.Fatalf("result %q at %q", v.Result, v.Step)
	}
	if w := h.dir.writes(); len(w) != 1 || w[0].Op != protocol.OpUnlock {
		t.Fatalf("writes %+v", w)
	}
	if h.dir.get("alice").Locked {
		t.Error("still locked")
	}
	if h.sessionRevoked(sess) {
		t.Error("unlock ended the user's sessions")
	}
	if len(h.mail.kind("unlock_done", "")) != 1 {
		t.Error("no unlock_done notice")
	}
}

// TestUnlockNotLocked: an account that is not locked ends at "not_locked"
// without a directory write.
func TestUnlockNotLocked(t *testing.T) {
	h := newHarness(t)
	h.account(acct{login: "alice", mail: "alice@corp.example.com", mobile: "+41 79 123 45 67"})
	f := h.start(tenants.ActionUnlock, "alice")
	f.code(f.mailCode(tenants.FactorSMS, "+41791234567"))
	v := f.code(f.mailCode(tenants.FactorEmail, "alice@corp.example.com"))
	if v.Step != flow.StepDone || v.Result != "not_locked" {
		t.Fatalf("result %q at %q", v.Result, v.Step)
	}
	if len(h.dir.writes()) != 0 {
		t.Fatal("wrote to the directory")
	}
}

// TestChangeHappyPath_R13: change needs DefaultPolicy's one factor (email);
// a wrong current password is a counted failure, the right one changes it.
func TestChangeHappyPath_R13(t *testing.T) {
	h := newHarness(t)
	u := h.account(acct{login: "alice", mail: "alice@corp.example.com", mobile: "+41 79 123 45 67"})
	sess := h.session(u.ID)
	f := h.start(tenants.ActionChange, "alice")
	if f.v.Required != 1 || !slices.Equal(f.v.Options, []tenants.Factor{tenants.FactorEmail}) {
		t.Fatalf("change: required %d options %v", f.v.Required, f.v.Options)
	}
	v := f.code(f.mailCode(tenants.FactorEmail, "alice@corp.example.com"))
	wantStep(t, v, flow.StepChangePassword)
	v = f.change("Not-The-Password-1", newPassword)
	if v.Step != flow.StepChangePassword || v.Error != "password.current_wrong" || v.Field != "current_password" {
		t.Fatalf("wrong current password: %+v", v)
	}
	if got := h.user(u.ID).FailedVerifications; got != 1 {
		t.Fatalf("failed verifications = %d, want 1", got)
	}
	v = f.change("Autumn-Leaves-77!", newPassword)
	if v.Step != flow.StepDone || v.Result != "changed" {
		t.Fatalf("result %q at %q (%s)", v.Result, v.Step, v.Error)
	}
	if h.dir.get("alice").Password != newPassword {
		t.Fatal("password not changed")
	}
	if !h.sessionRevoked(sess) {
		t.Error("R13: session not revoked after the change")
	}
	if len(h.mail.kind("change_done", "+41791234567")) != 1 {
		t.Error("R14: change_done not sent by SMS")
	}
}

// TestSignIn: the current password, then a factor, signs in.
func TestSignIn(t *testing.T) {
	h := newHarness(t)
	u := h.account(acct{login: "alice", mail: "alice@corp.example.com"})
	f := h.start(tenants.ActionSignIn, "alice")
	wantStep(t, f.v, flow.StepCurrentPassword)
	v := f.currentPassword("wrong-password")
	if v.Step != flow.StepCurrentPassword || v.Error != "signin.invalid" {
		t.Fatalf("wrong password: %+v", v)
	}
	v = f.currentPassword("Autumn-Leaves-77!")
	wantStep(t, v, flow.StepChoose)
	if v.UserID != "" {
		t.Fatal("user id before the second factor")
	}
	v = f.code(f.mailCode(tenants.FactorEmail, "alice@corp.example.com"))
	if v.Step != flow.StepDone || v.Result != "signed_in" || v.UserID != u.ID {
		t.Fatalf("sign-in: %+v", v)
	}
	if len(h.dir.writes()) != 0 {
		t.Fatal("sign-in wrote to the directory")
	}
}

// TestSignInMustChange: a correct password that must be changed ends the
// sign-in at "must_change" without a session.
func TestSignInMustChange(t *testing.T) {
	h := newHarness(t)
	h.account(acct{login: "alice", mail: "alice@corp.example.com", mustChange: true})
	f := h.start(tenants.ActionSignIn, "alice")
	v := f.currentPassword("Autumn-Leaves-77!")
	if v.Step != flow.StepDone || v.Result != "must_change" || v.UserID != "" {
		t.Fatalf("must change: %+v", v)
	}
}

// TestAutomaticEnrollment: the first flow creates the enrollment record from
// the directory's mail and mobile.
func TestAutomaticEnrollment(t *testing.T) {
	h := newHarness(t)
	h.account(acct{login: "carol", mail: "carol@corp.example.com", mobile: "+49 151 2345678", noRecord: true})
	f := h.start(tenants.ActionReset, "carol")
	u := h.userByLogin("carol")
	if u.Email != "carol@corp.example.com" || !u.EmailVerified || u.Phone != "+491512345678" || !u.PhoneVerified ||
		u.OrganisationID != h.ten.DefaultOrganisationID {
		t.Fatalf("enrolled user %+v", u)
	}
	f.mailCode(tenants.FactorEmail, "carol@corp.example.com")
}
