package main

import (
	"context"
	"encoding/json"
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
	logs := startSambaConnector(t, s, ten, env)

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
