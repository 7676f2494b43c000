package agent

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/hub/hubtest"
	"github.com/latchkey/latchkey/connector/protocol"
)

// TestCommandsGoToAConnectorOfTheAccountsDomain: a tenant with two directory
// domains has two connectors for corp.example and one for lab.example. A
// command naming a domain only ever reaches a connector enrolled for it (and
// is spread over both of corp's); a domain nobody serves answers Offline
// without sending anything; no domain means any connector.
func TestCommandsGoToAConnectorOfTheAccountsDomain(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cmdPub, cmdPriv, _ := ed25519.GenerateKey(nil)
	st := hubtest.NewStore()
	h := hub.New(hub.Options{Store: st, Logger: log, Heartbeat: time.Second})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	dirs := map[string]*fakeDir{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for id, domain := range map[string]string{"corp-1": "corp.example", "corp-2": "CORP.example.", "lab-1": "lab.example"} {
		sign, sealPriv, sealPub, err := NewKeys()
		if err != nil {
			t.Fatal(err)
		}
		st.Put(hub.ConnectorRecord{TenantID: tenantA, ID: id, SignKey: sign.Public().(ed25519.PublicKey), SealKey: sealPub, Domains: []string{domain}})
		dirs[id] = newFakeDir()
		dirs[id].add("g1", "CN=A,OU=Staff,DC=x", "a", "x", false)
		a, err := New(Options{Identity: Identity{HubURL: "ws" + strings.TrimPrefix(srv.URL, "http") + protocol.ConnectPath, TenantID: tenantA,
			ConnectorID: id, SignKey: sign, SealKey: sealPriv, CommandKey: cmdPub}, Directory: dirs[id], StateDir: t.TempDir(), Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { defer close(done); a.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done; a.Close() })
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(h.Connected(tenantA)) < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the three connectors did not connect")
		}
		time.Sleep(5 * time.Millisecond)
	}
	d := &hub.Dispatcher{Hub: h, Key: cmdPriv, TTL: 10 * time.Second, ConnectWait: 200 * time.Millisecond, Log: log}
	used := map[string]int{}
	for range 40 {
		out := d.Execute(t.Context(), tenantA, hub.Request{Op: protocol.OpUnlock, Target: "g1", Domain: "corp.example"})
		if out.Status != hub.Done {
			t.Fatalf("unlock for corp.example: %+v", out)
		}
		used[out.Connector]++
	}
	if used["lab-1"] != 0 || dirs["lab-1"].count("unlock") != 0 {
		t.Fatalf("a corp.example command reached lab.example's connector: %v", used)
	}
	if used["corp-1"] == 0 || used["corp-2"] == 0 {
		t.Fatalf("corp.example's two connectors did not share the work: %v", used)
	}
	if out := d.Execute(t.Context(), tenantA, hub.Request{Op: protocol.OpUnlock, Target: "g1", Domain: "lab.example"}); out.Status != hub.Done || out.Connector != "lab-1" {
		t.Fatalf("unlock for lab.example: %+v", out)
	}
	if out := d.Execute(t.Context(), tenantA, hub.Request{Op: protocol.OpUnlock, Target: "g1", Domain: "other.example"}); out.Status != hub.Offline {
		t.Fatalf("a domain no connector serves: %+v, want offline", out)
	}
	if out := d.Execute(t.Context(), tenantA, hub.Request{Op: protocol.OpUnlock, Target: "g1"}); out.Status != hub.Done {
		t.Fatalf("no domain: %+v", out)
	}
}
