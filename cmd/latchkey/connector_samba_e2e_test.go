package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/connector/directory/dirtest"
	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/internal/chaosnet"
)

// TestConnectorProcessAgainstSambaUnderChaos_R57_R58 is the connector issue's
// end-to-end criterion on loopback: the control plane (this process), the real
// latchkey-connector binary in its own process — enrolled with a join token
// through `latchkey-connector enroll`, then `run` — and the real Samba AD DC.
// 200 password changes go through the control plane's Dispatcher while the
// connector's WebSocket is cut at random moments. Every caller gets a definite
// answer; the DC's own count of password writes equals the changes answered
// done (none lost, none applied twice), and each user's last password binds.
func TestConnectorProcessAgainstSambaUnderChaos_R57_R58(t *testing.T) {
	env := dirtest.Samba(t)
	work := t.TempDir()
	bin := filepath.Join(work, "latchkey-connector")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "github.com/latchkey/latchkey/cmd/latchkey-connector")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build latchkey-connector: %v\n%s", err, out)
	}

	// The connector reaches the hub through a proxy that the test can cut.
	proxy := chaosnet.New(t, "127.0.0.1:1")
	s, _ := startNode(t, storageConfig{DataDir: t.TempDir()}, func(c *serverConfig) {
		c.PlatformDomain = "localhost"
		c.Connector.PublicURL = "ws://" + proxy.Addr()
	})
	proxy.SetTarget(s.hubAddr())
	ten, err := createTenant(t.Context(), s.store, tenantSpec{Slug: "corp", Name: "Corp", PlatformDomain: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.enroll.CreateToken(t.Context(), ten.ID, "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	writeFile := func(name string, b []byte) string {
		p := filepath.Join(work, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca := writeFile("samba-ca.pem", env.CAPEM)
	pw := writeFile("bind-password", []byte(env.BindPassword+"\n"))
	cfg := map[string]any{
		"directory": map[string]any{"urls": []string{env.URL}, "dialect": "ad", "ca_file": ca, "bind_dn": env.BindDN,
			"bind_password_file": pw, "base_dn": env.BaseDN},
		"domains": []string{env.Realm},
		"scope":   map[string]any{"ous": []string{env.ScopeOU}, "writes_per_minute": 1_000_000, "write_burst": 10_000},
	}
	cb, _ := json.Marshal(cfg)
	config := writeFile("config.json", cb)
	identity := filepath.Join(work, "identity.json")

	_, port, _ := strings.Cut(s.addr(), "127.0.0.1:")
	enroll := exec.CommandContext(t.Context(), bin, "enroll", "--url", "http://corp.localhost:"+port, "--token-file", "-", "--identity", identity)
	enroll.Stdin = strings.NewReader(tok.Token + "\n") // pasted, as the operator would
	if out, err := enroll.CombinedOutput(); err != nil {
		t.Fatalf("latchkey-connector enroll: %v\n%s", err, out)
	}
	var logs bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	run := exec.CommandContext(ctx, bin, "run", "--config", config, "--identity", identity, "--state-dir", filepath.Join(work, "state"))
	run.Stdout, run.Stderr = &logs, &logs
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = run.Wait()
		if t.Failed() {
			t.Logf("connector output:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for len(s.hub.Connected(string(ten.ID))) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the connector process never connected:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	const users, perUser = 20, 10
	var us []dirtest.User
	guids := map[string]string{}
	for range users {
		u := env.NewUser(t, env.ScopeOU)
		us = append(us, u)
		out := s.dispatcher.Execute(t.Context(), string(ten.ID), hub.Request{Op: protocol.OpLookup, Login: u.Login})
		var acc protocol.Account
		if out.Status != hub.Done || json.Unmarshal(out.Data, &acc) != nil {
			t.Fatalf("lookup %s: %+v", u.Login, out)
		}
		guids[u.Login] = acc.GUID
	}

	// Cuts a few hundred milliseconds to a few seconds apart: the real binary backs
	// off (0.5 s doubling, reset only after 10 s connected), as it should.
	stop := proxy.Chaos(700*time.Millisecond, 2*time.Second)
	applied, retried := env.Chains(t, us, perUser, func(u dirtest.User, oldPW, newPW string) (dirtest.Verdict, string) {
		out := s.dispatcher.Execute(context.Background(), string(ten.ID), hub.Request{Op: protocol.OpChange, Target: guids[u.Login],
			OldPassword: []byte(oldPW), Password: []byte(newPW)})
		switch out.Status {
		case hub.Done:
			return dirtest.Applied, ""
		case hub.TimedOut, hub.Offline:
			return dirtest.NotApplied, ""
		}
		return dirtest.Other, out.String()
	})
	stop()
	t.Logf("%d changes applied, %d answered not applied (and retried), %d connection kills", applied, retried, proxy.Kills())
	if applied != users*perUser {
		t.Errorf("%d of %d changes applied", applied, users*perUser)
	}
	if proxy.Kills() < 5 {
		t.Fatalf("only %d kills: the chaos did not happen", proxy.Kills())
	}
	// Nothing secret reached the connector's log (R10, R56).
	for _, u := range us {
		if strings.Contains(logs.String(), u.Password) {
			t.Fatalf("the connector logged a password")
		}
	}
}
