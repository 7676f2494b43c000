package directory_test

// Integration tests against OpenLDAP slapd + ppolicy (scripts/testenv): the
// generic-LDAP dialect. Each test makes its own users.

import (
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/latchkey/latchkey/connector/directory"
	"github.com/latchkey/latchkey/connector/directory/dirtest"
)

func slapdUser(t *testing.T, env dirtest.SlapdEnv, d directory.Directory, opts ...dirtest.UserOption) (dirtest.User, string) {
	t.Helper()
	u := env.NewUser(t, env.UsersOU, opts...)
	e, err := d.Lookup(t.Context(), u.Login)
	noErr(t, err, "lookup new user")
	return u, e.GUID
}

func TestSlapdLookupAndGet(t *testing.T) {
	env := dirtest.Slapd(t)
	d := env.Open(t)
	ctx := t.Context()
	u, guid := slapdUser(t, env, d)
	for _, login := range []string{u.Login, u.Mail} {
		e, err := d.Lookup(ctx, login)
		noErr(t, err, "lookup "+login)
		if e.GUID != guid || e.DN != u.DN || e.Username != u.Login || e.Mail != u.Mail || e.DisplayName != "Test "+u.Login {
			t.Fatalf("lookup %q: %+v", login, e)
		}
	}
	e, err := d.Get(ctx, strings.ToUpper(guid))
	noErr(t, err, "get")
	if e.GUID != guid {
		t.Fatalf("get: %+v", e)
	}
	// R51
	for _, login := range []string{"*", "*)(uid=*", u.Login + ")(|(uid=*)", "\x00", u.Login + "\x00", u.Login[:4] + "*"} {
		_, err := d.Lookup(ctx, login)
		wantCode(t, err, directory.NotFound)
	}
	_, err = d.Get(ctx, "*)(entryUUID=*")
	wantCode(t, err, directory.NotFound)
	if r, err := d.(directory.RightsReader).EffectiveRights(ctx, guid); err != nil || r.Known {
		t.Fatalf("rights %+v %v", r, err)
	}
}

func TestSlapdResetAndVerify(t *testing.T) {
	env := dirtest.Slapd(t)
	d := env.Open(t)
	ctx := t.Context()
	u, guid := slapdUser(t, env, d)
	noErr(t, d.VerifyPassword(ctx, guid, u.Password), "verify")
	wantCode(t, d.VerifyPassword(ctx, guid, u.Password+"x"), directory.InvalidCredentials)
	pw := dirtest.RandomPassword()
	noErr(t, d.Reset(ctx, guid, pw, directory.ResetOptions{}), "reset")
	noErr(t, d.VerifyPassword(ctx, u.Login, pw), "verify new password (usable: no pwdReset)")
	noErr(t, env.Bind(u.DN, pw), "raw bind")
	wantCode(t, d.VerifyPassword(ctx, guid, u.Password), directory.InvalidCredentials)
	st, err := d.Status(ctx, guid)
	noErr(t, err, "status")
	if st.MustChange || st.Locked || st.Expired {
		t.Fatalf("status after reset %+v", st)
	}
	// the rootdn bypasses quality: a reset is not policy-checked
	noErr(t, d.Reset(ctx, guid, "short", directory.ResetOptions{}), "reset to a short password")
}

// R17 on slapd: pwdReset TRUE → the bind says changeAfterReset.
func TestSlapdResetMustChangeAndForceChange_R17(t *testing.T) {
	env := dirtest.Slapd(t)
	d := env.Open(t)
	ctx := t.Context()
	u, guid := slapdUser(t, env, d)
	pw := dirtest.RandomPassword()
	noErr(t, d.Reset(ctx, guid, pw, directory.ResetOptions{MustChange: true}), "reset must change")
	wantCode(t, d.VerifyPassword(ctx, guid, pw), directory.MustChange)
	st, err := d.Status(ctx, guid)
	noErr(t, err, "status")
	if !st.MustChange {
		t.Fatalf("status %+v", st)
	}
	next := dirtest.RandomPassword()
	noErr(t, d.Change(ctx, guid, pw, next), "change clears pwdReset")
	noErr(t, d.VerifyPassword(ctx, guid, next), "verify after change")

	noErr(t, d.ForceChange(ctx, guid), "force change")
	if v := env.Read(t, u.DN, "pwdReset").GetAttributeValue("pwdReset"); v != "TRUE" {
		t.Fatalf("pwdReset = %q", v)
	}
	wantCode(t, d.VerifyPassword(ctx, guid, next), directory.MustChange)
}

func TestSlapdChange(t *testing.T) {
	env := dirtest.Slapd(t)
	d := env.Open(t)
	ctx := t.Context()
	u, guid := slapdUser(t, env, d)
	next := dirtest.RandomPassword()
	wantCode(t, d.Change(ctx, guid, u.Password+"wrong", next), directory.WrongPassword)
	noErr(t, d.Change(ctx, guid, u.Password, next), "change")
	noErr(t, env.Bind(u.DN, next), "bind new")
	if err := env.Bind(u.DN, u.Password); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Fatalf("old password: %v", err)
	}
	// ppolicy refusals on a change, from the response control
	wantCode(t, d.Change(ctx, guid, next, "Ab1!"), directory.TooShort)      // pwdMinLength 8
	wantCode(t, d.Change(ctx, guid, next, u.Password), directory.InHistory) // pwdInHistory 5
	noErr(t, d.VerifyPassword(ctx, guid, next), "unchanged")
}

func TestSlapdStrictPolicy(t *testing.T) {
	env := dirtest.Slapd(t)
	d := env.Open(t)
	ctx := t.Context()
	_, guid := slapdUser(t, env, d, dirtest.WithPolicy(env.StrictPPolicyDN))
	p, err := d.Policy(ctx, guid)
	noErr(t, err, "policy")
	want := directory.Policy{
		Source: env.StrictPPolicyDN, MinLength: 12, HistoryLength: 3, MinAge: 24 * time.Hour,
		MaxAge: 30 * 24 * time.Hour, LockoutThreshold: 5, LockoutDuration: 10 * time.Minute,
	}
	if p != want {
		t.Fatalf("strict policy\n got %+v\nwant %+v", p, want)
	}
	_, dguid := slapdUser(t, env, d)
	p, err = d.Policy(ctx, dguid)
	noErr(t, err, "default policy")
	want = directory.Policy{Source: env.PPolicyDN, MinLength: 8, HistoryLength: 5, LockoutThreshold: 3}
	if p != want {
		t.Fatalf("default policy\n got %+v\nwant %+v", p, want)
	}
}

func TestSlapdMinAge(t *testing.T) {
	env := dirtest.Slapd(t)
	d := env.Open(t)
	ctx := t.Context()
	u, guid := slapdUser(t, env, d, dirtest.WithPolicy(env.StrictPPolicyDN))
	// pwdMinAge 1 day counts from pwdChangedTime, set by the add
	if env.Read(t, u.DN, "pwdChangedTime").GetAttributeValue("pwdChangedTime") == "" {
		t.Skip("slapd set no pwdChangedTime on add")
	}
	wantCode(t, d.Change(ctx, guid, u.Password, dirtest.RandomPassword()), directory.TooYoung)
}

// Lockout by bad binds (pwdMaxFailure 3, until an administrator unlocks),
// then Unlock.
func TestSlapdLockoutAndUnlock(t *testing.T) {
	env := dirtest.Slapd(t)
	d := env.Open(t)
	ctx := t.Context()
	u, guid := slapdUser(t, env, d)
	for i := 0; i < 3; i++ {
		wantCode(t, d.VerifyPassword(ctx, guid, "wrong-password"), directory.InvalidCredentials)
	}
	wantCode(t, d.VerifyPassword(ctx, guid, u.Password), directory.Locked) // ppolicy accountLocked
	st, err := d.Status(ctx, guid)
	noErr(t, err, "status")
	if !st.Locked || st.BadPwdCount != 3 || !st.LockoutEnds.IsZero() {
		t.Fatalf("status after lockout %+v", st)
	}
	noErr(t, d.Unlock(ctx, guid), "unlock")
	noErr(t, d.Unlock(ctx, guid), "unlock again (nothing to delete)")
	st, err = d.Status(ctx, guid)
	noErr(t, err, "status")
	if st.Locked || st.BadPwdCount != 0 {
		t.Fatalf("status after unlock %+v", st)
	}
	noErr(t, d.VerifyPassword(ctx, guid, u.Password), "bind after unlock")

	// failures below the threshold are cleared too (pwdFailureTime needs Relax)
	wantCode(t, d.VerifyPassword(ctx, guid, "wrong-password"), directory.InvalidCredentials)
	noErr(t, d.Unlock(ctx, guid), "unlock with one failure recorded")
	if st, err = d.Status(ctx, guid); err != nil || st.BadPwdCount != 0 {
		t.Fatalf("status after clearing failures %+v %v", st, err)
	}

	// the administrative permanent lock, and Reset with Unlock
	env.SetAttr(t, u.DN, "pwdAccountLockedTime", "000001010000Z")
	st, err = d.Status(ctx, guid)
	noErr(t, err, "status")
	if !st.Locked || !st.LockoutEnds.IsZero() {
		t.Fatalf("status with permanent lock %+v", st)
	}
	pw := dirtest.RandomPassword()
	noErr(t, d.Reset(ctx, guid, pw, directory.ResetOptions{Unlock: true}), "reset with unlock")
	noErr(t, d.VerifyPassword(ctx, guid, pw), "verify")
}

// A timed lockout (strict policy: 10 minutes) reports when it ends.
func TestSlapdTimedLockoutEnds(t *testing.T) {
	env := dirtest.Slapd(t)
	d := env.Open(t)
	ctx := t.Context()
	u, guid := slapdUser(t, env, d, dirtest.WithPolicy(env.StrictPPolicyDN))
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	env.SetAttr(t, u.DN, "pwdAccountLockedTime", at.Format("20060102150405Z"))
	st, err := d.Status(ctx, guid)
	noErr(t, err, "status")
	if !st.Locked || !st.LockoutEnds.Equal(at.Add(10*time.Minute)) {
		t.Fatalf("status %+v (locked at %v)", st, at)
	}
	// lapsed
	env.SetAttr(t, u.DN, "pwdAccountLockedTime", at.Add(-time.Hour).Format("20060102150405Z"))
	st, err = d.Status(ctx, guid)
	noErr(t, err, "status")
	if st.Locked {
		t.Fatalf("lapsed lockout still locked: %+v", st)
	}
}

func TestSlapdStartTLSAndPin_R43(t *testing.T) {
	env := dirtest.Slapd(t)
	cfg := env.Config(t)
	cfg.URLs = []string{env.StartTLSURL}
	d := dirtest.Open(t, cfg)
	u, guid := slapdUser(t, env, d)
	pw := dirtest.RandomPassword()
	noErr(t, d.Reset(t.Context(), guid, pw, directory.ResetOptions{}), "reset over StartTLS")
	noErr(t, env.Bind(u.DN, pw), "bind")
	cfg = env.Config(t)
	cfg.CAPEM = nil
	wantCode(t, dirtest.Open(t, cfg).Ping(t.Context()), directory.Unavailable)
	cfg.CertSHA256 = env.CertSHA256
	noErr(t, dirtest.Open(t, cfg).Ping(t.Context()), "ping with pin")
}
