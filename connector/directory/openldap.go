package directory

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// pwdAccountLockedTime's value for "locked by an administrator until
// unlocked" (draft-behera ppolicy).
const ppolicyLockedForever = "000001010000Z"

// PolicySourceNone is Policy.Source on OpenLDAP when the user has no
// pwdPolicySubentry and Config.PPolicyDN is empty.
const PolicySourceNone = "none"

var olUserAttrs = []string{"entryUUID", "uid", "mail", "mobile", "displayName", "cn", "memberOf"}

// olStateAttrs are operational: they are returned only when asked for.
var olStateAttrs = []string{"entryUUID", "pwdPolicySubentry", "pwdAccountLockedTime", "pwdFailureTime", "pwdReset", "pwdChangedTime"}

var olPolicyAttrs = []string{
	"pwdMinLength", "pwdInHistory", "pwdMinAge", "pwdMaxAge", "pwdMaxFailure", "pwdLockout",
	"pwdLockoutDuration", "pwdFailureCountInterval",
}

// openLDAPDirectory is the OpenLDAP + ppolicy dialect: users are found by uid
// or mail and addressed by entryUUID; passwords are set with the Password
// Modify extended operation; lockout is pwdAccountLockedTime, force change
// is pwdReset.
type openLDAPDirectory struct {
	*client
}

var (
	_ Directory    = (*openLDAPDirectory)(nil)
	_ RightsReader = (*openLDAPDirectory)(nil)
)

// Lookup finds a person by uid or mail (escaped, R51).
func (d *openLDAPDirectory) Lookup(ctx context.Context, login string) (Entry, error) {
	const op = "lookup user"
	if err := checkLogin(op, login); err != nil {
		return Entry{}, err
	}
	f := ldap.EscapeFilter(login)
	filter := "(&(|(objectClass=person)(objectClass=posixAccount))(|(uid=" + f + ")(mail=" + f + ")))"
	e, err := d.searchOne(ctx, op, filter, olUserAttrs)
	if err != nil {
		return Entry{}, err
	}
	return olEntry(op, e)
}

// Get reads the user with this entryUUID.
func (d *openLDAPDirectory) Get(ctx context.Context, guid string) (Entry, error) {
	const op = "get user"
	e, err := d.byUUID(ctx, op, guid, olUserAttrs)
	if err != nil {
		return Entry{}, err
	}
	return olEntry(op, e)
}

func (d *openLDAPDirectory) byUUID(ctx context.Context, op, guid string, attrs []string) (*ldap.Entry, error) {
	canon, err := canonicalUUID(guid)
	if err != nil {
		return nil, newError(op, NotFound, err)
	}
	return d.searchOne(ctx, op, "(entryUUID="+canon+")", attrs)
}

func olEntry(op string, e *ldap.Entry) (Entry, error) {
	guid, err := canonicalUUID(e.GetAttributeValue("entryUUID"))
	if err != nil {
		return Entry{}, newError(op, Unknown, err)
	}
	name := e.GetAttributeValue("displayName")
	if name == "" {
		name = e.GetAttributeValue("cn")
	}
	return Entry{
		GUID:        guid,
		DN:          e.DN,
		Username:    e.GetAttributeValue("uid"),
		Mail:        e.GetAttributeValue("mail"),
		Mobile:      e.GetAttributeValue("mobile"),
		DisplayName: name,
		Groups:      e.GetAttributeValues("memberOf"),
	}, nil
}

// Status reads the ppolicy state: pwdAccountLockedTime (000001010000Z is a
// permanent administrative lock), pwdFailureTime, pwdReset and, with a
// pwdMaxAge, whether pwdChangedTime is too old.
func (d *openLDAPDirectory) Status(ctx context.Context, guid string) (Status, error) {
	const op = "read status"
	e, err := d.byUUID(ctx, op, guid, olStateAttrs)
	if err != nil {
		return Status{}, err
	}
	now := d.cfg.Now()
	st := Status{
		BadPwdCount: len(e.GetAttributeValues("pwdFailureTime")),
		MustChange:  strings.EqualFold(e.GetAttributeValue("pwdReset"), "TRUE"),
	}
	changed, hasChanged := ldapTime(e.GetAttributeValue("pwdChangedTime"))
	if hasChanged && !st.MustChange {
		st.PasswordLastSet = changed
	}
	locked := e.GetAttributeValue("pwdAccountLockedTime")
	needPolicy := locked != "" && locked != ppolicyLockedForever || hasChanged && !st.MustChange
	var pol Policy
	polErr := errors.New("not read")
	if needPolicy {
		pol, polErr = d.policyFor(ctx, op, e)
	}
	switch {
	case locked == "":
	case locked == ppolicyLockedForever:
		st.Locked = true
	default:
		st.Locked = true
		at, ok := ldapTime(locked)
		if ok && polErr == nil && pol.LockoutDuration > 0 {
			ends := at.Add(pol.LockoutDuration)
			if now.Before(ends) {
				st.LockoutEnds = ends
			} else {
				st.Locked = false // lapsed: slapd unlocks at the next bind
			}
		}
	}
	if hasChanged && !st.MustChange && polErr == nil && pol.MaxAge > 0 && !now.Before(changed.Add(pol.MaxAge)) {
		st.Expired = true
	}
	return st, nil
}

// VerifyPassword binds as the user with the ppolicy request control; a
// successful bind that must change first (changeAfterReset) or is in grace
// after expiry is reported as MustChange or Expired.
func (d *openLDAPDirectory) VerifyPassword(ctx context.Context, loginOrGUID, password string) error {
	const op = "verify password"
	if password == "" {
		return newError(op, InvalidCredentials, errors.New("empty password"))
	}
	dn, err := d.resolveDN(ctx, op, loginOrGUID)
	if err != nil {
		return err
	}
	resp, err := d.pool.withUserConn(ctx, dn, password, []ldap.Control{ldap.NewControlBeheraPasswordPolicy()}, nil)
	if err != nil {
		return wrap(op, err)
	}
	return ppolicyBindWarning(op, resp)
}

// ppolicyBindWarning turns the ppolicy control of a successful bind into an
// error when the password may not be used as it is.
func ppolicyBindWarning(op string, resp []ldap.Control) error {
	c, ok := ldap.FindControl(resp, ldap.ControlTypeBeheraPasswordPolicy).(*ldap.ControlBeheraPasswordPolicy)
	if !ok || c == nil {
		return nil
	}
	switch c.Error {
	case 2: // changeAfterReset
		e := newError(op, MustChange, errors.New("ppolicy: password must be changed"))
		e.PPolicy = 2
		return e
	case 0: // passwordExpired (a grace login)
		e := newError(op, Expired, errors.New("ppolicy: password expired"))
		e.PPolicy = 0
		return e
	}
	if c.Grace > 0 { // expired; this bind used one of the grace logins
		return newError(op, Expired, errors.New("ppolicy: grace login"))
	}
	return nil
}

func (d *openLDAPDirectory) resolveDN(ctx context.Context, op, loginOrGUID string) (string, error) {
	if _, err := parseUUID(loginOrGUID); err == nil {
		e, err := d.byUUID(ctx, op, loginOrGUID, []string{"1.1"})
		if err != nil {
			return "", err
		}
		return e.DN, nil
	}
	e, err := d.Lookup(ctx, loginOrGUID)
	if err != nil {
		return "", wrap(op, err)
	}
	return e.DN, nil
}

// Reset sets the password with the Password Modify extended operation as the
// service account (which bypasses quality checks, like an AD reset without
// policy hints), then sets pwdReset (MustChange) or removes the pwdReset that
// ppolicy's pwdMustChange adds after an administrator's set, and with Unlock
// removes pwdAccountLockedTime and pwdFailureTime. The follow-up writes run
// on the same connection right after the password is set; if one fails the
// password is already set and the error says so.
func (d *openLDAPDirectory) Reset(ctx context.Context, guid, newPassword string, opts ResetOptions) error {
	const op = "reset password"
	if newPassword == "" {
		return newError(op, PasswordRestriction, errBadPassword)
	}
	e, err := d.byUUID(ctx, op, guid, []string{"1.1"})
	if err != nil {
		return err
	}
	var setDone bool
	err = d.pool.do(ctx, func(l *ldap.Conn) error {
		if _, err := l.Extended(passwordModifyRequest(e.DN, "", newPassword)); err != nil {
			return err
		}
		setDone = true
		if opts.MustChange {
			req := ldap.NewModifyRequest(e.DN, nil)
			req.Replace("pwdReset", []string{"TRUE"})
			if err := l.Modify(req); err != nil {
				return err
			}
		} else if err := deleteAttrs(l, e.DN, nil, "pwdReset"); err != nil {
			return err
		}
		if opts.Unlock {
			return unlockOn(l, e.DN)
		}
		return nil
	})
	if err != nil && setDone {
		return wrap(op+" (password set; follow-up write failed)", err)
	}
	return wrap(op, err)
}

// oidRelax is the Relax Rules control (draft-zeilenga-ldap-relax), which
// lets a manager change NO-USER-MODIFICATION attributes such as
// pwdFailureTime.
const oidRelax = "1.3.6.1.4.1.4203.666.5.12"

// unlockOn removes pwdAccountLockedTime (slapd's ppolicy then drops
// pwdFailureTime too) and any remaining pwdFailureTime, which is
// NO-USER-MODIFICATION and needs the Relax control. Absent attributes are
// fine.
func unlockOn(l *ldap.Conn, dn string) error {
	if err := deleteAttrs(l, dn, nil, "pwdAccountLockedTime"); err != nil {
		return err
	}
	return deleteAttrs(l, dn, []ldap.Control{ldap.NewControlString(oidRelax, true, "")}, "pwdFailureTime")
}

// deleteAttrs removes attributes, ignoring those that are already absent.
func deleteAttrs(l *ldap.Conn, dn string, controls []ldap.Control, attrs ...string) error {
	req := ldap.NewModifyRequest(dn, controls)
	for _, a := range attrs {
		req.Delete(a, nil)
	}
	err := l.Modify(req)
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute) {
		return err
	}
	if len(attrs) == 1 {
		return nil
	}
	for _, a := range attrs {
		if err := deleteAttrs(l, dn, controls, a); err != nil {
			return err
		}
	}
	return nil
}

// Change binds as the user with the old password and runs the Password Modify
// extended operation on that connection, so ppolicy checks quality, history
// and minimum age. A user who must change can still bind for this. A wrong
// old password fails the bind and is reported as WrongPassword.
func (d *openLDAPDirectory) Change(ctx context.Context, guid, oldPassword, newPassword string) error {
	const op = "change password"
	if oldPassword == "" {
		return newError(op, WrongPassword, errors.New("empty current password"))
	}
	if newPassword == "" {
		return newError(op, PasswordRestriction, errBadPassword)
	}
	e, err := d.byUUID(ctx, op, guid, []string{"1.1"})
	if err != nil {
		return err
	}
	bound := false
	_, err = d.pool.withUserConn(ctx, e.DN, oldPassword, []ldap.Control{ldap.NewControlBeheraPasswordPolicy()}, func(l *ldap.Conn) error {
		bound = true
		_, err := l.Extended(passwordModifyRequest("", oldPassword, newPassword))
		return err
	})
	if err == nil {
		return nil
	}
	out := ParseError(err)
	if !bound && out.Code == InvalidCredentials {
		c := *out
		c.Code = WrongPassword
		out = &c
	}
	return wrap(op, out)
}

// Unlock removes pwdAccountLockedTime and pwdFailureTime (absent ones are
// ignored). The service account needs manage rights on them.
func (d *openLDAPDirectory) Unlock(ctx context.Context, guid string) error {
	const op = "unlock account"
	e, err := d.byUUID(ctx, op, guid, []string{"1.1"})
	if err != nil {
		return err
	}
	return wrap(op, d.pool.do(ctx, func(l *ldap.Conn) error { return unlockOn(l, e.DN) }))
}

// ForceChange sets pwdReset TRUE.
func (d *openLDAPDirectory) ForceChange(ctx context.Context, guid string) error {
	const op = "force password change"
	e, err := d.byUUID(ctx, op, guid, []string{"1.1"})
	if err != nil {
		return err
	}
	req := ldap.NewModifyRequest(e.DN, nil)
	req.Replace("pwdReset", []string{"TRUE"})
	return d.modify(ctx, op, req)
}

// Policy reads the user's pwdPolicySubentry, else Config.PPolicyDN (slapd's
// ppolicy_default); with neither, Source is PolicySourceNone.
func (d *openLDAPDirectory) Policy(ctx context.Context, guid string) (Policy, error) {
	const op = "read password policy"
	e, err := d.byUUID(ctx, op, guid, []string{"pwdPolicySubentry"})
	if err != nil {
		return Policy{}, err
	}
	return d.policyFor(ctx, op, e)
}

func (d *openLDAPDirectory) policyFor(ctx context.Context, op string, user *ldap.Entry) (Policy, error) {
	dn := user.GetAttributeValue("pwdPolicySubentry")
	if dn == "" {
		dn = d.cfg.PPolicyDN
	}
	if dn == "" {
		return Policy{Source: PolicySourceNone}, nil
	}
	e, err := d.baseRead(ctx, op, dn, olPolicyAttrs)
	if err != nil {
		return Policy{}, err
	}
	i := func(name string) int { v, _ := strconv.Atoi(e.GetAttributeValue(name)); return v }
	secs := func(name string) time.Duration { return time.Duration(i(name)) * time.Second }
	p := Policy{
		Source:          e.DN,
		MinLength:       i("pwdMinLength"),
		HistoryLength:   i("pwdInHistory"),
		MinAge:          secs("pwdMinAge"),
		MaxAge:          secs("pwdMaxAge"),
		LockoutDuration: secs("pwdLockoutDuration"),
		LockoutWindow:   secs("pwdFailureCountInterval"),
	}
	if strings.EqualFold(e.GetAttributeValue("pwdLockout"), "TRUE") {
		p.LockoutThreshold = i("pwdMaxFailure")
	}
	return p, nil
}

// EffectiveRights: OpenLDAP does not report effective rights here.
func (d *openLDAPDirectory) EffectiveRights(ctx context.Context, guid string) (Rights, error) {
	return Rights{Known: false}, nil
}
