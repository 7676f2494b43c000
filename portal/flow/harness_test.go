package flow_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/portal/factor/otp"
	"github.com/latchkey/latchkey/portal/factor/questions"
	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store/sqlite"
)

// t0 is where every fake clock starts: aligned to the hour, so fixed-window
// counters (the SMS cooldown, the hourly send limit) start a fresh window.
var t0 = time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)

// newPassword passes DefaultPolicy's rules for the harness's accounts.
const newPassword = "Correct-Horse-42-battery"

// The security answers of every account set up with questions.
var answers = []string{"Rex the Dog", "Springfield", "The Beatles"}

// fakeClock is the engine's and the store's clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// dirAccount is one account of the fake directory.
type dirAccount struct {
	GUID, Login, UPN, DN, DisplayName string
	Mail, Mobile                      string
	Groups                            []string
	Password                          string
	History                           []string // earlier passwords (the current one counts too)
	Locked                            bool
	LockoutEnds                       time.Time
	Disabled, MustChange              bool
}

// command is what the fake directory was asked to do.
type command struct {
	Tenant string
	Op     protocol.Op
	Target string
	Login  string
	Unlock bool
	Status hub.Status
	Code   string
}

// fakeDir is a flow.Dispatcher answering like a connector in front of a small
// directory. It records every command (R8) and, like hub.Dispatcher, zeroes
// the passwords it is given.
type fakeDir struct {
	mu       sync.Mutex
	accounts map[string]*dirAccount // by lower-case login
	policy   protocol.PasswordPolicy
	offline  bool
	cmds     []command
	// onLookup runs on every lookup (the timing test advances the clock).
	onLookup func()
}

func newFakeDir() *fakeDir {
	return &fakeDir{accounts: map[string]*dirAccount{},
		policy: protocol.PasswordPolicy{MinLength: 10, Complexity: true, History: 24, LockoutThreshold: 5,
			LockoutDuration: 30 * time.Minute, Source: "domain"}}
}

func (d *fakeDir) add(a *dirAccount) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.accounts[strings.ToLower(a.Login)] = a
}

func (d *fakeDir) setOffline(v bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.offline = v
}

// get returns a copy of the account with login.
func (d *fakeDir) get(login string) dirAccount {
	d.mu.Lock()
	defer d.mu.Unlock()
	return *d.accounts[strings.ToLower(login)]
}

func (d *fakeDir) commands() []command {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.cmds)
}

// writes returns the recorded commands that change the directory.
func (d *fakeDir) writes() []command {
	var out []command
	for _, c := range d.commands() {
		if c.Op.Writes() {
			out = append(out, c)
		}
	}
	return out
}

func (d *fakeDir) byGUID(guid string) *dirAccount {
	for _, a := range d.accounts {
		if a.GUID == guid {
			return a
		}
	}
	return nil
}

func (d *fakeDir) Execute(ctx context.Context, tenantID string, req hub.Request) hub.Outcome {
	// Copy the passwords, then zero the caller's buffers as hub.Dispatcher does.
	pw, old := string(req.Password), string(req.OldPassword)
	protocol.Zero(req.Password)
	protocol.Zero(req.OldPassword)
	if req.Op == protocol.OpLookup && d.onLookup != nil {
		d.onLookup()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.run(req, pw, old)
	d.cmds = append(d.cmds, command{Tenant: tenantID, Op: req.Op, Target: req.Target, Login: req.Login, Unlock: req.Unlock,
		Status: out.Status, Code: out.Code})
	out.CommandID = fmt.Sprintf("cmd-%d", len(d.cmds))
	return out
}

func done(v any) hub.Outcome {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return hub.Outcome{Status: hub.Done, Data: raw}
}

func dirErr(code string) hub.Outcome { return hub.Outcome{Status: hub.DirectoryError, Code: code} }

func (d *fakeDir) run(req hub.Request, pw, old string) hub.Outcome {
	if d.offline {
		return hub.Outcome{Status: hub.Offline}
	}
	if req.Op == protocol.OpLookup {
		a := d.accounts[strings.ToLower(req.Login)]
		if a == nil {
			return dirErr("NotFound")
		}
		return done(protocol.Account{GUID: a.GUID, DN: a.DN, Username: a.Login, UPN: a.UPN, Mail: a.Mail, Mobile: a.Mobile,
			DisplayName: a.DisplayName, Groups: a.Groups})
	}
	a := d.byGUID(req.Target)
	if a == nil {
		return dirErr("NotFound")
	}
	switch req.Op {
	case protocol.OpReadStatus:
		return done(protocol.AccountStatus{Locked: a.Locked, LockoutEnds: a.LockoutEnds, Disabled: a.Disabled, MustChange: a.MustChange})
	case protocol.OpReadPolicy:
		return done(d.policy)
	case protocol.OpVerifyPassword:
		switch {
		case pw != a.Password:
			return dirErr("InvalidCredentials")
		case a.MustChange:
			return dirErr("MustChange")
		}
		return done(struct{}{})
	case protocol.OpReset:
		if pw == "" {
			return hub.Outcome{Status: hub.Refused, Reason: protocol.RefuseBadPayload}
		}
		if pw == a.Password || slices.Contains(a.History, pw) {
			return dirErr("InHistory")
		}
		a.History, a.Password, a.MustChange = append(a.History, a.Password), pw, req.MustChange
		if req.Unlock {
			a.Locked, a.LockoutEnds = false, time.Time{}
		}
		return done(struct{}{})
	case protocol.OpChange:
		if old != a.Password {
			return dirErr("WrongPassword")
		}
		if pw == a.Password || slices.Contains(a.History, pw) {
			return dirErr("InHistory")
		}
		a.History, a.Password, a.MustChange = append(a.History, a.Password), pw, false
		return done(struct{}{})
	case protocol.OpUnlock:
		a.Locked, a.LockoutEnds = false, time.Time{}
		return done(struct{}{})
	}
	return hub.Outcome{Status: hub.Refused, Reason: protocol.RefuseOperation}
}

// sent is one message the fake messenger was given.
type sent struct {
	Tenant tenants.ID
	flow.Message
}

// fakeMail is a flow.Messenger that keeps every message: the test reads codes
// "from the mailbox".
type fakeMail struct {
	mu   sync.Mutex
	msgs []sent
}

func (m *fakeMail) Send(_ context.Context, t *tenants.Tenant, msg flow.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, sent{Tenant: t.ID, Message: msg})
	return nil
}

func (m *fakeMail) all() []sent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.msgs)
}

func (m *fakeMail) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.msgs)
}

// since returns the messages after the first n.
func (m *fakeMail) since(n int) []sent { return m.all()[n:] }

// kind returns the messages of kind to to ("" for any recipient).
func (m *fakeMail) kind(kind, to string) []sent {
	var out []sent
	for _, s := range m.all() {
		if s.Kind == kind && (to == "" || s.To == to) {
			out = append(out, s)
		}
	}
	return out
}

// fakePhone is a flow.PhoneChecker for a few country codes.
func fakePhone(raw string) (string, string, error) {
	s := strings.NewReplacer(" ", "", "-", "").Replace(raw)
	if !strings.HasPrefix(s, "+") || len(s) < 8 || strings.ContainsFunc(s[1:], func(r rune) bool { return r < '0' || r > '9' }) {
		return "", "", errors.New("not an E.164 number")
	}
	for prefix, region := range map[string]string{"+41": "CH", "+49": "DE", "+44": "GB", "+1": "US"} {
		if strings.HasPrefix(s, prefix) {
			return s, region, nil
		}
	}
	return s, "ZZ", nil
}

// harness is one engine over a real SQLite store, a fake directory, a fake
// messenger, real one-time codes and real (cheap) argon2id answers.
type harness struct {
	t      *testing.T
	ctx    context.Context
	store  *sqlite.Store
	path   string
	clock  *fakeClock
	dir    *fakeDir
	mail   *fakeMail
	hasher *questions.Hasher
	eng    *flow.Engine
	ten    *tenants.Tenant
	cfg    flow.Config
	deps   flow.Deps
	ips    int
	guids  int
	slept  []time.Duration
	sleepM sync.Mutex
}

// option tunes a harness before its engine is made.
type option func(*harness)

func withConfig(fn func(*flow.Config)) option { return func(h *harness) { fn(&h.cfg) } }
func withDeps(fn func(*flow.Deps)) option     { return func(h *harness) { fn(&h.deps) } }

// testKey is the engine's HMAC key in tests.
var testKey = []byte("flow-test-key-0123456789abcdef-0123456789")

func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	h := &harness{t: t, ctx: t.Context(), clock: &fakeClock{t: t0}, dir: newFakeDir(), mail: &fakeMail{},
		hasher: questions.NewHasher(questions.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 16, SaltLen: 8}, 4)}
	h.path = filepath.Join(t.TempDir(), "latchkey.db")
	st, err := sqlite.Open(h.ctx, h.path, sqlite.WithClock(h.clock.Now),
		sqlite.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	h.store = st
	h.cfg = flow.Config{MinDelay: -1}
	h.deps = flow.Deps{Store: st, Dispatcher: h.dir, Messenger: h.mail,
		Codes: otp.Codes{Key: []byte("otp-test-key-0123456789abcdef-0123456789")}, Answers: h.hasher, Phone: fakePhone,
		Key: testKey, Links: tenants.LinkBuilder{PlatformDomain: "latchkey.test"}, Now: h.clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Sleep:  func(context.Context, time.Duration) { t.Error("Sleep called with the response floor off") }}
	for _, o := range opts {
		o(h)
	}
	h.eng, err = flow.New(h.cfg, h.deps)
	if err != nil {
		t.Fatalf("flow.New: %v", err)
	}
	h.ten = h.tenant("acme", "Acme Corp")
	return h
}

// tenant creates a tenant with DefaultPolicy and a default organisation, the
// minimum of cmd/latchkey's createTenant.
func (h *harness) tenant(slug, name string) *tenants.Tenant {
	h.t.Helper()
	ten, err := h.store.Platform().CreateTenant(h.ctx, tenants.Tenant{Slug: slug, Name: name, Policy: tenants.DefaultPolicy()},
		[]tenants.Host{{Host: slug + ".latchkey.test", Primary: true}})
	if err != nil {
		h.t.Fatalf("create tenant: %v", err)
	}
	if _, err := h.store.Tenant(ten.ID).CreateOrganisation(h.ctx, tenants.Organisation{Name: "Everyone"}); err != nil {
		h.t.Fatalf("create organisation: %v", err)
	}
	ten, err = h.store.Tenant(ten.ID).Get(h.ctx)
	if err != nil {
		h.t.Fatalf("get tenant: %v", err)
	}
	if ten.DefaultOrganisationID == "" {
		h.t.Fatal("tenant has no default organisation")
	}
	return &ten
}

// updateTenant changes the harness's tenant in the store and in memory.
func (h *harness) updateTenant(fn func(*tenants.Tenant)) {
	h.t.Helper()
	ten, err := h.store.Tenant(h.ten.ID).Update(h.ctx, func(t *tenants.Tenant) error { fn(t); return nil })
	if err != nil {
		h.t.Fatalf("update tenant: %v", err)
	}
	h.ten = &ten
}

// resetRule sets the tenant's rule for action on every channel.
func (h *harness) setRule(action tenants.Action, required int, allowed ...tenants.Factor) {
	h.updateTenant(func(t *tenants.Tenant) {
		ap := t.Policy.Actions[action]
		for _, ch := range tenants.Channels {
			ap.Channels[ch] = &tenants.ChannelRule{Allowed: allowed, Required: required}
		}
	})
}

// client is a new client with its own IP, so that the per-IP throttles of one
// flow do not spill into the next (tests of those throttles share one).
func (h *harness) client() flow.Client {
	h.ips++
	return flow.Client{IP: fmt.Sprintf("198.51.%d.%d", h.ips/250, h.ips%250+1), UserAgent: "test-agent/1.0", Lang: "en",
		RequestID: fmt.Sprintf("req-%d", h.ips)}
}

// acct describes a directory account and its enrollment record.
type acct struct {
	login, mail, mobile, password string
	locked, disabled, mustChange  bool
	admin, questions              bool
	// noRecord leaves the enrollment record to the first flow (automatic
	// enrollment); otherwise it is created up front, as the engine would.
	noRecord bool
}

// account adds a directory account and, unless a.noRecord, its enrollment
// record; it returns the user (zero when not created).
func (h *harness) account(a acct) tenants.User {
	h.t.Helper()
	h.guids++
	if a.password == "" {
		a.password = "Autumn-Leaves-77!"
	}
	da := &dirAccount{GUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", h.guids), Login: a.login,
		UPN: a.login + "@corp.example.com", DN: "CN=" + a.login + ",OU=Staff,DC=corp,DC=example,DC=com",
		DisplayName: strings.ToUpper(a.login[:1]) + a.login[1:] + " Example", Mail: a.mail, Mobile: a.mobile,
		Password: a.password, Locked: a.locked, Disabled: a.disabled, MustChange: a.mustChange}
	if a.locked {
		da.LockoutEnds = t0.Add(25 * time.Minute)
	}
	h.dir.add(da)
	if a.noRecord {
		return tenants.User{}
	}
	u := tenants.User{DirectoryGUID: da.GUID, Username: da.Login, UPN: da.UPN, DisplayName: da.DisplayName,
		OrganisationID: h.ten.DefaultOrganisationID, IsAdmin: a.admin}
	if a.mail != "" {
		u.Email, u.EmailVerified, u.Enrollment.EmailFromDirectory = a.mail, true, true
	}
	if a.mobile != "" {
		e164, _, err := fakePhone(a.mobile)
		if err != nil {
			h.t.Fatalf("phone: %v", err)
		}
		u.Phone, u.PhoneVerified, u.Enrollment.PhoneFromDirectory = e164, true, true
	}
	if a.questions {
		for i, ans := range answers {
			phc, err := h.hasher.Hash(h.ctx, ans)
			if err != nil {
				h.t.Fatalf("hash answer: %v", err)
			}
			u.Enrollment.Questions = append(u.Enrollment.Questions,
				tenants.QuestionAnswer{Question: flow.DefaultQuestionList[i], Hash: phc})
		}
	}
	u, err := h.store.Tenant(h.ten.ID).CreateUser(h.ctx, u)
	if err != nil {
		h.t.Fatalf("create user: %v", err)
	}
	return u
}

func (h *harness) user(id string) tenants.User {
	h.t.Helper()
	u, err := h.store.Tenant(h.ten.ID).GetUser(h.ctx, id)
	if err != nil {
		h.t.Fatalf("get user: %v", err)
	}
	return u
}

// userByLogin returns the enrollment record of login.
func (h *harness) userByLogin(login string) tenants.User {
	h.t.Helper()
	u, err := h.store.Tenant(h.ten.ID).GetUserByUsername(h.ctx, login)
	if err != nil {
		h.t.Fatalf("get user %s: %v", login, err)
	}
	return u
}

// session creates a live session of the user and returns its ID.
func (h *harness) session(userID string) string {
	h.t.Helper()
	h.ips++
	id := flow.IDOf(fmt.Sprintf("session-%d", h.ips))
	if _, err := h.store.Tenant(h.ten.ID).CreateSession(h.ctx, tenants.Session{ID: id, UserID: userID, AuthAt: h.clock.Now(),
		ExpiresAt: h.clock.Now().Add(8 * time.Hour), IP: "192.0.2.1"}); err != nil {
		h.t.Fatalf("create session: %v", err)
	}
	return id
}

func (h *harness) sessionRevoked(id string) bool {
	h.t.Helper()
	s, err := h.store.Tenant(h.ten.ID).GetSession(h.ctx, id)
	if err != nil {
		h.t.Fatalf("get session: %v", err)
	}
	return !s.RevokedAt.IsZero()
}

// audits returns the tenant's audit events with action.
func (h *harness) audits(action string) []tenants.AuditEvent {
	h.t.Helper()
	evs, err := h.store.Tenant(h.ten.ID).ListAudit(h.ctx, 0, 10000)
	if err != nil {
		h.t.Fatalf("list audit: %v", err)
	}
	var out []tenants.AuditEvent
	for _, e := range evs {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// fl is one flow driven by a test: its token, its client and its last View.
type fl struct {
	h     *harness
	token string
	c     flow.Client
	v     flow.View
}

// start starts a flow that must start, and loads its first View.
func (h *harness) start(action tenants.Action, login string) *fl {
	h.t.Helper()
	f := &fl{h: h, c: h.client()}
	tok, err := h.eng.Start(h.ctx, h.ten, action, tenants.ChannelWeb, login, f.c)
	if err != nil {
		h.t.Fatalf("Start(%s, %q): %v", action, login, err)
	}
	f.token = tok
	f.v = f.view()
	return f
}

func (f *fl) view() flow.View {
	f.h.t.Helper()
	v, err := f.h.eng.View(f.h.ctx, f.h.ten, f.token)
	if err != nil {
		f.h.t.Fatalf("View: %v", err)
	}
	return v
}

// must records v as the flow's View, failing the test on err.
func (f *fl) must(what string, v flow.View, err error) flow.View {
	f.h.t.Helper()
	if err != nil {
		f.h.t.Fatalf("%s: %v", what, err)
	}
	f.v = v
	return v
}

func (f *fl) choose(fa tenants.Factor) flow.View {
	f.h.t.Helper()
	v, err := f.h.eng.Choose(f.h.ctx, f.h.ten, f.token, f.v.StepToken, fa, f.c)
	return f.must("Choose "+string(fa), v, err)
}

func (f *fl) resend() flow.View {
	f.h.t.Helper()
	v, err := f.h.eng.Resend(f.h.ctx, f.h.ten, f.token, f.v.StepToken, f.c)
	return f.must("Resend", v, err)
}

func (f *fl) code(code string) flow.View {
	f.h.t.Helper()
	v, err := f.h.eng.SubmitCode(f.h.ctx, f.h.ten, f.token, f.v.StepToken, code, f.c)
	return f.must("SubmitCode", v, err)
}

func (f *fl) answer(as ...string) flow.View {
	f.h.t.Helper()
	v, err := f.h.eng.SubmitAnswers(f.h.ctx, f.h.ten, f.token, f.v.StepToken, as, f.c)
	return f.must("SubmitAnswers", v, err)
}

func (f *fl) newPassword(pw string) flow.View {
	f.h.t.Helper()
	v, err := f.h.eng.SubmitNewPassword(f.h.ctx, f.h.ten, f.token, f.v.StepToken, pw, pw, f.c)
	return f.must("SubmitNewPassword", v, err)
}

func (f *fl) change(old, pw string) flow.View {
	f.h.t.Helper()
	v, err := f.h.eng.SubmitChange(f.h.ctx, f.h.ten, f.token, f.v.StepToken, old, pw, pw, f.c)
	return f.must("SubmitChange", v, err)
}

func (f *fl) currentPassword(pw string) flow.View {
	f.h.t.Helper()
	v, err := f.h.eng.SubmitCurrentPassword(f.h.ctx, f.h.ten, f.token, f.v.StepToken, pw, f.c)
	return f.must("SubmitCurrentPassword", v, err)
}

func (f *fl) unlock() flow.View {
	f.h.t.Helper()
	v, err := f.h.eng.ConfirmUnlock(f.h.ctx, f.h.ten, f.token, f.v.StepToken, f.c)
	return f.must("ConfirmUnlock", v, err)
}

// mailCode chooses factor and returns the code that arrived for to.
func (f *fl) mailCode(fa tenants.Factor, to string) string {
	f.h.t.Helper()
	n := f.h.mail.count()
	f.choose(fa)
	return f.h.codeSince(n, to)
}

// codeSince returns the one code message to to queued after the first n.
func (h *harness) codeSince(n int, to string) string {
	h.t.Helper()
	var codes []string
	for _, m := range h.mail.since(n) {
		if m.To == to && (m.Kind == "email_code" || m.Kind == "sms_code") {
			codes = append(codes, m.Code)
		}
	}
	if len(codes) != 1 || codes[0] == "" {
		h.t.Fatalf("want one code for %s, got %q", to, codes)
	}
	return codes[0]
}

// wrongCode returns a well-formed code different from code.
func wrongCode(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

// masked is v without what must differ between two flows.
func masked(v flow.View) flow.View {
	v.StepToken = ""
	return v
}

// wantStep fails unless v is at step.
func wantStep(t *testing.T, v flow.View, step flow.Step) {
	t.Helper()
	if v.Step != step {
		t.Fatalf("step = %q (error %q, result %q), want %q", v.Step, v.Error, v.Result, step)
	}
}
