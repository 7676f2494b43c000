package flow_test

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/tenants"
)

// totpReset makes alice (mail, mobile, questions) with an authenticator app
// and a reset rule of TOTP + email; it returns her and the app's secret.
func totpReset(s *strongHarness) (tenants.User, string) {
	u := alice(s.harness)
	secret := s.enrollTOTP(u)
	s.setRule(tenants.ActionReset, 2, tenants.FactorTOTP, tenants.FactorEmail)
	return u, secret
}

// chooseTOTP starts a reset for login and picks the authenticator app.
func (s *strongHarness) chooseTOTP(login string) *fl {
	s.t.Helper()
	f := s.start(tenants.ActionReset, login)
	wantStep(s.t, f.v, flow.StepChoose)
	wantStep(s.t, f.choose(tenants.FactorTOTP), flow.StepTOTP)
	return f
}

// TestTOTPCodeVerifiesOnce_R26: the app's current code verifies TOTP and the
// reset goes on with the email code; the same code in a second flow is
// refused as reused, audited as a replay, counted as a failure, and the user
// is alerted on their own channels (with a "this wasn't me" link).
func TestTOTPCodeVerifiesOnce_R26(t *testing.T) {
	s := newStrongHarness(t)
	u, secret := totpReset(s)
	code := totpCode(t, secret, s.clock.Now())

	f := s.chooseTOTP("alice")
	v := f.totp(code)
	wantStep(t, v, flow.StepChoose)
	if v.Error != "" || v.Remaining != 1 || !slices.Equal(v.Verified, []tenants.Factor{tenants.FactorTOTP}) {
		t.Fatalf("after the TOTP code: error %q, remaining %d, verified %v", v.Error, v.Remaining, v.Verified)
	}
	if got, want := s.lastCounter(u.ID), stepOf(s.clock.Now()); got != want {
		t.Fatalf("LastCounter = %d, want the current step %d", got, want)
	}
	wantStep(t, f.code(f.mailCode(tenants.FactorEmail, "alice@corp.example.com")), flow.StepNewPassword)
	if n := len(s.audits("totp.replay")); n != 0 {
		t.Fatalf("%d totp.replay audits after one use", n)
	}

	// Same code, same time step, another flow.
	s.clock.Advance(5 * time.Second)
	g := s.chooseTOTP("alice")
	before := s.mail.count()
	v = g.totp(code)
	wantStep(t, v, flow.StepTOTP)
	if v.Error != "totp.reused" || v.Field != "code" || len(v.Verified) != 0 {
		t.Fatalf("reused code: error %q field %q verified %v, want totp.reused and nothing verified", v.Error, v.Field, v.Verified)
	}
	replays := s.audits("totp.replay")
	if len(replays) != 1 || replays[0].Target != "user:"+u.ID || replays[0].Outcome != "denied" {
		t.Fatalf("totp.replay audits = %+v, want one for user:%s", replays, u.ID)
	}
	var alerts []sent
	for _, m := range s.mail.since(before) {
		if m.Code != "" {
			t.Errorf("the alert carries a code: %+v", m)
		}
		alerts = append(alerts, m)
	}
	toMail := slices.IndexFunc(alerts, func(m sent) bool {
		return m.Kind == "factor_changed" && m.To == "alice@corp.example.com" && m.ReportURL != ""
	})
	if toMail < 0 {
		t.Fatalf("R26: no alert with a report link queued to alice's mail; queued %+v", alerts)
	}
	if got := s.user(u.ID).FailedVerifications; got != 1 {
		t.Errorf("FailedVerifications = %d after the replay, want 1", got)
	}
	if got, want := s.lastCounter(u.ID), stepOf(t0); got != want {
		t.Errorf("LastCounter moved to %d on a replay, want %d", got, want)
	}
}

// TestTOTPDriftWindow_R26: by the engine's clock (Deps.Now), codes one step
// either side of the current one verify, two steps away are wrong (not
// "reused"), and a code of a step at or before the last accepted one is
// refused as reused.
func TestTOTPDriftWindow_R26(t *testing.T) {
	s := newStrongHarness(t)
	u, secret := totpReset(s)
	now := s.clock.Now() // 2030: the wall clock's codes would all be wrong
	at := func(steps int) string { return totpCode(t, secret, now.Add(time.Duration(steps)*30*time.Second)) }
	window := []string{at(-1), at(0), at(1)}
	for _, far := range []int{-2, 2} {
		if slices.Contains(window, at(far)) {
			t.Fatalf("the fixed seed gives step %+d the code of a step in the window; change the seed", far)
		}
	}

	f := s.chooseTOTP("alice")
	for _, far := range []int{-2, 2} {
		v := f.totp(at(far))
		wantStep(t, v, flow.StepTOTP)
		if v.Error != "totp.wrong" || len(v.Verified) != 0 {
			t.Fatalf("code of step %+d: error %q, verified %v; want totp.wrong", far, v.Error, v.Verified)
		}
	}
	if v := f.totp(at(-1)); v.Step != flow.StepChoose || !slices.Equal(v.Verified, []tenants.Factor{tenants.FactorTOTP}) {
		t.Fatalf("code of step -1: step %q error %q verified %v, want it verified", v.Step, v.Error, v.Verified)
	}
	if got := s.lastCounter(u.ID); got != stepOf(now)-1 {
		t.Fatalf("LastCounter = %d, want %d", got, stepOf(now)-1)
	}

	g := s.chooseTOTP("alice")
	if v := g.totp(at(1)); v.Step != flow.StepChoose || !slices.Equal(v.Verified, []tenants.Factor{tenants.FactorTOTP}) {
		t.Fatalf("code of step +1: step %q error %q verified %v, want it verified", v.Step, v.Error, v.Verified)
	}
	if got := s.lastCounter(u.ID); got != stepOf(now)+1 {
		t.Fatalf("LastCounter = %d, want %d", got, stepOf(now)+1)
	}

	// The current step is now at or before the last accepted one.
	h := s.chooseTOTP("alice")
	if v := h.totp(at(0)); v.Step != flow.StepTOTP || v.Error != "totp.reused" {
		t.Fatalf("code of a step before the last accepted: step %q error %q, want totp.reused", v.Step, v.Error)
	}
}

// gatedTOTP is the real TOTP service whose Check waits, once it has
// checked, until n calls have: every submission reads LastCounter before any
// records its step, the worst interleaving for the update that follows.
type gatedTOTP struct {
	flow.TOTP
	mu      sync.Mutex
	n       int
	all     chan struct{}
	timeout time.Duration // a guard against hanging, not a timing assertion
}

func (g *gatedTOTP) Check(t *tenants.Tenant, e tenants.TOTPEnrollment, code string, now time.Time) (int64, error) {
	c, err := g.TOTP.Check(t, e, code, now)
	g.mu.Lock()
	if g.n--; g.n == 0 {
		close(g.all)
	}
	g.mu.Unlock()
	select {
	case <-g.all:
	case <-time.After(g.timeout):
	}
	return c, err
}

// TestTOTPConcurrentUseVerifiesOnce_R26: twenty flows of one user submit the
// same right code at once, each passing the (real) check against the same
// LastCounter; the conditional LastCounter update lets exactly one verify,
// and every other one is refused as reused.
func TestTOTPConcurrentUseVerifiesOnce_R26(t *testing.T) {
	const n = 20
	gate := &gatedTOTP{n: n, all: make(chan struct{}), timeout: 30 * time.Second}
	s := newStrongHarness(t, withDeps(func(d *flow.Deps) { gate.TOTP, d.TOTP = d.TOTP, gate }))
	u, secret := totpReset(s)
	s.updateTenant(func(t *tenants.Tenant) { t.SelfService.LockoutThreshold = 100 }) // 19 replays must not lock the account
	flows := make([]*fl, n)
	for i := range flows {
		flows[i] = s.chooseTOTP("alice")
	}
	code := totpCode(t, secret, s.clock.Now())

	views := make([]flow.View, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, f := range flows {
		wg.Go(func() {
			<-start
			views[i], errs[i] = s.eng.SubmitTOTP(s.ctx, s.ten, f.token, f.v.StepToken, code, f.c)
		})
	}
	close(start)
	wg.Wait()

	verified, reused := 0, 0
	for i, v := range views {
		switch {
		case errs[i] != nil:
			t.Errorf("flow %d: %v", i, errs[i])
		case v.Step == flow.StepChoose && slices.Equal(v.Verified, []tenants.Factor{tenants.FactorTOTP}):
			verified++
		case v.Step == flow.StepTOTP && v.Error == "totp.reused" && len(v.Verified) == 0:
			reused++
		default:
			t.Errorf("flow %d: step %q error %q verified %v", i, v.Step, v.Error, v.Verified)
		}
	}
	if verified != 1 || reused != n-1 {
		t.Fatalf("%d flows verified and %d were refused as reused, want 1 and %d", verified, reused, n-1)
	}
	ok := 0
	for _, e := range s.audits("factor.verified") {
		if e.Detail["factor"] == string(tenants.FactorTOTP) {
			ok++
		}
	}
	if ok != 1 || len(s.audits("totp.replay")) != n-1 {
		t.Fatalf("audit: %d TOTP verifications and %d replays, want 1 and %d", ok, len(s.audits("totp.replay")), n-1)
	}
	if got := s.lastCounter(u.ID); got != stepOf(s.clock.Now()) {
		t.Fatalf("LastCounter = %d, want %d", got, stepOf(s.clock.Now()))
	}
}

// TestTOTPWithoutEnrollmentFailsLikeAWrongCode_R1: an unknown account, an
// account without an authenticator app, a frozen one and one whose
// self-service is locked pick TOTP and submit a well-formed code (alice's
// right one, even): every page — the code page and the refusal — is the one
// alice sees for a wrong code, apart from the step token.
func TestTOTPWithoutEnrollmentFailsLikeAWrongCode_R1(t *testing.T) {
	s := newStrongHarness(t)
	_, secret := totpReset(s)
	s.account(acct{login: "bob", mail: "bob@corp.example.com"}) // no app
	frozen := s.enrollTOTP(s.account(acct{login: "gina", mail: "gina@corp.example.com"}))
	locked := s.enrollTOTP(s.account(acct{login: "hank", mail: "hank@corp.example.com"}))
	ts := s.store.Tenant(s.ten.ID)
	if _, err := ts.UpdateUser(s.ctx, s.userByLogin("gina").ID, func(u *tenants.User) error { u.FrozenAt = t0.Add(-time.Hour); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.UpdateUser(s.ctx, s.userByLogin("hank").ID, func(u *tenants.User) error {
		u.SelfServiceLockedUntil = t0.Add(time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	right := totpCode(t, secret, s.clock.Now())
	wrong := wrongCode(right)
	if wrong == totpCode(t, secret, s.clock.Now().Add(-30*time.Second)) || wrong == totpCode(t, secret, s.clock.Now().Add(30*time.Second)) {
		t.Fatal("the wrong code is right for a neighbouring step; change the seed")
	}

	type pages struct{ code, refused flow.View }
	try := func(login, code string) pages {
		f := s.chooseTOTP(login)
		p := pages{code: masked(f.v)}
		p.refused = masked(f.totp(code))
		return p
	}
	want := try("alice", wrong)
	if want.refused.Step != flow.StepTOTP || want.refused.Error != "totp.wrong" || want.refused.Field != "code" {
		t.Fatalf("alice's wrong code: %+v", want.refused)
	}
	for _, c := range []struct{ login, code string }{
		{"nobody", right}, {"bob", right}, {"gina", totpCode(t, frozen, s.clock.Now())}, {"hank", totpCode(t, locked, s.clock.Now())},
	} {
		got := try(c.login, c.code)
		if !reflect.DeepEqual(got.code, want.code) {
			t.Errorf("%s: TOTP page\n%+v\nwant\n%+v", c.login, got.code, want.code)
		}
		if !reflect.DeepEqual(got.refused, want.refused) {
			t.Errorf("%s: after the code\n%+v\nwant\n%+v", c.login, got.refused, want.refused)
		}
	}
	if n := len(s.audits("totp.replay")); n != 0 {
		t.Errorf("%d replay audits, want none", n)
	}
}

// TestWrongTOTPIsPadded_R2: a wrong authenticator code reads the user and
// writes their failure count for a real account, nothing for a decoy; both
// ask for the response floor plus jitter.
func TestWrongTOTPIsPadded_R2(t *testing.T) {
	var mu sync.Mutex
	var slept []time.Duration
	const floor, jitter = 300 * time.Millisecond, 40 * time.Millisecond
	s := newStrongHarness(t, withConfig(func(c *flow.Config) { c.MinDelay, c.Jitter = floor, jitter }),
		withDeps(func(d *flow.Deps) {
			d.Sleep = func(_ context.Context, d time.Duration) { mu.Lock(); defer mu.Unlock(); slept = append(slept, d) }
		}))
	totpReset(s)
	for _, login := range []string{"alice", "nobody"} {
		f := s.chooseTOTP(login)
		mu.Lock()
		slept = nil
		mu.Unlock()
		if v := f.totp("000000"); v.Error != "totp.wrong" {
			t.Fatalf("%s: wrong TOTP answered %q", login, v.Error)
		}
		mu.Lock()
		got := slices.Clone(slept)
		mu.Unlock()
		if len(got) != 1 || got[0] < floor || got[0] >= floor+jitter {
			t.Errorf("%s: wrong TOTP slept %v, want one sleep in [%v, %v)", login, got, floor, floor+jitter)
		}
	}
}
