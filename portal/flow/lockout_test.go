package flow_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/tenants"
)

// trace is what a user sees of one wrong answer.
type trace struct {
	Step     flow.Step
	Error    string
	CodeDead bool
	Result   string
}

func traceOf(v flow.View) trace { return trace{v.Step, v.Error, v.CodeDead, v.Result} }

// TestWrongCodesLockSelfService_R21: MaxCodeAttempts wrong codes kill the
// code; the account's failures reaching the tenant's LockoutThreshold lock
// self-service for it; a new flow for it then runs as a decoy; and a decoy
// flow shows the same pages at the same failure counts.
func TestWrongCodesLockSelfService_R21(t *testing.T) {
	h := newHarness(t, withConfig(func(c *flow.Config) { c.MaxCodeAttempts = 3 }))
	h.updateTenant(func(t *tenants.Tenant) {
		t.SelfService.LockoutThreshold, t.SelfService.LockoutDuration = 4, 20*time.Minute
	})
	bob := h.account(acct{login: "bob", mail: "bob@corp.example.com"})

	// run makes wrong answers in a flow for login and returns what it saw.
	run := func(login, to string) []trace {
		f := h.start(tenants.ActionChange, login)
		var out []trace
		code := "000000"
		if to != "" {
			code = f.mailCode(tenants.FactorEmail, to)
		} else {
			f.choose(tenants.FactorEmail)
		}
		for range 3 {
			out = append(out, traceOf(f.code(wrongCode(code))))
		}
		out = append(out, traceOf(f.code(code))) // dead: even the right code fails, uncounted
		f.resend()
		if to != "" {
			if got := h.user(bob.ID).FailedVerifications; got != 3 {
				t.Errorf("failed verifications = %d, want 3", got)
			}
			code = h.codeSince(h.mail.count()-1, to)
		}
		out = append(out, traceOf(f.code(wrongCode(code))))
		return out
	}
	want := []trace{
		{flow.StepCode, "code.wrong", false, ""},
		{flow.StepCode, "code.wrong", false, ""},
		{flow.StepCode, "code.wrong", true, ""},
		{flow.StepCode, "code.dead", true, ""},
		{flow.StepLocked, "", false, ""},
	}
	got := run("bob", "bob@corp.example.com")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("R21: real account\n%+v\nwant\n%+v", got, want)
	}
	u := h.user(bob.ID)
	if !u.SelfServiceLockedUntil.Equal(t0.Add(20 * time.Minute)) {
		t.Fatalf("R21: locked until %v", u.SelfServiceLockedUntil)
	}
	if len(h.audits("selfservice.locked")) != 1 {
		t.Error("lockout not audited")
	}

	// Locked out: a new flow looks normal but sends nothing.
	n := h.mail.count()
	f := h.start(tenants.ActionChange, "bob")
	wantStep(t, f.choose(tenants.FactorEmail), flow.StepCode)
	if h.mail.count() != n {
		t.Fatal("R21: a code went to a locked-out account")
	}

	// A decoy shows the same pages at the same counts.
	if got := run("nobody", ""); !reflect.DeepEqual(got, want) {
		t.Fatalf("R1/R21: decoy\n%+v\nwant\n%+v", got, want)
	}

	// The lockout ends.
	h.clock.Advance(20 * time.Minute)
	g := h.start(tenants.ActionChange, "bob")
	wantStep(t, g.code(g.mailCode(tenants.FactorEmail, "bob@corp.example.com")), flow.StepChangePassword)
}

// TestDecoyFailsLikeARealAccount_R1_R21: with the default lockout threshold
// (above the flow's failure limit) a real account's flow and a decoy end the
// same way after the same number of wrong answers.
func TestDecoyFailsLikeARealAccount_R1_R21(t *testing.T) {
	h := newHarness(t)
	alice(h)
	run := func(login string) []trace {
		f := h.start(tenants.ActionReset, login)
		f.choose(tenants.FactorQuestions)
		var out []trace
		for range flow.DefaultMaxFlowFailures {
			out = append(out, traceOf(f.answer("wrong one", "wrong two", "wrong three")))
		}
		return out
	}
	real, decoy := run("alice"), run("nobody")
	if !reflect.DeepEqual(real, decoy) {
		t.Fatalf("R1: real account\n%+v\ndecoy\n%+v", real, decoy)
	}
	if last := real[len(real)-1]; last.Step != flow.StepFailed {
		t.Fatalf("after %d failures: %+v", flow.DefaultMaxFlowFailures, last)
	}
}

// TestLockoutAcrossFlowsLooksLikeADecoy_R1_R21: failures add up across an
// account's flows, so its lockout can come in the middle of a flow, where an
// unknown account (every flow new) could never be. The page then goes on as
// a decoy's would, even the right answers fail, and the owner is told by
// email instead of the page.
func TestLockoutAcrossFlowsLooksLikeADecoy_R1_R21(t *testing.T) {
	h := newHarness(t)
	h.updateTenant(func(t *tenants.Tenant) {
		t.SelfService.LockoutThreshold, t.SelfService.LockoutDuration = 4, 20*time.Minute
	})
	u := alice(h)
	wrong := []string{"wrong one", "wrong two", "wrong three"}
	run := func(login string) []trace {
		var out []trace
		f := h.start(tenants.ActionReset, login)
		f.choose(tenants.FactorQuestions)
		for range 2 {
			out = append(out, traceOf(f.answer(wrong...)))
		}
		g := h.start(tenants.ActionReset, login)
		g.choose(tenants.FactorQuestions)
		for range 2 {
			out = append(out, traceOf(g.answer(wrong...)))
		}
		// alice is locked now; her right answers fail like a decoy's.
		out = append(out, traceOf(g.answer(answers...)))
		return out
	}
	mails := h.mail.count()
	real := run("alice")
	if decoy := run("nobody"); !reflect.DeepEqual(real, decoy) {
		t.Fatalf("R1: real account\n%+v\ndecoy\n%+v", real, decoy)
	}
	for _, tr := range real {
		if tr.Step != flow.StepQuestions || tr.Error != "questions.wrong" {
			t.Fatalf("R1: a page told the lockout apart: %+v", real)
		}
	}
	if got := h.user(u.ID).SelfServiceLockedUntil; !got.Equal(t0.Add(20 * time.Minute)) {
		t.Fatalf("R21: locked until %v, want the threshold to have locked alice", got)
	}
	if got := h.mail.kind("selfservice_locked", "alice@corp.example.com"); len(got) != 1 || h.mail.count()-mails != 1 {
		t.Fatalf("R21: lockout notices %+v (%d messages in all), want one to alice", got, h.mail.count()-mails)
	}
	// Locked, alice is still asked her own questions (other ones would tell
	// the lockout), and her right answers still fail.
	f := h.start(tenants.ActionReset, "alice")
	if v := f.choose(tenants.FactorQuestions); !slices.Equal(v.Questions, flow.DefaultQuestionList[:3]) {
		t.Fatalf("R1: locked alice is asked %q, want her own questions", v.Questions)
	}
	if v := f.answer(answers...); v.Error != "questions.wrong" {
		t.Fatalf("R21: locked alice's right answers: %+v", v)
	}
}
