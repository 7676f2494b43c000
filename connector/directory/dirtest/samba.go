package dirtest

import (
	"encoding/binary"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/latchkey/latchkey/connector/directory"
	"github.com/latchkey/latchkey/scripts/testsvc"
)

// SambaEnv is the Samba AD DC of scripts/testenv.d/20-samba.sh. Its domain
// policy: minimum length 8, complexity, history 5, minimum age 0, lockout
// after 3 bad attempts for 5 minutes. The service account (BindDN) is
// delegated Reset Password plus write lockoutTime and pwdLastSet on users in
// ScopeOU only (R50).
type SambaEnv struct {
	URL           string // ldaps://
	StartTLSURL   string // ldap:// (StartTLS)
	CAPEM         []byte
	CertSHA256    string // the DC's leaf certificate
	Realm         string // corp.example.com
	BaseDN        string
	AdminDN       string
	AdminPassword string
	BindDN        string // svc-latchkey
	BindPassword  string
	ScopeOU       string // OU=Staff: the delegated scope
	OtherOU       string // OU=Contractors: outside it
	ProtectedUser string // boss: Domain Admins, adminCount=1
	StrictGroup   string // members get the Strict PSO (min length 12, history 3, min age 1 day)
}

// Samba returns the Samba settings, or skips (fails under CI) when the DC is
// not configured.
func Samba(t testing.TB) SambaEnv {
	t.Helper()
	k := func(s string) string { return testsvc.Require(t, "LATCHKEY_TEST_SAMBA_"+s) }
	return SambaEnv{
		URL:           k("URL"),
		StartTLSURL:   k("STARTTLS_URL"),
		CAPEM:         readFile(t, "LATCHKEY_TEST_SAMBA_CA"),
		CertSHA256:    k("CERT_SHA256"),
		Realm:         k("REALM"),
		BaseDN:        k("BASE_DN"),
		AdminDN:       k("ADMIN_DN"),
		AdminPassword: k("ADMIN_PASSWORD"),
		BindDN:        k("BIND_DN"),
		BindPassword:  k("BIND_PASSWORD"),
		ScopeOU:       k("SCOPE_OU"),
		OtherOU:       k("OTHER_OU"),
		ProtectedUser: k("PROTECTED_USER"),
		StrictGroup:   k("STRICT_GROUP"),
	}
}

// Config is a directory.Config for the delegated service account over LDAPS
// with the test CA.
func (e SambaEnv) Config(t testing.TB) directory.Config {
	return directory.Config{
		URLs:         []string{e.URL},
		CAPEM:        e.CAPEM,
		BindDN:       e.BindDN,
		BindPassword: e.BindPassword,
		BaseDN:       e.BaseDN,
		Dialect:      directory.DialectAD,
		Logger:       testLogger(t),
	}
}

// Open is Open(t, e.Config(t)).
func (e SambaEnv) Open(t testing.TB) directory.Directory { return Open(t, e.Config(t)) }

// Admin returns an LDAPS connection bound as the domain administrator,
// closed in t.Cleanup.
func (e SambaEnv) Admin(t testing.TB) *ldap.Conn {
	t.Helper()
	l, err := dial(e.URL, e.CAPEM, e.AdminDN, e.AdminPassword)
	l = mustConn(t, l, err, "admin bind")
	t.Cleanup(func() { l.Close() })
	return l
}

// Service returns an LDAPS connection bound as the delegated service
// account (for raw baselines), closed in t.Cleanup.
func (e SambaEnv) Service(t testing.TB) *ldap.Conn {
	t.Helper()
	l, err := dial(e.URL, e.CAPEM, e.BindDN, e.BindPassword)
	l = mustConn(t, l, err, "service bind")
	t.Cleanup(func() { l.Close() })
	return l
}

// Bind opens a fresh LDAPS connection and binds as dn; the raw go-ldap error
// is returned (nil on success).
func (e SambaEnv) Bind(dn, password string) error {
	l, err := dial(e.URL, e.CAPEM, dn, password)
	if err != nil {
		return err
	}
	l.Close()
	return nil
}

// NewUser creates an enabled user in ou (a DN; usually e.ScopeOU) with a
// random name and a known password, as the administrator over LDAPS, and
// deletes it in t.Cleanup.
func (e SambaEnv) NewUser(t testing.TB, ou string, opts ...UserOption) User {
	t.Helper()
	spec := userSpec{password: RandomPassword()}
	for _, o := range opts {
		o(&spec)
	}
	name := RandomName("lk")
	u := User{
		Login:    name,
		Password: spec.password,
		DN:       "CN=" + name + "," + ou,
		UPN:      name + "@" + e.Realm,
		Mail:     name + "@" + e.Realm,
	}
	enc, err := directory.EncodePassword(u.Password)
	if err != nil {
		t.Fatalf("dirtest: %v", err)
	}
	l, err := dial(e.URL, e.CAPEM, e.AdminDN, e.AdminPassword)
	l = mustConn(t, l, err, "admin bind")
	defer l.Close()
	req := ldap.NewAddRequest(u.DN, nil)
	req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	req.Attribute("sAMAccountName", []string{name})
	req.Attribute("userPrincipalName", []string{u.UPN})
	req.Attribute("mail", []string{u.Mail})
	req.Attribute("givenName", []string{"Test"})
	req.Attribute("sn", []string{name})
	req.Attribute("displayName", []string{"Test " + name})
	req.Attribute("unicodePwd", []string{enc})
	req.Attribute("userAccountControl", []string{"512"}) // NORMAL_ACCOUNT, enabled
	if err := l.Add(req); err != nil {
		t.Fatalf("dirtest: add %s: %v", u.DN, err)
	}
	t.Cleanup(func() { e.deleteUser(t, u.DN) })
	for _, g := range spec.groups {
		m := ldap.NewModifyRequest(g, nil)
		m.Add("member", []string{u.DN})
		if err := l.Modify(m); err != nil {
			t.Fatalf("dirtest: add %s to %s: %v", u.DN, g, err)
		}
	}
	return u
}

func (e SambaEnv) deleteUser(t testing.TB, dn string) {
	l, err := dial(e.URL, e.CAPEM, e.AdminDN, e.AdminPassword)
	if err != nil {
		t.Errorf("dirtest: cleanup: admin bind: %v", err)
		return
	}
	defer l.Close()
	if err := l.Del(ldap.NewDelRequest(dn, nil)); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		t.Errorf("dirtest: cleanup: delete %s: %v", dn, err)
	}
}

// Read reads attrs of dn as the administrator (base search).
func (e SambaEnv) Read(t testing.TB, dn string, attrs ...string) *ldap.Entry {
	t.Helper()
	return readEntry(t, e.URL, e.CAPEM, e.AdminDN, e.AdminPassword, dn, attrs)
}

// SetAttr replaces attr on dn as the administrator.
func (e SambaEnv) SetAttr(t testing.TB, dn, attr string, values ...string) {
	t.Helper()
	setAttr(t, e.URL, e.CAPEM, e.AdminDN, e.AdminPassword, dn, attr, values)
}

// UserDN returns the DN of the seeded account with this sAMAccountName.
func (e SambaEnv) UserDN(t testing.TB, login string) string {
	t.Helper()
	l, err := dial(e.URL, e.CAPEM, e.AdminDN, e.AdminPassword)
	l = mustConn(t, l, err, "admin bind")
	defer l.Close()
	res, err := l.Search(ldap.NewSearchRequest(e.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 0, false,
		"(sAMAccountName="+ldap.EscapeFilter(login)+")", []string{"1.1"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("dirtest: find %s: %v", login, err)
	}
	return res.Entries[0].DN
}

func readEntry(t testing.TB, url string, ca []byte, bindDN, bindPW, dn string, attrs []string) *ldap.Entry {
	t.Helper()
	l, err := dial(url, ca, bindDN, bindPW)
	l = mustConn(t, l, err, "admin bind")
	defer l.Close()
	res, err := l.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", attrs, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("dirtest: read %s: %v", dn, err)
	}
	return res.Entries[0]
}

func setAttr(t testing.TB, url string, ca []byte, bindDN, bindPW, dn, attr string, values []string) {
	t.Helper()
	l, err := dial(url, ca, bindDN, bindPW)
	l = mustConn(t, l, err, "admin bind")
	defer l.Close()
	m := ldap.NewModifyRequest(dn, nil)
	if len(values) == 0 {
		m.Delete(attr, nil)
	} else {
		m.Replace(attr, values)
	}
	if err := l.Modify(m); err != nil && !(len(values) == 0 && ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute)) {
		t.Fatalf("dirtest: modify %s %s: %v", dn, attr, err)
	}
}

// unicodePwdAttID is the attributeID of unicodePwd in replPropertyMetaData.
const unicodePwdAttID = 0x0009005a

// PasswordWrites reads how many times the DC has written the user's unicodePwd:
// the attribute's version in replPropertyMetaData (MS-DRSR
// PROPERTY_META_DATA_EXT_VECTOR: a 16-byte header with the count at offset
// 8, then 48-byte entries {attid, version, time, invocation id, usns}). Every
// reset or change adds exactly one, so it tells "applied once" from "applied
// twice" in the directory itself.
func (env SambaEnv) PasswordWrites(t testing.TB, dn string) uint32 {
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
