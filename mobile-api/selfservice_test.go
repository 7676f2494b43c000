package mobileapi_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/mobile-api/flowtest"
	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/tenants"
)

const (
	pathSelfService = "/api/mobile/v1/selfservice"
	pathStep        = "/api/mobile/v1/selfservice/step"
	annMail         = "ann@corp.example.com"
)

// flowHarness is the API with a real flow engine (fake directory, recording
// mailbox) and ann's enrolled device.
type flowHarness struct {
	*harness
	flows *flowtest.Flows
	dev   device
}

func newFlowHarness(t *testing.T) *flowHarness {
	t.Helper()
	h := newHarness(t, nil)
	fh := &flowHarness{harness: h, flows: flowtest.New(t, h.Env, h.push)}
	h.ann = fh.flows.WithEmail(t, h.Env, h.Tenant, h.ann, annMail, false)
	h.api.SetFlows(fh.flows.Engine)
	fh.dev = h.enrollDevice(h.Tenant, h.ann.ID, "ann-pixel")
	return fh
}

// view is the JSON the endpoints answer.
type view struct {
	Flow          string   `json:"flow"`
	Step          string   `json:"step"`
	StepToken     string   `json:"step_token"`
	Options       []string `json:"options"`
	Verified      []string `json:"verified"`
	Remaining     int      `json:"remaining"`
	Error         string   `json:"error"`
	Result        string   `json:"result"`
	LockoutEnds   string   `json:"lockout_ends"`
	PasswordRules []struct {
		Code  string `json:"code"`
		Value int    `json:"value"`
	} `json:"password_rules"`
}

func decodeView(t *testing.T, r response) view {
	t.Helper()
	var v view
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("status %d, body %q: %v", r.status, r.body, err)
	}
	return v
}

func body(m map[string]any) []byte {
	b, _ := json.Marshal(m)
	return b
}

// start starts action from dev and returns the first view.
func (fh *flowHarness) start(dev device, action string) view {
	fh.t.Helper()
	r := fh.signed(dev, "POST", pathSelfService, body(map[string]any{"action": action}))
	r.want(fh.t, 201, "")
	return decodeView(fh.t, r)
}

// step posts op for the flow of v from dev with extra members.
func (fh *flowHarness) step(dev device, v view, op string, extra map[string]any) response {
	fh.t.Helper()
	m := map[string]any{"flow": v.Flow, "step_token": v.StepToken, "op": op}
	for k, x := range extra {
		m[k] = x
	}
	return fh.signed(dev, "POST", pathStep, body(m))
}

// ok posts a step that must answer 200 and returns the view.
func (fh *flowHarness) ok(dev device, v view, op string, extra map[string]any) view {
	fh.t.Helper()
	r := fh.step(dev, v, op, extra)
	r.want(fh.t, 200, "")
	return decodeView(fh.t, r)
}

// lastCode is the one code ann got.
func (fh *flowHarness) lastCode() string {
	fh.t.Helper()
	codes := fh.flows.Mail.Codes(annMail)
	if len(codes) == 0 {
		fh.t.Fatal("no code was sent")
	}
	return codes[len(codes)-1]
}

// TestResetFromTheAppWithEmailCode_R8: the device is one factor; the email
// code is the second; nothing is written before both, then exactly one
// reset reaches the directory.
func TestResetFromTheAppWithEmailCode_R8(t *testing.T) {
	fh := newFlowHarness(t)
	v := fh.start(fh.dev, "reset")
	if v.Step != "choose" || !slices.Equal(v.Verified, []string{"push"}) || v.Remaining != 1 ||
		!slices.Contains(v.Options, "email") || slices.Contains(v.Options, "push") || v.Flow == "" || v.StepToken == "" {
		t.Fatalf("start: %+v", v)
	}
	v = fh.ok(fh.dev, v, "choose", map[string]any{"factor": "email"})
	if v.Step != "code" || len(fh.flows.Dir.Writes()) != 0 {
		t.Fatalf("after choose: %+v, writes %v", v, fh.flows.Dir.Writes())
	}
	v = fh.ok(fh.dev, v, "code", map[string]any{"code": fh.lastCode()})
	if v.Step != "new_password" || len(v.PasswordRules) == 0 || v.PasswordRules[0].Code != tenants.PasswordMinLength ||
		v.PasswordRules[0].Value < 8 {
		t.Fatalf("after the code: %+v", v)
	}
	if n := len(fh.flows.Dir.Writes()); n != 0 {
		t.Fatalf("R8: %d writes before the new password", n)
	}
	v = fh.ok(fh.dev, v, "new_password", map[string]any{"new_password": flowtest.NewPassword, "confirm_password": flowtest.NewPassword})
	if v.Step != "done" || v.Result != "reset" {
		t.Fatalf("after the new password: %+v", v)
	}
	w := fh.flows.Dir.Writes()
	if len(w) != 1 || w[0].Op != protocol.OpReset || w[0].Target != fh.ann.DirectoryGUID {
		t.Fatalf("directory writes %+v, want one reset of ann", w)
	}
	if got := fh.flows.Dir.Get(fh.ann.DirectoryGUID).Password; got != flowtest.NewPassword {
		t.Fatal("the directory does not have the new password")
	}
}

// TestWrongCodeIsAnInlineError: a wrong code is 200 with the view's error,
// and the flow stays at the code step.
func TestWrongCodeIsAnInlineError(t *testing.T) {
	fh := newFlowHarness(t)
	v := fh.ok(fh.dev, fh.start(fh.dev, "reset"), "choose", map[string]any{"factor": "email"})
	wrong := []byte(fh.lastCode())
	wrong[0] = '0' + (wrong[0]-'0'+1)%10
	v = fh.ok(fh.dev, v, "code", map[string]any{"code": string(wrong)})
	if v.Step != "code" || v.Error == "" {
		t.Fatalf("wrong code: %+v", v)
	}
}

// TestAnotherUsersFlowIsNotFound_R16: bob's device cannot drive ann's flow,
// not even with its step token; ann's flow is unchanged.
func TestAnotherUsersFlowIsNotFound_R16(t *testing.T) {
	fh := newFlowHarness(t)
	bob := fh.User(fh.Tenant, "bob")
	bobDev := fh.enrollDevice(fh.Tenant, bob.ID, "bob-phone")
	v := fh.start(fh.dev, "reset")
	fh.step(bobDev, v, "choose", map[string]any{"factor": "email"}).want(t, 404, "not_found")
	fh.step(bobDev, v, "view", nil).want(t, 404, "not_found")
	if n := len(fh.flows.Mail.Codes(annMail)); n != 0 {
		t.Fatalf("%d codes sent for another user's request", n)
	}
	if got := fh.ok(fh.dev, v, "view", nil); got.Step != "choose" || got.StepToken != v.StepToken {
		t.Fatalf("ann's flow changed: %+v", got)
	}
	// A browser's flow of ann is not the app's either.
	tok, err := fh.flows.Engine.Start(fh.Ctx, fh.Tenant, tenants.ActionReset, tenants.ChannelWeb, "ann", flow.Client{IP: "192.0.2.9"})
	if err != nil {
		t.Fatal(err)
	}
	fh.step(fh.dev, view{Flow: tok, StepToken: "x"}, "view", nil).want(t, 404, "not_found")
	// Nor is a token that names no flow.
	fh.step(fh.dev, view{Flow: "not-a-flow", StepToken: "x"}, "view", nil).want(t, 404, "not_found")
}

// TestReplayedStepIsStale_R16: the same step sent again (a new signature,
// the old step token) is 409 and sends no second code.
func TestReplayedStepIsStale_R16(t *testing.T) {
	fh := newFlowHarness(t)
	v := fh.start(fh.dev, "reset")
	fh.ok(fh.dev, v, "choose", map[string]any{"factor": "email"})
	fh.step(fh.dev, v, "choose", map[string]any{"factor": "email"}).want(t, 409, "stale")
	if n := len(fh.flows.Mail.Codes(annMail)); n != 1 {
		t.Fatalf("%d codes after a replayed choose, want 1", n)
	}
}

// TestUnlockFromTheApp_R8: a locked account is unlocked once after the
// device and the email code.
func TestUnlockFromTheApp_R8(t *testing.T) {
	fh := newFlowHarness(t)
	fh.flows.WithEmail(t, fh.Env, fh.Tenant, fh.ann, annMail, true)
	v := fh.ok(fh.dev, fh.start(fh.dev, "unlock"), "choose", map[string]any{"factor": "email"})
	v = fh.ok(fh.dev, v, "code", map[string]any{"code": fh.lastCode()})
	if v.Step != "unlock" || v.LockoutEnds == "" {
		t.Fatalf("before the unlock: %+v", v)
	}
	if v = fh.ok(fh.dev, v, "unlock", nil); v.Step != "done" || v.Result != "unlocked" {
		t.Fatalf("unlock: %+v", v)
	}
	if w := fh.flows.Dir.Writes(); len(w) != 1 || w[0].Op != protocol.OpUnlock {
		t.Fatalf("directory writes %+v", w)
	}
}

// TestFrozenUserIsNotAllowed_R29: after "this wasn't me" the app cannot
// start self-service.
func TestFrozenUserIsNotAllowed_R29(t *testing.T) {
	fh := newFlowHarness(t)
	if _, err := fh.Store.Tenant(fh.Tenant.ID).UpdateUser(fh.Ctx, fh.ann.ID, func(u *tenants.User) error { u.FrozenAt = fh.Clock.Now(); return nil }); err != nil {
		t.Fatal(err)
	}
	fh.signed(fh.dev, "POST", pathSelfService, body(map[string]any{"action": "reset"})).want(t, 403, "not_allowed")
}

// TestSelfServiceRequests: the endpoints are signed, refuse bad input, and
// answer 404 not_enabled without an engine.
func TestSelfServiceRequests(t *testing.T) {
	fh := newFlowHarness(t)
	fh.do(acmeHost, "POST", pathSelfService, body(map[string]any{"action": "reset"}), nil).want(t, 401, "unauthenticated")
	fh.signed(fh.dev, "POST", pathSelfService, body(map[string]any{"action": "change"})).want(t, 400, "malformed")
	fh.signed(fh.dev, "POST", pathSelfService, body(map[string]any{"action": "reset", "user": "bob"})).want(t, 400, "malformed")
	v := fh.start(fh.dev, "reset")
	fh.step(fh.dev, v, "dance", nil).want(t, 400, "malformed")
	fh.step(fh.dev, v, "choose", map[string]any{"factor": "carrier-pigeon"}).want(t, 400, "malformed")
	fh.api.SetFlows(nil)
	fh.signed(fh.dev, "POST", pathSelfService, body(map[string]any{"action": "reset"})).want(t, 404, "not_enabled")
}
