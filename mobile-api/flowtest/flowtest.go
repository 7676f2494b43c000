// Package flowtest gives the mobile API's tests (and those of the reference
// authenticator) a real portal/flow Engine over an approvaltest store: a
// fake directory that records every command, and a messenger that keeps
// every message so that tests read codes "from the mailbox". It is the
// minimum of portal/flow's own test harness, which is not importable.
package flowtest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/portal/factor/otp"
	"github.com/latchkey/latchkey/portal/factor/questions"
	"github.com/latchkey/latchkey/portal/flow"
	"github.com/latchkey/latchkey/push/approval/approvaltest"
	"github.com/latchkey/latchkey/tenants"
)

// Account is one account of the fake directory.
type Account struct {
	Password    string
	Locked      bool
	LockoutEnds time.Time
}

// Command is a directory command the fake directory ran.
type Command struct {
	Op     protocol.Op
	Target string
	Unlock bool
}

// Dir is a flow.Dispatcher answering like a connector in front of a small
// directory keyed by objectGUID. Like hub.Dispatcher, it zeroes the
// passwords it is given.
type Dir struct {
	mu       sync.Mutex
	accounts map[string]*Account
	cmds     []Command
}

// NewDir returns an empty directory.
func NewDir() *Dir { return &Dir{accounts: map[string]*Account{}} }

// Add adds the account with objectGUID guid.
func (d *Dir) Add(guid string, a Account) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.accounts[guid] = &a
}

// Get returns a copy of the account guid.
func (d *Dir) Get(guid string) Account {
	d.mu.Lock()
	defer d.mu.Unlock()
	return *d.accounts[guid]
}

// Writes returns the commands that changed the directory.
func (d *Dir) Writes() []Command {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Command
	for _, c := range d.cmds {
		if c.Op.Writes() {
			out = append(out, c)
		}
	}
	return out
}

func done(v any) hub.Outcome {
	raw, err := json.Marshal(v)
	if err != nil {
		return hub.Outcome{Status: hub.DirectoryError, Code: "Encode"}
	}
	return hub.Outcome{Status: hub.Done, Data: raw}
}

// Execute runs req against the accounts.
func (d *Dir) Execute(_ context.Context, _ string, req hub.Request) hub.Outcome {
	pw := string(req.Password)
	protocol.Zero(req.Password)
	protocol.Zero(req.OldPassword)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cmds = append(d.cmds, Command{Op: req.Op, Target: req.Target, Unlock: req.Unlock})
	a := d.accounts[req.Target]
	if a == nil {
		return hub.Outcome{Status: hub.DirectoryError, Code: "NotFound"}
	}
	switch req.Op {
	case protocol.OpReadStatus:
		return done(protocol.AccountStatus{Locked: a.Locked, LockoutEnds: a.LockoutEnds})
	case protocol.OpReadPolicy:
		return done(protocol.PasswordPolicy{MinLength: 10, Complexity: true, History: 24, LockoutThreshold: 5,
			LockoutDuration: 30 * time.Minute, Source: "domain"})
	case protocol.OpReset:
		if pw == a.Password {
			return hub.Outcome{Status: hub.DirectoryError, Code: "InHistory"}
		}
		a.Password = pw
		if req.Unlock {
			a.Locked, a.LockoutEnds = false, time.Time{}
		}
		return done(struct{}{})
	case protocol.OpUnlock:
		a.Locked, a.LockoutEnds = false, time.Time{}
		return done(struct{}{})
	}
	return hub.Outcome{Status: hub.Refused, Reason: protocol.RefuseOperation}
}

// Mailbox is a flow.Messenger that keeps every message.
type Mailbox struct {
	// Deliver, when set, is also given every message as it is sent (a
	// test "delivers" codes to a file the client reads).
	Deliver func(flow.Message)
	mu      sync.Mutex
	msgs    []flow.Message
}

// Send keeps msg (and hands it to Deliver).
func (m *Mailbox) Send(_ context.Context, _ *tenants.Tenant, msg flow.Message) error {
	m.mu.Lock()
	m.msgs = append(m.msgs, msg)
	deliver := m.Deliver
	m.mu.Unlock()
	if deliver != nil {
		deliver(msg)
	}
	return nil
}

// Codes returns the codes sent to to, oldest first.
func (m *Mailbox) Codes(to string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, msg := range m.msgs {
		if msg.To == to && (msg.Kind == "email_code" || msg.Kind == "sms_code") {
			out = append(out, msg.Code)
		}
	}
	return out
}

// Messages returns every message kept.
func (m *Mailbox) Messages() []flow.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.msgs)
}

// Flows is an engine over env's store with a fake directory and mailbox.
type Flows struct {
	Engine *flow.Engine
	Dir    *Dir
	Mail   *Mailbox
}

// NewPassword passes the default policy's and the fake directory's rules.
const NewPassword = "Correct-Horse-42-battery"

// New returns an engine over env's store on env's clock, with pusher (may
// be nil) and the response floor off.
func New(t testing.TB, env *approvaltest.Env, pusher flow.Pusher) *Flows {
	t.Helper()
	fl := &Flows{Dir: NewDir(), Mail: &Mailbox{}}
	deps := flow.Deps{Store: env.Store, Dispatcher: fl.Dir, Messenger: fl.Mail,
		Codes:   otp.Codes{Key: []byte("otp-test-key-0123456789abcdef-0123456789")},
		Answers: questions.NewHasher(questions.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 16, SaltLen: 8}, 4),
		Key:     []byte("flow-test-key-0123456789abcdef-0123456789"), Links: tenants.LinkBuilder{PlatformDomain: "latchkey.test"},
		Now: env.Clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Sleep: func(context.Context, time.Duration) {}, Pusher: pusher}
	eng, err := flow.New(flow.Config{MinDelay: -1}, deps)
	if err != nil {
		t.Fatalf("flow.New: %v", err)
	}
	fl.Engine = eng
	return fl
}

// WithEmail gives user u of ten a verified address and its directory
// account (password "Autumn-Leaves-77!", locked when locked).
func (fl *Flows) WithEmail(t testing.TB, env *approvaltest.Env, ten *tenants.Tenant, u tenants.User, mail string, locked bool) tenants.User {
	t.Helper()
	a := Account{Password: "Autumn-Leaves-77!", Locked: locked}
	if locked {
		a.LockoutEnds = env.Clock.Now().Add(25 * time.Minute)
	}
	fl.Dir.Add(u.DirectoryGUID, a)
	u, err := env.Store.Tenant(ten.ID).UpdateUser(env.Ctx, u.ID, func(u *tenants.User) error {
		u.Email, u.EmailVerified, u.Enrollment.EmailFromDirectory = mail, true, true
		return nil
	})
	if err != nil {
		t.Fatalf("update user: %v", err)
	}
	return u
}
