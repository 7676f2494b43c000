package demodir_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/connector/agent"
	"github.com/latchkey/latchkey/connector/directory"
	"github.com/latchkey/latchkey/connector/directory/demodir"
	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/protocol"
)

const tenantID = "11111111-1111-4111-8111-111111111111"

type oneConnector struct{ rec hub.ConnectorRecord }

func (s oneConnector) Connector(_ context.Context, id string) (hub.ConnectorRecord, error) {
	if id != s.rec.ID {
		return hub.ConnectorRecord{}, hub.ErrUnknownConnector
	}
	return s.rec, nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// The demo directory behind the real agent, connected to the real hub over a
// WebSocket on loopback (the wiring of connector/agent's e2e test): a reset
// and an unlock go through, and read_status afterwards reflects them.
func TestResetAndUnlockThroughAgentAndHub(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	clk := &clock{t: time.Now()}
	dir, err := demodir.New(demodir.Options{Tenant: "acme", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	cmdPub, cmdPriv, _ := ed25519.GenerateKey(nil)
	sign, sealPriv, sealPub, err := agent.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	st := oneConnector{hub.ConnectorRecord{TenantID: tenantID, ID: "conn-demo", SignKey: sign.Public().(ed25519.PublicKey), SealKey: sealPub}}
	h := hub.New(hub.Options{Store: st, Logger: log, Heartbeat: time.Second})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	id := agent.Identity{HubURL: "ws" + strings.TrimPrefix(srv.URL, "http") + protocol.ConnectPath, TenantID: tenantID,
		ConnectorID: "conn-demo", SignKey: sign, SealKey: sealPriv, CommandKey: cmdPub}
	a, err := agent.New(agent.Options{Identity: id, Directory: agent.FromDirectory(dir), StateDir: t.TempDir(), Logger: log,
		Guardrails: agent.Guardrails{OUs: []string{demodir.BaseDN("acme")}, ProtectAdmins: true},
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; a.Close() })
	deadline := time.Now().Add(5 * time.Second)
	for len(h.Connected(tenantID)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the agent never connected")
		}
		time.Sleep(5 * time.Millisecond)
	}
	disp := &hub.Dispatcher{Hub: h, Key: cmdPriv, TTL: 20 * time.Second, ConnectWait: time.Second, Log: log}
	exec := func(req hub.Request) hub.Outcome {
		t.Helper()
		return disp.Execute(t.Context(), tenantID, req)
	}
	readStatus := func(guid string) protocol.AccountStatus {
		t.Helper()
		out := exec(hub.Request{Op: protocol.OpReadStatus, Target: guid})
		if out.Status != hub.Done {
			t.Fatalf("read_status: %v", out)
		}
		var s protocol.AccountStatus
		if err := json.Unmarshal(out.Data, &s); err != nil {
			t.Fatalf("read_status data %s: %v", out.Data, err)
		}
		return s
	}

	out := exec(hub.Request{Op: protocol.OpLookup, Login: "alice@acme.example"})
	var acct protocol.Account
	if out.Status != hub.Done || json.Unmarshal(out.Data, &acct) != nil || acct.Username != "alice" {
		t.Fatalf("lookup: %v %s", out, out.Data)
	}
	g := acct.GUID

	// Lock alice out with five bad passwords, sent through the tunnel too.
	for i := 0; i < 5; i++ {
		out := exec(hub.Request{Op: protocol.OpVerifyPassword, Target: g, Password: []byte("not-her-password")})
		if out.Status != hub.DirectoryError {
			t.Fatalf("bad password %d: %v", i, out)
		}
	}
	if s := readStatus(g); !s.Locked || s.BadPwdCount != 5 || s.LockoutEnds.IsZero() {
		t.Fatalf("after 5 bad passwords: %+v", s)
	}

	if out := exec(hub.Request{Op: protocol.OpUnlock, Target: g}); out.Status != hub.Done {
		t.Fatalf("unlock: %v", out)
	}
	if s := readStatus(g); s.Locked || s.BadPwdCount != 0 {
		t.Fatalf("after unlock: %+v", s)
	}

	if out := exec(hub.Request{Op: protocol.OpReset, Target: g, Password: []byte("short")}); out.Status != hub.DirectoryError || out.Code != "TooShort" {
		t.Fatalf("too-short reset: %v", out)
	}
	if out := exec(hub.Request{Op: protocol.OpReset, Target: g, Password: []byte("Through-the-tunnel-1"), MustChange: true}); out.Status != hub.Done {
		t.Fatalf("reset: %v", out)
	}
	if s := readStatus(g); !s.MustChange || s.Locked {
		t.Fatalf("after reset with must change: %+v", s)
	}
	if code, _ := directory.CodeOf(dir.VerifyPassword(t.Context(), "alice", "Through-the-tunnel-1")); code != directory.MustChange {
		t.Fatalf("the new password is set and must be changed; bind gives %v", code)
	}
	if out := exec(hub.Request{Op: protocol.OpReset, Target: g, Password: []byte("Through-the-tunnel-2")}); out.Status != hub.Done {
		t.Fatalf("second reset: %v", out)
	}
	if s := readStatus(g); s.MustChange || s.Locked || s.Disabled {
		t.Fatalf("after a plain reset: %+v", s)
	}
	if err := dir.VerifyPassword(t.Context(), "alice", "Through-the-tunnel-2"); err != nil {
		t.Fatal(err)
	}

	// The seeded admin is protected by the agent's guardrails (R49).
	admin, _ := dir.Lookup(t.Context(), "administrator")
	if out := exec(hub.Request{Op: protocol.OpReset, Target: admin.GUID, Password: []byte("Take-over-123")}); out.Status != hub.Refused || out.Reason != protocol.RefuseProtected {
		t.Fatalf("reset of the adminCount=1 account: %v", out)
	}
}
