package demodir

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/connector/directory"
)

// clock is an injectable, advanceable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newDir(t *testing.T, opt Options) (*Dir, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	if opt.Now == nil {
		opt.Now = c.Now
	}
	d, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	return d, c
}

func code(t *testing.T, err error) directory.Code {
	t.Helper()
	if err == nil {
		return directory.Unknown
	}
	var de *directory.Error
	if !errors.As(err, &de) {
		t.Fatalf("%v is not a *directory.Error", err)
	}
	return de.Code
}

func wantCode(t *testing.T, what string, err error, want directory.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", what, want)
	}
	if got := code(t, err); got != want {
		t.Fatalf("%s: got %s (%v), want %s", what, got, err, want)
	}
	if c, _ := directory.CodeOf(err); c != want {
		t.Fatalf("%s: directory.CodeOf says %s, want %s", what, c, want)
	}
}

func lookup(t *testing.T, d *Dir, login string) directory.Entry {
	t.Helper()
	e, err := d.Lookup(context.Background(), login)
	if err != nil {
		t.Fatalf("lookup %s: %v", login, err)
	}
	return e
}

func status(t *testing.T, d *Dir, guid string) directory.Status {
	t.Helper()
	st, err := d.Status(context.Background(), guid)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestDefaultSeed(t *testing.T) {
	for _, tenant := range []string{"acme", "globex"} {
		d, _ := newDir(t, Options{Tenant: tenant})
		es := d.Entries()
		if len(es) != 4 {
			t.Fatalf("%s: %d users", tenant, len(es))
		}
		admins := 0
		for _, e := range es {
			if e.Mail == "" || e.Mobile == "" || e.GUID == "" || e.DN == "" || e.UPN == "" {
				t.Errorf("%s: incomplete seed user %+v", tenant, e)
			}
			if e.AdminCount == 1 {
				admins++
			}
			if err := d.VerifyPassword(context.Background(), e.Username, DefaultPassword); err != nil {
				t.Errorf("%s: %s cannot bind with the default password: %v", tenant, e.Username, err)
			}
		}
		if admins != 1 {
			t.Errorf("%s: %d adminCount=1 accounts", tenant, admins)
		}
		a := lookup(t, d, "alice")
		if a.GUID != GUIDFor(tenant, "alice") || a.DN != "CN=Alice Martin,OU=Staff,"+BaseDN(tenant) {
			t.Errorf("%s: alice = %+v", tenant, a)
		}
	}
	a1, _ := newDir(t, Options{Tenant: "acme"})
	g1, _ := newDir(t, Options{Tenant: "globex"})
	if lookup(t, a1, "alice").GUID == lookup(t, g1, "alice").GUID {
		t.Fatal("acme's and globex's alice share a GUID")
	}
}

func TestLookup(t *testing.T) {
	d, _ := newDir(t, Options{})
	alice := lookup(t, d, "alice")
	for _, login := range []string{"ALICE", "alice@acme.local", "Alice@Acme.Example"} {
		if e := lookup(t, d, login); e.GUID != alice.GUID {
			t.Errorf("%s found %s", login, e.Username)
		}
	}
	for _, login := range []string{"", "  ", "nobody", "alice\x00x", "al*"} {
		_, err := d.Lookup(context.Background(), login)
		wantCode(t, fmt.Sprintf("lookup %q", login), err, directory.NotFound)
	}
	if e, err := d.Get(context.Background(), alice.GUID); err != nil || e.Username != "alice" {
		t.Fatalf("get: %+v %v", e, err)
	}
	_, err := d.Get(context.Background(), "11111111-1111-4111-8111-111111111111")
	wantCode(t, "unknown GUID", err, directory.NotFound)
	_, err = d.Status(context.Background(), "not-a-guid")
	wantCode(t, "malformed GUID", err, directory.NotFound)

	dup, err := New(Options{Users: []User{{Username: "x", Mail: "same@x"}, {Username: "y", Mail: "same@x"}}})
	if err == nil || dup != nil {
		t.Fatal("a seed with two users sharing a mail was accepted")
	}
}

func TestPasswordPolicyRules(t *testing.T) {
	d, _ := newDir(t, Options{})
	ctx := context.Background()
	bob := lookup(t, d, "bob")
	for _, c := range []struct {
		pw   string
		want directory.Code
	}{
		{"Ab1!", directory.TooShort},
		{"Ab1!xyz", directory.TooShort},      // 7
		{"abcdefgh1", directory.NotComplex},  // 2 classes
		{"ABCDEFGH!", directory.NotComplex},  // 2 classes
		{"xBob-1234", directory.NotComplex},  // contains the sAMAccountName
		{"Nguyen-123", directory.NotComplex}, // contains part of the display name
		{"a\x00Bcdefg1", directory.PasswordRestriction},
	} {
		wantCode(t, fmt.Sprintf("reset %q", c.pw), d.Reset(ctx, bob.GUID, c.pw, directory.ResetOptions{}), c.want)
	}
	for _, pw := range []string{"abcdefg1!", "ABCDEFG1a", "Pferd-Ünë1", "New-pass-2🐎"} {
		if err := d.Reset(ctx, bob.GUID, pw, directory.ResetOptions{}); err != nil {
			t.Errorf("reset %q: %v", pw, err)
		}
	}
	p, err := d.Policy(ctx, bob.GUID)
	if err != nil || p != DefaultPolicy() {
		t.Fatalf("policy: %+v %v", p, err)
	}
	if p.MinLength != 8 || !p.Complexity || p.HistoryLength != 5 || p.LockoutThreshold != 5 || p.LockoutDuration != 15*time.Minute {
		t.Fatalf("default policy: %+v", p)
	}
}

func TestHistoryFiveOnChangeAndReset(t *testing.T) {
	d, _ := newDir(t, Options{})
	ctx := context.Background()
	g := lookup(t, d, "carol").GUID
	cur := DefaultPassword
	pws := []string{"Hist-pass-1", "Hist-pass-2", "Hist-pass-3", "Hist-pass-4"}
	for _, pw := range pws {
		if err := d.Change(ctx, g, cur, pw); err != nil {
			t.Fatal(err)
		}
		cur = pw
	}
	// remembered: Hist-4 (current), 3, 2, 1, Demo-pass (5 passwords)
	wantCode(t, "change to the current password", d.Change(ctx, g, cur, cur), directory.InHistory)
	wantCode(t, "change to the seed password", d.Change(ctx, g, cur, DefaultPassword), directory.InHistory)
	wantCode(t, "reset to a remembered password (policy hints)", d.Reset(ctx, g, "Hist-pass-2", directory.ResetOptions{}), directory.InHistory)
	if err := d.Change(ctx, g, cur, "Hist-pass-5"); err != nil {
		t.Fatal(err)
	}
	// now remembered: 5, 4, 3, 2, 1 — the seed password has dropped out
	if err := d.Change(ctx, g, "Hist-pass-5", DefaultPassword); err != nil {
		t.Fatalf("the 6th-last password should be usable again: %v", err)
	}

	nh, _ := newDir(t, Options{NoPolicyHints: true})
	g2 := lookup(t, nh, "carol").GUID
	if err := nh.Reset(ctx, g2, DefaultPassword, directory.ResetOptions{}); err != nil {
		t.Fatalf("without policy hints a reset does not enforce history: %v", err)
	}
	if info, _ := nh.Info(ctx); info.PolicyHintsOID != "" {
		t.Fatal("NoPolicyHints still advertises the control")
	}
	if info, _ := d.Info(ctx); info.PolicyHintsOID != directory.OIDPolicyHints || info.DefaultNamingContext != "DC=acme,DC=local" {
		t.Fatalf("info: %+v", info)
	}
}

func TestChange(t *testing.T) {
	d, c := newDir(t, Options{})
	ctx := context.Background()
	g := lookup(t, d, "alice").GUID
	wantCode(t, "wrong old password", d.Change(ctx, g, "Not-the-one-1", "Brand-new-1"), directory.WrongPassword)
	wantCode(t, "empty old password", d.Change(ctx, g, "", "Brand-new-1"), directory.WrongPassword)
	if st := status(t, d, g); st.BadPwdCount != 2 {
		t.Fatalf("a wrong current password counts as a bad password: %+v", st)
	}
	wantCode(t, "too short", d.Change(ctx, g, DefaultPassword, "Ab1!"), directory.TooShort)
	c.Add(time.Minute)
	if err := d.Change(ctx, g, DefaultPassword, "Brand-new-1"); err != nil {
		t.Fatal(err)
	}
	st := status(t, d, g)
	if st.BadPwdCount != 0 || !st.PasswordLastSet.Equal(c.Now()) {
		t.Fatalf("after change: %+v", st)
	}
	wantCode(t, "old password no longer binds", d.VerifyPassword(ctx, "alice", DefaultPassword), directory.InvalidCredentials)
	if err := d.VerifyPassword(ctx, "alice", "Brand-new-1"); err != nil {
		t.Fatal(err)
	}

	// minimum age, when configured
	p := DefaultPolicy()
	p.MinAge = 24 * time.Hour
	d2, c2 := newDir(t, Options{Policy: p})
	g2 := lookup(t, d2, "alice").GUID
	wantCode(t, "min age", d2.Change(ctx, g2, DefaultPassword, "Brand-new-1"), directory.TooYoung)
	c2.Add(25 * time.Hour)
	if err := d2.Change(ctx, g2, DefaultPassword, "Brand-new-1"); err != nil {
		t.Fatal(err)
	}
}

func TestLockoutAfterFiveBadBindsForFifteenMinutes(t *testing.T) {
	d, c := newDir(t, Options{})
	ctx := context.Background()
	g := lookup(t, d, "bob").GUID
	for i := 1; i <= 4; i++ {
		wantCode(t, "bad bind", d.VerifyPassword(ctx, g, "wrong"), directory.InvalidCredentials)
		if st := status(t, d, g); st.BadPwdCount != i || st.Locked {
			t.Fatalf("after %d bad binds: %+v", i, st)
		}
	}
	start := c.Now()
	wantCode(t, "5th bad bind", d.VerifyPassword(ctx, g, "wrong"), directory.Locked)
	st := status(t, d, g)
	if !st.Locked || !st.LockoutEnds.Equal(start.Add(15*time.Minute)) || st.BadPwdCount != 5 {
		t.Fatalf("locked status: %+v", st)
	}
	wantCode(t, "right password while locked", d.VerifyPassword(ctx, g, DefaultPassword), directory.Locked)
	wantCode(t, "change while locked", d.Change(ctx, g, DefaultPassword, "Brand-new-1"), directory.Locked)

	c.Add(14*time.Minute + 59*time.Second)
	if !status(t, d, g).Locked {
		t.Fatal("unlocked before 15 minutes")
	}
	c.Add(time.Second)
	if st := status(t, d, g); st.Locked || !st.LockoutEnds.IsZero() || st.BadPwdCount != 0 {
		t.Fatalf("after 15 minutes: %+v", st)
	}
	if err := d.VerifyPassword(ctx, g, DefaultPassword); err != nil {
		t.Fatalf("bind after the lockout lapsed: %v", err)
	}

	// bad passwords older than the observation window are forgotten
	for i := 0; i < 4; i++ {
		d.VerifyPassword(ctx, g, "wrong")
	}
	c.Add(16 * time.Minute)
	wantCode(t, "bad bind after the window", d.VerifyPassword(ctx, g, "wrong"), directory.InvalidCredentials)
	if st := status(t, d, g); st.BadPwdCount != 1 || st.Locked {
		t.Fatalf("window: %+v", st)
	}
	// a good bind clears the count
	if err := d.VerifyPassword(ctx, "bob", DefaultPassword); err != nil || status(t, d, g).BadPwdCount != 0 {
		t.Fatalf("good bind: %v %+v", err, status(t, d, g))
	}
}

func TestUnlockAndResetWithUnlock(t *testing.T) {
	d, _ := newDir(t, Options{})
	ctx := context.Background()
	g := lookup(t, d, "carol").GUID
	lock := func() {
		for i := 0; i < 5; i++ {
			d.VerifyPassword(ctx, g, "wrong")
		}
		if !status(t, d, g).Locked {
			t.Fatal("not locked")
		}
	}
	lock()
	if err := d.Unlock(ctx, g); err != nil {
		t.Fatal(err)
	}
	if st := status(t, d, g); st.Locked || st.BadPwdCount != 0 {
		t.Fatalf("after unlock: %+v", st)
	}
	lock()
	if err := d.Reset(ctx, g, "Reset-pass-1", directory.ResetOptions{}); err != nil {
		t.Fatal(err)
	}
	if !status(t, d, g).Locked {
		t.Fatal("a reset without Unlock unlocked the account")
	}
	if err := d.Reset(ctx, g, "Reset-pass-2", directory.ResetOptions{Unlock: true}); err != nil {
		t.Fatal(err)
	}
	if st := status(t, d, g); st.Locked || st.BadPwdCount != 0 || st.MustChange {
		t.Fatalf("after reset+unlock: %+v", st)
	}
	if err := d.VerifyPassword(ctx, g, "Reset-pass-2"); err != nil {
		t.Fatal(err)
	}
}

func TestMustChange(t *testing.T) {
	d, _ := newDir(t, Options{})
	ctx := context.Background()
	g := lookup(t, d, "alice").GUID
	if err := d.ForceChange(ctx, g); err != nil {
		t.Fatal(err)
	}
	st := status(t, d, g)
	if !st.MustChange || !st.PasswordLastSet.IsZero() || st.Expired {
		t.Fatalf("after force change: %+v", st)
	}
	wantCode(t, "bind with the right password", d.VerifyPassword(ctx, g, DefaultPassword), directory.MustChange)
	wantCode(t, "bind with a wrong password", d.VerifyPassword(ctx, g, "wrong"), directory.InvalidCredentials)
	if err := d.Change(ctx, g, DefaultPassword, "Changed-pass-1"); err != nil {
		t.Fatalf("a user who must change can change: %v", err)
	}
	if status(t, d, g).MustChange {
		t.Fatal("still must change after a change")
	}
	if err := d.Reset(ctx, g, "Reset-pass-1", directory.ResetOptions{MustChange: true}); err != nil {
		t.Fatal(err)
	}
	if !status(t, d, g).MustChange {
		t.Fatal("reset with MustChange")
	}
	if err := d.Reset(ctx, g, "Reset-pass-2", directory.ResetOptions{}); err != nil {
		t.Fatal(err)
	}
	if status(t, d, g).MustChange {
		t.Fatal("a reset without MustChange leaves the password usable (pwdLastSet=-1)")
	}
}

func TestDisabledExpiredAndAccountExpired(t *testing.T) {
	p := DefaultPolicy()
	p.MaxAge = 42 * 24 * time.Hour
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	d, err := New(Options{Now: c.Now, Policy: p, Users: []User{
		{Username: "dis", Disabled: true},
		{Username: "old", AccountExpires: c.Now().Add(time.Hour)},
		{Username: "pw"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dis, old, pw := lookup(t, d, "dis").GUID, lookup(t, d, "old").GUID, lookup(t, d, "pw").GUID
	if !status(t, d, dis).Disabled {
		t.Fatal("disabled")
	}
	wantCode(t, "disabled, right password", d.VerifyPassword(ctx, dis, DefaultPassword), directory.Disabled)
	wantCode(t, "disabled, wrong password", d.VerifyPassword(ctx, dis, "nope"), directory.Disabled)
	if err := d.SetDisabled(dis, false); err != nil || status(t, d, dis).Disabled {
		t.Fatal("enable")
	}

	c.Add(2 * time.Hour)
	if !status(t, d, old).AccountExpired {
		t.Fatal("account expired")
	}
	wantCode(t, "account expired", d.VerifyPassword(ctx, old, DefaultPassword), directory.AccountExpired)

	c.Add(42 * 24 * time.Hour)
	if !status(t, d, pw).Expired {
		t.Fatal("password past max age")
	}
	wantCode(t, "expired, right password", d.VerifyPassword(ctx, pw, DefaultPassword), directory.Expired)
	wantCode(t, "expired, wrong password", d.VerifyPassword(ctx, pw, "nope"), directory.InvalidCredentials)
	if err := d.Reset(ctx, pw, "Fresh-pass-1", directory.ResetOptions{}); err != nil || status(t, d, pw).Expired {
		t.Fatalf("reset clears expiry: %v", err)
	}
}

func TestUnknownUserBindAndClosedAndCancelled(t *testing.T) {
	d, _ := newDir(t, Options{})
	wantCode(t, "unknown user bind", d.VerifyPassword(context.Background(), "nobody", "x"), directory.InvalidCredentials)
	wantCode(t, "empty password", d.VerifyPassword(context.Background(), "alice", ""), directory.InvalidCredentials)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := d.Lookup(ctx, "alice")
	wantCode(t, "cancelled", err, directory.Unavailable)
	if r, err := d.EffectiveRights(context.Background(), lookup(t, d, "alice").GUID); err != nil || !r.Known || !r.WriteUnicodePwd {
		t.Fatalf("rights: %+v %v", r, err)
	}
	if err := d.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	d.Close()
	wantCode(t, "ping after close", d.Ping(context.Background()), directory.Unavailable)
	_, err = d.Lookup(context.Background(), "alice")
	wantCode(t, "lookup after close", err, directory.Unavailable)
}

func TestConcurrentUse(t *testing.T) {
	d, _ := newDir(t, Options{})
	ctx := context.Background()
	g := lookup(t, d, "alice").GUID
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				switch j % 5 {
				case 0:
					d.Reset(ctx, g, fmt.Sprintf("Race-pass-%d-%d", i, j), directory.ResetOptions{Unlock: true})
				case 1:
					d.VerifyPassword(ctx, g, "wrong")
				case 2:
					d.Status(ctx, g)
				case 3:
					d.Unlock(ctx, g)
				case 4:
					d.Lookup(ctx, "alice")
					d.Entries()
				}
			}
		}(i)
	}
	wg.Wait()
}
