package flow_test

import (
	"context"
	"encoding/json"
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

// newHeldHarness is a harness whose password resets hang until released.
func newHeldHarness(t *testing.T) (*harness, *heldDir) {
	held := &heldDir{entered: make(chan struct{}), release: make(chan struct{})}
	h := newHarness(t, withDeps(func(d *flow.Deps) { held.Dispatcher = d.Dispatcher; d.Dispatcher = held }))
	return h, held
}

// R57: a flow whose node never recorded the directory's answer does not wait
// forever. Past flow.ActingLimit the page settles as "could not confirm",
// with a reference and an audit event. The late answer then changes nothing:
// it was applied once in the directory, and the user was told it is
// unconfirmed, never "nothing happened".
func TestFlowLeftActingSettlesAsUnconfirmed_R57(t *testing.T) {
	h, held := newHeldHarness(t)
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

	// The hung operation finishes after all: its write happened once; the
	// sessions end and the user is told (R13, R14) though the flow had been
	// settled, and the page now says what happened.
	sess := h.session(f.h.userByLogin("alice").ID)
	mails := h.mail.count()
	close(held.release)
	r := <-late
	if r.err != nil || r.v.Step != flow.StepDone || r.v.Result != "reset" || r.v.Reference != "" {
		t.Fatalf("late answer: %+v, %v; want the settled flow to say reset", r.v, r.err)
	}
	if w := h.dir.writes(); len(w) != 1 || w[0].Op != protocol.OpReset {
		t.Fatalf("directory writes %+v, want exactly one reset", w)
	}
	if !h.sessionRevoked(sess) {
		t.Error("R13: the late reset left the user's session alive")
	}
	if got := h.mail.since(mails); len(got) != 1 || got[0].Kind != "reset_done" {
		t.Errorf("R14: notices after the late reset %+v, want one reset_done", got)
	}
	if v := f.view(); v.Step != flow.StepDone || v.Result != "reset" {
		t.Fatalf("after the late answer: %q/%q", v.Step, v.Result)
	}
	if evs := h.audits("password.reset"); len(evs) != 2 || evs[1].Outcome != "success" {
		t.Fatalf("audit %+v, want the abandoned failure, then the success", evs)
	}
}

// A flow saved in StepActing without ActingSince (by a node of an older
// release, during a rolling upgrade) waits ActingLimit from its last update,
// instead of being abandoned at once.
func TestFlowActingWithoutStartTimeWaitsFromUpdate_R57(t *testing.T) {
	h, held := newHeldHarness(t)
	alice(h)
	f := h.start(tenants.ActionReset, "alice")
	verifyEmailAndQuestions(t, f)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = h.eng.SubmitNewPassword(h.ctx, h.ten, f.token, f.v.StepToken, newPassword, newPassword, f.c)
	}()
	<-held.entered
	// Rewrite the row as an older node wrote it: no acting_since.
	h.clock.Advance(10 * time.Minute)
	ts := h.store.Tenant(h.ten.ID)
	row, err := ts.GetFlow(h.ctx, flow.IDOf(f.token))
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(row.State, &st); err != nil {
		t.Fatal(err)
	}
	if _, ok := st["acting_since"]; !ok || st["step"] != "acting" {
		t.Fatalf("state %v: not acting with a start time", st)
	}
	delete(st, "acting_since")
	if row.State, err = json.Marshal(st); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.UpdateFlow(h.ctx, row); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	wantStep(t, f.view(), flow.StepActing)
	h.clock.Advance(flow.ActingLimit)
	if v := f.view(); v.Step != flow.StepDone || v.Result != "unconfirmed" {
		t.Fatalf("past the limit: %q/%q", v.Step, v.Result)
	}
	close(held.release)
	<-done
}

// A reset started just before the flow expires extends the flow, so the
// answer (and a settling) still finds it.
func TestActingExtendsTheFlow_R57(t *testing.T) {
	h, held := newHeldHarness(t)
	alice(h)
	f := h.start(tenants.ActionReset, "alice")
	verifyEmailAndQuestions(t, f)
	h.clock.Advance(f.v.ExpiresAt.Add(-time.Second).Sub(h.clock.Now()))
	late := make(chan error, 1)
	go func() {
		_, err := h.eng.SubmitNewPassword(h.ctx, h.ten, f.token, f.v.StepToken, newPassword, newPassword, f.c)
		late <- err
	}()
	<-held.entered
	h.clock.Advance(time.Minute) // past the flow's first expiry
	if n, err := h.store.Tenant(h.ten.ID).PurgeFlows(h.ctx, h.clock.Now()); err != nil || n != 0 {
		t.Fatalf("the sweep took %d flows (%v) while the reset ran", n, err)
	}
	close(held.release)
	if err := <-late; err != nil {
		t.Fatalf("answer after the first expiry: %v", err)
	}
	if v := f.view(); v.Step != flow.StepDone || v.Result != "reset" {
		t.Fatalf("after the answer: %q/%q", v.Step, v.Result)
	}
}
