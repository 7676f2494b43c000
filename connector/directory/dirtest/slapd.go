package dirtest

import (
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/latchkey/latchkey/connector/directory"
	"github.com/latchkey/latchkey/scripts/testsvc"
)

// SlapdEnv is the OpenLDAP slapd + ppolicy of scripts/testenv.d/25-slapd.sh.
// The default policy (PPolicyDN): 3 failures lock until an administrator
// unlocks, history 5, minimum length 8, must change after an administrator's
// set. StrictPPolicyDN: minimum length 12, history 3, minimum age 1 day,
// lockout 10 minutes. The service account (BindDN) is the rootdn.
type SlapdEnv struct {
	URL             string // ldaps://
	StartTLSURL     string // ldap:// (StartTLS)
	CAPEM           []byte
	CertSHA256      string
	BaseDN          string
	BindDN          string
	BindPassword    string
	UsersOU         string
	PPolicyDN       string
	StrictPPolicyDN string
}

// Slapd returns the slapd settings, or skips (fails under CI) when slapd is
// not configured.
func Slapd(t testing.TB) SlapdEnv {
	t.Helper()
	k := func(s string) string { return testsvc.Require(t, "LATCHKEY_TEST_SLAPD_"+s) }
	return SlapdEnv{
		URL:             k("URL"),
		StartTLSURL:     k("STARTTLS_URL"),
		CAPEM:           readFile(t, "LATCHKEY_TEST_SLAPD_CA"),
		CertSHA256:      k("CERT_SHA256"),
		BaseDN:          k("BASE_DN"),
		BindDN:          k("BIND_DN"),
		BindPassword:    k("BIND_PASSWORD"),
		UsersOU:         k("USERS_OU"),
		PPolicyDN:       k("PPOLICY_DN"),
		StrictPPolicyDN: k("STRICT_PPOLICY_DN"),
	}
}

// Config is a directory.Config for the service account over LDAPS.
func (e SlapdEnv) Config(t testing.TB) directory.Config {
	return directory.Config{
		URLs:         []string{e.URL},
		CAPEM:        e.CAPEM,
		BindDN:       e.BindDN,
		BindPassword: e.BindPassword,
		BaseDN:       e.BaseDN,
		Dialect:      directory.DialectOpenLDAP,
		PPolicyDN:    e.PPolicyDN,
		Logger:       testLogger(t),
	}
}

// Open is Open(t, e.Config(t)).
func (e SlapdEnv) Open(t testing.TB) directory.Directory { return Open(t, e.Config(t)) }

// Admin returns an LDAPS connection bound as the rootdn, closed in t.Cleanup.
func (e SlapdEnv) Admin(t testing.TB) *ldap.Conn {
	t.Helper()
	l, err := dial(e.URL, e.CAPEM, e.BindDN, e.BindPassword)
	l = mustConn(t, l, err, "admin bind")
	t.Cleanup(func() { l.Close() })
	return l
}

// Bind opens a fresh LDAPS connection and binds as dn (raw go-ldap error).
func (e SlapdEnv) Bind(dn, password string) error {
	l, err := dial(e.URL, e.CAPEM, dn, password)
	if err != nil {
		return err
	}
	l.Close()
	return nil
}

// NewUser creates an inetOrgPerson in ou (usually e.UsersOU) with a random
// uid and a known, usable password (no pwdReset), and deletes it in
// t.Cleanup.
func (e SlapdEnv) NewUser(t testing.TB, ou string, opts ...UserOption) User {
	t.Helper()
	spec := userSpec{password: RandomPassword()}
	for _, o := range opts {
		o(&spec)
	}
	name := RandomName("lk")
	u := User{Login: name, Password: spec.password, DN: "uid=" + name + "," + ou, Mail: name + "@example.com"}
	l, err := dial(e.URL, e.CAPEM, e.BindDN, e.BindPassword)
	l = mustConn(t, l, err, "admin bind")
	defer l.Close()
	req := ldap.NewAddRequest(u.DN, nil)
	req.Attribute("objectClass", []string{"inetOrgPerson"})
	req.Attribute("uid", []string{name})
	req.Attribute("cn", []string{"Test " + name})
	req.Attribute("sn", []string{name})
	req.Attribute("mail", []string{u.Mail})
	req.Attribute("userPassword", []string{u.Password})
	if spec.policyDN != "" {
		req.Attribute("pwdPolicySubentry", []string{spec.policyDN})
	}
	if err := l.Add(req); err != nil {
		t.Fatalf("dirtest: add %s: %v", u.DN, err)
	}
	t.Cleanup(func() {
		l, err := dial(e.URL, e.CAPEM, e.BindDN, e.BindPassword)
		if err != nil {
			t.Errorf("dirtest: cleanup: admin bind: %v", err)
			return
		}
		defer l.Close()
		if err := l.Del(ldap.NewDelRequest(u.DN, nil)); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			t.Errorf("dirtest: cleanup: delete %s: %v", u.DN, err)
		}
	})
	// an administrator's add may leave pwdReset (pwdMustChange): clear it so
	// the password is usable as created
	m := ldap.NewModifyRequest(u.DN, nil)
	m.Delete("pwdReset", nil)
	if err := l.Modify(m); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute) {
		t.Fatalf("dirtest: clear pwdReset on %s: %v", u.DN, err)
	}
	return u
}

// Read reads attrs of dn as the rootdn (base search).
func (e SlapdEnv) Read(t testing.TB, dn string, attrs ...string) *ldap.Entry {
	t.Helper()
	return readEntry(t, e.URL, e.CAPEM, e.BindDN, e.BindPassword, dn, attrs)
}

// SetAttr replaces attr on dn as the rootdn (no values: delete it).
func (e SlapdEnv) SetAttr(t testing.TB, dn, attr string, values ...string) {
	t.Helper()
	setAttr(t, e.URL, e.CAPEM, e.BindDN, e.BindPassword, dn, attr, values)
}
