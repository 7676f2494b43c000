package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/portal/notify"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
	"github.com/latchkey/latchkey/tenants/store/sqlite"
)

// helpDesk is a data directory with tenant acme and its user jsmith (email,
// verified phone, two devices, frozen and locked out of self-service, one
// live session), as the help desk finds it after a lost phone.
type helpDesk struct {
	dir     string
	tenant  tenants.Tenant
	user    tenants.User
	session string
}

func newHelpDesk(t *testing.T) helpDesk {
	t.Helper()
	dir := t.TempDir()
	if _, err := runCLI(t, "tenant", "create", "--data-dir", dir, "--slug", "acme", "--name", "Acme", "--platform-domain", "latchkey.test"); err != nil {
		t.Fatal(err)
	}
	// The key a server makes on its first start (the CLI never makes one).
	if err := generateSecretFile(filepath.Join(dir, secretKeyName)); err != nil {
		t.Fatal(err)
	}
	st := openData(t, dir)
	defer st.Close()
	ten, err := tenantBySlug(t.Context(), st, "acme")
	if err != nil {
		t.Fatal(err)
	}
	ts := st.Tenant(ten.ID)
	now := time.Now()
	u, err := ts.CreateUser(t.Context(), tenants.User{DirectoryGUID: "00000000-0000-4000-8000-000000000001", Username: "jsmith",
		DisplayName: "Jo Smith", Email: "jo@acme.example", EmailVerified: true, Phone: "+41791234567", PhoneVerified: true,
		FrozenAt: now, SelfServiceLockedUntil: now.Add(time.Hour), FailedVerifications: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Jo's Pixel", "Jo's old iPhone"} {
		if _, err := ts.CreateDevice(t.Context(), tenants.Device{UserID: u.ID, Name: name, Platform: "android", KeyID: "k-" + name,
			PublicKey: []byte("not used here"), LastSeenAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	sess := strings.Repeat("ab", 32)
	if _, err := ts.CreateSession(t.Context(), tenants.Session{ID: sess, UserID: u.ID, AuthAt: now, ExpiresAt: now.Add(time.Hour), IP: "192.0.2.7"}); err != nil {
		t.Fatal(err)
	}
	return helpDesk{dir: dir, tenant: ten, user: u, session: sess}
}

func openData(t *testing.T, dir string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "latchkey.db"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (h helpDesk) audit(t *testing.T, st store.Store, action string) []tenants.AuditEvent {
	t.Helper()
	evs, err := st.Tenant(h.tenant.ID).ListAudit(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []tenants.AuditEvent
	for _, e := range evs {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// outbox returns the tenant's queued messages and the sealer that opens
// them (the servers' key under the data directory).
func outbox(t *testing.T, dir string, ts store.TenantStore) ([]tenants.OutboxMessage, *notify.Sealer) {
	t.Helper()
	msgs, err := ts.ListMessages(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, secretKeyName))
	if err != nil {
		t.Fatal(err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := notify.NewSealer(subkey(key, "outbox"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return msgs, sealer
}

// Lost phone: `user reset-devices` removes every device, is audited as the
// operator's, and tells the user on every channel through the sealed outbox
// the servers deliver from (R18: the real owner learns of a help desk that
// was talked into it).
func TestUserResetDevicesNotifiesEveryChannel_R18(t *testing.T) {
	h := newHelpDesk(t)
	out, err := runCLI(t, "user", "reset-devices", "--data-dir", h.dir, "--tenant", "acme", "--operator", "ann", "jsmith")
	if err != nil || !strings.Contains(out, "removed 2 device(s) of jsmith\nthe user was notified on every channel") {
		t.Fatalf("reset-devices: %q, %v", out, err)
	}
	st := openData(t, h.dir)
	defer st.Close()
	ts := st.Tenant(h.tenant.ID)
	if ds, err := ts.ListDevices(t.Context(), h.user.ID); err != nil || len(ds) != 0 {
		t.Fatalf("devices after the reset: %d (%v)", len(ds), err)
	}
	if evs := h.audit(t, st, "device.reset"); len(evs) != 1 || evs[0].Actor != "operator:ann" || evs[0].Detail["count"] != "2" {
		t.Fatalf("audit %+v, want one operator device.reset of 2", evs)
	}
	msgs, sealer := outbox(t, h.dir, ts)
	got := map[tenants.MessageChannel]string{}
	for _, m := range msgs {
		if m.Kind != notify.KindFactorChanged || m.State != tenants.OutboxPending {
			t.Fatalf("unexpected outbox message %s %s %s", m.Kind, m.Channel, m.State)
		}
		if strings.Contains(string(m.Sealed), "jsmith") {
			t.Fatal("the outbox row holds the message in clear")
		}
		c, err := sealer.Open(h.tenant.ID, m.ID, m.Sealed)
		if err != nil {
			t.Fatalf("open %s message with the servers' key: %v", m.Channel, err)
		}
		if !strings.Contains(c.Text, "jsmith") {
			t.Fatalf("%s notice does not name the account: %q", m.Channel, c.Text)
		}
		got[m.Channel] = m.To
	}
	if len(msgs) != 2 || got[tenants.MessageEmail] != "jo@acme.example" || got[tenants.MessageSMS] != "+41791234567" {
		t.Fatalf("outbox %v (%d messages), want one email and one SMS", got, len(msgs))
	}
}

// The help desk's commands answer a wrong tenant or user with a clear error
// and change nothing.
func TestUserCommandsRejectUnknownNames(t *testing.T) {
	h := newHelpDesk(t)
	for _, args := range [][]string{
		{"user", "reset-devices", "--data-dir", h.dir, "--tenant", "acme", "--operator", "ann", "nobody"},
		{"user", "unlock", "--data-dir", h.dir, "--tenant", "acme", "nobody"},
		{"user", "sign-out", "--data-dir", h.dir, "--tenant", "acme", "nobody"},
	} {
		if _, err := runCLI(t, args...); err == nil || !strings.Contains(err.Error(), `tenant acme has no user "nobody"`) {
			t.Errorf("%s: %v, want an error naming the user", strings.Join(args[:2], " "), err)
		}
	}
	if _, err := runCLI(t, "user", "unlock", "--data-dir", h.dir, "--tenant", "nope", "jsmith"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown tenant: %v", err)
	}
	st := openData(t, h.dir)
	defer st.Close()
	if ds, _ := st.Tenant(h.tenant.ID).ListDevices(t.Context(), h.user.ID); len(ds) != 2 {
		t.Fatalf("devices %d after failed commands, want 2", len(ds))
	}
	if msgs, _ := st.Tenant(h.tenant.ID).ListMessages(t.Context(), 10); len(msgs) != 0 {
		t.Fatalf("%d messages queued by failed commands", len(msgs))
	}
}

// R21: `user unlock` lifts the self-service lockout and the "this
// wasn't me" freeze (audited), and `user sign-out` ends the user's sessions
// (R37).
func TestUserUnlockAndSignOut_R21_R37(t *testing.T) {
	h := newHelpDesk(t)
	out, err := runCLI(t, "user", "unlock", "--data-dir", h.dir, "--tenant", "acme", "jsmith")
	if err != nil || !strings.Contains(out, "was frozen: true") {
		t.Fatalf("unlock: %q, %v", out, err)
	}
	if out, err := runCLI(t, "user", "sign-out", "--data-dir", h.dir, "--tenant", "acme", "jsmith"); err != nil || !strings.Contains(out, "ended 1 session(s)") {
		t.Fatalf("sign-out: %q, %v", out, err)
	}
	st := openData(t, h.dir)
	defer st.Close()
	ts := st.Tenant(h.tenant.ID)
	u, err := ts.GetUser(t.Context(), h.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !u.FrozenAt.IsZero() || !u.SelfServiceLockedUntil.IsZero() || u.FailedVerifications != 0 {
		t.Fatalf("after unlock: frozen %v, locked until %v, failures %d", u.FrozenAt, u.SelfServiceLockedUntil, u.FailedVerifications)
	}
	if s, err := ts.GetSession(t.Context(), h.session); err != nil || s.RevokedAt.IsZero() {
		t.Fatalf("session after sign-out: revoked %v (%v)", s.RevokedAt, err)
	}
	if len(h.audit(t, st, "selfservice.unlock")) != 1 || len(h.audit(t, st, "session.revoke")) != 1 {
		t.Fatal("unlock or sign-out not audited")
	}
}

// R18: an admin's devices take two operators. The first request changes
// nothing and alerts the other admins and the admin it is about; the same
// operator (in any case) cannot approve; a second operator carries it out
// and the admin is told. A request older than the window starts over.
func TestUserResetDevicesOfAdminNeedsSecondOperator_R18(t *testing.T) {
	h := newHelpDesk(t)
	st := openData(t, h.dir)
	ts := st.Tenant(h.tenant.ID)
	if _, err := ts.UpdateUser(t.Context(), h.user.ID, func(u *tenants.User) error { u.IsAdmin = true; return nil }); err != nil {
		t.Fatal(err)
	}
	other, err := ts.CreateUser(t.Context(), tenants.User{DirectoryGUID: "00000000-0000-4000-8000-000000000002", Username: "boss",
		Email: "boss@acme.example", EmailVerified: true, IsAdmin: true})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	run := func(op string) (string, error) {
		return runCLI(t, "user", "reset-devices", "--data-dir", h.dir, "--tenant", "acme", "--operator", op, "jsmith")
	}
	devices := func() int {
		st := openData(t, h.dir)
		defer st.Close()
		ds, err := st.Tenant(h.tenant.ID).ListDevices(t.Context(), h.user.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}
	if out, err := run("ann"); err != nil || !strings.Contains(out, "waits for a second operator") || !strings.Contains(out, "2 admin(s), the user included, were told") {
		t.Fatalf("first request: %q, %v", out, err)
	}
	if n := devices(); n != 2 {
		t.Fatalf("%d devices after the first request, want 2 (nothing removed yet)", n)
	}
	if _, err := run(" ANN "); err == nil || !strings.Contains(err.Error(), "another operator") {
		t.Fatalf("same operator approving (other case): %v, want refused", err)
	}
	if n := devices(); n != 2 {
		t.Fatalf("%d devices after the same operator's second call", n)
	}

	// The other admin was asked; the target has heard nothing yet.
	st = openData(t, h.dir)
	msgs, sealer := outbox(t, h.dir, st.Tenant(h.tenant.ID))
	to := map[string]bool{}
	for _, m := range msgs {
		if m.Kind != notify.KindHelpdeskApproval {
			t.Fatalf("outbox after the request holds a %s", m.Kind)
		}
		if c, err := sealer.Open(h.tenant.ID, m.ID, m.Sealed); err != nil || !strings.Contains(c.Text, "second operator") {
			t.Fatalf("approval request %q (%v)", c.Text, err)
		}
		to[m.To] = true
	}
	if len(msgs) != 2 || !to[other.Email] || !to["jo@acme.example"] {
		t.Fatalf("approval requests to %v, want boss and the admin it is about", to)
	}
	// A request past the window starts over instead of being approved.
	if _, err := st.Tenant(h.tenant.ID).UpdateUser(t.Context(), h.user.ID, func(u *tenants.User) error {
		u.Enrollment.HelpdeskDeviceReset.At = time.Now().Add(-25 * time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if out, err := run("bob"); err != nil || !strings.Contains(out, "waits for a second operator") {
		t.Fatalf("approval of an expired request: %q, %v; want a new request", out, err)
	}
	if n := devices(); n != 2 {
		t.Fatalf("%d devices after approving an expired request", n)
	}
	if out, err := run("Carol"); err != nil || !strings.Contains(out, "removed 2 device(s) of jsmith") {
		t.Fatalf("second operator: %q, %v", out, err)
	}
	if n := devices(); n != 0 {
		t.Fatalf("%d devices after the approval", n)
	}
	st = openData(t, h.dir)
	defer st.Close()
	evs := h.audit(t, st, "device.reset")
	if len(evs) != 1 || evs[0].Actor != "operator:carol" || evs[0].Detail["requested_by"] != "operator:bob" {
		t.Fatalf("audit %+v, want carol approving bob's request", evs)
	}
	if n := len(h.audit(t, st, "device.reset.pending")); n != 2 {
		t.Fatalf("%d pending audit events, want 2", n)
	}
	msgs, _ = outbox(t, h.dir, st.Tenant(h.tenant.ID))
	var toTarget int
	for _, m := range msgs {
		if m.Kind == notify.KindFactorChanged && (m.To == "jo@acme.example" || m.To == "+41791234567") {
			toTarget++
		}
	}
	if toTarget != 2 {
		t.Fatalf("%d notices to the admin after the removal, want email and SMS", toTarget)
	}
}

// `user show` gives the help desk the state it needs before acting: contacts
// and how they were enrolled, devices, and that self-service is frozen and
// locked, with the command that lifts it.
func TestUserShowTellsTheHelpDeskTheState(t *testing.T) {
	h := newHelpDesk(t)
	out, err := runCLI(t, "user", "show", "--data-dir", h.dir, "--tenant", "acme", "jsmith")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"jsmith (Jo Smith)", "jo@acme.example (verified)", "+41791234567 (verified)", "devices ",
		"Jo's Pixel — android, polls", "Jo's old iPhone", "FROZEN since", "latchkey user unlock", "LOCKED until",
		"5 failed verification(s)", "questions                 0 set up"} {
		if !strings.Contains(out, want) {
			t.Errorf("user show lacks %q:\n%s", want, out)
		}
	}
	if _, err := runCLI(t, "user", "unlock", "--data-dir", h.dir, "--tenant", "acme", "jsmith"); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, "user", "show", "--data-dir", h.dir, "--tenant", "acme", "jsmith")
	if err != nil || !strings.Contains(out, "self-service              active") || strings.Contains(out, "FROZEN") {
		t.Fatalf("after unlock: %v\n%s", err, out)
	}
}

// R19: `audit export` writes every event, oldest first, as JSON lines with
// the chain's hashes (each prev_hash is the line before's hash), filters by
// user and time, resumes after a sequence number, and refuses bad input.
func TestAuditExport_R19(t *testing.T) {
	h := newHelpDesk(t)
	for _, args := range [][]string{
		{"user", "unlock", "--data-dir", h.dir, "--tenant", "acme", "jsmith"},
		{"user", "sign-out", "--data-dir", h.dir, "--tenant", "acme", "jsmith"},
		{"user", "reset-devices", "--data-dir", h.dir, "--tenant", "acme", "--operator", "ann", "jsmith"},
	} {
		if _, err := runCLI(t, args...); err != nil {
			t.Fatal(err)
		}
	}
	export := func(extra ...string) []auditLine {
		t.Helper()
		out, err := runCLI(t, append([]string{"audit", "export", "--data-dir", h.dir, "--tenant", "acme"}, extra...)...)
		if err != nil {
			t.Fatal(err)
		}
		var lines []auditLine
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if l == "" {
				continue
			}
			var e auditLine
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			lines = append(lines, e)
		}
		return lines
	}
	all := export()
	if len(all) < 4 || all[0].Seq != 1 || all[0].Action != "tenant.create" {
		t.Fatalf("export of everything: %+v", all)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq != all[i-1].Seq+1 || all[i].PrevHash != all[i-1].Hash || len(all[i].Hash) != 64 {
			t.Fatalf("event %d does not continue the chain: %+v after %+v", i, all[i], all[i-1])
		}
	}
	mine := export("--user", "jsmith")
	var actions []string
	for _, e := range mine {
		if e.Target != "user:"+h.user.ID && e.Actor != "user:"+h.user.ID {
			t.Errorf("--user kept %+v", e)
		}
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, ",") != "selfservice.unlock,session.revoke,device.reset" {
		t.Fatalf("jsmith's events %v", actions)
	}
	if mine[2].Actor != "operator:ann" || mine[2].Detail["count"] != "2" {
		t.Fatalf("device.reset line %+v", mine[2])
	}
	if rest := export("--after-seq", fmt.Sprint(all[len(all)-2].Seq)); len(rest) != 1 || rest[0].Seq != all[len(all)-1].Seq {
		t.Fatalf("--after-seq: %+v", rest)
	}
	if got := export("--since", "1h"); len(got) != len(all) {
		t.Fatalf("--since 1h: %d of %d events", len(got), len(all))
	}
	if got := export("--since", time.Now().Add(time.Hour).Format(time.RFC3339)); len(got) != 0 {
		t.Fatalf("--since the future: %d events", len(got))
	}
	out, err := runCLI(t, "audit", "export", "--data-dir", h.dir, "--tenant", "acme", "--format", "table", "--user", "jsmith")
	if err != nil || !strings.Contains(out, "SEQ") || !strings.Contains(out, "device.reset") || !strings.Contains(out, "count=2") {
		t.Fatalf("table: %v\n%s", err, out)
	}
	for _, bad := range [][]string{{"--since", "yesterday"}, {"--format", "xml"}, {"--after-seq", "-1"}, {"--user", "nobody"}} {
		if _, err := runCLI(t, append([]string{"audit", "export", "--data-dir", h.dir, "--tenant", "acme"}, bad...)...); err == nil {
			t.Errorf("audit export %v: no error", bad)
		}
	}
}

// Without the servers' secret key the command refuses before it changes
// anything: a key it made itself would seal a notice no server can open.
func TestUserResetDevicesNeedsTheServersKey(t *testing.T) {
	h := newHelpDesk(t)
	if err := os.Remove(filepath.Join(h.dir, secretKeyName)); err != nil {
		t.Fatal(err)
	}
	_, err := runCLI(t, "user", "reset-devices", "--data-dir", h.dir, "--tenant", "acme", "--operator", "ann", "jsmith")
	if err == nil || !strings.Contains(err.Error(), "no secret key at") {
		t.Fatalf("reset-devices without a key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(h.dir, secretKeyName)); err == nil {
		t.Fatal("the command made a secret key")
	}
	st := openData(t, h.dir)
	defer st.Close()
	if ds, _ := st.Tenant(h.tenant.ID).ListDevices(t.Context(), h.user.ID); len(ds) != 2 {
		t.Fatalf("%d devices after the refused command", len(ds))
	}
}
