package flow_test

import (
	"crypto/rand"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/push/challenge"
	"github.com/latchkey/latchkey/tenants"
)

// pushReset makes alice with an enrolled phone and a reset rule of push +
// email.
func pushReset(s *strongHarness) (tenants.User, phone) {
	u := alice(s.harness)
	p := s.phone(u)
	s.setRule(tenants.ActionReset, 2, tenants.FactorPush, tenants.FactorEmail)
	return u, p
}

// choosePush starts a reset for login and picks push approval.
func (s *strongHarness) choosePush(login string) *fl {
	s.t.Helper()
	f := s.start(tenants.ActionReset, login)
	wantStep(s.t, f.v, flow.StepChoose)
	wantStep(s.t, f.choose(tenants.FactorPush), flow.StepPush)
	return f
}

// TestPushApproval_R28_R30: picking push creates one challenge for alice's
// phone; the page shows its number and waits at most 120 s; PushDone stays
// false while it is pending; once the phone approves with the number, push
// is verified and the reset goes on.
func TestPushApproval_R28_R30(t *testing.T) {
	s := newStrongHarness(t)
	u, p := pushReset(s)
	f := s.choosePush("alice")
	ch := s.pending(p)
	if f.v.PushNumber != ch.Number || ch.Number < 10 || ch.Number > 99 {
		t.Fatalf("R28: page shows %d, the challenge's number is %d (want it, 10–99)", f.v.PushNumber, ch.Number)
	}
	if ch.UserID != u.ID || ch.Purpose != string(tenants.ActionReset) {
		t.Fatalf("challenge for user %s purpose %q, want alice's reset", ch.UserID, ch.Purpose)
	}
	if got := f.v.PushExpiresAt.Sub(s.clock.Now()); got <= 0 || got > 120*time.Second || ch.ExpiresAt.After(s.clock.Now().Add(120*time.Second)) {
		t.Fatalf("R30: page waits %v, challenge expires at %v (now %v)", got, ch.ExpiresAt, s.clock.Now())
	}
	if n := s.sender.Count(); n != 1 {
		t.Fatalf("%d push messages sent, want 1", n)
	}

	if f.pushDone() {
		t.Fatal("PushDone true while the challenge is pending")
	}
	s.clock.Advance(30 * time.Second)
	if f.pushDone() {
		t.Fatal("PushDone true 30 s in, still pending")
	}
	wantStep(t, f.v, flow.StepPush)

	if err := s.answer(p, ch.CID, challenge.DecisionApprove, ch.Number); err != nil {
		t.Fatalf("approve: %v", err)
	}
	if !f.pushDone() {
		t.Fatal("PushDone false after the approval")
	}
	wantStep(t, f.v, flow.StepChoose)
	if f.v.Error != "" || f.v.Remaining != 1 || !slices.Equal(f.v.Verified, []tenants.Factor{tenants.FactorPush}) {
		t.Fatalf("after the approval: error %q remaining %d verified %v", f.v.Error, f.v.Remaining, f.v.Verified)
	}
	if !f.pushDone() { // a second poll after the wait ended changes nothing
		t.Fatal("PushDone false after the flow moved on")
	}
	pushes := 0
	for _, e := range s.audits("factor.verified") {
		if e.Detail["factor"] == string(tenants.FactorPush) {
			pushes++
		}
	}
	if pushes != 1 {
		t.Fatalf("%d push verifications audited, want 1", pushes)
	}
	wantStep(t, f.code(f.mailCode(tenants.FactorEmail, "alice@corp.example.com")), flow.StepNewPassword)
}

// TestPushDenied_R28_R29: a denial, and an approval with the wrong number,
// send the flow back to the method page with "push.denied", each counted as
// a failed verification of the account.
func TestPushDenied_R28_R29(t *testing.T) {
	s := newStrongHarness(t)
	u, p := pushReset(s)

	f := s.choosePush("alice")
	ch := s.pending(p)
	if err := s.answer(p, ch.CID, challenge.DecisionDeny, 0); err != nil {
		t.Fatalf("deny: %v", err)
	}
	if !f.pushDone() {
		t.Fatal("PushDone false after the denial")
	}
	wantStep(t, f.v, flow.StepChoose)
	if f.v.Error != "push.denied" || len(f.v.Verified) != 0 || !slices.Contains(f.v.Options, tenants.FactorPush) {
		t.Fatalf("after the denial: error %q verified %v options %v", f.v.Error, f.v.Verified, f.v.Options)
	}
	if got := s.user(u.ID).FailedVerifications; got != 1 {
		t.Fatalf("FailedVerifications = %d after a denial, want 1", got)
	}

	// The push-fatigue cooldown allows the next push 30 s later.
	s.clock.Advance(30 * time.Second)
	wantStep(t, f.choose(tenants.FactorPush), flow.StepPush)
	ch = s.pending(p)
	if f.v.PushNumber != ch.Number {
		t.Fatalf("page shows %d, the new challenge's number is %d", f.v.PushNumber, ch.Number)
	}
	wrong := 10 + (ch.Number-10+1)%90
	if err := s.answer(p, ch.CID, challenge.DecisionApprove, wrong); !errors.Is(err, challenge.ErrWrongNumber) {
		t.Fatalf("approve with the wrong number: %v, want ErrWrongNumber", err)
	}
	if !f.pushDone() {
		t.Fatal("PushDone false after a wrong number")
	}
	if f.v.Step != flow.StepChoose || f.v.Error != "push.denied" || len(f.v.Verified) != 0 {
		t.Fatalf("after a wrong number: step %q error %q verified %v", f.v.Step, f.v.Error, f.v.Verified)
	}
	if got := s.user(u.ID).FailedVerifications; got != 2 {
		t.Fatalf("FailedVerifications = %d after two denials, want 2", got)
	}
	failed := 0
	for _, e := range s.audits("factor.failed") {
		if e.Detail["what"] == "push" {
			failed++
		}
	}
	if failed != 2 {
		t.Fatalf("%d push failures audited, want 2", failed)
	}
}

// TestPushExpires_R30: PushDone is false up to 120 s; 121 s after the push
// the flow is back at the method page with "push.expired", and a late
// approval is refused and verifies nothing.
func TestPushExpires_R30(t *testing.T) {
	s := newStrongHarness(t)
	_, p := pushReset(s)
	f := s.choosePush("alice")
	ch := s.pending(p)
	s.clock.Advance(119 * time.Second)
	if f.pushDone() {
		t.Fatal("PushDone true at 119 s")
	}
	s.clock.Advance(2 * time.Second)
	if !f.pushDone() {
		t.Fatal("PushDone false at 121 s")
	}
	wantStep(t, f.v, flow.StepChoose)
	if f.v.Error != "push.expired" || len(f.v.Verified) != 0 || f.v.PushNumber != 0 {
		t.Fatalf("after expiry: error %q verified %v number %d", f.v.Error, f.v.Verified, f.v.PushNumber)
	}
	if err := s.answer(p, ch.CID, challenge.DecisionApprove, ch.Number); !errors.Is(err, challenge.ErrExpired) {
		t.Fatalf("approval at 121 s: %v, want ErrExpired", err)
	}
	f.pushDone()
	if len(f.v.Verified) != 0 {
		t.Fatalf("a late approval verified %v", f.v.Verified)
	}
}

// TestPushReportedOnThePhone_R29: "this wasn't me" on the phone ends the
// flow as reported, freezes the user's self-service (OnReport runs once),
// and the next flow of the user runs as a decoy: no challenge is created.
func TestPushReportedOnThePhone_R29(t *testing.T) {
	s := newStrongHarness(t)
	u, p := pushReset(s)
	f := s.choosePush("alice")
	ch := s.pending(p)
	if err := s.answer(p, ch.CID, challenge.DecisionReport, 0); err != nil {
		t.Fatalf("report: %v", err)
	}
	if !f.pushDone() {
		t.Fatal("PushDone false after the report")
	}
	wantStep(t, f.v, flow.StepDone)
	if f.v.Result != "reported" || len(f.v.Verified) != 0 {
		t.Fatalf("result %q verified %v, want reported and nothing verified", f.v.Result, f.v.Verified)
	}
	if s.user(u.ID).FrozenAt.IsZero() {
		t.Fatal("FrozenAt not set after the report")
	}
	if got := s.reported(); !slices.Equal(got, []string{u.ID}) {
		t.Fatalf("OnReport called for %v, want once for alice", got)
	}

	s.clock.Advance(10 * time.Minute)
	before := s.challenges()
	g := s.choosePush("alice")
	if g.v.PushNumber < 10 || g.v.PushNumber > 99 {
		t.Fatalf("frozen account's push page shows %d", g.v.PushNumber)
	}
	if s.challenges() != before {
		t.Fatal("a challenge was created for a frozen account")
	}
}

// TestUnknownAccountPushLooksReal_R1: an unknown account and an account
// without a phone see the push page a real one sees — a number 10–99, the
// same expiry, PushDone false until the 120 s pass, then "push.expired" —
// and no challenge is created or sent for them.
func TestUnknownAccountPushLooksReal_R1(t *testing.T) {
	s := newStrongHarness(t)
	pushReset(s)
	s.account(acct{login: "carol", mail: "carol@corp.example.com"}) // no phone
	real := s.choosePush("alice")
	if n := s.challenges(); n != 1 {
		t.Fatalf("%d challenges after alice's push, want 1", n)
	}
	others := []*fl{s.choosePush("nobody"), s.choosePush("carol")}
	for i, f := range others {
		if f.v.PushNumber < 10 || f.v.PushNumber > 99 {
			t.Errorf("flow %d: number %d, want 10–99", i, f.v.PushNumber)
		}
		if !reflect.DeepEqual(pushMasked(f.v), pushMasked(real.v)) {
			t.Errorf("flow %d: push page\n%+v\nwant\n%+v", i, pushMasked(f.v), pushMasked(real.v))
		}
	}
	if n, sent := s.challenges(), s.sender.Count(); n != 1 || sent != 1 {
		t.Fatalf("%d challenges, %d pushes sent; want only alice's", n, sent)
	}

	s.clock.Advance(119 * time.Second)
	for i, f := range append(others, real) {
		if f.pushDone() {
			t.Errorf("flow %d: PushDone true at 119 s", i)
		}
	}
	s.clock.Advance(time.Second)
	for i, f := range append(others, real) {
		if !f.pushDone() {
			t.Errorf("flow %d: PushDone false at 120 s", i)
		}
		if f.v.Step != flow.StepChoose || f.v.Error != "push.expired" {
			t.Errorf("flow %d: step %q error %q, want push.expired", i, f.v.Step, f.v.Error)
		}
	}
	for i, f := range others {
		if !reflect.DeepEqual(masked(f.v), masked(real.v)) {
			t.Errorf("flow %d: after expiry\n%+v\nwant\n%+v", i, masked(f.v), masked(real.v))
		}
	}
}

// oneByteRand is crypto/rand, except that one-byte reads (the decoy push
// number) come from next while it lasts.
type oneByteRand struct {
	mu   sync.Mutex
	next []byte
}

func (r *oneByteRand) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(p) == 1 && len(r.next) > 0 {
		p[0], r.next = r.next[0], r.next[1:]
		return 1, nil
	}
	return rand.Read(p)
}

// TestDecoyPushNumberIsUniform_R1: a decoy's number is drawn like a real
// challenge's (push/challenge): random bytes 180–255 are drawn again, so
// every number 10–99 is equally likely. Reduced modulo 90, they would make
// 10–85 more frequent than 86–99 — a decoy told apart over many tries.
func TestDecoyPushNumberIsUniform_R1(t *testing.T) {
	r := &oneByteRand{}
	s := newStrongHarness(t, withDeps(func(d *flow.Deps) { d.Rand = r }))
	pushReset(s)
	f := s.start(tenants.ActionReset, "nobody")
	r.mu.Lock()
	r.next = []byte{180, 255, 7}
	r.mu.Unlock()
	wantStep(t, f.choose(tenants.FactorPush), flow.StepPush)
	if f.v.PushNumber != 17 {
		t.Fatalf("decoy number %d from bytes 180, 255, 7; want 17 (180 and 255 redrawn)", f.v.PushNumber)
	}
}

// TestStrongFactorsOfferedWhenConfigured_R1: without Deps.Pusher and
// Deps.TOTP the method page offers neither (and refuses them); with both it
// offers them to every account alike — with a phone and an app, without
// either, unknown.
func TestStrongFactorsOfferedWhenConfigured_R1(t *testing.T) {
	plain := newHarness(t)
	alice(plain)
	f := plain.start(tenants.ActionReset, "alice")
	if want := []tenants.Factor{tenants.FactorEmail, tenants.FactorSMS, tenants.FactorQuestions}; !slices.Equal(f.v.Options, want) {
		t.Fatalf("without Pusher and TOTP: options %v, want %v", f.v.Options, want)
	}
	for _, fa := range []tenants.Factor{tenants.FactorPush, tenants.FactorTOTP} {
		if _, err := plain.eng.Choose(plain.ctx, plain.ten, f.token, f.v.StepToken, fa, f.c); !errors.Is(err, flow.ErrInvalidInput) {
			t.Errorf("Choose(%s) without it configured: %v, want ErrInvalidInput", fa, err)
		}
	}

	s := newStrongHarness(t)
	u := alice(s.harness)
	s.phone(u)
	s.enrollTOTP(u)
	s.account(acct{login: "bob", mail: "bob@corp.example.com"})
	want := []tenants.Factor{tenants.FactorPush, tenants.FactorTOTP, tenants.FactorEmail, tenants.FactorSMS, tenants.FactorQuestions}
	first := s.start(tenants.ActionReset, "alice")
	if !slices.Equal(first.v.Options, want) {
		t.Fatalf("with Pusher and TOTP: options %v, want %v", first.v.Options, want)
	}
	for _, login := range []string{"bob", "nobody"} {
		if g := s.start(tenants.ActionReset, login); !reflect.DeepEqual(masked(g.v), masked(first.v)) {
			t.Errorf("%s: method page\n%+v\nwant\n%+v", login, masked(g.v), masked(first.v))
		}
	}
}

// TestPushWaitOnANodeWithoutPusher: any node continues any flow, also one
// configured without push approval: its PushDone neither panics nor
// verifies anything — it waits out the 120 s, then says "push.expired".
func TestPushWaitOnANodeWithoutPusher(t *testing.T) {
	s := newStrongHarness(t)
	pushReset(s)
	f := s.choosePush("alice")
	deps := s.deps
	deps.Pusher = nil
	other, err := flow.New(s.cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	done := func() bool {
		t.Helper()
		d, err := other.PushDone(s.ctx, s.ten, f.token, f.c)
		if err != nil {
			t.Fatalf("PushDone on the node without push: %v", err)
		}
		return d
	}
	if done() {
		t.Fatal("PushDone true at once")
	}
	s.clock.Advance(120 * time.Second)
	if !done() {
		t.Fatal("PushDone false at 120 s")
	}
	v := f.view()
	if v.Step != flow.StepChoose || v.Error != "push.expired" || len(v.Verified) != 0 {
		t.Fatalf("step %q error %q verified %v, want push.expired", v.Step, v.Error, v.Verified)
	}
}
