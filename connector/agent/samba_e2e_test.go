package agent

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/latchkey/latchkey/connector/directory"
	"github.com/latchkey/latchkey/connector/directory/dirtest"
	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/protocol"
)

// These tests run the tunnel (dispatcher → hub → real WebSocket through a kill
// proxy → agent) in front of the real Samba AD DC that scripts/testenv starts,
// through the delegated service account.

// unicodePwdAttID is the attributeID of unicodePwd in replPropertyMetaData.
const unicodePwdAttID = 0x0009005a

// pwdWrites reads how many times the DC has written the user's unicodePwd:
// the attribute's version in replPropertyMetaData (MS-DRSR
// PROPERTY_META_DATA_EXT_VECTOR: a 16-byte header with the count at offset
// 8, then 48-byte entries {attid, version, time, invocation id, usns}). Every
// reset or change adds exactly one, so it tells "applied once" from "applied
// twice" in the directory itself.
func pwdWrites(t testing.TB, env dirtest.SambaEnv, dn string) uint32 {
	t.Helper()
	l := env.Admin(t)
	defer l.Close()
	res, err := l.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 10, false,
		"(objectClass=*)", []string{"replPropertyMetaData"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read replPropertyMetaData of %s: %v", dn, err)
	}
	b := res.Entries[0].GetRawAttributeValue("replPropertyMetaData")
	if len(b) < 16 || binary.LittleEndian.Uint32(b) != 1 {
		t.Fatalf("replPropertyMetaData of %s: unexpected header % x", dn, b[:min(len(b), 16)])
	}
	n := int(binary.LittleEndian.Uint32(b[8:]))
	if len(b) < 16+48*n {
		t.Fatalf("replPropertyMetaData of %s: %d entries in %d bytes", dn, n, len(b))
	}
	for i := range n {
		e := b[16+48*i:]
		if binary.LittleEndian.Uint32(e) == unicodePwdAttID {
			return binary.LittleEndian.Uint32(e[4:])
		}
	}
	t.Fatalf("replPropertyMetaData of %s has no unicodePwd entry", dn)
	return 0
}

func sambaRig(t testing.TB, env dirtest.SambaEnv) *rig {
	t.Helper()
	rails := Guardrails{OUs: []string{env.ScopeOU}, ProtectAdmins: true, WritesPerMinute: 1_000_000, WriteBurst: 10_000}
	return newRigWith(t, rails, FromDirectory(env.Open(t)))
}

func lookupGUID(t testing.TB, r *rig, login string) string {
	t.Helper()
	out := r.disp.Execute(context.Background(), tenantA, hub.Request{Op: protocol.OpLookup, Login: login})
	if out.Status != hub.Done {
		t.Fatalf("lookup %s through the tunnel: %+v", login, out)
	}
	var acc protocol.Account
	if err := json.Unmarshal(out.Data, &acc); err != nil || acc.GUID == "" {
		t.Fatalf("lookup %s: %v %s", login, err, out.Data)
	}
	return acc.GUID
}

// TestSambaChaosEveryChangeOnce_R57_R58 is the chaos criterion against
// the real DC: 200 password changes, as chains of Delete(old)+Add(new) on 20
// users, while the WebSocket is cut at random moments. Every caller gets a
// definite answer; a change answered "done" has happened exactly once and one
// answered "timed out"/"offline" not at all — proven by the DC's own count of
// unicodePwd writes (replPropertyMetaData) and by binding with the last
// password of each chain.
func TestSambaChaosEveryChangeOnce_R57_R58(t *testing.T) {
	env := dirtest.Samba(t)
	r := sambaRig(t, env)
	const users, perUser = 20, 10
	type chain struct {
		u      dirtest.User
		guid   string
		before uint32
		cur    string
		done   int
		notRun int
		bad    []string
	}
	chains := make([]*chain, users)
	for i := range chains {
		u := env.NewUser(t, env.ScopeOU)
		chains[i] = &chain{u: u, guid: lookupGUID(t, r, u.Login), before: pwdWrites(t, env, u.DN), cur: u.Password}
	}

	stop := make(chan struct{})
	killerDone := make(chan struct{})
	go func() {
		defer close(killerDone)
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(20+rand.IntN(120)) * time.Millisecond):
				r.proxy.kill()
			}
		}
	}()
	var wg sync.WaitGroup
	for _, c := range chains {
		wg.Go(func() {
			for attempt := 0; c.done < perUser && attempt < 5*perUser; attempt++ {
				next := dirtest.RandomPassword()
				out := r.disp.Execute(context.Background(), tenantA, hub.Request{Op: protocol.OpChange, Target: c.guid,
					OldPassword: []byte(c.cur), Password: []byte(next)})
				switch out.Status {
				case hub.Done:
					c.done++
					c.cur = next
				case hub.TimedOut, hub.Offline:
					c.notRun++ // never ran: the same step is tried again with a new command
				default:
					c.bad = append(c.bad, fmt.Sprintf("%s %s %s", out.Status, out.Reason, out.Code))
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-killerDone

	total, notRun := 0, 0
	for _, c := range chains {
		if len(c.bad) > 0 {
			t.Errorf("%s: answers that are not done/timed out/offline: %v", c.u.Login, c.bad)
		}
		writes := pwdWrites(t, env, c.u.DN) - c.before
		if int(writes) != c.done {
			t.Errorf("%s: %d changes answered done, the DC wrote the password %d times", c.u.Login, c.done, writes)
		}
		if err := env.Bind(c.u.DN, c.cur); err != nil {
			t.Errorf("%s: bind with the last password answered done: %v", c.u.Login, err)
		}
		total += c.done
		notRun += c.notRun
	}
	t.Logf("%d changes done, %d answered not run (and retried), %d connection kills", total, notRun, r.proxy.kills)
	if total != users*perUser {
		t.Errorf("%d of %d changes done", total, users*perUser)
	}
	if r.proxy.kills < 5 {
		t.Fatalf("only %d kills: the chaos did not happen", r.proxy.kills)
	}
}

// TestSambaThroughTheTunnel: reset, unlock after a real lockout, force change
// and the guardrails, end to end against the DC.
func TestSambaThroughTheTunnel_R47_R49_R17(t *testing.T) {
	env := dirtest.Samba(t)
	r := sambaRig(t, env)
	ctx := context.Background()
	u := env.NewUser(t, env.ScopeOU)
	guid := lookupGUID(t, r, u.Login)

	for range 3 { // the domain locks after 3 bad passwords
		_ = env.Bind(u.DN, "Wrong-Passw0rd!")
	}
	out := r.disp.Execute(ctx, tenantA, hub.Request{Op: protocol.OpReadStatus, Target: guid})
	var st protocol.AccountStatus
	if out.Status != hub.Done || json.Unmarshal(out.Data, &st) != nil || !st.Locked || st.LockoutEnds.IsZero() {
		t.Fatalf("status after 3 bad binds: %+v %s", out, out.Data)
	}
	if out := r.disp.Execute(ctx, tenantA, hub.Request{Op: protocol.OpUnlock, Target: guid}); out.Status != hub.Done {
		t.Fatalf("unlock: %+v", out)
	}
	if err := env.Bind(u.DN, u.Password); err != nil {
		t.Fatalf("bind after unlock: %v", err)
	}
	pw := dirtest.RandomPassword()
	if out := r.disp.Execute(ctx, tenantA, hub.Request{Op: protocol.OpReset, Target: guid, Password: []byte(pw), MustChange: true}); out.Status != hub.Done {
		t.Fatalf("reset with must-change: %+v", out)
	}
	err := env.Bind(u.DN, pw)
	if code, _ := directory.CodeOf(directory.ParseError(err)); code != directory.MustChange {
		t.Fatalf("bind after a must-change reset: %v (code %v), want MustChange (data 773)", err, code)
	}

	// A compromised cloud may know GUIDs it should not touch: read them
	// straight from the DC, then ask the agent to look up and to reset.
	local := env.Open(t)
	other := env.NewUser(t, env.OtherOU)
	for login, want := range map[string]protocol.Refusal{env.ProtectedUser: protocol.RefuseProtected, other.Login: protocol.RefuseScope} {
		e, err := local.Lookup(ctx, login)
		if err != nil {
			t.Fatalf("local lookup %s: %v", login, err)
		}
		if out := r.disp.Execute(ctx, tenantA, hub.Request{Op: protocol.OpLookup, Login: login}); out.Status != hub.Refused || out.Reason != want {
			t.Errorf("lookup %s through the tunnel: %+v, want refused %s", login, out, want)
		}
		before := pwdWrites(t, env, e.DN)
		out := r.disp.Execute(ctx, tenantA, hub.Request{Op: protocol.OpReset, Target: e.GUID, Password: []byte(dirtest.RandomPassword())})
		if out.Status != hub.Refused || out.Reason != want {
			t.Errorf("reset %s by GUID: %+v, want refused %s", login, out, want)
		}
		if after := pwdWrites(t, env, e.DN); after != before {
			t.Errorf("reset %s was refused but the DC wrote the password", login)
		}
	}
}

// BenchmarkB2ResetVsRawLDAP is performance.md B2 on this machine: an admin
// reset through dispatcher → hub → WebSocket → agent → directory layer →
// Samba, against a raw go-ldap unicodePwd Replace on an open LDAPS connection
// as the same delegated account, interleaved one for one in the same run.
// Reported: p50 of each (ms) and the ratio of the p50s.
//
//	go test ./connector/agent -run x -bench B2 -benchtime 50x
func BenchmarkB2ResetVsRawLDAP(b *testing.B) {
	env := dirtest.Samba(b)
	r := sambaRig(b, env)
	u := env.NewUser(b, env.ScopeOU)
	guid := lookupGUID(b, r, u.Login)
	raw := env.Service(b)
	defer raw.Close()
	rawOp := func() error {
		enc, err := directory.EncodePassword(dirtest.RandomPassword())
		if err != nil {
			return err
		}
		m := ldap.NewModifyRequest(u.DN, nil)
		m.Replace("unicodePwd", []string{enc})
		return raw.Modify(m)
	}
	tunnelOp := func() error {
		out := r.disp.Execute(context.Background(), tenantA, hub.Request{Op: protocol.OpReset, Target: guid, Password: []byte(dirtest.RandomPassword())})
		if out.Status != hub.Done {
			return fmt.Errorf("%s %s %s", out.Status, out.Reason, out.Code)
		}
		return nil
	}
	compare(b, rawOp, tunnelOp)
}

// BenchmarkB3UnlockVsRawLDAP is performance.md B3: unlock (lockoutTime=0)
// through the tunnel against a raw modify, interleaved.
//
//	go test ./connector/agent -run x -bench B3 -benchtime 50x
func BenchmarkB3UnlockVsRawLDAP(b *testing.B) {
	env := dirtest.Samba(b)
	r := sambaRig(b, env)
	u := env.NewUser(b, env.ScopeOU)
	guid := lookupGUID(b, r, u.Login)
	raw := env.Service(b)
	defer raw.Close()
	rawOp := func() error {
		m := ldap.NewModifyRequest(u.DN, nil)
		m.Replace("lockoutTime", []string{"0"})
		return raw.Modify(m)
	}
	tunnelOp := func() error {
		out := r.disp.Execute(context.Background(), tenantA, hub.Request{Op: protocol.OpUnlock, Target: guid})
		if out.Status != hub.Done {
			return fmt.Errorf("%s %s %s", out.Status, out.Reason, out.Code)
		}
		return nil
	}
	compare(b, rawOp, tunnelOp)
}

// compare runs the baseline and the candidate alternately b.N times each and
// reports their medians and the ratio.
func compare(b *testing.B, baseline, candidate func() error) {
	b.Helper()
	for _, op := range []func() error{baseline, candidate} { // warm both paths
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	var base, cand []time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := baseline(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := candidate(); err != nil {
			b.Fatal(err)
		}
		base, cand = append(base, t1.Sub(t0)), append(cand, time.Since(t1))
	}
	b.StopTimer()
	p50 := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	pb, pc := p50(base), p50(cand)
	b.ReportMetric(float64(pb.Microseconds())/1000, "raw-p50-ms")
	b.ReportMetric(float64(pc.Microseconds())/1000, "latchkey-p50-ms")
	b.ReportMetric(float64(pc)/float64(pb), "ratio")
}
