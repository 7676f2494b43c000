package pushstore_test

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/push/approval/approvaltest"
	"github.com/latchkey/latchkey/push/challenge"
	"github.com/latchkey/latchkey/push/pushstore"
	"github.com/latchkey/latchkey/tenants"
)

func scope(e *approvaltest.Env) pushstore.Scope { return pushstore.Scoped(e.Store.Tenant) }

func issue(t *testing.T, e *approvaltest.Env, ten *tenants.Tenant, d tenants.Device) *challenge.Challenge {
	t.Helper()
	is, err := challenge.NewIssuer(challenge.Config{Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	c, err := is.Issue(challenge.Request{Tenant: ten.ID, UserID: d.UserID, DeviceID: d.ID, Purpose: tenants.ActionReset,
		Context: challenge.Context{TenantName: "Acme", App: "Self-service portal", IP: "203.0.113.7", Geo: "Berlin, DE",
			Browser: "Firefox on Windows"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestChallengesRoundTrip: a challenge comes back as it was stored, context
// included (R30: the context fields are present).
func TestChallengesRoundTrip_R30(t *testing.T) {
	e, d, s := setup(t)
	c := issue(t, e, e.Tenant, d)
	if err := s.Create(e.Ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(e.Ctx, c); !errors.Is(err, challenge.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	got, err := s.Get(e.Ctx, e.Tenant.ID, c.CID)
	if err != nil {
		t.Fatal(err)
	}
	if !same(got, c) {
		t.Fatalf("stored challenge\n%+v\nwant\n%+v", *got, *c)
	}
}

// setup is an Env with the user ann, her device, and Challenges over it.
func setup(t *testing.T) (*approvaltest.Env, tenants.Device, *pushstore.Challenges) {
	t.Helper()
	e := approvaltest.New(t)
	u := e.User(e.Tenant, "ann")
	return e, e.Device(e.Tenant, u.ID, approvaltest.NewKey(t, "k1"), ""), pushstore.NewChallenges(scope(e))
}

// same compares challenges field by field (times with Equal).
func same(a, b *challenge.Challenge) bool {
	x, y := *a, *b
	if !x.CreatedAt.Equal(y.CreatedAt) || !x.ExpiresAt.Equal(y.ExpiresAt) || !x.AnsweredAt.Equal(y.AnsweredAt) ||
		!x.Context.Time.Equal(y.Context.Time) {
		return false
	}
	x.CreatedAt, x.ExpiresAt, x.AnsweredAt, x.Context.Time = y.CreatedAt, y.ExpiresAt, y.AnsweredAt, y.Context.Time
	return x == y
}

// TestChallengeAnsweredOnce_R30: of two answers only the first changes the
// challenge; an impossible transition is refused.
func TestChallengeAnsweredOnce_R30(t *testing.T) {
	e, d, s := setup(t)
	c := issue(t, e, e.Tenant, d)
	if err := s.Create(e.Ctx, c); err != nil {
		t.Fatal(err)
	}
	at := e.Clock.Now().Add(5 * time.Second)
	won, err := s.Answer(e.Ctx, e.Tenant.ID, c.CID, challenge.Transition{From: challenge.StatePending, To: challenge.StateApproved,
		Reason: challenge.ReasonApproved, At: at})
	if err != nil || !won {
		t.Fatalf("first answer: won=%v err=%v", won, err)
	}
	won, err = s.Answer(e.Ctx, e.Tenant.ID, c.CID, challenge.Transition{From: challenge.StatePending, To: challenge.StateDenied, At: at})
	if err != nil || won {
		t.Fatalf("second answer: won=%v err=%v, want a loss", won, err)
	}
	got, err := s.Get(e.Ctx, e.Tenant.ID, c.CID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != challenge.StateApproved || got.Reason != challenge.ReasonApproved || !got.AnsweredAt.Equal(at) {
		t.Fatalf("after answers: %s/%s at %v", got.State, got.Reason, got.AnsweredAt)
	}
	if _, err := s.Answer(e.Ctx, e.Tenant.ID, c.CID, challenge.Transition{From: challenge.StateApproved, To: challenge.StateDenied, At: at}); !errors.Is(err, challenge.ErrInvalidTransition) {
		t.Fatalf("approved → denied: %v, want ErrInvalidTransition", err)
	}
	if _, err := s.Answer(e.Ctx, e.Tenant.ID, "00000000000000000000000000000000", challenge.Transition{From: challenge.StatePending,
		To: challenge.StateDenied, At: at}); !errors.Is(err, challenge.ErrNotFound) {
		t.Fatalf("unknown cid: %v, want ErrNotFound", err)
	}
}

// TestAnotherTenantsChallengeIsNotFound_R31: a challenge is found only in
// its own tenant, for reading and answering.
func TestAnotherTenantsChallengeIsNotFound_R31(t *testing.T) {
	e, d, s := setup(t)
	other := e.NewTenant("globex", "Globex", "")
	c := issue(t, e, e.Tenant, d)
	if err := s.Create(e.Ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(e.Ctx, other.ID, c.CID); !errors.Is(err, challenge.ErrNotFound) {
		t.Fatalf("get from another tenant: %v", err)
	}
	if _, err := s.Answer(e.Ctx, other.ID, c.CID, challenge.Transition{From: challenge.StatePending, To: challenge.StateApproved,
		At: e.Clock.Now()}); !errors.Is(err, challenge.ErrNotFound) {
		t.Fatalf("answer from another tenant: %v", err)
	}
}

func limiter(t *testing.T, e *approvaltest.Env, l challenge.Limits) *challenge.Limiter {
	t.Helper()
	lim, err := challenge.NewLimiter(pushstore.NewHistory(scope(e), e.Clock.Now), l, e.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return lim
}

// TestLimitsAreSharedByNodes_R29: two limiters (two nodes) over the same
// store see the same history: after three pushes through either, the fourth
// is refused by both.
func TestLimitsAreSharedByNodes_R29(t *testing.T) {
	e := approvaltest.New(t)
	u := e.User(e.Tenant, "ann")
	a, b := limiter(t, e, challenge.Limits{}), limiter(t, e, challenge.Limits{})
	for i, lim := range []*challenge.Limiter{a, b, a} {
		if err := lim.Reserve(e.Ctx, e.Tenant.ID, u.ID); err != nil {
			t.Fatalf("push %d: %v", i+1, err)
		}
		e.Clock.Advance(2*time.Minute + time.Second) // past every cool-down
	}
	before := e.GetUser(e.Tenant, u.ID).PushHistory
	for name, lim := range map[string]*challenge.Limiter{"a": a, "b": b} {
		var refused *challenge.RefusedError
		if err := lim.Reserve(e.Ctx, e.Tenant.ID, u.ID); !errors.As(err, &refused) || refused.Rule != challenge.RuleMaxPushes {
			t.Fatalf("4th push on node %s: %v, want max_pushes", name, err)
		}
	}
	if after := e.GetUser(e.Tenant, u.ID).PushHistory; !bytes.Equal(before, after) {
		t.Fatalf("a refused push changed the history:\n%s\n%s", before, after)
	}
	// The window passes: pushes are allowed again.
	e.Clock.Advance(10 * time.Minute)
	if err := b.Reserve(e.Ctx, e.Tenant.ID, u.ID); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// TestConcurrentPushesCannotBothPass_R29: many pushes decided at once get
// exactly MaxPushes through, because the guard runs inside the user's
// atomic update.
func TestConcurrentPushesCannotBothPass_R29(t *testing.T) {
	e := approvaltest.New(t)
	u := e.User(e.Tenant, "ann")
	lims := []*challenge.Limiter{
		limiter(t, e, challenge.Limits{Cooldowns: []time.Duration{0}}),
		limiter(t, e, challenge.Limits{Cooldowns: []time.Duration{0}}),
	}
	const n = 12
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed, refused := 0, 0
	for i := range n {
		wg.Go(func() {
			err := lims[i%2].Reserve(e.Ctx, e.Tenant.ID, u.ID)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				allowed++
			case errors.Is(err, challenge.ErrLimited):
				refused++
			default:
				t.Errorf("reserve: %v", err)
			}
		})
	}
	wg.Wait()
	if allowed != 3 || refused != n-3 {
		t.Fatalf("%d allowed, %d refused; want 3 and %d", allowed, refused, n-3)
	}
	events, err := pushstore.DecodeHistory(e.GetUser(e.Tenant, u.ID).PushHistory)
	if err != nil || len(events) != 3 {
		t.Fatalf("history: %v %v", events, err)
	}
}

// TestTwoDenialsStopPushes_R29: denials recorded through the store stop
// the next push.
func TestTwoDenialsStopPushes_R29(t *testing.T) {
	e := approvaltest.New(t)
	u := e.User(e.Tenant, "ann")
	lim := limiter(t, e, challenge.Limits{MaxPushes: 10, Cooldowns: []time.Duration{0}})
	for range 2 {
		if err := lim.Reserve(e.Ctx, e.Tenant.ID, u.ID); err != nil {
			t.Fatal(err)
		}
		if err := lim.RecordOutcome(e.Ctx, e.Tenant.ID, u.ID, challenge.StateDenied); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Second)
	}
	var refused *challenge.RefusedError
	if err := lim.Reserve(e.Ctx, e.Tenant.ID, u.ID); !errors.As(err, &refused) || refused.Rule != challenge.RuleDenials {
		t.Fatalf("after two denials: %v, want denials", err)
	}
}

// TestReportFreezesTheUser_R29: a report sets the user's FrozenAt (which
// the flow engine honours) and stops pushes until it is cleared.
func TestReportFreezesTheUser_R29(t *testing.T) {
	e := approvaltest.New(t)
	u := e.User(e.Tenant, "ann")
	lim := limiter(t, e, challenge.Limits{})
	if err := lim.Reserve(e.Ctx, e.Tenant.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := lim.RecordOutcome(e.Ctx, e.Tenant.ID, u.ID, challenge.StateReported); err != nil {
		t.Fatal(err)
	}
	if got := e.GetUser(e.Tenant, u.ID).FrozenAt; !got.Equal(approvaltest.T0) {
		t.Fatalf("FrozenAt = %v, want %v", got, approvaltest.T0)
	}
	e.Clock.Advance(time.Hour)
	var refused *challenge.RefusedError
	if err := lim.Reserve(e.Ctx, e.Tenant.ID, u.ID); !errors.As(err, &refused) || refused.Rule != challenge.RuleFrozen {
		t.Fatalf("frozen: %v, want frozen", err)
	}
	// An admin lifts the freeze (cmd/latchkey clears FrozenAt): pushes resume.
	if err := pushstore.NewHistory(scope(e), e.Clock.Now).SetFrozen(e.Ctx, e.Tenant.ID, u.ID, false); err != nil {
		t.Fatal(err)
	}
	if !e.GetUser(e.Tenant, u.ID).FrozenAt.IsZero() {
		t.Fatal("unfreeze left FrozenAt set")
	}
	if err := lim.Reserve(e.Ctx, e.Tenant.ID, u.ID); err != nil {
		t.Fatalf("after the freeze is lifted: %v", err)
	}
}

// TestCorruptHistoryFailsClosed: a history that cannot be read refuses
// pushes with an error rather than forgetting the limits.
func TestCorruptHistoryFailsClosed(t *testing.T) {
	e := approvaltest.New(t)
	u := e.User(e.Tenant, "ann")
	if _, err := e.Store.Tenant(e.Tenant.ID).UpdateUser(e.Ctx, u.ID, func(u *tenants.User) error {
		u.PushHistory = []byte(`{"events":[{"kind":"teleport","at":"2030-01-07T09:00:00Z"}]}`)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	err := limiter(t, e, challenge.Limits{}).Reserve(e.Ctx, e.Tenant.ID, u.ID)
	if err == nil || errors.Is(err, challenge.ErrLimited) {
		t.Fatalf("reserve over a corrupt history: %v, want a store error", err)
	}
}

// TestHistoryKeepsOnlyTheWindow: events older than the window are dropped
// on the next append, so the row stays small.
func TestHistoryKeepsOnlyTheWindow(t *testing.T) {
	e := approvaltest.New(t)
	u := e.User(e.Tenant, "ann")
	lim := limiter(t, e, challenge.Limits{})
	for range 3 {
		if err := lim.Reserve(e.Ctx, e.Tenant.ID, u.ID); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(11 * time.Minute)
	}
	events, err := pushstore.DecodeHistory(e.GetUser(e.Tenant, u.ID).PushHistory)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || !events[0].At.Equal(approvaltest.T0.Add(22*time.Minute)) {
		t.Fatalf("history: %+v, want the last push only", events)
	}
}
