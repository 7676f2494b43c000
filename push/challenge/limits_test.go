package challenge

import (
	"errors"
	"testing"
	"time"
)

func refusal(t *testing.T, err error) *RefusedError {
	t.Helper()
	var r *RefusedError
	if !errors.As(err, &r) || !errors.Is(err, ErrLimited) {
		t.Fatalf("want a refusal, got %v", err)
	}
	return r
}

// TestR29FourthPushRefusedWithoutSending: three pushes fit in ten minutes
// (with the cool-downs between them); the fourth is refused before the
// sender is called, and says when the next is allowed.
func TestR29FourthPushRefusedWithoutSending(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	start := f.clock.Now()
	s.push(t, f)
	f.clock.Advance(30 * time.Second)
	s.push(t, f)
	f.clock.Advance(2 * time.Minute)
	s.push(t, f)
	if s.sender.Calls() != 3 {
		t.Fatalf("sender called %d times", s.sender.Calls())
	}
	f.clock.Advance(5 * time.Minute)
	_, err := s.Push(t.Context(), f.request(), f.dev)
	r := refusal(t, err)
	if r.Rule != RuleMaxPushes {
		t.Errorf("rule %s", r.Rule)
	}
	// The first push leaves the window at 10 min; then the 2-min cool-down
	// after the third (at 2:30) is long over.
	if want := start.Add(10 * time.Minute); !r.RetryAt.Equal(want) {
		t.Errorf("retry at %v, want %v", r.RetryAt, want)
	}
	if s.sender.Calls() != 3 {
		t.Errorf("sender called %d times for a refused push", s.sender.Calls())
	}
	if n := len(s.store.m); n != 3 {
		t.Errorf("%d challenges stored, want 3", n)
	}
	f.clock.Advance(r.RetryAt.Sub(f.clock.Now()))
	s.push(t, f)
}

func TestR29Cooldowns(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	first := f.clock.Now()
	s.push(t, f)
	f.clock.Advance(10 * time.Second)
	r := refusal(t, func() error { _, err := s.Push(t.Context(), f.request(), f.dev); return err }())
	if r.Rule != RuleCooldown || !r.RetryAt.Equal(first.Add(30*time.Second)) {
		t.Errorf("second push at 10 s: %+v", r)
	}
	f.clock.Advance(20 * time.Second)
	second := f.clock.Now()
	s.push(t, f)
	f.clock.Advance(time.Minute)
	r = refusal(t, func() error { _, err := s.Push(t.Context(), f.request(), f.dev); return err }())
	if r.Rule != RuleCooldown || !r.RetryAt.Equal(second.Add(2*time.Minute)) {
		t.Errorf("third push 1 min after the second: %+v", r)
	}
	if s.sender.Calls() != 2 {
		t.Errorf("sender called %d times", s.sender.Calls())
	}
}

// TestR29StopAfterTwoDenials: two denials (a wrong number counts) stop
// pushes for the window.
func TestR29StopAfterTwoDenials(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	c := s.push(t, f)
	if _, err := s.Respond(t.Context(), tenantA, c.CID, f.dev, f.answer(t, c, DecisionDeny, 0)); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	c = s.push(t, f)
	if _, err := s.Respond(t.Context(), tenantA, c.CID, f.dev, f.answer(t, c, DecisionApprove, 0)); !errors.Is(err, ErrWrongNumber) {
		t.Fatal(err)
	}
	secondDenial := f.clock.Now()
	f.clock.Advance(3 * time.Minute)
	_, err := s.Push(t.Context(), f.request(), f.dev)
	r := refusal(t, err)
	if r.Rule != RuleDenials || r.RetryAt.Before(secondDenial) {
		t.Errorf("after two denials: %+v", r)
	}
	if s.sender.Calls() != 2 {
		t.Errorf("sender called %d times", s.sender.Calls())
	}
}

// TestR29ReportFreezes: after "this wasn't me" no push goes out at all, at
// any time, until the freeze is lifted.
func TestR29ReportFreezes(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	c := s.push(t, f)
	if _, err := s.Respond(t.Context(), tenantA, c.CID, f.dev, f.answer(t, c, DecisionReport, 0)); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(24 * time.Hour)
	_, err := s.Push(t.Context(), f.request(), f.dev)
	if r := refusal(t, err); r.Rule != RuleFrozen || !r.RetryAt.IsZero() {
		t.Errorf("frozen: %+v", r)
	}
	if s.sender.Calls() != 1 {
		t.Errorf("sender called %d times", s.sender.Calls())
	}
	if err := s.history.SetFrozen(t.Context(), tenantA, f.dev.UserID, false); err != nil {
		t.Fatal(err)
	}
	s.push(t, f)
}

// TestR29ApprovalStartsAfresh: a success resets the count, so a user who
// approves each time is not limited by their own earlier pushes.
func TestR29ApprovalStartsAfresh(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	for i := range 5 {
		c := s.push(t, f)
		if _, err := s.Respond(t.Context(), tenantA, c.CID, f.dev, f.answer(t, c, DecisionApprove, c.Number)); err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
		f.clock.Advance(time.Second)
	}
}

func TestR29LimitsPerUserAndTenant(t *testing.T) {
	clock := newFakeClock()
	h := NewMemHistory()
	l, err := NewLimiter(h, Limits{}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := l.Reserve(ctx, tenantA, "u"); err != nil {
		t.Fatal(err)
	}
	if err := l.Reserve(ctx, tenantA, "u"); err == nil {
		t.Fatal("no cool-down")
	}
	if err := l.Reserve(ctx, tenantA, "v"); err != nil {
		t.Errorf("other user: %v", err)
	}
	if err := l.Reserve(ctx, tenantB, "u"); err != nil {
		t.Errorf("same user id in another tenant: %v", err)
	}
}

// TestR29DecideRetryAt: the retry time is when every rule allows a push,
// not only the first refusing one.
func TestR29DecideRetryAt(t *testing.T) {
	l, err := NewLimiter(NewMemHistory(), Limits{Cooldowns: []time.Duration{0, 30 * time.Second, 5 * time.Minute}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := newFakeClock().Now()
	r := Record{Events: []Event{
		{EventPush, t0},
		{EventPush, t0.Add(time.Minute)},
		{EventPush, t0.Add(9 * time.Minute)},
	}}
	// At 9:30 three pushes are in the window; the first leaves at 10:00,
	// but then the third's 5-min cool-down (two earlier pushes) runs until
	// 14:00.
	err = l.Decide(r, t0.Add(9*time.Minute+30*time.Second))
	got := refusal(t, err)
	if got.Rule != RuleMaxPushes || !got.RetryAt.Equal(t0.Add(14*time.Minute)) {
		t.Errorf("%+v", got)
	}
	if err := l.Decide(r, got.RetryAt); err != nil {
		t.Errorf("at RetryAt: %v", err)
	}
}

func TestLimiterConfig(t *testing.T) {
	if _, err := NewLimiter(nil, Limits{}, nil); err == nil {
		t.Error("nil history accepted")
	}
	for _, l := range []Limits{{MaxPushes: -1}, {MaxDenials: -1}, {Window: -time.Second}, {Cooldowns: []time.Duration{}}, {Cooldowns: []time.Duration{-time.Second}}} {
		if _, err := NewLimiter(NewMemHistory(), l, nil); err == nil {
			t.Errorf("%+v accepted", l)
		}
	}
}
