package flow_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/tenants"
)

// heldDir holds every password reset until the test releases it: the node
// running it "hangs" mid-operation.
type heldDir struct {
	flow.Dispatcher
	entered chan struct{}
	release chan struct{}
}

func (d *heldDir) Execute(ctx context.Context, tenantID string, req hub.Request) hub.Outcome {
	if req.Op == protocol.OpReset {
		d.entered <- struct{}{}
		<-d.release
	}
	return d.Dispatcher.Execute(ctx, tenantID, req)
}

// R57: a flow whose node never recorded the directory's answer does not wait
// forever. Past flow.ActingLimit the page settles as "could not confirm",
// with a reference and an audit event. The late answer then changes nothing:
// it was applied once in the directory, and the user was told it is
// unconfirmed, never "nothing happened".
func TestFlowLeftActingSettlesAsUnconfirmed_R57(t *testing.T) {
	held := &heldDir{entered: make(chan struct{}), release: make(chan struct{})}
	h := newHarness(t, withDeps(func(d *flow.Deps) { held.Dispatcher = d.Dispatcher; d.Dispatcher = held }))
	alice(h)
	f := h.start(tenants.ActionReset, "alice")
	verifyEmailAndQuestions(t, f)
	wantStep(t, f.v, flow.StepNewPassword)

	type result struct {
		v   flow.View
		err error
	}
	late := make(chan result, 1)
	go func() {
		v, err := h.eng.SubmitNewPassword(h.ctx, h.ten, f.token, f.v.StepToken, newPassword, newPassword, f.c)
		late <- result{v, err}
	}()
	<-held.entered

	// Within the limit the page keeps waiting.
	h.clock.Advance(flow.ActingLimit - time.Second)
	wantStep(t, f.view(), flow.StepActing)
	if n := len(h.audits("password.reset")); n != 0 {
		t.Fatalf("%d reset audit events while the operation runs", n)
	}

	h.clock.Advance(time.Second)
	v := f.view()
	wantStep(t, v, flow.StepDone)
	if v.Result != "unconfirmed" || len(v.Reference) != 12 {
		t.Fatalf("result %q reference %q, want unconfirmed with a reference", v.Result, v.Reference)
	}
	evs := h.audits("password.reset")
	if len(evs) != 1 || evs[0].Outcome != "failure" || evs[0].Detail["outcome"] != "abandoned" {
		t.Fatalf("audit = %+v, want one abandoned failure", evs)
	}
	if again := f.view(); again.Result != "unconfirmed" || again.Reference != v.Reference {
		t.Fatalf("second view %q/%q, want the same settled page", again.Result, again.Reference)
	}

	// The hung operation finishes after all: its write happened once, its
	// answer no longer moves the settled flow.
	close(held.release)
	r := <-late
	if !errors.Is(r.err, flow.ErrStale) {
		t.Fatalf("late answer: view %q, err %v; want ErrStale", r.v.Step, r.err)
	}
	if w := h.dir.writes(); len(w) != 1 || w[0].Op != protocol.OpReset {
		t.Fatalf("directory writes %+v, want exactly one reset", w)
	}
	if v := f.view(); v.Step != flow.StepDone || v.Result != "unconfirmed" {
		t.Fatalf("after the late answer: %q/%q", v.Step, v.Result)
	}
}
