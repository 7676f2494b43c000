package agent

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/latchkey/latchkey/connector/protocol"
)

// These tests hand crafted commands straight to the agent's executor — what a
// compromised or buggy cloud could send — and check the agent's own answer and
// that the directory saw nothing (R54–R57). Each refusal has its own test.

type execRig struct {
	x       *executor
	agent   *Agent
	dir     *fakeDir
	cmdKey  ed25519.PrivateKey
	signPub ed25519.PublicKey
	sealPub []byte
	id      Identity
	state   string
	now     time.Time
}

func newExecRig(t *testing.T) *execRig {
	t.Helper()
	cmdPub, cmdPriv, _ := ed25519.GenerateKey(nil)
	sign, sealPriv, sealPub, err := NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	r := &execRig{dir: newFakeDir(), cmdKey: cmdPriv, signPub: sign.Public().(ed25519.PublicKey), sealPub: sealPub,
		state: t.TempDir(), now: time.Now().UTC().Truncate(time.Millisecond)}
	r.id = Identity{HubURL: "ws://127.0.0.1:1/connector/v1/connect", TenantID: tenantA, ConnectorID: "conn-1", SignKey: sign,
		SealKey: sealPriv, CommandKey: cmdPub}
	r.dir.add("g1", "CN=Alice,OU=Staff,DC=acme,DC=local", "alice", "Old-pass-1", false)
	r.open(t)
	return r
}

// open (re)starts the agent on the same state directory, as a restarted
// connector process would.
func (r *execRig) open(t *testing.T) {
	t.Helper()
	if r.agent != nil {
		r.agent.Close()
	}
	a, err := New(Options{Identity: r.id, Directory: r.dir, StateDir: r.state, Now: func() time.Time { return r.now },
		Guardrails: Guardrails{OUs: []string{"OU=Staff,DC=acme,DC=local"}, ProtectAdmins: true},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	r.agent, r.x = a, a.exec
}

// command builds a valid unlock of g1; adjust changes it before signing.
func (r *execRig) command(t *testing.T, adjust func(*protocol.CommandBody)) (string, protocol.SignedCommand) {
	t.Helper()
	var id [16]byte
	rand.Read(id[:])
	b := protocol.CommandBody{V: protocol.Version, ID: hex.EncodeToString(id[:]), Tenant: tenantA, Connector: "conn-1", Seq: 1,
		Op: protocol.OpUnlock, Target: "g1", IssuedAt: r.now, ExpiresAt: r.now.Add(30 * time.Second)}
	if adjust != nil {
		adjust(&b)
	}
	sc, err := protocol.SignCommand(r.cmdKey, b)
	if err != nil {
		t.Fatal(err)
	}
	return b.ID, sc
}

// send hands sc to the agent and returns its verified, signed answer.
func (r *execRig) send(t *testing.T, frameID string, sc protocol.SignedCommand) protocol.ResultBody {
	t.Helper()
	sr := r.x.handle(t.Context(), frameID, sc)
	res, err := protocol.VerifyResult(r.signPub, sr, tenantA, "conn-1")
	if err != nil {
		t.Fatalf("the agent's answer does not verify: %v", err)
	}
	if res.CommandID != frameID {
		t.Fatalf("answer for %q, sent %q", res.CommandID, frameID)
	}
	return res
}

func (r *execRig) mustRefuse(t *testing.T, res protocol.ResultBody, want protocol.Refusal) {
	t.Helper()
	if res.Status != protocol.StatusRefused || res.Reason != want {
		t.Fatalf("answer %s/%s, want refused %s", res.Status, res.Reason, want)
	}
	if n := r.dir.count("unlock"); n != 0 {
		t.Fatalf("the directory saw %d unlocks for a refused command", n)
	}
}

func TestAgentRefusesTamperedCommand_R54(t *testing.T) {
	r := newExecRig(t)
	id, sc := r.command(t, nil)
	sc.Body = bytes.Replace(sc.Body, []byte(`"g1"`), []byte(`"g2"`), 1)
	r.mustRefuse(t, r.send(t, id, sc), protocol.RefuseSignature)
}

func TestAgentRefusesCommandSignedByAnotherKey_R54(t *testing.T) {
	r := newExecRig(t)
	_, r.cmdKey, _ = ed25519.GenerateKey(nil) // not the key pinned at enrollment
	id, sc := r.command(t, nil)
	r.mustRefuse(t, r.send(t, id, sc), protocol.RefuseSignature)
}

func TestAgentRefusesExpiredCommand_R54_R57(t *testing.T) {
	r := newExecRig(t)
	id, sc := r.command(t, nil)
	r.now = r.now.Add(31 * time.Second) // delivered after its expiry: a late command never runs
	r.mustRefuse(t, r.send(t, id, sc), protocol.RefuseExpired)
}

func TestAgentRefusesAnotherTenantsCommand_R54(t *testing.T) {
	r := newExecRig(t)
	id, sc := r.command(t, func(b *protocol.CommandBody) { b.Tenant = "22222222-2222-4222-8222-222222222222" })
	r.mustRefuse(t, r.send(t, id, sc), protocol.RefuseTenant)
}

func TestAgentRefusesAnotherConnectorsCommand_R54(t *testing.T) {
	r := newExecRig(t)
	id, sc := r.command(t, func(b *protocol.CommandBody) { b.Connector = "conn-2" })
	r.mustRefuse(t, r.send(t, id, sc), protocol.RefuseConnector)
}

func TestAgentRefusesUnknownOperation_R55(t *testing.T) {
	r := newExecRig(t)
	id, sc := r.command(t, func(b *protocol.CommandBody) { b.Op = "delete_user" })
	r.mustRefuse(t, r.send(t, id, sc), protocol.RefuseOperation)
}

func TestAgentRefusesCommandWhoseFrameIDDiffers_R54(t *testing.T) {
	r := newExecRig(t)
	_, sc := r.command(t, nil)
	other, _ := r.command(t, nil)
	r.mustRefuse(t, r.send(t, other, sc), protocol.RefuseMalformed)
}

// TestAgentRunsAReplayedCommandOnce_R54_R57: a second delivery of the same
// signed command — at once, after a restart of the connector, and after the
// command expired — gets the first answer back and does not run again.
func TestAgentRunsAReplayedCommandOnce_R54_R57(t *testing.T) {
	r := newExecRig(t)
	r.dir.accounts["g1"].locked = true
	id, sc := r.command(t, nil)
	first := r.send(t, id, sc)
	if first.Status != protocol.StatusDone || r.dir.count("unlock") != 1 {
		t.Fatalf("first delivery: %+v, %d unlocks", first, r.dir.count("unlock"))
	}
	again := r.send(t, id, sc)
	r.open(t) // the connector restarts: the journal is on disk
	afterRestart := r.send(t, id, sc)
	r.now = r.now.Add(time.Minute)
	afterExpiry := r.send(t, id, sc)
	for name, res := range map[string]protocol.ResultBody{"again": again, "after a restart": afterRestart, "after expiry": afterExpiry} {
		if res.Status != first.Status || !res.Time.Equal(first.Time) {
			t.Errorf("%s: %+v, want the first answer %+v", name, res, first)
		}
	}
	if n := r.dir.count("unlock"); n != 1 {
		t.Fatalf("a command delivered 4 times ran %d times", n)
	}
}
