package approval_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/push/approval"
	"github.com/latchkey/latchkey/push/approval/approvaltest"
	"github.com/latchkey/latchkey/push/challenge"
	"github.com/latchkey/latchkey/push/pushstore"
	"github.com/latchkey/latchkey/tenants"
)

var browser = flow.Client{IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"}

type fixture struct {
	*approvaltest.Env
	a       *approval.Approvals
	user    tenants.User
	key     approvaltest.Key
	dev     tenants.Device
	reports []string
}

// newFixture is a user with one device (token "tok-1" unless noToken) and
// Approvals over the real store with sender (nil: polling only).
func newFixture(t *testing.T, sender challenge.Sender, token string) *fixture {
	t.Helper()
	f := &fixture{Env: approvaltest.New(t)}
	f.user = f.User(f.Tenant, "ann")
	f.key = approvaltest.NewKey(t, "ann-key-1")
	f.dev = f.Device(f.Tenant, f.user.ID, f.key, token)
	var err error
	f.a, err = approval.New(approval.Config{Store: f.Scope(), Sender: sender, Now: f.Clock.Now,
		OnReport: func(_ context.Context, ten *tenants.Tenant, c *challenge.Challenge) {
			userID := c.UserID
			f.reports = append(f.reports, string(ten.ID)+"/"+userID)
		}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) push(t *testing.T) (string, int, bool) {
	t.Helper()
	cid, n, ok, err := f.a.Push(f.Ctx, f.Tenant, f.user.ID, tenants.ActionReset, browser)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	return cid, n, ok
}

func (f *fixture) respond(t *testing.T, cid string, d challenge.Decision, n int) (*challenge.Challenge, error) {
	t.Helper()
	return f.a.Respond(f.Ctx, f.Tenant, f.dev, cid, f.Answer(f.key, cid, d, n))
}

func (f *fixture) status(t *testing.T, cid string) string {
	t.Helper()
	s, err := f.a.Status(f.Ctx, f.Tenant, cid)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	return s
}

// TestPushBuildsTheContext_R30: the stored challenge carries the tenant's
// display name, the app, the browser's IP and a summary of its user agent,
// and the time; it expires after 120 s.
func TestPushBuildsTheContext_R30(t *testing.T) {
	s := &approvaltest.Sender{}
	f := newFixture(t, s, "tok-1")
	cid, n, ok := f.push(t)
	if !ok || n < 10 || n > 99 {
		t.Fatalf("push: ok=%v number=%d", ok, n)
	}
	c, err := f.a.Challenge(f.Ctx, f.Tenant, f.dev.ID, cid)
	if err != nil {
		t.Fatal(err)
	}
	want := challenge.Context{Action: tenants.ActionReset, TenantName: "Acme", App: approval.DefaultApp, IP: "203.0.113.7",
		Browser: "Firefox on Windows", Time: approvaltest.T0}
	if c.Context != want || c.Number != n || !c.ExpiresAt.Equal(approvaltest.T0.Add(120*time.Second)) || c.DeviceID != f.dev.ID {
		t.Fatalf("challenge: %+v", c)
	}
	if s.Count() != 1 || s.Sent[0].Token != "tok-1" || s.Sent[0].Data.CID != cid {
		t.Fatalf("sent: %+v", s.Sent)
	}
}

// TestPushPicksTheMostRecentlySeenDevice: with two devices, the challenge
// goes to the one seen last; a user without devices gets ok=false.
func TestPushPicksTheMostRecentlySeenDevice(t *testing.T) {
	s := &approvaltest.Sender{}
	f := newFixture(t, s, "tok-old")
	f.Clock.Advance(time.Hour)
	newer := f.Device(f.Tenant, f.user.ID, approvaltest.NewKey(t, "ann-key-2"), "tok-new")
	cid, _, ok := f.push(t)
	c, err := f.a.Challenge(f.Ctx, f.Tenant, newer.ID, cid)
	if !ok || err != nil || s.Sent[0].Token != "tok-new" {
		t.Fatalf("push went to %+v (%v), sent %+v", c, err, s.Sent)
	}
	nobody := f.User(f.Tenant, "bob")
	if _, _, ok, err := f.a.Push(f.Ctx, f.Tenant, nobody.ID, tenants.ActionReset, browser); ok || err != nil {
		t.Fatalf("user without a device: ok=%v err=%v", ok, err)
	}
}

// TestFourthPushIsRefusedWithoutSending_R29: three pushes in ten minutes
// go out (after their cool-downs); the fourth is refused with ok=false and
// the sender is not called; after the window pushes resume.
func TestFourthPushIsRefusedWithoutSending_R29(t *testing.T) {
	s := &approvaltest.Sender{}
	f := newFixture(t, s, "tok-1")
	for i := range 3 {
		if _, _, ok := f.push(t); !ok {
			t.Fatalf("push %d refused", i+1)
		}
		f.Clock.Advance(2*time.Minute + time.Second)
	}
	if _, _, ok := f.push(t); ok {
		t.Fatal("4th push in the window was allowed")
	}
	if s.Count() != 3 {
		t.Fatalf("sender called %d times, want 3", s.Count())
	}
	f.Clock.Advance(10 * time.Minute)
	if _, _, ok := f.push(t); !ok || s.Count() != 4 {
		t.Fatalf("after the window: ok=%v, %d sent", ok, s.Count())
	}
}

// TestCooldownRefusesAnImmediateSecondPush_R29: a second push right after
// the first waits for its cool-down.
func TestCooldownRefusesAnImmediateSecondPush_R29(t *testing.T) {
	s := &approvaltest.Sender{}
	f := newFixture(t, s, "tok-1")
	f.push(t)
	if _, _, ok := f.push(t); ok || s.Count() != 1 {
		t.Fatalf("second push at once: ok=%v, %d sent", ok, s.Count())
	}
	f.Clock.Advance(30 * time.Second)
	if _, _, ok := f.push(t); !ok {
		t.Fatal("second push after 30 s refused")
	}
}

// TestTwoDenialsStopPushes_R29: after the user denied twice, no push is
// sent for the rest of the window.
func TestTwoDenialsStopPushes_R29(t *testing.T) {
	s := &approvaltest.Sender{}
	f := newFixture(t, s, "tok-1")
	for i := range 2 {
		cid, _, ok := f.push(t)
		if !ok {
			t.Fatalf("push %d refused", i+1)
		}
		if c, err := f.respond(t, cid, challenge.DecisionDeny, 0); err != nil || c.State != challenge.StateDenied {
			t.Fatalf("deny %d: %v %v", i+1, c, err)
		}
		f.Clock.Advance(2*time.Minute + time.Second)
	}
	f.Clock.Advance(3 * time.Minute) // past any cool-down, within the window
	if _, _, ok := f.push(t); ok || s.Count() != 2 {
		t.Fatalf("after two denials: ok=%v, %d sent", ok, s.Count())
	}
}

// TestApprovalWithTheRightNumberOnce_R28_R30: the right number approves;
// a second answer is refused and changes nothing.
func TestApprovalWithTheRightNumberOnce_R28_R30(t *testing.T) {
	f := newFixture(t, &approvaltest.Sender{}, "tok-1")
	cid, n, _ := f.push(t)
	f.Clock.Advance(5 * time.Second)
	if c, err := f.respond(t, cid, challenge.DecisionApprove, n); err != nil || c.State != challenge.StateApproved {
		t.Fatalf("approve: %v %v", c, err)
	}
	if got := f.status(t, cid); got != "approved" {
		t.Fatalf("status %q", got)
	}
	if _, err := f.respond(t, cid, challenge.DecisionDeny, 0); !errors.Is(err, challenge.ErrAlreadyAnswered) {
		t.Fatalf("second answer: %v", err)
	}
	if got := f.status(t, cid); got != "approved" {
		t.Fatalf("status after a second answer %q", got)
	}
}

// TestWrongNumberDenies_R28: an approval with the wrong number is refused
// and ends the challenge denied.
func TestWrongNumberDenies_R28(t *testing.T) {
	f := newFixture(t, &approvaltest.Sender{}, "tok-1")
	cid, n, _ := f.push(t)
	wrong := 10 + (n-10+1)%90
	if _, err := f.respond(t, cid, challenge.DecisionApprove, wrong); !errors.Is(err, challenge.ErrWrongNumber) {
		t.Fatalf("wrong number: %v", err)
	}
	if got := f.status(t, cid); got != "denied" {
		t.Fatalf("status %q, want denied", got)
	}
	if _, err := f.respond(t, cid, challenge.DecisionApprove, n); !errors.Is(err, challenge.ErrAlreadyAnswered) {
		t.Fatalf("the right number after a wrong one: %v", err)
	}
}

// TestLateAnswerIsRefused_R30: at 120 s (and after) the challenge is
// expired and an approval is refused.
func TestLateAnswerIsRefused_R30(t *testing.T) {
	f := newFixture(t, &approvaltest.Sender{}, "tok-1")
	cid, n, _ := f.push(t)
	f.Clock.Advance(121 * time.Second)
	if got := f.status(t, cid); got != "expired" {
		t.Fatalf("status %q, want expired", got)
	}
	if _, err := f.respond(t, cid, challenge.DecisionApprove, n); !errors.Is(err, challenge.ErrExpired) {
		t.Fatalf("late answer: %v", err)
	}
}

// TestAnotherDeviceCannotAnswer_R31: another user's device (with its own,
// valid key) finds no such challenge.
func TestAnotherDeviceCannotAnswer_R31(t *testing.T) {
	f := newFixture(t, &approvaltest.Sender{}, "tok-1")
	cid, n, _ := f.push(t)
	bob := f.User(f.Tenant, "bob")
	bk := approvaltest.NewKey(t, "bob-key")
	bd := f.Device(f.Tenant, bob.ID, bk, "")
	if _, err := f.a.Respond(f.Ctx, f.Tenant, bd, cid, f.Answer(bk, cid, challenge.DecisionApprove, n)); !errors.Is(err, challenge.ErrNotFound) {
		t.Fatalf("bob's device: %v", err)
	}
	if _, err := f.a.Challenge(f.Ctx, f.Tenant, bd.ID, cid); !errors.Is(err, challenge.ErrNotFound) {
		t.Fatalf("bob's device reads: %v", err)
	}
	// Ann's device record but Bob's key: the signature check refuses it.
	if _, err := f.a.Respond(f.Ctx, f.Tenant, f.dev, cid, f.Answer(approvaltest.Key{Priv: bk.Priv, KeyID: f.key.KeyID}, cid,
		challenge.DecisionApprove, n)); !errors.Is(err, challenge.ErrBadSignature) {
		t.Fatalf("another key: %v", err)
	}
	if got := f.status(t, cid); got != "pending" {
		t.Fatalf("status %q, want pending", got)
	}
}

// TestReportFreezesTheUser_R29: "this wasn't me" freezes the user's
// self-service (FrozenAt), calls OnReport once, and stops pushes.
func TestReportFreezesTheUser_R29(t *testing.T) {
	s := &approvaltest.Sender{}
	f := newFixture(t, s, "tok-1")
	cid, _, _ := f.push(t)
	f.Clock.Advance(3 * time.Second)
	c, err := f.respond(t, cid, challenge.DecisionReport, 0)
	if err != nil || c.State != challenge.StateReported {
		t.Fatalf("report: %v %v", c, err)
	}
	if got := f.GetUser(f.Tenant, f.user.ID).FrozenAt; !got.Equal(approvaltest.T0.Add(3 * time.Second)) {
		t.Fatalf("FrozenAt %v", got)
	}
	if len(f.reports) != 1 || f.reports[0] != string(f.Tenant.ID)+"/"+f.user.ID {
		t.Fatalf("OnReport calls: %v", f.reports)
	}
	if _, err := f.respond(t, cid, challenge.DecisionReport, 0); !errors.Is(err, challenge.ErrAlreadyAnswered) || len(f.reports) != 1 {
		t.Fatalf("second report: %v, %d OnReport calls", err, len(f.reports))
	}
	f.Clock.Advance(time.Hour)
	if _, _, ok := f.push(t); ok || s.Count() != 1 {
		t.Fatalf("push to a frozen user: ok=%v, %d sent", ok, s.Count())
	}
}

// TestPollingWithoutSender_R34: with no Sender configured, Push still
// creates the challenge, the device finds it by polling and can answer it.
func TestPollingWithoutSender_R34(t *testing.T) {
	f := newFixture(t, nil, "tok-1")
	cid, n, ok := f.push(t)
	if !ok {
		t.Fatal("push without a sender refused")
	}
	pending, err := f.Store.Tenant(f.Tenant.ID).ListPendingChallenges(f.Ctx, f.dev.ID, f.Clock.Now())
	if err != nil || len(pending) != 1 || pending[0].CID != cid {
		t.Fatalf("pending: %v %v", pending, err)
	}
	if c, err := f.respond(t, cid, challenge.DecisionApprove, n); err != nil || c.State != challenge.StateApproved {
		t.Fatalf("approve: %v %v", c, err)
	}
	if got := f.GetDevice(f.Tenant, f.dev.ID).PushToken; got != "tok-1" {
		t.Fatalf("token %q changed without any send", got)
	}
}

// TestDeviceWithoutTokenPolls_R34: a device that never gave a token gets
// its challenge by polling; the sender is not called.
func TestDeviceWithoutTokenPolls_R34(t *testing.T) {
	s := &approvaltest.Sender{}
	f := newFixture(t, s, "")
	if _, _, ok := f.push(t); !ok || s.Count() != 0 {
		t.Fatalf("ok=%v, %d sent", ok, s.Count())
	}
}

// TestFCMPayloadSnapshot_R33: through Approvals and the real push/fcm
// Sender, the FCM server receives a data-only message with the cid and
// nothing of the context (push/fcm's TestWhatFCMReceivesIsDataOnly_R33
// covers the Sender alone).
func TestFCMPayloadSnapshot_R33(t *testing.T) {
	sender, fake := approvaltest.NewFCM(t)
	f := newFixture(t, sender, "tok-1")
	cid, n, ok := f.push(t)
	if !ok {
		t.Fatal("push refused")
	}
	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d FCM requests", len(reqs))
	}
	var doc map[string]any
	if err := json.Unmarshal(reqs[0], &doc); err != nil {
		t.Fatal(err)
	}
	got := approvaltest.LeafPaths(doc)
	want := []string{
		"message.android.collapse_key", "message.android.priority", "message.android.ttl",
		"message.apns.headers.apns-collapse-id", "message.apns.headers.apns-expiration",
		"message.apns.headers.apns-priority", "message.apns.headers.apns-push-type",
		"message.apns.payload.aps.content-available",
		"message.data.cid", "message.token",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("FCM keys %v\nwant %v", got, want)
	}
	msg := doc["message"].(map[string]any)
	if msg["data"].(map[string]any)["cid"] != cid || msg["android"].(map[string]any)["ttl"] != "120s" ||
		msg["android"].(map[string]any)["priority"] != "high" {
		t.Fatalf("FCM message: %s", reqs[0])
	}
	body := string(reqs[0])
	for _, leak := range []string{"ann", f.user.ID, "203.0.113.7", "Firefox", "Acme", "notification", ":" + strconv.Itoa(n) + ","} {
		if strings.Contains(body, leak) {
			t.Errorf("FCM request contains %q: %s", leak, body)
		}
	}
}

// TestUnregisteredTokenIsCleared_R34: FCM's UNREGISTERED clears the
// device's token; the challenge still exists for polling and the next push
// sends nothing.
func TestUnregisteredTokenIsCleared_R34(t *testing.T) {
	sender, fake := approvaltest.NewFCM(t)
	fake.SetAnswer(404, "UNREGISTERED")
	f := newFixture(t, sender, "tok-1")
	cid, _, ok := f.push(t)
	if !ok {
		t.Fatal("push refused")
	}
	if got := f.GetDevice(f.Tenant, f.dev.ID).PushToken; got != "" {
		t.Fatalf("token %q kept after UNREGISTERED", got)
	}
	if got := f.status(t, cid); got != "pending" {
		t.Fatalf("status %q", got)
	}
	f.Clock.Advance(time.Minute)
	f.push(t)
	if n := len(fake.Requests()); n != 1 {
		t.Fatalf("%d FCM requests, want 1 (no token after the first)", n)
	}
}

// TestFailedSendKeepsTheChallenge_R34: any other send failure keeps the
// challenge and the token; the device polls.
func TestFailedSendKeepsTheChallenge_R34(t *testing.T) {
	s := &approvaltest.Sender{Err: errors.New("FCM is down")}
	f := newFixture(t, s, "tok-1")
	cid, _, ok := f.push(t)
	if !ok || f.status(t, cid) != "pending" || f.GetDevice(f.Tenant, f.dev.ID).PushToken != "tok-1" {
		t.Fatalf("ok=%v", ok)
	}
}

// TestStatusOfAnotherTenantsChallenge_R31: Status finds no challenge of
// another tenant.
func TestStatusOfAnotherTenantsChallenge_R31(t *testing.T) {
	f := newFixture(t, nil, "")
	cid, _, _ := f.push(t)
	other := f.NewTenant("globex", "Globex", "")
	if _, err := f.a.Status(f.Ctx, other, cid); !errors.Is(err, challenge.ErrNotFound) {
		t.Fatalf("status from another tenant: %v", err)
	}
}

// TestStoredContextIsJSON: the context column holds the documented JSON.
func TestStoredContextIsJSON(t *testing.T) {
	f := newFixture(t, nil, "")
	cid, _, _ := f.push(t)
	rec, err := f.Store.Tenant(f.Tenant.ID).GetChallenge(f.Ctx, cid)
	if err != nil {
		t.Fatal(err)
	}
	var j pushstore.ContextJSON
	if err := json.Unmarshal(rec.Context, &j); err != nil || j.TenantName != "Acme" || j.Action != "reset" {
		t.Fatalf("context %s: %v", rec.Context, err)
	}
}
