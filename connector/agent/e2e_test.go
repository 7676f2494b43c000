package agent

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/hub/hubtest"
	"github.com/latchkey/latchkey/connector/protocol"
	"github.com/latchkey/latchkey/internal/chaosnet"
)

type rig struct {
	hub   *hub.Hub
	disp  *hub.Dispatcher
	store *hubtest.Store
	dir   *fakeDir
	agent *Agent
	proxy *chaosnet.Proxy
	id    Identity
	done  chan error
}

const tenantA = "11111111-1111-4111-8111-111111111111"

func newRig(t *testing.T, rails Guardrails) *rig {
	t.Helper()
	dir := newFakeDir()
	r := newRigWith(t, rails, dir)
	r.dir = dir
	return r
}

// newRigWith connects an agent over a real WebSocket (through a kill proxy) to
// a hub, in front of dir.
func newRigWith(t testing.TB, rails Guardrails, dir Directory) *rig {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cmdPub, cmdPriv, _ := ed25519.GenerateKey(nil)
	sign, sealPriv, sealPub, err := NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	st := hubtest.NewStore(hub.ConnectorRecord{TenantID: tenantA, ID: "conn-1", SignKey: sign.Public().(ed25519.PublicKey), SealKey: sealPub})
	h := hub.New(hub.Options{Store: st, Logger: log, Heartbeat: time.Second})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	proxy := chaosnet.New(t, strings.TrimPrefix(srv.URL, "http://"))
	id := Identity{HubURL: "ws://" + proxy.Addr() + protocol.ConnectPath, TenantID: tenantA, ConnectorID: "conn-1",
		SignKey: sign, SealKey: sealPriv, CommandKey: cmdPub}
	a, err := New(Options{Identity: id, Directory: dir, Guardrails: rails, StateDir: t.TempDir(), Logger: log,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, StableAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{hub: h, store: st, agent: a, proxy: proxy, id: id, done: make(chan error, 1),
		disp: &hub.Dispatcher{Hub: h, Key: cmdPriv, TTL: 20 * time.Second, ConnectWait: 300 * time.Millisecond, Log: log}}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { r.done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-r.done; a.Close() })
	r.waitConnected(t)
	return r
}

func (r *rig) waitConnected(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(r.hub.Connected(tenantA)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("connector never connected")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestResetUnlockAndChangeThroughTheTunnel(t *testing.T) {
	r := newRig(t, Guardrails{OUs: []string{"OU=Staff,DC=acme,DC=local"}, ProtectAdmins: true})
	r.dir.add("g1", "CN=Alice,OU=Staff,DC=acme,DC=local", "alice", "Old-pass-1", false)
	r.dir.accounts["g1"].locked = true
	ctx := t.Context()

	out := r.disp.Execute(ctx, tenantA, hub.Request{Op: protocol.OpLookup, Login: "alice"})
	if out.Status != hub.Done || !strings.Contains(string(out.Data), `"guid":"g1"`) {
		t.Fatalf("lookup: %v %s", out, out.Data)
	}
	pw := []byte("New-pass-2🐎")
	if out := r.disp.Execute(ctx, tenantA, hub.Request{Op: protocol.OpReset, Target: "g1", Password: pw, Unlock: true}); out.Status != hub.Done {
		t.Fatalf("reset: %v", out)
	}
	if string(pw) != strings.Repeat("\x00", len(pw)) {
		t.Fatal("the dispatcher did not zero the plaintext password after sealing it (R56)")
	}
	if a := r.dir.accounts["g1"]; a.password != "New-pass-2🐎" || a.locked {
		t.Fatalf("directory after reset: %+v", a)
	}
	out = r.disp.Execute(ctx, tenantA, hub.Request{Op: protocol.OpChange, Target: "g1", OldPassword: []byte("wrong"), Password: []byte("Third-pass-3")})
	if out.Status != hub.DirectoryError || out.Code != "WrongPassword" {
		t.Fatalf("change with a wrong old password: %v", out)
	}
	if out := r.disp.Execute(ctx, tenantA, hub.Request{Op: protocol.OpReset, Target: "g1", Password: []byte("short")}); out.Status != hub.DirectoryError || out.Code != "TooShort" {
		t.Fatalf("too short: %v", out)
	}
	if out := r.disp.Execute(ctx, "22222222-2222-4222-8222-222222222222", hub.Request{Op: protocol.OpUnlock, Target: "g1"}); out.Status != hub.Offline {
		t.Fatalf("another tenant has no connector, want offline, got %v", out)
	}
}

// R49, R55: guardrails are local; the cloud cannot get past them.
func TestGuardrailsRefuseOutOfScopeAndProtectedAccounts_R49_R55(t *testing.T) {
	r := newRig(t, Guardrails{OUs: []string{"OU=Staff,DC=acme,DC=local"}, ProtectAdmins: true, ProtectedGroups: []string{"CN=Domain Admins,CN=Users,DC=acme,DC=local"}})
	r.dir.add("out", "CN=Bob,OU=Servers,DC=acme,DC=local", "bob", "x", false)
	r.dir.add("adm", "CN=Root,OU=Staff,DC=acme,DC=local", "root", "x", true)
	r.dir.add("grp", "CN=Eve,OU=Staff,DC=acme,DC=local", "eve", "x", false)
	r.dir.accounts["grp"].Groups = []string{"cn=domain admins,cn=users,dc=acme,dc=local"}
	r.dir.add("near", "CN=Mallory,OU=NotStaff,DC=acme,DC=local", "mallory", "x", false)
	for guid, want := range map[string]protocol.Refusal{"out": protocol.RefuseScope, "near": protocol.RefuseScope, "adm": protocol.RefuseProtected, "grp": protocol.RefuseProtected} {
		out := r.disp.Execute(t.Context(), tenantA, hub.Request{Op: protocol.OpReset, Target: guid, Password: []byte("Whatever-1")})
		if out.Status != hub.Refused || out.Reason != want {
			t.Errorf("%s: want refused %s, got %v", guid, want, out)
		}
	}
	if n := r.dir.count("reset"); n != 0 {
		t.Fatalf("the directory saw %d resets", n)
	}
}

// R55: a burst over the local rate limit is throttled.
func TestLocalRateLimit_R55(t *testing.T) {
	r := newRig(t, Guardrails{WritesPerMinute: 1, WriteBurst: 3})
	r.dir.add("g1", "CN=A,DC=x", "a", "x", false)
	var limited int
	for i := 0; i < 6; i++ {
		out := r.disp.Execute(t.Context(), tenantA, hub.Request{Op: protocol.OpUnlock, Target: "g1"})
		if out.Status == hub.Refused && out.Reason == protocol.RefuseRateLimit {
			limited++
		}
	}
	if limited != 3 || r.dir.count("unlock") != 3 {
		t.Fatalf("want 3 unlocks and 3 throttled, got %d unlocks, %d throttled", r.dir.count("unlock"), limited)
	}
}

// R52: a revoked connector is refused and stops reconnecting.
func TestRevokedConnectorStops_R52(t *testing.T) {
	r := newRig(t, Guardrails{})
	r.store.Revoke("conn-1")
	r.hub.Revoke("conn-1")
	select {
	case err := <-r.done:
		if !errors.Is(err, ErrPermanent) {
			t.Fatalf("agent stopped with %v", err)
		}
		r.done <- err // for cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("a revoked agent kept running")
	}
}

// R57, R58 and the chaos criterion: 200 password changes while the
// WebSocket is cut at random moments. None is lost, none applied twice, and
// every caller gets a definite answer.
func TestChaosEveryCommandOnceAndAnswered_R57_R58(t *testing.T) {
	r := newRig(t, Guardrails{WritesPerMinute: 100000, WriteBurst: 1000})
	const n = 200
	for i := 0; i < n; i++ {
		r.dir.add(fmt.Sprintf("g%d", i), fmt.Sprintf("CN=U%d,OU=Staff,DC=acme,DC=local", i), fmt.Sprintf("u%d", i), "Old-pass-0", false)
	}
	stop := r.proxy.Chaos(5*time.Millisecond, 45*time.Millisecond)
	outcomes := make([]hub.Outcome, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			outcomes[i] = r.disp.Execute(context.Background(), tenantA, hub.Request{Op: protocol.OpChange, Target: fmt.Sprintf("g%d", i),
				OldPassword: []byte("Old-pass-0"), Password: []byte(fmt.Sprintf("New-pass-%d", i))})
		}(i)
	}
	wg.Wait()
	stop()
	done, timedOut := 0, 0
	for i, o := range outcomes {
		a := r.dir.accounts[fmt.Sprintf("g%d", i)]
		switch o.Status {
		case hub.Done:
			done++
			if a.writes != 1 || a.password != fmt.Sprintf("New-pass-%d", i) {
				t.Errorf("command %d: answered done but applied %d times", i, a.writes)
			}
		case hub.TimedOut, hub.Offline:
			timedOut++
			if a.writes != 0 {
				t.Errorf("command %d: answered timed out but applied %d times", i, a.writes)
			}
		default:
			t.Errorf("command %d: no definite answer: %v", i, o)
		}
	}
	t.Logf("%d done, %d offline or timed out (nothing applied), %d connection kills", done, timedOut, r.proxy.Kills())
	if r.proxy.Kills() < 5 {
		t.Fatalf("only %d kills: the chaos did not happen", r.proxy.Kills())
	}
	if done < n*9/10 {
		t.Fatalf("only %d of %d done", done, n)
	}
}
