package flow_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/tenants"
)

// TestEveryAccountStateLooksTheSame_R1: Start and Choose(email) answer the
// same — same error values, same Views but for the step token — for an
// existing, unknown, disabled, locked, unenrolled, frozen and self-service
// locked account; only the existing-and-reachable ones get a code.
func TestEveryAccountStateLooksTheSame_R1(t *testing.T) {
	h := newHarness(t)
	h.account(acct{login: "alice", mail: "alice@corp.example.com"})
	h.account(acct{login: "dave", mail: "dave@corp.example.com", disabled: true})
	h.account(acct{login: "erin", mail: "erin@corp.example.com", locked: true})
	h.account(acct{login: "frank", noRecord: true}) // no mail, no mobile
	frozen := h.account(acct{login: "gina", mail: "gina@corp.example.com"})
	sslocked := h.account(acct{login: "hank", mail: "hank@corp.example.com"})
	h.account(acct{login: "ivan", mail: "ivan@corp.example.com", admin: true}) // the admin rule shows only after a factor
	ts := h.store.Tenant(h.ten.ID)
	if _, err := ts.UpdateUser(h.ctx, frozen.ID, func(u *tenants.User) error { u.FrozenAt = t0.Add(-time.Hour); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.UpdateUser(h.ctx, sslocked.ID, func(u *tenants.User) error {
		u.SelfServiceLockedUntil = t0.Add(time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	type result struct {
		startErr, chooseErr error
		start, chosen       flow.View
		sent                int
	}
	run := func(login string) result {
		var r result
		n := h.mail.count()
		c := h.client()
		tok, err := h.eng.Start(h.ctx, h.ten, tenants.ActionReset, tenants.ChannelWeb, login, c)
		r.startErr = err
		if err != nil {
			return r
		}
		if r.start, err = h.eng.View(h.ctx, h.ten, tok); err != nil {
			t.Fatalf("View %s: %v", login, err)
		}
		r.chosen, r.chooseErr = h.eng.Choose(h.ctx, h.ten, tok, r.start.StepToken, tenants.FactorEmail, c)
		r.sent = h.mail.count() - n
		r.start, r.chosen = masked(r.start), masked(r.chosen)
		return r
	}
	want := run("alice")
	if want.startErr != nil || want.chooseErr != nil || want.sent != 1 {
		t.Fatalf("existing account: %+v", want)
	}
	for _, c := range []struct {
		login string
		sent  int
	}{{"nobody", 0}, {"dave", 1}, {"erin", 1}, {"frank", 0}, {"gina", 0}, {"hank", 0}, {"ivan", 1}} {
		got := run(c.login)
		if !errors.Is(got.startErr, want.startErr) || !errors.Is(got.chooseErr, want.chooseErr) {
			t.Errorf("%s: errors %v/%v, want %v/%v", c.login, got.startErr, got.chooseErr, want.startErr, want.chooseErr)
		}
		if !reflect.DeepEqual(got.start, want.start) {
			t.Errorf("%s: start view\n%+v\nwant\n%+v", c.login, got.start, want.start)
		}
		if !reflect.DeepEqual(got.chosen, want.chosen) {
			t.Errorf("%s: code view\n%+v\nwant\n%+v", c.login, got.chosen, want.chosen)
		}
		if got.sent != c.sent {
			t.Errorf("%s: %d messages queued, want %d", c.login, got.sent, c.sent)
		}
	}
}

// TestQuestionsLookTheSame_R1: an unknown account is asked questions from
// the tenant's list, the same on every attempt, and every answer fails like
// a wrong one.
func TestQuestionsLookTheSame_R1(t *testing.T) {
	h := newHarness(t)
	alice(h)
	ask := func(login string) *fl {
		f := h.start(tenants.ActionReset, login)
		v := f.choose(tenants.FactorQuestions)
		wantStep(t, v, flow.StepQuestions)
		return f
	}
	a, b := ask("nobody"), ask("NOBODY")
	if len(a.v.Questions) != 3 || !slices.Equal(a.v.Questions, b.v.Questions) {
		t.Fatalf("decoy questions %q then %q", a.v.Questions, b.v.Questions)
	}
	// Aliases ask the same, as a real account's aliases do.
	for _, alias := range []string{"nobody@corp.example.com", "Nobody@other.example", `CORP\nobody`} {
		if got := ask(alias).v.Questions; !slices.Equal(got, a.v.Questions) {
			t.Errorf("decoy questions for %q: %q, want %q", alias, got, a.v.Questions)
		}
	}
	for _, q := range a.v.Questions {
		if !slices.Contains(flow.DefaultQuestionList, q) {
			t.Fatalf("decoy question %q not from the tenant's list", q)
		}
	}
	real := ask("alice")
	wrong := real.answer("wrong one", "wrong two", "wrong three")
	decoy := a.answer(answers...)
	if wrong.Error != "questions.wrong" || !reflect.DeepEqual(stripQuestions(masked(wrong)), stripQuestions(masked(decoy))) {
		t.Fatalf("wrong answers\n%+v\ndecoy\n%+v", wrong, decoy)
	}
}

func stripQuestions(v flow.View) flow.View { v.Questions = nil; return v }

// TestResponseFloor_R2: Start asks Deps.Sleep for the floor minus the time it
// took, plus jitter below Jitter, for every account state and bad input alike.
func TestResponseFloor_R2(t *testing.T) {
	var h *harness
	var slept []time.Duration
	const floor, jitter, took = 300 * time.Millisecond, 40 * time.Millisecond, 120 * time.Millisecond
	h = newHarness(t,
		withConfig(func(c *flow.Config) { c.MinDelay, c.Jitter = floor, jitter }),
		withDeps(func(d *flow.Deps) {
			d.Sleep = func(_ context.Context, d time.Duration) { slept = append(slept, d) }
		}))
	h.dir.onLookup = func() { h.clock.Advance(took) }
	h.account(acct{login: "alice", mail: "alice@corp.example.com"})
	for _, login := range []string{"alice", "nobody", "alice", "nobody", "alice", "nobody"} {
		slept = nil
		if _, err := h.eng.Start(h.ctx, h.ten, tenants.ActionReset, tenants.ChannelWeb, login, h.client()); err != nil {
			t.Fatal(err)
		}
		if len(slept) != 1 {
			t.Fatalf("%s: Sleep called %d times", login, len(slept))
		}
		if d := slept[0]; d < floor-took || d >= floor-took+jitter {
			t.Errorf("%s: slept %v, want [%v, %v)", login, d, floor-took, floor-took+jitter)
		}
	}
	slept = nil
	if _, err := h.eng.Start(h.ctx, h.ten, tenants.ActionReset, tenants.ChannelWeb, "  ", h.client()); !errors.Is(err, flow.ErrInvalidInput) {
		t.Fatalf("blank username: %v", err)
	}
	if len(slept) != 1 || slept[0] < floor || slept[0] >= floor+jitter {
		t.Errorf("blank username: slept %v", slept)
	}
}

// TestSendLimitLooksLikeASend_R3: the (MaxSends+1)th code for one account
// queues nothing and the page is the same as for a code that was sent.
func TestSendLimitLooksLikeASend_R3(t *testing.T) {
	h := newHarness(t)
	h.account(acct{login: "alice", mail: "alice@corp.example.com"})
	f := h.start(tenants.ActionReset, "alice")
	n := h.mail.count()
	f.choose(tenants.FactorEmail)
	var last flow.View
	for range flow.DefaultMaxSends - 1 {
		last = f.resend()
	}
	if got := h.mail.count() - n; got != flow.DefaultMaxSends {
		t.Fatalf("%d codes queued, want %d", got, flow.DefaultMaxSends)
	}
	over := f.resend()
	if got := h.mail.count() - n; got != flow.DefaultMaxSends {
		t.Fatalf("R3: the send over the limit queued a message (%d)", got)
	}
	if !reflect.DeepEqual(masked(over), masked(last)) {
		t.Fatalf("R3: view over the limit\n%+v\nwant\n%+v", over, last)
	}
	// Another flow for the account is limited too.
	g := h.start(tenants.ActionReset, "alice")
	g.choose(tenants.FactorEmail)
	if got := h.mail.count() - n; got != flow.DefaultMaxSends {
		t.Fatal("R3: a new flow escaped the account's send limit")
	}
	if len(h.audits("code.throttled")) != 2 {
		t.Error("throttled sends not audited")
	}
}

// TestIPThrottleNeedsCaptcha_R3: after CaptchaAfterIP starts from one IP the
// next flow starts with a CAPTCHA; the right digits move on, wrong ones draw
// new digits.
func TestIPThrottleNeedsCaptcha_R3(t *testing.T) {
	h := newHarness(t, withConfig(func(c *flow.Config) { c.CaptchaAfterIP = 3 }))
	h.account(acct{login: "alice", mail: "alice@corp.example.com"})
	c := h.client()
	start := func() *fl {
		tok, err := h.eng.Start(h.ctx, h.ten, tenants.ActionReset, tenants.ChannelWeb, "alice", c)
		if err != nil {
			t.Fatal(err)
		}
		f := &fl{h: h, token: tok, c: c}
		f.v = f.view()
		return f
	}
	for range 3 {
		wantStep(t, start().v, flow.StepChoose)
	}
	f := start()
	wantStep(t, f.v, flow.StepCaptcha)
	if _, err := h.eng.Choose(h.ctx, h.ten, f.token, f.v.StepToken, tenants.FactorEmail, c); !errors.Is(err, flow.ErrStale) {
		t.Fatalf("choose before the CAPTCHA: %v", err)
	}
	digits, err := h.eng.CaptchaDigits(h.ctx, h.ten, f.token)
	if err != nil || len(digits) != 6 {
		t.Fatalf("CaptchaDigits = %q, %v", digits, err)
	}
	v, err := h.eng.SubmitCaptcha(h.ctx, h.ten, f.token, f.v.StepToken, wrongCode(digits), c)
	f.must("wrong captcha", v, err)
	if v.Step != flow.StepCaptcha || v.Error != "captcha.wrong" {
		t.Fatalf("wrong captcha: %+v", v)
	}
	again, err := h.eng.CaptchaDigits(h.ctx, h.ten, f.token)
	if err != nil || again == digits {
		t.Fatalf("digits after a wrong answer: %q (were %q), %v", again, digits, err)
	}
	if v, err := h.eng.SubmitCaptcha(h.ctx, h.ten, f.token, f.v.StepToken, digits, c); err != nil || v.Step != flow.StepCaptcha {
		t.Fatalf("the old digits: %+v, %v", v, err)
	} else {
		f.v = v
	}
	again, _ = h.eng.CaptchaDigits(h.ctx, h.ten, f.token)
	v, err = h.eng.SubmitCaptcha(h.ctx, h.ten, f.token, f.v.StepToken, again[:3]+" "+again[3:], c)
	f.must("captcha", v, err)
	wantStep(t, v, flow.StepChoose)
	f.mailCode(tenants.FactorEmail, "alice@corp.example.com")
}

// TestOfflineIsTheSameForEveryone_R57: with no connector, Start says the
// directory is unavailable for every username alike.
func TestOfflineIsTheSameForEveryone_R57(t *testing.T) {
	h := newHarness(t)
	h.account(acct{login: "alice", mail: "alice@corp.example.com"})
	h.account(acct{login: "dave", mail: "dave@corp.example.com", disabled: true})
	h.dir.setOffline(true)
	for _, login := range []string{"alice", "dave", "nobody"} {
		for _, a := range []tenants.Action{tenants.ActionReset, tenants.ActionUnlock, tenants.ActionSignIn} {
			tok, err := h.eng.Start(h.ctx, h.ten, a, tenants.ChannelWeb, login, h.client())
			if !errors.Is(err, flow.ErrUnavailable) || tok != "" {
				t.Errorf("%s %s offline: %q, %v", a, login, tok, err)
			}
		}
	}
}

// TestWrongCodeIsPadded_R2: a wrong code or wrong answers cost a real
// account a write (its failure count) and a decoy nothing, so SubmitCode and
// SubmitAnswers, like identify, ask for the floor plus jitter for both.
func TestWrongCodeIsPadded_R2(t *testing.T) {
	var slept []time.Duration
	const floor, jitter = 300 * time.Millisecond, 40 * time.Millisecond
	h := newHarness(t,
		withConfig(func(c *flow.Config) { c.MinDelay, c.Jitter = floor, jitter }),
		withDeps(func(d *flow.Deps) {
			d.Sleep = func(_ context.Context, d time.Duration) { slept = append(slept, d) }
		}))
	u := h.account(acct{login: "alice", mail: "alice@corp.example.com", questions: true})
	for _, login := range []string{"alice", "nobody"} {
		f := h.start(tenants.ActionReset, login)
		f.choose(tenants.FactorEmail)
		slept = nil
		v := f.code("000000")
		if v.Error != "code.wrong" {
			t.Fatalf("%s: wrong code answered %q", login, v.Error)
		}
		if len(slept) != 1 || slept[0] < floor || slept[0] >= floor+jitter {
			t.Errorf("%s: wrong code slept %v, want one sleep in [%v, %v)", login, slept, floor, floor+jitter)
		}
		f.choose(tenants.FactorQuestions)
		slept = nil
		if v := f.answer("no", "no", "no"); v.Error != "questions.wrong" {
			t.Fatalf("%s: wrong answers answered %q", login, v.Error)
		}
		if len(slept) != 1 || slept[0] < floor || slept[0] >= floor+jitter {
			t.Errorf("%s: wrong answers slept %v, want one sleep in [%v, %v)", login, slept, floor, floor+jitter)
		}
	}
	if n := h.user(u.ID).FailedVerifications; n != 2 {
		t.Fatalf("alice's failure count %d, want 2 (the writes the floor hides)", n)
	}
}
