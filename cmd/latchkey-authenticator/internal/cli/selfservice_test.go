package cli

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/mobile-api/flowtest"
	"github.com/latchkey/latchkey/portal/flow"
)

const annMail = "ann@corp.example.com"

// withFlows gives the real server a flow engine (fake directory, mailbox)
// and ann a verified address and a directory account; it enrolls the CLI.
func (rt *realTenant) withFlows(locked bool) *flowtest.Flows {
	rt.t.Helper()
	fl := flowtest.New(rt.t, rt.Env, rt.push)
	rt.ann = fl.WithEmail(rt.t, rt.Env, rt.Tenant, rt.ann, annMail, locked)
	rt.api.SetFlows(fl.Engine)
	rt.enrollCLI()
	return fl
}

// deliverTo writes every code sent to ann to file (her "mailbox").
func deliverTo(t *testing.T, fl *flowtest.Flows, file string) {
	fl.Mail.Deliver = func(m flow.Message) {
		if m.To == annMail && m.Code != "" {
			if err := os.WriteFile(file, []byte(m.Code+"\n"), 0o600); err != nil {
				t.Error(err)
			}
		}
	}
}

func wantOneWrite(t *testing.T, fl *flowtest.Flows, op protocol.Op, guid string) {
	t.Helper()
	if w := fl.Dir.Writes(); len(w) != 1 || w[0].Op != op || w[0].Target != guid {
		t.Fatalf("directory writes %+v, want one %s of %s", w, op, guid)
	}
}

// TestRealServerResetFromFiles_R8: `reset` with the method, code and new
// password given as flags resets the password once.
func TestRealServerResetFromFiles_R8(t *testing.T) {
	rt := newRealTenant(t)
	fl := rt.withFlows(false)
	dir := t.TempDir()
	codeFile, pwFile := filepath.Join(dir, "code"), filepath.Join(dir, "pw")
	deliverTo(t, fl, codeFile)
	if err := os.WriteFile(pwFile, []byte(flowtest.NewPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := rt.run("", Env{}, "reset", "--factor", "email", "--code-from-file", codeFile, "--new-password-file", pwFile)
	if r.code != 0 || !strings.Contains(r.stdout, "Done: your password was changed") {
		t.Fatalf("reset: %+v", r)
	}
	wantOneWrite(t, fl, protocol.OpReset, rt.ann.DirectoryGUID)
	if got := fl.Dir.Get(rt.ann.DirectoryGUID).Password; got != flowtest.NewPassword {
		t.Fatal("the directory does not have the new password")
	}
	if strings.Contains(r.stdout+r.stderr, flowtest.NewPassword) {
		t.Error("the password was printed")
	}
}

// TestRealServerWrongCodeFromFile_R8: a wrong code from a file ends the run
// with the reason; nothing is written.
func TestRealServerWrongCodeFromFile_R8(t *testing.T) {
	rt := newRealTenant(t)
	fl := rt.withFlows(false)
	codeFile := filepath.Join(t.TempDir(), "code")
	fl.Mail.Deliver = func(m flow.Message) {
		wrong := []byte(m.Code)
		wrong[0] = '0' + (wrong[0]-'0'+1)%10
		if err := os.WriteFile(codeFile, wrong, 0o600); err != nil {
			t.Error(err)
		}
	}
	r := rt.run("", Env{}, "reset", "--factor", "email", "--code-from-file", codeFile, "--new-password-file", os.DevNull)
	if r.code != 1 || !strings.Contains(r.stderr, "That code was wrong.") {
		t.Fatalf("wrong code: %+v", r)
	}
	if w := fl.Dir.Writes(); len(w) != 0 {
		t.Fatalf("R8: directory writes %+v", w)
	}
}

// mailboxStdin is a terminal whose user picks email, reads the code from
// the mailbox when asked for it, then types the new password twice: each
// Read is one typed line, made when the client asks for it.
type mailboxStdin struct {
	fl    *flowtest.Flows
	reads int
}

func (m *mailboxStdin) Read(p []byte) (int, error) {
	m.reads++
	var line string
	switch m.reads {
	case 1:
		line = "email"
	case 2:
		if codes := m.fl.Mail.Codes(annMail); len(codes) > 0 {
			line = codes[len(codes)-1]
		}
	case 3, 4:
		line = flowtest.NewPassword
	default:
		return 0, io.EOF
	}
	return copy(p, line+"\n"), nil
}

// TestRealServerResetInteractive: the method picked, the code and the
// password (twice) typed reset the password; the rules are shown.
func TestRealServerResetInteractive(t *testing.T) {
	rt := newRealTenant(t)
	fl := rt.withFlows(false)
	r := rt.run("", Env{Stdin: &mailboxStdin{fl: fl}}, "reset")
	if r.code != 0 || !strings.Contains(r.stdout, "2. sms") || !strings.Contains(r.stdout, "Type the code sent by email") ||
		!strings.Contains(r.stdout, "at least 12 characters") || !strings.Contains(r.stdout, "Done: your password was changed") {
		t.Fatalf("interactive reset: %+v", r)
	}
	wantOneWrite(t, fl, protocol.OpReset, rt.ann.DirectoryGUID)
}

// TestRealServerUnlock_R8: `unlock` unlocks a locked account once.
func TestRealServerUnlock_R8(t *testing.T) {
	rt := newRealTenant(t)
	fl := rt.withFlows(true)
	codeFile := filepath.Join(t.TempDir(), "code")
	deliverTo(t, fl, codeFile)
	r := rt.run("", Env{}, "unlock", "--factor", "email", "--code-from-file", codeFile)
	if r.code != 0 || !strings.Contains(r.stdout, "is locked until") || !strings.Contains(r.stdout, "Done: your account was unlocked.") {
		t.Fatalf("unlock: %+v", r)
	}
	wantOneWrite(t, fl, protocol.OpUnlock, rt.ann.DirectoryGUID)
	if fl.Dir.Get(rt.ann.DirectoryGUID).Locked {
		t.Fatal("still locked")
	}
}

// TestRealServerSelfServiceNotEnabled: without an engine the command says
// so.
func TestRealServerSelfServiceNotEnabled(t *testing.T) {
	rt := newRealTenant(t)
	rt.enrollCLI()
	r := rt.run("", Env{}, "reset")
	if r.code != 1 || !strings.Contains(r.stderr, "does not offer self-service from the app") {
		t.Fatalf("%+v", r)
	}
}
