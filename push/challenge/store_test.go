package challenge

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestMemStore(t *testing.T) {
	f := newFixture(t)
	s := NewMemStore()
	ctx := t.Context()
	c := f.issue(t)
	if err := s.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, c); !errors.Is(err, ErrExists) {
		t.Errorf("second create: %v", err)
	}
	other := *c
	other.Tenant = tenantB
	if err := s.Create(ctx, &other); !errors.Is(err, ErrExists) {
		t.Errorf("same cid in another tenant: %v", err)
	}
	got, err := s.Get(ctx, tenantA, c.CID)
	if err != nil || *got != *c {
		t.Fatalf("get: %+v, %v", got, err)
	}
	got.State = StateApproved // a copy: the store is not changed through it
	if again, _ := s.Get(ctx, tenantA, c.CID); again.State != StatePending {
		t.Error("Get returned the stored value itself")
	}
	// Another tenant cannot read or answer it.
	if _, err := s.Get(ctx, tenantB, c.CID); !errors.Is(err, ErrNotFound) {
		t.Errorf("other tenant get: %v", err)
	}
	tr := Transition{From: StatePending, To: StateApproved, Reason: ReasonApproved, At: f.clock.Now()}
	if _, err := s.Answer(ctx, tenantB, c.CID, tr); !errors.Is(err, ErrNotFound) {
		t.Errorf("other tenant answer: %v", err)
	}
	if _, err := s.Answer(ctx, tenantA, "nope", tr); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown cid: %v", err)
	}
	for _, bad := range []Transition{{From: StateApproved, To: StateDenied}, {From: StatePending, To: StatePending}} {
		if _, err := s.Answer(ctx, tenantA, c.CID, bad); !errors.Is(err, ErrInvalidTransition) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if won, err := s.Answer(ctx, tenantA, c.CID, tr); !won || err != nil {
		t.Fatalf("first answer: %v, %v", won, err)
	}
	if won, err := s.Answer(ctx, tenantA, c.CID, Transition{From: StatePending, To: StateDenied}); won || err != nil {
		t.Errorf("second answer: %v, %v", won, err)
	}
	got, _ = s.Get(ctx, tenantA, c.CID)
	if got.State != StateApproved || got.Reason != ReasonApproved || !got.AnsweredAt.Equal(f.clock.Now()) {
		t.Errorf("after answer: %+v", got)
	}
	if n := s.DeleteBefore(c.ExpiresAt.Add(time.Second)); n != 1 {
		t.Errorf("DeleteBefore dropped %d", n)
	}
}

// TestR30ConcurrentAnswersOneWins: 20 goroutines answer the same challenge
// at once; exactly one wins, in the store and through the Service.
func TestR30ConcurrentAnswersOneWins(t *testing.T) {
	t.Run("store", func(t *testing.T) {
		f := newFixture(t)
		s := NewMemStore()
		c := f.issue(t)
		if err := s.Create(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 20 {
			to := []State{StateApproved, StateDenied, StateReported}[i%3]
			wg.Go(func() {
				<-start
				won, err := s.Answer(t.Context(), tenantA, c.CID, Transition{From: StatePending, To: to, At: f.clock.Now()})
				if err != nil {
					t.Error(err)
				}
				if won {
					wins.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 {
			t.Errorf("%d winners", wins.Load())
		}
	})
	t.Run("service", func(t *testing.T) {
		f := newFixture(t)
		s := f.service(t)
		c := s.push(t, f)
		answers := make([]SignedAnswer, 20)
		for i := range answers {
			answers[i] = f.answer(t, c, []Decision{DecisionApprove, DecisionDeny}[i%2], map[bool]int{true: c.Number}[i%2 == 0])
		}
		var ok, already atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, a := range answers {
			wg.Go(func() {
				<-start
				_, err := s.Respond(t.Context(), tenantA, c.CID, f.dev, a)
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, ErrAlreadyAnswered):
					already.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		if ok.Load() != 1 || already.Load() != 19 {
			t.Errorf("%d accepted, %d already answered", ok.Load(), already.Load())
		}
	})
}
