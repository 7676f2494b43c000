package cli

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	mobileapi "github.com/latchkey/latchkey/mobile-api"
	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/portal/middleware"
	"github.com/latchkey/latchkey/push/approval"
	"github.com/latchkey/latchkey/push/approval/approvaltest"
	"github.com/latchkey/latchkey/tenants"
)

// The authenticator against the real server: mobileapi's handlers behind
// the portal's tenant middleware in a Fiber app on a loopback listener,
// push/approval over a real SQLite store, and the real push/fcm Sender
// talking to approvaltest's fake FCM server. The tenant is resolved from the
// host, acme.localhost, which the client dials on 127.0.0.1.

type hostResolver map[string]*tenants.Tenant

func (r hostResolver) Resolve(_ context.Context, host string) (*tenants.Tenant, error) {
	if t, ok := r[host]; ok {
		return t, nil
	}
	return nil, tenants.ErrUnknownHost
}

type realTenant struct {
	*approvaltest.Env
	t      *testing.T
	fcm    *approvaltest.FakeFCM
	push   *approval.Approvals
	enroll *approval.Enrollments
	api    *mobileapi.API
	ann    tenants.User
	base   string
	state  string
}

func newRealTenant(t *testing.T) *realTenant {
	t.Helper()
	rt := &realTenant{Env: approvaltest.New(t), t: t, state: filepath.Join(t.TempDir(), "state.json")}
	rt.ann = rt.User(rt.Tenant, "ann")
	log := slog.New(slog.DiscardHandler)
	sender, fake := approvaltest.NewFCM(t)
	rt.fcm = fake
	var err error
	if rt.push, err = approval.New(approval.Config{Store: rt.Scope(), Sender: sender, Now: rt.Clock.Now, Logger: log}); err != nil {
		t.Fatal(err)
	}
	if rt.enroll, err = approval.NewEnrollments(rt.Scope(), nil, rt.Clock.Now); err != nil {
		t.Fatal(err)
	}
	api, err := mobileapi.New(mobileapi.Config{Store: rt.Scope(), Approvals: rt.push, Enrollments: rt.enroll, Now: rt.Clock.Now, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(middleware.Tenant(tenants.TrustedProxies{}, hostResolver{"acme.localhost": rt.Tenant}, log))
	mobileapi.Register(app, api)
	rt.api = api
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.Shutdown() })
	rt.base = "http://acme.localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	return rt
}

// run runs a command line on the server's clock.
func (rt *realTenant) run(stdin string, env Env, args ...string) result {
	rt.t.Helper()
	if env.Stdin == nil {
		env.Stdin = strings.NewReader(stdin)
	}
	var out, errb syncBuffer
	env.Stdout, env.Stderr = &out, &errb
	if env.Now == nil {
		env.Now = rt.Clock.Now
	}
	code := Execute(context.Background(), "test", append(args, "--state", rt.state), env)
	return result{code, out.String(), errb.String()}
}

func (rt *realTenant) enrollCLI(extra ...string) {
	rt.t.Helper()
	link, _, err := rt.enroll.Start(rt.Ctx, rt.Tenant, rt.ann.ID, rt.base)
	if err != nil {
		rt.t.Fatal(err)
	}
	r := rt.run("", Env{}, append([]string{"enroll", link, "--name", "Ann's laptop"}, extra...)...)
	if r.code != 0 || r.stdout != "Enrolled as ann at Acme\n" {
		rt.t.Fatalf("enroll against the real server: %+v", r)
	}
}

// pushReset asks for a push as the flow engine does.
func (rt *realTenant) pushReset() (string, int) {
	rt.t.Helper()
	cid, n, ok, err := rt.push.Push(rt.Ctx, rt.Tenant, rt.ann.ID, tenants.ActionReset, flow.Client{IP: "203.0.113.7",
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"})
	if err != nil || !ok {
		rt.t.Fatalf("push: ok=%v err=%v", ok, err)
	}
	return cid, n
}

func (rt *realTenant) status(cid string) string {
	rt.t.Helper()
	s, err := rt.push.Status(rt.Ctx, rt.Tenant, cid)
	if err != nil {
		rt.t.Fatal(err)
	}
	return s
}

func TestRealServerEnrollAndApprove_R28_R32(t *testing.T) {
	rt := newRealTenant(t)
	rt.enrollCLI()
	cid, n := rt.pushReset()
	r := rt.run("", Env{}, "wait", "--once", "--auto", "approve", "--number", strconv.Itoa(n))
	if r.code != 0 || !strings.Contains(r.stdout, "password reset at Acme") || !strings.Contains(r.stdout, "203.0.113.7") || !strings.Contains(r.stdout, "Approved") {
		t.Fatalf("wait: %+v", r)
	}
	if s := rt.status(cid); s != "approved" {
		t.Fatalf("challenge %s", s)
	}
}

func TestRealServerWrongNumberAndReport_R28_R29(t *testing.T) {
	rt := newRealTenant(t)
	rt.enrollCLI()
	cid, n := rt.pushReset()
	r := rt.run(strconv.Itoa(otherNumber(n))+"\n", Env{}, "wait", "--once")
	if r.code != 1 || r.stderr != "latchkey-authenticator: That number was wrong; the request was denied.\n" {
		t.Fatalf("wrong number: %+v", r)
	}
	if s := rt.status(cid); s != "denied" {
		t.Fatalf("after a wrong number: %s", s)
	}
	rt.Clock.Advance(3 * time.Minute) // past the limits' cool-down
	cid, _ = rt.pushReset()
	if r = rt.run("r\n", Env{}, "wait", "--once"); r.code != 0 || !strings.Contains(r.stdout, "Reported") {
		t.Fatalf("report: %+v", r)
	}
	if s := rt.status(cid); s != "reported" {
		t.Fatalf("after a report: %s", s)
	}
	if u := rt.GetUser(rt.Tenant, rt.ann.ID); u.FrozenAt.IsZero() {
		t.Error("a report did not freeze the user's self-service")
	}
}

func TestRealServerPushListen_R33(t *testing.T) {
	rt := newRealTenant(t)
	rt.enrollCLI("--push-token", "fcm-token-of-ann")
	listen, done := startPushWait(t, func(env Env, args ...string) result { return rt.run("", env, args...) }, "--auto", "deny")
	cid, _ := rt.pushReset()
	bodies := rt.fcm.Requests()
	if len(bodies) != 1 {
		t.Fatalf("%d FCM requests", len(bodies))
	}
	var sent struct {
		Message struct {
			Token string            `json:"token"`
			Data  map[string]string `json:"data"`
		} `json:"message"`
	}
	if err := json.Unmarshal(bodies[0], &sent); err != nil || sent.Message.Token != "fcm-token-of-ann" || sent.Message.Data["cid"] != cid {
		t.Fatalf("FCM request %s: %v", bodies[0], err)
	}
	data, _ := json.Marshal(sent.Message.Data)
	r := forwardPush(t, listen, data, done)
	if r.code != 0 || !strings.Contains(r.stdout, "Denied") {
		t.Fatalf("%+v", r)
	}
	if s := rt.status(cid); s != "denied" {
		t.Fatalf("challenge %s", s)
	}
}

func TestRealServerDeviceCommands(t *testing.T) {
	rt := newRealTenant(t)
	rt.enrollCLI()
	if r := rt.run("", Env{}, "device"); r.code != 0 || !strings.Contains(r.stdout, "Name:     Ann's laptop") || !strings.Contains(r.stdout, "Platform: cli") {
		t.Fatalf("device: %+v", r)
	}
	if r := rt.run("", Env{}, "rename", "Work laptop"); r.code != 0 || !strings.Contains(r.stdout, `"Work laptop"`) {
		t.Fatalf("rename: %+v", r)
	}
	if r := rt.run("", Env{}, "push-token", "tok-2"); r.code != 0 {
		t.Fatalf("push-token: %+v", r)
	}
	if r := rt.run("", Env{}, "device"); r.code != 0 || !strings.Contains(r.stdout, "Name:     Work laptop") || !strings.Contains(r.stdout, "Push:     yes") {
		t.Fatalf("device after changes: %+v", r)
	}
	cid, _ := rt.pushReset()
	if r := rt.run("", Env{}, "list"); r.code != 0 || !strings.Contains(r.stdout, cid) {
		t.Fatalf("list: %+v", r)
	}
	// A clock more than 60 s off is refused, with the reason (R34).
	late := func() time.Time { return rt.Clock.Now().Add(61 * time.Second) }
	if r := rt.run("", Env{Now: late}, "list"); r.code != 1 || !strings.Contains(r.stderr, "clock is more than 60 seconds off") {
		t.Fatalf("skewed clock: %+v", r)
	}
	if r := rt.run("", Env{}, "remove"); r.code != 0 {
		t.Fatalf("remove: %+v", r)
	}
}

func TestRealServerRateLimitIsExplained(t *testing.T) {
	rt := newRealTenant(t)
	bogus := rt.base + "/m/enroll?id=" + strings.Repeat("A", 22) + "&secret=" + strings.Repeat("A", 43)
	var r result
	for range mobileapi.DefaultEnrollAttempts + 1 {
		r = rt.run("", Env{}, "enroll", bogus)
	}
	if r.code != 1 || !strings.HasPrefix(r.stderr, "latchkey-authenticator: Too many attempts from this address; try again in ") {
		t.Fatalf("%+v", r)
	}
}
