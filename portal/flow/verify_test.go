package flow_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/portal/factor/questions"
	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/tenants"
)

// TestCodeIsSingleUseUnderConcurrency_R5: twenty concurrent submissions of
// the right code with the same step token: exactly one succeeds, the others
// get ErrStale, and the verification is audited once.
func TestCodeIsSingleUseUnderConcurrency_R5(t *testing.T) {
	for _, action := range []tenants.Action{tenants.ActionChange, tenants.ActionReset} {
		t.Run(string(action), func(t *testing.T) {
			bc := &barrierCodes{}
			h := newHarness(t, withDeps(func(d *flow.Deps) { bc.Codes = d.Codes; d.Codes = bc }))
			alice(h)
			f := h.start(action, "alice")
			code := f.mailCode(tenants.FactorEmail, "alice@corp.example.com")
			bc.arm(20) // every submission has loaded the flow before any goes on
			var wg sync.WaitGroup
			var mu sync.Mutex
			var ok, stale int
			var others []error
			for range 20 {
				wg.Go(func() {
					_, err := h.eng.SubmitCode(h.ctx, h.ten, f.token, f.v.StepToken, code, f.c)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						ok++
					case errors.Is(err, flow.ErrStale):
						stale++
					default:
						others = append(others, err)
					}
				})
			}
			wg.Wait()
			if ok != 1 || stale != 19 || len(others) > 0 {
				t.Fatalf("R5: %d succeeded, %d stale, other errors %v", ok, stale, others)
			}
			if n := len(h.audits("factor.verified")); n != 1 {
				t.Errorf("R5: %d factor.verified audit events for one verification", n)
			}
			v := f.view()
			if !slices.Equal(v.Verified, []tenants.Factor{tenants.FactorEmail}) {
				t.Errorf("verified = %v", v.Verified)
			}
		})
	}
}

// barrierCodes holds every Check until n of them are waiting (or a second
// passed), so that concurrent submissions really race for the same version.
type barrierCodes struct {
	flow.Codes
	mu      sync.Mutex
	waiting int
	n       int
	release chan struct{}
}

func (b *barrierCodes) arm(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n, b.waiting, b.release = n, 0, make(chan struct{})
}

func (b *barrierCodes) Check(binding, input string, mac []byte) bool {
	b.mu.Lock()
	rel := b.release
	if rel != nil {
		b.waiting++
		if b.waiting == b.n {
			close(rel)
			b.release = nil
		}
	}
	b.mu.Unlock()
	if rel != nil {
		select {
		case <-rel:
		case <-time.After(time.Second):
		}
	}
	return b.Codes.Check(binding, input, mac)
}

// TestCodeExpires_R6: a code is accepted a second before its expiry and
// refused a second after.
func TestCodeExpires_R6(t *testing.T) {
	h := newHarness(t)
	h.account(acct{login: "alice", mail: "alice@corp.example.com"})
	f := h.start(tenants.ActionChange, "alice")
	code := f.mailCode(tenants.FactorEmail, "alice@corp.example.com")
	if !f.v.CodeExpiresAt.Equal(t0.Add(flow.DefaultCodeTTL)) {
		t.Fatalf("code expires at %v", f.v.CodeExpiresAt)
	}
	h.clock.Advance(flow.DefaultCodeTTL - time.Second)
	wantStep(t, f.code(code), flow.StepChangePassword)

	g := h.start(tenants.ActionChange, "alice")
	code = g.mailCode(tenants.FactorEmail, "alice@corp.example.com")
	h.clock.Advance(flow.DefaultCodeTTL + time.Second)
	v := g.code(code)
	if v.Step != flow.StepCode || v.Error != "code.expired" || !v.CodeDead {
		t.Fatalf("R6: expired code: %+v", v)
	}
	if v = g.code(code); v.Step != flow.StepCode || v.Error != "code.dead" {
		t.Fatalf("R6: expired code again: %+v", v)
	}
}

// TestFlowsAreBound_R7: a flow token works only with its tenant, and a code
// works only in the flow it was sent for.
func TestFlowsAreBound_R7(t *testing.T) {
	h := newHarness(t)
	alice(h)
	other := h.tenant("globex", "Globex")
	f := h.start(tenants.ActionReset, "alice")
	if _, err := h.eng.View(h.ctx, other, f.token); !errors.Is(err, flow.ErrNoFlow) {
		t.Fatalf("R7: View with another tenant: %v", err)
	}
	if _, err := h.eng.Choose(h.ctx, other, f.token, f.v.StepToken, tenants.FactorEmail, f.c); !errors.Is(err, flow.ErrNoFlow) {
		t.Fatalf("R7: Choose with another tenant: %v", err)
	}
	code := f.mailCode(tenants.FactorEmail, "alice@corp.example.com")
	for _, action := range []tenants.Action{tenants.ActionReset, tenants.ActionUnlock} {
		g := h.start(action, "alice")
		mine := g.mailCode(tenants.FactorEmail, "alice@corp.example.com")
		for mine == code { // one chance in a million: draw another
			n := h.mail.count()
			g.resend()
			mine = h.codeSince(n, "alice@corp.example.com")
		}
		v := g.code(code)
		if v.Error != "code.wrong" || v.Step != flow.StepCode {
			t.Fatalf("R7: %s flow took the reset flow's code: %+v", action, v)
		}
		wantStep(t, g.code(mine), flow.StepChoose)
	}
	wantStep(t, f.code(code), flow.StepChoose)
	for _, bad := range []string{"", "x", strings.Repeat("%", 43), f.token + "A", IDOfNothing} {
		if _, err := h.eng.View(h.ctx, h.ten, bad); !errors.Is(err, flow.ErrNoFlow) {
			t.Errorf("View(%q): %v", bad, err)
		}
	}
}

// IDOfNothing is well-formed but names no flow.
const IDOfNothing = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// TestFlowExpires_R38: past its TTL a flow is gone.
func TestFlowExpires_R38(t *testing.T) {
	h := newHarness(t)
	f := h.start(tenants.ActionReset, "nobody")
	h.clock.Advance(flow.DefaultFlowTTL)
	if _, err := h.eng.Choose(h.ctx, h.ten, f.token, f.v.StepToken, tenants.FactorEmail, f.c); !errors.Is(err, flow.ErrNoFlow) {
		t.Fatalf("expired flow: %v", err)
	}
}

// TestNoWriteBeforeVerification_R8: Start, wrong codes, wrong answers and a
// complete verification write nothing to the directory; only the final step
// does, once.
func TestNoWriteBeforeVerification_R8(t *testing.T) {
	h := newHarness(t)
	alice(h)
	f := h.start(tenants.ActionReset, "alice")
	h.start(tenants.ActionUnlock, "alice")
	h.start(tenants.ActionReset, "nobody")
	code := f.mailCode(tenants.FactorEmail, "alice@corp.example.com")
	f.code(wrongCode(code))
	f.code(wrongCode(wrongCode(code)))
	f.code(code)
	f.choose(tenants.FactorQuestions)
	f.answer("no", "nope", "never")
	if w := h.dir.writes(); len(w) != 0 {
		t.Fatalf("R8: writes before verification: %+v", w)
	}
	f.answer(answers...)
	wantStep(t, f.v, flow.StepNewPassword)
	if w := h.dir.writes(); len(w) != 0 {
		t.Fatalf("R8: writes before the new password: %+v", w)
	}
	f.newPassword(newPassword)
	if w := h.dir.writes(); len(w) != 1 {
		t.Fatalf("writes: %+v", w)
	}
}

// TestAdminNeedsTwoFactorsWithoutQuestions_R15_R25: with a one-factor rule an
// admin still needs two factors and questions never count for one; until a
// first factor passes the admin's page is a user's (R1); an admin with only
// an email address cannot finish.
func TestAdminNeedsTwoFactorsWithoutQuestions_R15_R25(t *testing.T) {
	h := newHarness(t)
	h.setRule(tenants.ActionReset, 1, tenants.FactorEmail, tenants.FactorSMS, tenants.FactorQuestions)
	h.account(acct{login: "root", mail: "root@corp.example.com", mobile: "+41 79 000 00 01", admin: true, questions: true})
	h.account(acct{login: "mail-only-admin", mail: "moa@corp.example.com", admin: true, questions: true})
	alice(h)

	plain := h.start(tenants.ActionReset, "alice")
	if plain.v.Required != 1 || !slices.Contains(plain.v.Options, tenants.FactorQuestions) {
		t.Fatalf("a user under the rule: required %d options %v", plain.v.Required, plain.v.Options)
	}

	// R1: before a first factor passes, an admin's page is any account's.
	f := h.start(tenants.ActionReset, "root")
	if f.v.Required != plain.v.Required || f.v.Remaining != plain.v.Remaining || !slices.Equal(f.v.Options, plain.v.Options) {
		t.Fatalf("R1: the admin's method page differs: required %d remaining %d options %v, a user's %d %d %v",
			f.v.Required, f.v.Remaining, f.v.Options, plain.v.Required, plain.v.Remaining, plain.v.Options)
	}
	// R25: right answers do not count for an admin; only then is it said.
	wantStep(t, f.choose(tenants.FactorQuestions), flow.StepQuestions)
	v := f.answer(answers...)
	if v.Step != flow.StepChoose || v.Error != "questions.not_for_admins" || len(v.Verified) != 0 ||
		v.Required != 2 || slices.Contains(v.Options, tenants.FactorQuestions) {
		t.Fatalf("R15/R25: admin after right answers: %+v", v)
	}
	if _, err := h.eng.Choose(h.ctx, h.ten, f.token, f.v.StepToken, tenants.FactorQuestions, f.c); !errors.Is(err, flow.ErrInvalidInput) {
		t.Fatalf("R25: admin chose questions again: %v", err)
	}
	v = f.code(f.mailCode(tenants.FactorEmail, "root@corp.example.com"))
	if v.Step != flow.StepChoose || v.Remaining != 1 {
		t.Fatalf("R15: one factor finished an admin: %+v", v)
	}
	v = f.code(f.mailCode(tenants.FactorSMS, "+41790000001"))
	wantStep(t, v, flow.StepNewPassword)

	g := h.start(tenants.ActionReset, "mail-only-admin")
	g.code(g.mailCode(tenants.FactorEmail, "moa@corp.example.com"))
	n := h.mail.count()
	v = g.choose(tenants.FactorSMS)
	if h.mail.count() != n {
		t.Fatal("an SMS went to an admin without a number")
	}
	v = g.code("123456")
	if v.Step != flow.StepCode || v.Error != "code.wrong" {
		t.Fatalf("admin with email only: %+v", v)
	}
	if _, err := h.eng.SubmitNewPassword(h.ctx, h.ten, g.token, g.v.StepToken, newPassword, newPassword, g.c); !errors.Is(err, flow.ErrStale) {
		t.Fatalf("admin with email only reached the new password: %v", err)
	}
}

// TestStepsCannotBeSkippedOrReplayed_R16: the new password right after
// Start, an old step token, and the wrong action's final step are refused.
func TestStepsCannotBeSkippedOrReplayed_R16(t *testing.T) {
	h := newHarness(t)
	alice(h)
	f := h.start(tenants.ActionReset, "alice")
	if _, err := h.eng.SubmitNewPassword(h.ctx, h.ten, f.token, f.v.StepToken, newPassword, newPassword, f.c); !errors.Is(err, flow.ErrStale) {
		t.Fatalf("R16: new password before verification: %v", err)
	}
	old := f.v.StepToken
	code := f.mailCode(tenants.FactorEmail, "alice@corp.example.com")
	if _, err := h.eng.SubmitCode(h.ctx, h.ten, f.token, old, code, f.c); !errors.Is(err, flow.ErrStale) {
		t.Fatalf("R16: old step token: %v", err)
	}
	if _, err := h.eng.Choose(h.ctx, h.ten, f.token, old, tenants.FactorEmail, f.c); !errors.Is(err, flow.ErrStale) {
		t.Fatalf("R16: old step token: %v", err)
	}
	f.code(code)
	f.choose(tenants.FactorQuestions)
	f.answer(answers...)
	wantStep(t, f.v, flow.StepNewPassword)
	if _, err := h.eng.ConfirmUnlock(h.ctx, h.ten, f.token, f.v.StepToken, f.c); !errors.Is(err, flow.ErrStale) {
		t.Fatalf("R16: unlock in a reset flow: %v", err)
	}
	if _, err := h.eng.SubmitChange(h.ctx, h.ten, f.token, f.v.StepToken, "Autumn-Leaves-77!", newPassword, newPassword, f.c); !errors.Is(err, flow.ErrStale) {
		t.Fatalf("R16: change in a reset flow: %v", err)
	}
	if _, err := h.eng.ConfirmReport(h.ctx, h.ten, f.token, f.v.StepToken, f.c); !errors.Is(err, flow.ErrStale) {
		t.Fatalf("R16: report in a reset flow: %v", err)
	}
	if len(h.dir.writes()) != 0 {
		t.Fatal("a refused step reached the directory")
	}
	if v := f.newPassword(newPassword); v.Result != "reset" {
		t.Fatalf("the flow broke: %+v", v)
	}
}

// TestResendReplacesTheCode_R20: after a resend the first code fails.
func TestResendReplacesTheCode_R20(t *testing.T) {
	h := newHarness(t)
	h.account(acct{login: "alice", mail: "alice@corp.example.com"})
	f := h.start(tenants.ActionChange, "alice")
	first := f.mailCode(tenants.FactorEmail, "alice@corp.example.com")
	second := first
	for second == first {
		n := h.mail.count()
		f.resend()
		second = h.codeSince(n, "alice@corp.example.com")
	}
	if v := f.code(first); v.Error != "code.wrong" {
		t.Fatalf("R20: the replaced code: %+v", v)
	}
	wantStep(t, f.code(second), flow.StepChangePassword)
}

// TestQuestionsAloneNeverSuffice_R27: with a one-factor rule, correct
// answers leave one factor to go.
func TestQuestionsAloneNeverSuffice_R27(t *testing.T) {
	h := newHarness(t)
	h.setRule(tenants.ActionReset, 1, tenants.FactorEmail, tenants.FactorSMS, tenants.FactorQuestions)
	alice(h)
	f := h.start(tenants.ActionReset, "alice")
	f.choose(tenants.FactorQuestions)
	v := f.answer(answers...)
	if v.Step != flow.StepChoose || v.Remaining != 1 || !slices.Equal(v.Verified, []tenants.Factor{tenants.FactorQuestions}) {
		t.Fatalf("R27: after questions: %+v", v)
	}
	if !slices.Equal(v.Options, []tenants.Factor{tenants.FactorEmail, tenants.FactorSMS}) {
		t.Fatalf("options %v", v.Options)
	}
	if _, err := h.eng.SubmitNewPassword(h.ctx, h.ten, f.token, v.StepToken, newPassword, newPassword, f.c); !errors.Is(err, flow.ErrStale) {
		t.Fatalf("R27: questions alone reached the new password: %v", err)
	}
	wantStep(t, f.code(f.mailCode(tenants.FactorSMS, "+41791234567")), flow.StepNewPassword)
}

// failOnce is a flow.Answers whose first Hash fails, as under load when the
// request's context ends while waiting for a hashing slot.
type failOnce struct {
	flow.Answers
	mu     sync.Mutex
	failed bool
}

func (a *failOnce) Hash(ctx context.Context, answer string) (string, error) {
	a.mu.Lock()
	first := !a.failed
	a.failed = true
	a.mu.Unlock()
	if first {
		return "", fmt.Errorf("hash: %w", questions.ErrBusy)
	}
	return a.Answers.Hash(ctx, answer)
}

// TestDecoyAnswersSurviveABusyHasher_R1: a hashing failure while preparing
// the decoy hash sheds that request (ErrBusy) and does not break every later
// decoy; afterwards a decoy's answers fail like a real account's wrong ones.
func TestDecoyAnswersSurviveABusyHasher_R1(t *testing.T) {
	h := newHarness(t, withDeps(func(d *flow.Deps) { d.Answers = &failOnce{Answers: d.Answers} }))
	f := h.start(tenants.ActionReset, "nobody")
	f.choose(tenants.FactorQuestions)
	if _, err := h.eng.SubmitAnswers(h.ctx, h.ten, f.token, f.v.StepToken, answers, f.c); !errors.Is(err, flow.ErrBusy) {
		t.Fatalf("first decoy answers with a busy hasher: %v", err)
	}
	for range 2 {
		v, err := h.eng.SubmitAnswers(h.ctx, h.ten, f.token, f.v.StepToken, answers, f.c)
		f.must("decoy answers", v, err)
		if v.Error != "questions.wrong" {
			t.Fatalf("decoy answers: %+v", v)
		}
	}
}

// An answer longer than the form allows is invalid input, for a real
// account and a decoy alike, and is neither hashed nor counted.
func TestOverlongAnswerIsInvalidInput(t *testing.T) {
	h := newHarness(t)
	u := alice(h)
	long := strings.Repeat("x", 60000)
	for _, login := range []string{"alice", "nobody"} {
		f := h.start(tenants.ActionReset, login)
		f.choose(tenants.FactorQuestions)
		if _, err := h.eng.SubmitAnswers(h.ctx, h.ten, f.token, f.v.StepToken, []string{long, "b", "c"}, f.c); !errors.Is(err, flow.ErrInvalidInput) {
			t.Fatalf("%s: overlong answer: %v", login, err)
		}
	}
	if n := h.user(u.ID).FailedVerifications; n != 0 {
		t.Fatalf("an invalid answer counted as %d failures", n)
	}
}
