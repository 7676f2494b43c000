package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/latchkey/latchkey/connector/agent"
	"github.com/latchkey/latchkey/connector/directory/demodir"
	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/protocol"
)

// TestDemoConnectorsServeTheDemoDirectory: the demo's in-process connectors
// enroll through the real enrollment service, dial the hub over the real
// WebSocket, and run commands from the process's Dispatcher against their
// tenant's demo directory — each tenant only its own. A restart reuses the
// enrolled identity instead of enrolling again, unless the command key changed,
// which would make the pinned key refuse everything.
func TestDemoConnectorsServeTheDemoDirectory(t *testing.T) {
	data := t.TempDir()
	sc := storageConfig{DataDir: data}
	_, key, _ := ed25519.GenerateKey(nil)
	for run := range 3 {
		if run == 2 { // a new command key: the pinned one would refuse every command
			_, key, _ = ed25519.GenerateKey(nil)
		}
		s, stop := startNode(t, sc, func(c *serverConfig) { c.commandKey = key })
		if err := seedDemo(t.Context(), s.store, s.cfg.PlatformDomain); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		if _, err := s.startDemoConnectors(ctx, data, "", []string{"acme", "globex"}); err != nil {
			t.Fatal(err)
		}
		for _, slug := range []string{"acme", "globex"} {
			ten, err := s.store.Platform().TenantBySlug(t.Context(), slug)
			if err != nil {
				t.Fatal(err)
			}
			out := s.dispatcher.Execute(t.Context(), string(ten.ID), hub.Request{Op: protocol.OpLookup, Login: "alice"})
			var acc protocol.Account
			if out.Status != hub.Done || json.Unmarshal(out.Data, &acc) != nil {
				t.Fatalf("run %d, %s: lookup alice: %+v", run, slug, out)
			}
			if acc.GUID != demodir.GUIDFor(slug, "alice") || acc.Mail != "alice@"+slug+".example" {
				t.Fatalf("run %d, %s: lookup answered from the wrong directory: %+v", run, slug, acc)
			}
			out = s.dispatcher.Execute(t.Context(), string(ten.ID), hub.Request{Op: protocol.OpReset,
				Target: demodir.GUIDFor(slug, "administrator"), Password: []byte("Another-pass-2026")})
			// administrator is outside OU=Staff and adminCount=1: scope is checked first.
			if out.Status != hub.Refused || out.Reason != protocol.RefuseScope && out.Reason != protocol.RefuseProtected {
				t.Fatalf("run %d, %s: reset of the demo administrator: %+v, want refused", run, slug, out)
			}
			cs, err := s.store.Tenant(ten.ID).ListConnectors(t.Context())
			if want := 1 + run/2; err != nil || len(cs) != want {
				t.Fatalf("run %d, %s: %d connectors (%v), want %d (enrolled on the first run, again after the key change)", run, slug, len(cs), err, want)
			}
		}
		cancel()
		stop()
	}
	// The identity is kept like the real connector's: private to its owner.
	if _, err := agent.LoadIdentity(filepath.Join(data, "connector-acme", "identity.json")); err != nil {
		t.Fatal(err)
	}
}
