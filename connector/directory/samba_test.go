package directory_test

// Integration tests against the Samba AD DC of scripts/testenv (see
// docs/directory-testing.md). Every test makes its own users (dirtest.NewUser)
// and deletes them, so the tests are re-runnable and safe beside others.

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/latchkey/latchkey/connector/directory"
	"github.com/latchkey/latchkey/connector/directory/dirtest"
)

func wantCode(t testing.TB, err error, want directory.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want code %v", want)
	}
	var de *directory.Error
	if !errors.As(err, &de) {
		t.Fatalf("error is %T, not *directory.Error: %v", err, err)
	}
	if de.Code != want {
		t.Fatalf("code %v, want %v: %v", de.Code, want, err)
	}
}

func noErr(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// sambaUser makes a fresh user in OU=Staff and returns it with its GUID.
func sambaUser(t *testing.T, env dirtest.SambaEnv, d directory.Directory, opts ...dirtest.UserOption) (dirtest.User, string) {
	t.Helper()
	u := env.NewUser(t, env.ScopeOU, opts...)
	e, err := d.Lookup(t.Context(), u.Login)
	noErr(t, err, "lookup new user")
	return u, e.GUID
}

func TestSambaLookupGetAndEntry(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	ctx := t.Context()
	u, guid := sambaUser(t, env, d, dirtest.InGroup(env.StrictGroup))
	for _, login := range []string{u.Login, u.UPN, u.Mail, strings.ToUpper(u.Login)} {
		e, err := d.Lookup(ctx, login)
		noErr(t, err, "lookup "+login)
		if e.GUID != guid || !strings.EqualFold(e.DN, u.DN) || e.Username != u.Login || e.UPN != u.UPN || e.Mail != u.Mail {
			t.Fatalf("lookup %q: %+v", login, e)
		}
	}
	e, err := d.Get(ctx, guid)
	noErr(t, err, "get")
	if e.GUID != guid || e.DisplayName != "Test "+u.Login || e.AdminCount != 0 {
		t.Fatalf("get: %+v", e)
	}
	if len(e.Groups) != 1 || !strings.EqualFold(e.Groups[0], env.StrictGroup) {
		t.Fatalf("memberOf: %v", e.Groups)
	}
	// GUIDs are accepted in either case and always returned lowercase
	if _, err := d.Get(ctx, strings.ToUpper(guid)); err != nil {
		t.Fatalf("get by upper-case GUID: %v", err)
	}
	_, err = d.Lookup(ctx, dirtest.RandomName("nobody"))
	wantCode(t, err, directory.NotFound)
	_, err = d.Get(ctx, "01234567-89ab-cdef-0123-456789abcdef")
	wantCode(t, err, directory.NotFound)
	_, err = d.Get(ctx, "not-a-guid")
	wantCode(t, err, directory.NotFound)
}

// R49: the protected account is visible with adminCount=1 (the agent's
// guardrail refuses it); the DC's ACL also refuses the delegated account.
func TestSambaProtectedAccountAdminCount_R49(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	e, err := d.Lookup(t.Context(), env.ProtectedUser)
	noErr(t, err, "lookup boss")
	if e.AdminCount != 1 {
		t.Fatalf("boss AdminCount = %d, want 1", e.AdminCount)
	}
	found := false
	for _, g := range e.Groups {
		found = found || strings.HasPrefix(strings.ToLower(g), "cn=domain admins,")
	}
	if !found {
		t.Fatalf("boss groups %v lack Domain Admins", e.Groups)
	}
	// forced anyway (never with the real password: unlock is harmless)
	wantCode(t, d.Unlock(t.Context(), e.GUID), directory.AccessDenied)
}

// R51: filter input is escaped; injection attempts find nothing (or exactly
// the one user the literal string names).
func TestSambaLookupInjection_R51(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	u, _ := sambaUser(t, env, d)
	ctx := t.Context()
	for _, login := range []string{
		"*", "*)(sAMAccountName=*", "*)(|(objectClass=*", u.Login + ")(|(sAMAccountName=*)",
		u.Login[:4] + "*", "\x00", u.Login + "\x00", "\x00*", `\2a`, `*\29`, "(objectClass=user)",
		"admin*)(&", strings.Repeat("*", 200), "*@*", "?", "a\\",
	} {
		e, err := d.Lookup(ctx, login)
		if err == nil {
			t.Fatalf("lookup %q found %s", login, e.DN)
		}
		wantCode(t, err, directory.NotFound)
	}
	// a valid GUID-shaped string cannot be abused either
	_, err := d.Get(ctx, "*)(objectGUID=*")
	wantCode(t, err, directory.NotFound)
}

func TestSambaInfo_NoPolicyHints_R46(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	info, err := d.Info(t.Context())
	noErr(t, err, "info")
	if !strings.EqualFold(info.DefaultNamingContext, env.BaseDN) {
		t.Fatalf("default naming context %q", info.DefaultNamingContext)
	}
	// Samba 4.17 advertises neither 2239 nor 2066: resets go without the
	// control (admin UI: "history not enforced")
	if info.PolicyHintsOID != "" {
		t.Fatalf("PolicyHintsOID = %q on Samba 4.17", info.PolicyHintsOID)
	}
	noErr(t, d.Ping(t.Context()), "ping")
}

func TestSambaStatusFreshUser(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	_, guid := sambaUser(t, env, d)
	st, err := d.Status(t.Context(), guid)
	noErr(t, err, "status")
	if st.Locked || st.Disabled || st.Expired || st.MustChange || st.AccountExpired || st.BadPwdCount != 0 {
		t.Fatalf("fresh user status %+v", st)
	}
	if time.Since(st.PasswordLastSet) > 10*time.Minute || time.Until(st.PasswordLastSet) > time.Minute {
		t.Fatalf("PasswordLastSet %v", st.PasswordLastSet)
	}
}

func TestSambaStatusDisabledAndAccountExpired(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	u, guid := sambaUser(t, env, d)
	env.SetAttr(t, u.DN, "userAccountControl", "514")            // disabled
	env.SetAttr(t, u.DN, "accountExpires", "130000000000000000") // 2012
	st, err := d.Status(t.Context(), guid)
	noErr(t, err, "status")
	if !st.Disabled || !st.AccountExpired {
		t.Fatalf("status %+v", st)
	}
	wantCode(t, d.VerifyPassword(t.Context(), guid, u.Password), directory.Disabled) // data 533
}

func TestSambaVerifyPassword(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	u, guid := sambaUser(t, env, d)
	ctx := t.Context()
	noErr(t, d.VerifyPassword(ctx, guid, u.Password), "verify by GUID")
	noErr(t, d.VerifyPassword(ctx, u.Login, u.Password), "verify by login")
	wantCode(t, d.VerifyPassword(ctx, guid, u.Password+"x"), directory.InvalidCredentials) // data 52e
	wantCode(t, d.VerifyPassword(ctx, guid, ""), directory.InvalidCredentials)
	wantCode(t, d.VerifyPassword(ctx, dirtest.RandomName("nobody"), "x"), directory.NotFound)
}

// R45: a reset is one Replace; the new password binds, the old one does not,
// and pwdLastSet is not left at 0.
func TestSambaReset_R45(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	u, guid := sambaUser(t, env, d)
	ctx := t.Context()
	pw := dirtest.RandomPassword()
	noErr(t, d.Reset(ctx, guid, pw, directory.ResetOptions{}), "reset")
	noErr(t, env.Bind(u.DN, pw), "bind with the new password")
	if err := env.Bind(u.DN, u.Password); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Fatalf("old password after reset: %v", err)
	}
	st, err := d.Status(ctx, guid)
	noErr(t, err, "status")
	if st.MustChange || st.Expired || st.PasswordLastSet.IsZero() {
		t.Fatalf("status after reset %+v", st)
	}
	// a reset skips history (no policy hints on Samba): back to the first password
	noErr(t, d.Reset(ctx, guid, u.Password, directory.ResetOptions{}), "reset to a password in history")
	noErr(t, d.VerifyPassword(ctx, guid, u.Password), "verify")
}

// R17: an admin reset with a temporary password sets pwdLastSet=0, so the
// user's bind gives data 773.
func TestSambaResetMustChange_R17(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	u, guid := sambaUser(t, env, d)
	ctx := t.Context()
	pw := dirtest.RandomPassword()
	noErr(t, d.Reset(ctx, guid, pw, directory.ResetOptions{MustChange: true}), "reset")
	wantCode(t, d.VerifyPassword(ctx, guid, pw), directory.MustChange)
	err := env.Bind(u.DN, pw)
	if err == nil || !strings.Contains(err.Error(), "data 773") {
		t.Fatalf("raw bind after must-change reset: %v", err)
	}
	st, err := d.Status(ctx, guid)
	noErr(t, err, "status")
	if !st.MustChange || st.Expired || !st.PasswordLastSet.IsZero() {
		t.Fatalf("status %+v", st)
	}
	// the user can still change it (on the service connection)
	next := dirtest.RandomPassword()
	noErr(t, d.Change(ctx, guid, pw, next), "change after must-change")
	noErr(t, d.VerifyPassword(ctx, guid, next), "verify after change")
}

// R17: force change → the user's bind fails with data 773 (MustChange).
func TestSambaForceChange_R17(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	u, guid := sambaUser(t, env, d)
	ctx := t.Context()
	noErr(t, d.ForceChange(ctx, guid), "force change")
	wantCode(t, d.VerifyPassword(ctx, guid, u.Password), directory.MustChange)
	if got := env.Read(t, u.DN, "pwdLastSet").GetAttributeValue("pwdLastSet"); got != "0" {
		t.Fatalf("pwdLastSet = %q", got)
	}
	st, err := d.Status(ctx, guid)
	noErr(t, err, "status")
	if !st.MustChange || st.Expired {
		t.Fatalf("status %+v", st)
	}
	// a must-change user changes on the service connection (it cannot bind)
	next := dirtest.RandomPassword()
	noErr(t, d.Change(ctx, guid, u.Password, next), "change")
	noErr(t, d.VerifyPassword(ctx, guid, next), "verify")
}

// R45: a change is Delete(old)+Add(new); a wrong old password is refused
// with 00000056.
func TestSambaChange_R45(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	u, guid := sambaUser(t, env, d)
	ctx := t.Context()
	next := dirtest.RandomPassword()
	wantCode(t, d.Change(ctx, guid, u.Password+"wrong", next), directory.WrongPassword)
	wantCode(t, d.Change(ctx, guid, "", next), directory.WrongPassword)
	noErr(t, d.Change(ctx, guid, u.Password, next), "change")
	noErr(t, env.Bind(u.DN, next), "bind with the new password")
	if err := env.Bind(u.DN, u.Password); err == nil {
		t.Fatal("old password still binds")
	}
}

// R11/R45: the DC's rules on a change map to their codes.
func TestSambaPasswordRules(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	u, guid := sambaUser(t, env, d)
	ctx := t.Context()
	wantCode(t, d.Change(ctx, guid, u.Password, "Ab1!x"), directory.TooShort)
	wantCode(t, d.Change(ctx, guid, u.Password, "alllowercaseonly"), directory.NotComplex)
	wantCode(t, d.Change(ctx, guid, u.Password, u.Password), directory.InHistory) // the current one
	next := dirtest.RandomPassword()
	noErr(t, d.Change(ctx, guid, u.Password, next), "change")
	// back to a recent password (history 5)
	wantCode(t, d.Change(ctx, guid, next, u.Password), directory.InHistory)
	// resets check length and complexity too (not history)
	wantCode(t, d.Reset(ctx, guid, "Ab1!x", directory.ResetOptions{}), directory.TooShort)
	wantCode(t, d.Reset(ctx, guid, "alllowercaseonly", directory.ResetOptions{}), directory.NotComplex)
	noErr(t, d.VerifyPassword(ctx, guid, next), "password unchanged by refused writes")
}

// R44: unicodePwd is quoted UTF-16LE; emoji (surrogate pairs) and '"' survive.
func TestSambaUnicodePassword_R44(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	u, guid := sambaUser(t, env, d)
	ctx := t.Context()
	emoji := `Pä"ss🔑wörd-1` + "\u00e9"
	noErr(t, d.Reset(ctx, guid, emoji, directory.ResetOptions{}), "reset to emoji password")
	noErr(t, d.VerifyPassword(ctx, guid, emoji), "verify emoji password")
	noErr(t, env.Bind(u.DN, emoji), "raw bind with emoji password")
	quoted := `"Quoted" pass 9!`
	noErr(t, d.Change(ctx, guid, emoji, quoted), "change from emoji to quoted password")
	noErr(t, d.VerifyPassword(ctx, guid, quoted), "verify quoted password")
	wantCode(t, d.VerifyPassword(ctx, guid, emoji), directory.InvalidCredentials)
}

// lockOut binds with a wrong password until the DC reports the lockout.
func lockOut(t *testing.T, d directory.Directory, guid, wrong string) {
	t.Helper()
	// threshold 3: the 3rd bad bind still says 52e, the 4th 775
	for i := 0; i < 3; i++ {
		wantCode(t, d.VerifyPassword(t.Context(), guid, wrong), directory.InvalidCredentials)
	}
	wantCode(t, d.VerifyPassword(t.Context(), guid, wrong), directory.Locked)
}

// R47: a real lockout by bad binds shows in Status (UF_LOCKOUT); Unlock
// (lockoutTime=0) clears it and the right password binds again.
func TestSambaLockoutAndUnlock_R47(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	u, guid := sambaUser(t, env, d)
	ctx := t.Context()
	lockOut(t, d, guid, "Wrong-Passw0rd!")
	wantCode(t, d.VerifyPassword(ctx, guid, u.Password), directory.Locked) // data 775 even when right
	st, err := d.Status(ctx, guid)
	noErr(t, err, "status")
	if !st.Locked || st.BadPwdCount < 3 {
		t.Fatalf("status after lockout %+v", st)
	}
	// domain lockout duration 5 min
	if left := time.Until(st.LockoutEnds); left < 4*time.Minute || left > 5*time.Minute+5*time.Second {
		t.Fatalf("LockoutEnds %v (in %v)", st.LockoutEnds, left)
	}
	noErr(t, d.Unlock(ctx, guid), "unlock")
	st, err = d.Status(ctx, guid)
	noErr(t, err, "status")
	if st.Locked || !st.LockoutEnds.IsZero() || st.BadPwdCount != 0 {
		t.Fatalf("status after unlock %+v", st)
	}
	if v := env.Read(t, u.DN, "msDS-User-Account-Control-Computed").GetAttributeValue("msDS-User-Account-Control-Computed"); v != "0" {
		t.Fatalf("computed UAC after unlock %q", v)
	}
	noErr(t, d.VerifyPassword(ctx, guid, u.Password), "bind after unlock")
}

// A PSO user locked out by its own threshold (5): the delegated account
// cannot read the PSO's duration, so LockoutEnds stays unknown (zero) rather
// than the domain's 5 minutes; an account that can read it sees 10 minutes.
func TestSambaPSOLockoutEnds_R47(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	ctx := t.Context()
	_, guid := sambaUser(t, env, d, dirtest.InGroup(env.StrictGroup))
	for i := 0; i < 5; i++ {
		wantCode(t, d.VerifyPassword(ctx, guid, "Wrong-Passw0rd!"), directory.InvalidCredentials)
	}
	wantCode(t, d.VerifyPassword(ctx, guid, "Wrong-Passw0rd!"), directory.Locked)
	st, err := d.Status(ctx, guid)
	noErr(t, err, "status")
	if !st.Locked || !st.LockoutEnds.IsZero() {
		t.Fatalf("status as the delegated account %+v", st)
	}
	acfg := env.Config(t)
	acfg.BindDN, acfg.BindPassword = env.AdminDN, env.AdminPassword
	st, err = dirtest.Open(t, acfg).Status(ctx, guid)
	noErr(t, err, "status as administrator")
	if left := time.Until(st.LockoutEnds); !st.Locked || left < 9*time.Minute || left > 10*time.Minute+5*time.Second {
		t.Fatalf("status as administrator %+v", st)
	}
	noErr(t, d.Unlock(ctx, guid), "unlock")
}

// A reset alone leaves the lockout; Reset with Unlock clears it in the same
// modify.
func TestSambaResetWithUnlock(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	_, guid := sambaUser(t, env, d)
	ctx := t.Context()
	lockOut(t, d, guid, "Wrong-Passw0rd!")
	pw := dirtest.RandomPassword()
	noErr(t, d.Reset(ctx, guid, pw, directory.ResetOptions{}), "reset while locked")
	wantCode(t, d.VerifyPassword(ctx, guid, pw), directory.Locked)
	pw2 := dirtest.RandomPassword()
	noErr(t, d.Reset(ctx, guid, pw2, directory.ResetOptions{Unlock: true}), "reset with unlock")
	noErr(t, d.VerifyPassword(ctx, guid, pw2), "verify")
	st, err := d.Status(ctx, guid)
	noErr(t, err, "status")
	if st.Locked {
		t.Fatalf("status %+v", st)
	}
}

func TestSambaPolicy(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	ctx := t.Context()
	_, guid := sambaUser(t, env, d)
	p, err := d.Policy(ctx, guid)
	noErr(t, err, "policy")
	want := directory.Policy{
		Source: directory.PolicySourceDomain, MinLength: 8, Complexity: true, HistoryLength: 5,
		MaxAge: 42 * 24 * time.Hour, LockoutThreshold: 3, LockoutDuration: 5 * time.Minute, LockoutWindow: 5 * time.Minute,
	}
	if p != want {
		t.Fatalf("domain policy\n got %+v\nwant %+v", p, want)
	}
	// a member of Strict Users gets the PSO (min length 12, history 3, min
	// age 1 day, threshold 5); the delegated account may not read the PSO,
	// and then the documented fallback applies.
	_, sguid := sambaUser(t, env, d, dirtest.InGroup(env.StrictGroup))
	p, err = d.Policy(ctx, sguid)
	noErr(t, err, "policy of a strict user")
	switch {
	case strings.HasPrefix(strings.ToLower(p.Source), "cn=strict,"):
		want := directory.Policy{
			Source: p.Source, MinLength: 12, Complexity: true, HistoryLength: 3, MinAge: 24 * time.Hour,
			MaxAge: 30 * 24 * time.Hour, LockoutThreshold: 5, LockoutDuration: 10 * time.Minute, LockoutWindow: 10 * time.Minute,
		}
		if p != want {
			t.Fatalf("PSO policy\n got %+v\nwant %+v", p, want)
		}
		t.Logf("the delegated account reads the PSO: %+v", p)
	case strings.HasPrefix(p.Source, directory.PolicySourceDomain+" (PSO ") && strings.Contains(strings.ToLower(p.Source), "cn=strict,"):
		p.Source = directory.PolicySourceDomain
		if p != want {
			t.Fatalf("fallback policy %+v", p)
		}
		t.Logf("PSO not readable by the delegated account; fell back to the domain policy")
	default:
		t.Fatalf("strict user's policy: %+v", p)
	}
	// an account that may read the PSO (the administrator) gets its values
	acfg := env.Config(t)
	acfg.BindDN, acfg.BindPassword = env.AdminDN, env.AdminPassword
	p, err = dirtest.Open(t, acfg).Policy(ctx, sguid)
	noErr(t, err, "policy of a strict user, read as administrator")
	wantPSO := directory.Policy{
		Source: p.Source, MinLength: 12, Complexity: true, HistoryLength: 3, MinAge: 24 * time.Hour,
		MaxAge: 30 * 24 * time.Hour, LockoutThreshold: 5, LockoutDuration: 10 * time.Minute, LockoutWindow: 10 * time.Minute,
	}
	if !strings.HasPrefix(strings.ToLower(p.Source), "cn=strict,") || p != wantPSO {
		t.Fatalf("PSO policy read as administrator\n got %+v\nwant %+v", p, wantPSO)
	}
	// the PSO is in force whatever we can read: 9 characters are too short
	_, sguid2 := sambaUser(t, env, d, dirtest.InGroup(env.StrictGroup))
	wantCode(t, d.Reset(ctx, sguid2, "Abc-1234x", directory.ResetOptions{}), directory.TooShort)
}

// R50: outside OU=Staff the delegated account has no rights.
func TestSambaOutOfScope_R50(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	ctx := t.Context()
	other := env.NewUser(t, env.OtherOU)
	e, err := d.Lookup(ctx, other.Login)
	noErr(t, err, "lookup (reads are allowed)")
	wantCode(t, d.Reset(ctx, e.GUID, dirtest.RandomPassword(), directory.ResetOptions{}), directory.AccessDenied)
	wantCode(t, d.Unlock(ctx, e.GUID), directory.AccessDenied)
	wantCode(t, d.ForceChange(ctx, e.GUID), directory.AccessDenied)
	var de *directory.Error
	if err := d.Unlock(ctx, e.GUID); errors.As(err, &de) && de.LDAPCode != 50 {
		t.Fatalf("LDAP code %d, want 50", de.LDAPCode)
	}
	noErr(t, env.Bind(other.DN, other.Password), "password unchanged")
}

func TestSambaEffectiveRights(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	rr, ok := d.(directory.RightsReader)
	if !ok {
		t.Fatal("the AD directory does not implement RightsReader")
	}
	ctx := t.Context()
	_, guid := sambaUser(t, env, d)
	r, err := rr.EffectiveRights(ctx, guid)
	noErr(t, err, "rights in scope")
	if !r.Known || !r.WriteLockoutTime || !r.WritePwdLastSet {
		t.Fatalf("rights in OU=Staff %+v", r)
	}
	other := env.NewUser(t, env.OtherOU)
	e, err := d.Lookup(ctx, other.Login)
	noErr(t, err, "lookup")
	r, err = rr.EffectiveRights(ctx, e.GUID)
	noErr(t, err, "rights out of scope")
	if !r.Known || r.WriteLockoutTime || r.WritePwdLastSet || r.WriteUnicodePwd {
		t.Fatalf("rights in OU=Contractors %+v", r)
	}
}

// R43: StartTLS works for writes too.
func TestSambaStartTLSReset_R43(t *testing.T) {
	env := dirtest.Samba(t)
	cfg := env.Config(t)
	cfg.URLs = []string{env.StartTLSURL}
	d := dirtest.Open(t, cfg)
	u, guid := sambaUser(t, env, d)
	pw := dirtest.RandomPassword()
	noErr(t, d.Reset(t.Context(), guid, pw, directory.ResetOptions{}), "reset over StartTLS")
	noErr(t, env.Bind(u.DN, pw), "bind")
}

// countingConn counts the bytes written to the server.
type countingConn struct {
	net.Conn
	written atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.written.Add(int64(len(b)))
	return c.Conn.Write(b)
}

// R43: on a plain ldap:// connection (no StartTLS) nothing is sent: neither
// the lookup nor the write. (Config cannot even express such a connection:
// ldap:// always upgrades; the connection is injected.)
func TestSambaPlaintextWriteRefused_R43(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	u, guid := sambaUser(t, env, d)
	ctx := t.Context()
	host := strings.TrimPrefix(env.StartTLSURL, "ldap://")
	plain := func() *countingConn {
		raw, err := net.Dial("tcp", host)
		noErr(t, err, "dial plain")
		cc := &countingConn{Conn: raw}
		l := ldap.NewConn(cc, false)
		l.Start()
		t.Cleanup(func() { l.Close() })
		directory.InjectConnForTest(d, l)
		return cc
	}
	// the write path itself
	cc := plain()
	req := ldap.NewModifyRequest(u.DN, nil)
	enc, _ := directory.EncodePassword(dirtest.RandomPassword())
	req.Replace("unicodePwd", []string{enc})
	err := directory.ModifyForTest(ctx, d, req)
	if !errors.Is(err, directory.ErrPlaintext) {
		t.Fatalf("modify on a plaintext connection: %v", err)
	}
	wantCode(t, err, directory.UnwillingToPerform)
	if n := cc.written.Load(); n != 0 {
		t.Fatalf("%d bytes sent on the plaintext connection", n)
	}
	// the whole Reset
	cc = plain()
	err = d.Reset(ctx, guid, dirtest.RandomPassword(), directory.ResetOptions{})
	if !errors.Is(err, directory.ErrPlaintext) {
		t.Fatalf("reset on a plaintext connection: %v", err)
	}
	if n := cc.written.Load(); n != 0 {
		t.Fatalf("%d bytes sent on the plaintext connection", n)
	}
	noErr(t, env.Bind(u.DN, u.Password), "password unchanged")
	// and Samba itself refuses a simple bind without TLS (strongAuthRequired)
	l, err := ldap.DialURL(env.StartTLSURL)
	noErr(t, err, "dial")
	defer l.Close()
	err = l.Bind(u.DN, u.Password)
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired) {
		t.Fatalf("plain bind: %v", err)
	}
	wantCode(t, directory.ParseError(err), directory.UnwillingToPerform)
}

// R43: a DC whose certificate is not signed by a trusted CA is refused
// without a CA or pin; a pin alone works; a wrong pin is refused.
func TestSambaTLSVerification_R43(t *testing.T) {
	env := dirtest.Samba(t)
	ctx := t.Context()
	cfg := env.Config(t)
	cfg.CAPEM = nil
	cfg.DialTimeout = 3 * time.Second
	d := dirtest.Open(t, cfg)
	err := d.Ping(ctx)
	wantCode(t, err, directory.Unavailable)
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ua) {
		t.Fatalf("want an unknown-authority error, got %v", err)
	}

	cfg.CertSHA256 = env.CertSHA256
	d = dirtest.Open(t, cfg)
	noErr(t, d.Ping(ctx), "ping with the pin")

	cfg.CertSHA256 = strings.Repeat("ab", 32)
	d = dirtest.Open(t, cfg)
	wantCode(t, d.Ping(ctx), directory.Unavailable)

	// CA plus the right pin: both must hold
	cfg.CAPEM = env.CAPEM
	cfg.CertSHA256 = env.CertSHA256
	d = dirtest.Open(t, cfg)
	noErr(t, d.Ping(ctx), "ping with CA and pin")
}

// Failover: the first URL is dead, the second works.
func TestSambaFailover(t *testing.T) {
	env := dirtest.Samba(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	noErr(t, err, "listen")
	dead := "ldaps://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg := env.Config(t)
	cfg.URLs = []string{dead, env.URL}
	cfg.DialTimeout = 2 * time.Second
	d := dirtest.Open(t, cfg)
	u, guid := sambaUser(t, env, d)
	pw := dirtest.RandomPassword()
	noErr(t, d.Reset(t.Context(), guid, pw, directory.ResetOptions{}), "reset via the second DC")
	noErr(t, d.VerifyPassword(t.Context(), u.Login, pw), "verify (user connection fails over too)")
}

func TestSambaContextDeadline(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := d.Lookup(ctx, "alice")
	wantCode(t, err, directory.Unavailable)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled in the chain: %v", err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), time.Nanosecond)
	defer cancel()
	time.Sleep(time.Millisecond)
	wantCode(t, d.Unlock(ctx, "01234567-89ab-cdef-0123-456789abcdef"), directory.Unavailable)
}

// Benchmarks: B2/B3 baselines (performance.md) and the same operations
// through this package, so the ratio can be read in one run:
//
//	go test ./connector/directory -run x -bench . -benchtime 20x

func benchUser(b *testing.B) (dirtest.SambaEnv, dirtest.User, directory.Directory, string) {
	env := dirtest.Samba(b)
	d := env.Open(b)
	u := env.NewUser(b, env.ScopeOU)
	e, err := d.Lookup(b.Context(), u.Login)
	if err != nil {
		b.Fatal(err)
	}
	return env, u, d, e.GUID
}

func BenchmarkRawReset(b *testing.B) {
	env, u, _, _ := benchUser(b)
	l := env.Service(b)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		enc, _ := directory.EncodePassword(fmt.Sprintf("Bench-%d-Pw!a", i))
		req := ldap.NewModifyRequest(u.DN, nil)
		req.Replace("unicodePwd", []string{enc})
		if err := l.Modify(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawUnlock(b *testing.B) {
	env, u, _, _ := benchUser(b)
	l := env.Service(b)
	for b.Loop() {
		req := ldap.NewModifyRequest(u.DN, nil)
		req.Replace("lockoutTime", []string{"0"})
		if err := l.Modify(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDirectoryReset(b *testing.B) {
	_, _, d, guid := benchUser(b)
	ctx := b.Context()
	if err := d.Ping(ctx); err != nil { // warm the pool and the RootDSE cache
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		if err := d.Reset(ctx, guid, fmt.Sprintf("Bench-%d-Pw!a", i), directory.ResetOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDirectoryUnlock(b *testing.B) {
	_, _, d, guid := benchUser(b)
	ctx := b.Context()
	if err := d.Ping(ctx); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := d.Unlock(ctx, guid); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSambaWriteAfterAMoveNeverLandsElsewhere (R51): a write right after a
// read goes to the DN that read found (the one the agent's guardrails
// checked). If the account is moved in between, the write fails cleanly —
// nothing is written to any entry — and a fresh read addresses it again.
func TestSambaWriteAfterAMoveNeverLandsElsewhere_R51(t *testing.T) {
	env := dirtest.Samba(t)
	d := env.Open(t)
	u, guid := sambaUser(t, env, d)
	ctx := t.Context()
	if _, err := d.Get(ctx, guid); err != nil {
		t.Fatal(err)
	}
	admin := env.Admin(t)
	newRDN := "CN=" + u.Login + "-moved"
	if err := admin.ModifyDN(ldap.NewModifyDNRequest(u.DN, newRDN, true, "")); err != nil {
		t.Fatalf("rename %s: %v", u.DN, err)
	}
	movedDN := newRDN + "," + env.ScopeOU
	t.Cleanup(func() { _ = admin.Del(ldap.NewDelRequest(movedDN, nil)) })
	before := env.PasswordWrites(t, movedDN)
	err := d.Reset(ctx, guid, dirtest.RandomPassword(), directory.ResetOptions{}) // within dnTTL of the read
	if code, _ := directory.CodeOf(err); code != directory.NotFound {
		t.Fatalf("reset right after a move: %v (code %v), want NotFound", err, code)
	}
	if env.PasswordWrites(t, movedDN) != before {
		t.Fatal("a failed reset wrote the password")
	}
	if _, err := d.Get(ctx, guid); err != nil { // a fresh read finds the new DN
		t.Fatal(err)
	}
	if err := d.Reset(ctx, guid, dirtest.RandomPassword(), directory.ResetOptions{}); err != nil {
		t.Fatalf("reset after a fresh read: %v", err)
	}
	if env.PasswordWrites(t, movedDN) != before+1 {
		t.Fatal("the reset after a fresh read did not write the moved account")
	}
}
