package directory

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// userAccountControl and msDS-User-Account-Control-Computed bits.
const (
	uacAccountDisable  = 0x2      // ACCOUNTDISABLE
	ufLockout          = 0x10     // UF_LOCKOUT (computed)
	ufPasswordExpired  = 0x800000 // UF_PASSWORD_EXPIRED (computed)
	pwdPropsComplexity = 0x1      // DOMAIN_PASSWORD_COMPLEX in pwdProperties
)

// PolicySourceDomain is Policy.Source for the AD domain policy. When the
// user has a fine-grained policy (msDS-ResultantPSO) that the service account
// cannot read, Source starts with it and names the PSO, e.g.
// "domain (PSO CN=Strict,… not readable by the service account)".
const PolicySourceDomain = "domain"

// adUserAttrs are read for an Entry.
var adUserAttrs = []string{"objectGUID", "sAMAccountName", "userPrincipalName", "mail", "mobile", "displayName", "memberOf", "adminCount"}

// adStateAttrs are read for a Status. msDS-User-Account-Control-Computed and
// msDS-ResultantPSO are constructed: they are read with a base search.
var adStateAttrs = []string{
	"msDS-User-Account-Control-Computed", "userAccountControl", "lockoutTime", "badPwdCount",
	"pwdLastSet", "accountExpires", "msDS-ResultantPSO",
}

var adDomainPolicyAttrs = []string{
	"minPwdLength", "pwdHistoryLength", "minPwdAge", "maxPwdAge", "pwdProperties",
	"lockoutThreshold", "lockoutDuration", "lockOutObservationWindow",
}

var adPSOAttrs = []string{
	"msDS-MinimumPasswordLength", "msDS-PasswordHistoryLength", "msDS-MinimumPasswordAge",
	"msDS-MaximumPasswordAge", "msDS-PasswordComplexityEnabled", "msDS-LockoutThreshold",
	"msDS-LockoutDuration", "msDS-LockoutObservationWindow",
}

// adDirectory is the Active Directory / Samba AD DC dialect: users are found
// by sAMAccountName, userPrincipalName or mail and addressed by objectGUID;
// passwords are written to unicodePwd; lockout is lockoutTime, force change
// is pwdLastSet.
type adDirectory struct {
	*client
}

var (
	_ Directory    = (*adDirectory)(nil)
	_ RightsReader = (*adDirectory)(nil)
)

// Lookup finds a user (not a computer) by sAMAccountName, userPrincipalName
// or mail. The login is escaped (R51).
func (d *adDirectory) Lookup(ctx context.Context, login string) (Entry, error) {
	const op = "lookup user"
	if err := checkLogin(op, login); err != nil {
		return Entry{}, err
	}
	f := ldap.EscapeFilter(login)
	filter := "(&(objectClass=user)(!(objectClass=computer))(|(sAMAccountName=" + f + ")(userPrincipalName=" + f + ")(mail=" + f + ")))"
	e, err := d.searchOne(ctx, op, filter, adUserAttrs)
	if err != nil {
		return Entry{}, err
	}
	return adEntry(op, e)
}

// Get reads the user with this objectGUID.
func (d *adDirectory) Get(ctx context.Context, guid string) (Entry, error) {
	const op = "get user"
	e, err := d.byGUID(ctx, op, guid, adUserAttrs)
	if err != nil {
		return Entry{}, err
	}
	return adEntry(op, e)
}

// byGUID finds the user by objectGUID (a binary filter value, every byte
// escaped) under BaseDN.
func (d *adDirectory) byGUID(ctx context.Context, op, guid string, attrs []string) (*ldap.Entry, error) {
	raw, err := parseADGUID(guid)
	if err != nil {
		return nil, newError(op, NotFound, err)
	}
	e, err := d.searchOne(ctx, op, "(&(objectClass=user)(objectGUID="+escapeBinary(raw[:])+"))", attrs)
	if err == nil {
		d.dns.put(guid, e.DN)
	}
	return e, err
}

// dnOf returns the user's current DN.
func (d *adDirectory) dnOf(ctx context.Context, op, guid string) (string, error) {
	if dn, ok := d.dns.get(guid); ok {
		return dn, nil
	}
	e, err := d.byGUID(ctx, op, guid, []string{"1.1"})
	if err != nil {
		return "", err
	}
	return e.DN, nil
}

// readUser finds the user by GUID and reads attrs with a base search on its
// DN, so constructed attributes (AD returns some only for base searches) are
// included.
func (d *adDirectory) readUser(ctx context.Context, op, guid string, attrs []string) (*ldap.Entry, error) {
	dn, err := d.dnOf(ctx, op, guid)
	if err != nil {
		return nil, err
	}
	return d.baseRead(ctx, op, dn, attrs)
}

// baseRead reads one entry by DN.
func (c *client) baseRead(ctx context.Context, op, dn string, attrs []string) (*ldap.Entry, error) {
	var e *ldap.Entry
	err := c.pool.read(ctx, func(l *ldap.Conn) error {
		res, err := l.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1,
			int(c.cfg.OpTimeout.Seconds()), false, "(objectClass=*)", attrs, nil))
		if err != nil {
			return err
		}
		if len(res.Entries) == 1 {
			e = res.Entries[0]
		}
		return nil
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	if e == nil {
		return nil, newError(op, NotFound, errors.New("entry not visible"))
	}
	return e, nil
}

func adEntry(op string, e *ldap.Entry) (Entry, error) {
	guid, err := formatADGUID(e.GetRawAttributeValue("objectGUID"))
	if err != nil {
		return Entry{}, newError(op, Unknown, err)
	}
	admin, _ := strconv.Atoi(e.GetAttributeValue("adminCount"))
	return Entry{
		GUID:        guid,
		DN:          e.DN,
		Username:    e.GetAttributeValue("sAMAccountName"),
		UPN:         e.GetAttributeValue("userPrincipalName"),
		Mail:        e.GetAttributeValue("mail"),
		Mobile:      e.GetAttributeValue("mobile"),
		DisplayName: e.GetAttributeValue("displayName"),
		Groups:      e.GetAttributeValues("memberOf"),
		AdminCount:  admin,
	}, nil
}

func intAttr(e *ldap.Entry, name string) (int64, bool) {
	return parseInt64(e.GetAttributeValue(name))
}

// Status reads the account state. Lock and password expiry come from the
// computed msDS-User-Account-Control-Computed (R47); on a DC that does not
// return it, the lock is derived from lockoutTime and the lockout duration.
func (d *adDirectory) Status(ctx context.Context, guid string) (Status, error) {
	const op = "read status"
	e, err := d.readUser(ctx, op, guid, adStateAttrs)
	if err != nil {
		return Status{}, err
	}
	now := d.cfg.Now()
	var st Status
	uac, _ := intAttr(e, "userAccountControl")
	st.Disabled = uac&uacAccountDisable != 0
	if v, ok := intAttr(e, "pwdLastSet"); ok {
		st.MustChange = v == 0
		st.PasswordLastSet = fileTime(v)
	}
	if v, ok := intAttr(e, "badPwdCount"); ok {
		st.BadPwdCount = int(v)
	}
	if v, ok := intAttr(e, "accountExpires"); ok {
		if t := fileTime(v); !t.IsZero() && !now.Before(t) {
			st.AccountExpired = true
		}
	}
	lockoutTime, _ := intAttr(e, "lockoutTime")
	computed, hasComputed := intAttr(e, "msDS-User-Account-Control-Computed")
	if hasComputed {
		st.Locked = computed&ufLockout != 0
		st.Expired = computed&ufPasswordExpired != 0 && !st.MustChange
	}
	if lockoutTime <= 0 || (hasComputed && !st.Locked) {
		return st, nil
	}
	// Locked (or, without the computed attribute, maybe locked): when does it end?
	pol, perr := d.policyFor(ctx, op, e.DN, e.GetAttributeValue("msDS-ResultantPSO"))
	switch {
	case perr != nil || pol.Source != PolicySourceDomain && strings.HasPrefix(pol.Source, PolicySourceDomain):
		// unreadable, or the domain's stand-in for an unreadable PSO whose
		// duration may differ: the end is unknown
		if !hasComputed {
			st.Locked = true // cannot tell whether it lapsed; assume not
		}
	case pol.LockoutDuration == 0:
		st.Locked = true // until an administrator unlocks
	default:
		ends := fileTime(lockoutTime).Add(pol.LockoutDuration)
		if !hasComputed {
			st.Locked = now.Before(ends)
		}
		if st.Locked {
			st.LockoutEnds = ends
		}
	}
	return st, nil
}

// VerifyPassword binds as the user on a fresh connection; the bind's data
// code (or Samba's NT_STATUS name) says why it failed.
func (d *adDirectory) VerifyPassword(ctx context.Context, loginOrGUID, password string) error {
	const op = "verify password"
	if password == "" {
		return newError(op, InvalidCredentials, errors.New("empty password"))
	}
	dn, err := d.resolveDN(ctx, op, loginOrGUID)
	if err != nil {
		return err
	}
	_, err = d.pool.withUserConn(ctx, dn, password, nil, nil)
	return wrap(op, err)
}

func (d *adDirectory) resolveDN(ctx context.Context, op, loginOrGUID string) (string, error) {
	if _, err := parseUUID(loginOrGUID); err == nil {
		return d.dnOf(ctx, op, loginOrGUID)
	}
	e, err := d.Lookup(ctx, loginOrGUID)
	if err != nil {
		return "", wrap(op, err)
	}
	return e.DN, nil
}

// Reset is an admin reset: one Modify replacing unicodePwd (R45), plus
// lockoutTime=0 with opts.Unlock, plus pwdLastSet=0 (must change) or -1
// (usable now: MS-SAMR would otherwise leave 0 when the caller lacks
// Unexpire-Password). The policy-hints control goes along, critical, when
// the DC advertises it (R46).
func (d *adDirectory) Reset(ctx context.Context, guid, newPassword string, opts ResetOptions) error {
	const op = "reset password"
	enc, err := EncodePassword(newPassword)
	if err != nil {
		return newError(op, PasswordRestriction, err)
	}
	dn, err := d.dnOf(ctx, op, guid)
	if err != nil {
		return err
	}
	info, err := d.Info(ctx)
	if err != nil {
		return wrap(op, err)
	}
	var controls []ldap.Control
	if info.PolicyHintsOID != "" {
		controls = append(controls, policyHintsControl{oid: info.PolicyHintsOID})
	}
	req := ldap.NewModifyRequest(dn, controls)
	req.Replace("unicodePwd", []string{enc})
	if opts.Unlock {
		req.Replace("lockoutTime", []string{"0"})
	}
	if opts.MustChange {
		req.Replace("pwdLastSet", []string{"0"})
	} else {
		req.Replace("pwdLastSet", []string{"-1"})
	}
	return d.modify(ctx, op, req)
}

// Change deletes the old unicodePwd value and adds the new one in one Modify
// (R45) on the service connection: the DC checks the old password, minimum
// age, history and complexity, and it works for users who must change their
// password and so cannot bind.
func (d *adDirectory) Change(ctx context.Context, guid, oldPassword, newPassword string) error {
	const op = "change password"
	if oldPassword == "" {
		return newError(op, WrongPassword, errors.New("empty current password"))
	}
	oldEnc, err := EncodePassword(oldPassword)
	if err != nil {
		return newError(op, WrongPassword, err)
	}
	newEnc, err := EncodePassword(newPassword)
	if err != nil {
		return newError(op, PasswordRestriction, err)
	}
	dn, err := d.dnOf(ctx, op, guid)
	if err != nil {
		return err
	}
	req := ldap.NewModifyRequest(dn, nil)
	req.Delete("unicodePwd", []string{oldEnc})
	req.Add("unicodePwd", []string{newEnc})
	return d.modify(ctx, op, req)
}

// Unlock writes lockoutTime=0, which also clears badPwdCount (R47).
func (d *adDirectory) Unlock(ctx context.Context, guid string) error {
	const op = "unlock account"
	dn, err := d.dnOf(ctx, op, guid)
	if err != nil {
		return err
	}
	req := ldap.NewModifyRequest(dn, nil)
	req.Replace("lockoutTime", []string{"0"})
	return d.modify(ctx, op, req)
}

// ForceChange writes pwdLastSet=0 (R17).
func (d *adDirectory) ForceChange(ctx context.Context, guid string) error {
	const op = "force password change"
	dn, err := d.dnOf(ctx, op, guid)
	if err != nil {
		return err
	}
	req := ldap.NewModifyRequest(dn, nil)
	req.Replace("pwdLastSet", []string{"0"})
	return d.modify(ctx, op, req)
}

// Policy returns the domain policy, or the user's resultant PSO when it has
// one and the service account can read it (see PolicySourceDomain).
func (d *adDirectory) Policy(ctx context.Context, guid string) (Policy, error) {
	const op = "read password policy"
	e, err := d.readUser(ctx, op, guid, []string{"msDS-ResultantPSO"})
	if err != nil {
		return Policy{}, err
	}
	return d.policyFor(ctx, op, e.DN, e.GetAttributeValue("msDS-ResultantPSO"))
}

func (d *adDirectory) policyFor(ctx context.Context, op, userDN, pso string) (Policy, error) {
	if pso != "" {
		p, err := d.psoPolicy(ctx, op, pso)
		if err == nil {
			return p, nil
		}
		if c, _ := CodeOf(err); c != NotFound && c != AccessDenied {
			return Policy{}, err
		}
		dom, derr := d.domainPolicy(ctx, op, userDN)
		if derr != nil {
			return Policy{}, derr
		}
		dom.Source = PolicySourceDomain + " (PSO " + pso + " not readable by the service account)"
		return dom, nil
	}
	return d.domainPolicy(ctx, op, userDN)
}

// domainDN returns the DC=… suffix of dn (the user's domain), or the
// RootDSE's default naming context.
func (d *adDirectory) domainDN(ctx context.Context, dn string) (string, error) {
	if parsed, err := ldap.ParseDN(dn); err == nil {
		var parts []string
		for i := len(parsed.RDNs) - 1; i >= 0; i-- {
			r := parsed.RDNs[i]
			if len(r.Attributes) != 1 || !strings.EqualFold(r.Attributes[0].Type, "DC") {
				break
			}
			parts = append([]string{"DC=" + ldap.EscapeDN(r.Attributes[0].Value)}, parts...)
		}
		if len(parts) > 0 {
			return strings.Join(parts, ","), nil
		}
	}
	info, err := d.Info(ctx)
	if err != nil {
		return "", err
	}
	return info.DefaultNamingContext, nil
}

func (d *adDirectory) domainPolicy(ctx context.Context, op, userDN string) (Policy, error) {
	dom, err := d.domainDN(ctx, userDN)
	if err != nil {
		return Policy{}, wrap(op, err)
	}
	e, err := d.baseRead(ctx, op, dom, adDomainPolicyAttrs)
	if err != nil {
		return Policy{}, err
	}
	i := func(name string) int64 { v, _ := intAttr(e, name); return v }
	return Policy{
		Source:           PolicySourceDomain,
		MinLength:        int(i("minPwdLength")),
		Complexity:       i("pwdProperties")&pwdPropsComplexity != 0,
		HistoryLength:    int(i("pwdHistoryLength")),
		MinAge:           adInterval(i("minPwdAge")),
		MaxAge:           adInterval(i("maxPwdAge")),
		LockoutThreshold: int(i("lockoutThreshold")),
		LockoutDuration:  adInterval(i("lockoutDuration")),
		LockoutWindow:    adInterval(i("lockOutObservationWindow")),
	}, nil
}

// psoPolicy reads a msDS-PasswordSettings object. A PSO the service account
// may not read gives NotFound or AccessDenied (by default only Domain Admins
// can read the Password Settings Container).
func (d *adDirectory) psoPolicy(ctx context.Context, op, dn string) (Policy, error) {
	e, err := d.baseRead(ctx, op, dn, adPSOAttrs)
	if err != nil {
		return Policy{}, err
	}
	if e.GetAttributeValue("msDS-MinimumPasswordLength") == "" && e.GetAttributeValue("msDS-PasswordHistoryLength") == "" {
		return Policy{}, newError(op, AccessDenied, errors.New("PSO attributes not readable"))
	}
	i := func(name string) int64 { v, _ := intAttr(e, name); return v }
	return Policy{
		Source:           dn,
		MinLength:        int(i("msDS-MinimumPasswordLength")),
		Complexity:       strings.EqualFold(e.GetAttributeValue("msDS-PasswordComplexityEnabled"), "TRUE"),
		HistoryLength:    int(i("msDS-PasswordHistoryLength")),
		MinAge:           adInterval(i("msDS-MinimumPasswordAge")),
		MaxAge:           adInterval(i("msDS-MaximumPasswordAge")),
		LockoutThreshold: int(i("msDS-LockoutThreshold")),
		LockoutDuration:  adInterval(i("msDS-LockoutDuration")),
		LockoutWindow:    adInterval(i("msDS-LockoutObservationWindow")),
	}, nil
}

// EffectiveRights reads allowedAttributesEffective on the user entry: the
// attributes the service account may write there, as the DC computes them.
//
// WriteUnicodePwd is true only when the account has a plain write-property
// right on unicodePwd. An admin reset normally rests on the Reset Password
// control access right (00299570-246d-11d0-a768-00aa006e0529), which AD does
// not list in allowedAttributesEffective: it shows only when a reset is
// tried. So false here does not mean a reset will fail.
func (d *adDirectory) EffectiveRights(ctx context.Context, guid string) (Rights, error) {
	const op = "read effective rights"
	e, err := d.readUser(ctx, op, guid, []string{"allowedAttributesEffective"})
	if err != nil {
		return Rights{}, err
	}
	has := map[string]bool{}
	for _, a := range e.GetAttributeValues("allowedAttributesEffective") {
		has[strings.ToLower(a)] = true
	}
	return Rights{
		Known:            true,
		WriteLockoutTime: has["lockouttime"],
		WritePwdLastSet:  has["pwdlastset"],
		WriteUnicodePwd:  has["unicodepwd"],
	}, nil
}
