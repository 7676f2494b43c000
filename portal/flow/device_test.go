package flow_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/tenants"
)

// TestResetFromTheApp: a reset started from the authenticator app counts the
// device as one factor and takes the mobile channel's policy; the app drives
// the remaining steps with the same engine calls, and the directory is
// written once.
func TestResetFromTheApp(t *testing.T) {
	h := newHarness(t)
	u := alice(h)
	tok, v, err := h.eng.StartFromDevice(h.ctx, h.ten, tenants.ActionReset, u.ID, h.client())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v.Verified, []tenants.Factor{tenants.FactorPush}) || v.Remaining != 1 || v.Step != flow.StepChoose {
		t.Fatalf("from the app: %+v", v)
	}
	if slices.Contains(v.Options, tenants.FactorPush) {
		t.Fatalf("the device is offered again: %v", v.Options)
	}
	if len(h.dir.writes()) != 0 {
		t.Fatal("R8: a write before verification")
	}
	f := &fl{h: h, c: h.client(), token: tok, v: v}
	f.choose(tenants.FactorEmail)
	wantStep(t, f.code(f.mailCode(tenants.FactorEmail, "alice@corp.example.com")), flow.StepNewPassword)
	if got := f.newPassword(newPassword); got.Step != flow.StepDone || got.Result != "reset" {
		t.Fatalf("reset from the app: %+v", got)
	}
	if n := len(h.dir.writes()); n != 1 {
		t.Fatalf("%d directory writes, want 1", n)
	}
}

// TestAppIsNeverEnoughForAnAdmin_R15: a push alone never resets an admin.
func TestAppIsNeverEnoughForAnAdmin_R15(t *testing.T) {
	h := newHarness(t)
	h.setRule(tenants.ActionReset, 1, tenants.FactorPush, tenants.FactorEmail, tenants.FactorSMS)
	admin := h.account(acct{login: "root", mail: "root@corp.example.com", mobile: "+41 79 765 43 21", admin: true})
	_, v, err := h.eng.StartFromDevice(h.ctx, h.ten, tenants.ActionReset, admin.ID, h.client())
	if err != nil {
		t.Fatal(err)
	}
	if v.Step != flow.StepChoose || v.Remaining != 1 {
		t.Fatalf("R15: an admin from the app: %+v", v)
	}
}

// TestFrozenUserCannotStartFromTheApp_R29: after "this wasn't me" the app
// cannot start self-service either.
func TestFrozenUserCannotStartFromTheApp_R29(t *testing.T) {
	h := newHarness(t)
	u := alice(h)
	if _, err := h.store.Tenant(h.ten.ID).UpdateUser(h.ctx, u.ID, func(u *tenants.User) error { u.FrozenAt = h.clock.Now(); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.eng.StartFromDevice(h.ctx, h.ten, tenants.ActionUnlock, u.ID, h.client()); !errors.Is(err, flow.ErrDisabled) {
		t.Fatalf("frozen user from the app: %v", err)
	}
}
