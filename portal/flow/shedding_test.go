package flow_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/tenants"
)

// stuckAnswers is a flow.Answers whose Verify waits for a hashing slot that
// never frees, as when argon2id is saturated.
type stuckAnswers struct{ flow.Answers }

func (stuckAnswers) Verify(ctx context.Context, phc, answer string) (bool, error) {
	<-ctx.Done()
	return false, ctx.Err()
}

// TestSaturatedHasherShedsAnswers_B1: a questions submission that cannot get
// its argon2id verifications done within AnswerWait is shed with ErrBusy
// (the page answers 503 + Retry-After) instead of queueing without bound, and
// it counts as no failure against the user.
func TestSaturatedHasherShedsAnswers_B1(t *testing.T) {
	var stuck *stuckAnswers
	h := newHarness(t,
		withConfig(func(c *flow.Config) { c.AnswerWait = 50 * time.Millisecond }),
		withDeps(func(d *flow.Deps) { stuck = &stuckAnswers{d.Answers}; d.Answers = stuck }))
	alice(h)
	f := h.start(tenants.ActionReset, "alice")
	v := f.choose(tenants.FactorQuestions)
	_, err := h.eng.SubmitAnswers(h.ctx, h.ten, f.token, v.StepToken, answers, f.c)
	if !errors.Is(err, flow.ErrBusy) {
		t.Fatalf("saturated hasher: err = %v, want ErrBusy", err)
	}
	if u := h.userByLogin("alice"); u.FailedVerifications != 0 {
		t.Fatalf("a shed submission counted %d failures", u.FailedVerifications)
	}
	if got := f.view(); got.Step != flow.StepQuestions || got.Error != "" {
		t.Fatalf("after shedding the page should be the same questions page: %+v", got)
	}
}
