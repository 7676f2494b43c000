package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/latchkey/latchkey/connector/agent"
	"github.com/latchkey/latchkey/connector/directory/demodir"
	"github.com/latchkey/latchkey/connector/enroll"
	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/tenants/store/postgres/pgtest"
)

// TestCommandOnNodeAReachesConnectorOnNodeB: two `serve` nodes on one
// PostgreSQL, wired as serve wires them; a connector enrolls and connects to
// node B only; node A's Dispatcher runs commands on it through the relay
// (presence + outbox row + NOTIFY after commit), and answers Offline once the
// connector is gone everywhere.
func TestCommandOnNodeAReachesConnectorOnNodeB(t *testing.T) {
	ownerURL, appURL := pgtest.NewDatabase(t)
	if _, err := runCLI(t, "migrate", "--database-url", appURL, "--database-migrate-url", ownerURL); err != nil {
		t.Fatal(err)
	}
	_, key, _ := ed25519.GenerateKey(nil) // the nodes share the command key, as they must
	shared := func(c *serverConfig) { c.commandKey = key }
	a, _ := startNode(t, storageConfig{DatabaseURL: appURL}, shared)
	b, _ := startNode(t, storageConfig{DatabaseURL: appURL}, shared)
	ten, err := createTenant(t.Context(), a.store, tenantSpec{Slug: "acme", Name: "Acme", PlatformDomain: "latchkey.test"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.enroll.CreateToken(t.Context(), ten.ID, "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sign, sealPriv, sealPub, err := agent.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.enroll.Enroll(t.Context(), ten.ID, protocol.EnrollRequest{Token: tok.Token, Name: "dc1", SignKey: sign.Public().(ed25519.PublicKey),
		SealKey: sealPub, AgentVersion: "test"}, enroll.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := demodir.New(demodir.Options{Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	ag, err := agent.New(agent.Options{Identity: agent.Identity{HubURL: b.hubURL, TenantID: resp.TenantID, ConnectorID: resp.ConnectorID,
		SignKey: sign, SealKey: sealPriv, CommandKey: resp.CommandKey}, Directory: agent.FromDirectory(dir), StateDir: t.TempDir(),
		Guardrails: agent.Guardrails{OUs: []string{"OU=Staff," + demodir.BaseDN("acme")}, ProtectAdmins: true},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(b.hub.Connected(string(ten.ID))) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the connector never connected to node B")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(a.hub.Connected(string(ten.ID))); n != 0 {
		t.Fatalf("node A holds %d sockets of the tenant; the test needs them all on B", n)
	}

	out := a.dispatcher.Execute(t.Context(), string(ten.ID), hub.Request{Op: protocol.OpLookup, Login: "alice"})
	var acc protocol.Account
	if out.Status != hub.Done || json.Unmarshal(out.Data, &acc) != nil || acc.GUID != demodir.GUIDFor("acme", "alice") {
		t.Fatalf("lookup from node A: %+v", out)
	}
	pw := "Relayed-pass-2026"
	if out := a.dispatcher.Execute(t.Context(), string(ten.ID), hub.Request{Op: protocol.OpReset, Target: acc.GUID, Password: []byte(pw)}); out.Status != hub.Done {
		t.Fatalf("reset from node A: %+v", out)
	}
	if err := dir.VerifyPassword(t.Context(), acc.GUID, pw); err != nil {
		t.Fatalf("the reset relayed from node A did not reach the directory: %v", err)
	}

	cancel()
	<-done
	ag.Close()
	deadline = time.Now().Add(10 * time.Second)
	for {
		// A command relayed in the instant before B dropped the presence row
		// waits for the connector to come back; the caller's deadline bounds it.
		actx, acancel := context.WithTimeout(t.Context(), 2*time.Second)
		out := a.dispatcher.Execute(actx, string(ten.ID), hub.Request{Op: protocol.OpLookup, Login: "alice"})
		acancel()
		if out.Status == hub.Offline {
			break
		}
		if out.Status != hub.TimedOut {
			t.Fatalf("with the connector gone: %+v, want timed out (never ran) or offline", out)
		}
		if time.Now().After(deadline) {
			t.Fatalf("with the connector gone, node A still answers %+v", out)
		}
	}
}
