// Package samba is the load driver's access to the Samba AD DC of the test
// environment: throwaway benchmark users (created and deleted as the
// domain administrator, each with its own mail address), and the raw B2
// baseline — a go-ldap unicodePwd Replace over LDAPS as the delegated
// service account the connector binds as, on connections opened once.
package samba

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/latchkey/latchkey/connector/directory"
)

// Config locates the DC and its accounts (scripts/testenv's
// LATCHKEY_TEST_SAMBA_* settings).
type Config struct {
	URL           string // ldaps://
	CAFile        string
	AdminDN       string
	AdminPassword string
	BindDN        string // the delegated service account
	BindPassword  string
	ScopeOU       string // where users are made (the connector's scope)
	Realm         string // users' mail and UPN domain
}

// User is a benchmark account.
type User struct {
	Login    string `json:"login"`
	DN       string `json:"dn"`
	Mail     string `json:"mail"`
	Mobile   string `json:"mobile,omitempty"`
	Password string `json:"password"`
}

// Validate names the settings that are missing.
func (c Config) Validate() error {
	var missing []string
	for _, f := range []struct{ name, v string }{{"URL", c.URL}, {"CA", c.CAFile}, {"ADMIN_DN", c.AdminDN},
		{"ADMIN_PASSWORD", c.AdminPassword}, {"BIND_DN", c.BindDN}, {"BIND_PASSWORD", c.BindPassword},
		{"SCOPE_OU", c.ScopeOU}, {"REALM", c.Realm}} {
		if f.v == "" {
			missing = append(missing, "LATCHKEY_TEST_SAMBA_"+f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("samba: not configured: %s (source .testenv/env)", strings.Join(missing, ", "))
	}
	return nil
}

func (c Config) dial(dn, password string) (*ldap.Conn, error) {
	pem, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("samba: CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("samba: %s holds no PEM certificate", c.CAFile)
	}
	l, err := ldap.DialURL(c.URL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	if err != nil {
		return nil, fmt.Errorf("samba: dial %s: %w", c.URL, err)
	}
	l.SetTimeout(30 * time.Second)
	if err := l.Bind(dn, password); err != nil {
		l.Close()
		return nil, fmt.Errorf("samba: bind as %s: %w", dn, err)
	}
	return l, nil
}

// Service opens an LDAPS connection bound as the delegated service account.
func (c Config) Service() (*ldap.Conn, error) { return c.dial(c.BindDN, c.BindPassword) }

// Bind checks that dn's password is password, on a fresh connection.
func (c Config) Bind(dn, password string) error {
	l, err := c.dial(dn, password)
	if err != nil {
		return err
	}
	return l.Close()
}

// RandomPassword is 21 characters of upper and lower case, digits and
// symbols, random enough never to be in a history; it meets the DC's
// complexity and the default tenant policy (12 characters, 3 classes).
func RandomPassword() string {
	b := make([]byte, 7)
	_, _ = rand.Read(b)
	return "Lk!" + hex.EncodeToString(b) + "Zq7#"
}

// Replace is the raw B2 operation: an admin reset of dn's password
// (unicodePwd replace) on an open connection.
func Replace(l *ldap.Conn, dn, password string) error {
	enc, err := directory.EncodePassword(password)
	if err != nil {
		return fmt.Errorf("samba: %w", err)
	}
	m := ldap.NewModifyRequest(dn, nil)
	m.Replace("unicodePwd", []string{enc})
	if err := l.Modify(m); err != nil {
		return fmt.Errorf("samba: replace unicodePwd of %s: %w", dn, err)
	}
	return nil
}

// CreateUsers makes n enabled users named prefix+10 hex digits in the scope
// OU, parallel at a time, each with a random password, the mail address
// login@realm and, when mobile is not nil, the mobile number it returns.
// On error the users made so far are returned with it.
func (c Config) CreateUsers(ctx context.Context, prefix string, n, parallel int, mobile func() string) ([]User, error) {
	parallel = max(1, min(parallel, n))
	users := make([]User, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			l, err := c.dial(c.AdminDN, c.AdminPassword)
			if err != nil {
				for i := range next {
					errs[i] = err
				}
				return
			}
			defer l.Close()
			for i := range next {
				m := ""
				if mobile != nil {
					m = mobile()
				}
				users[i], errs[i] = c.addUser(l, prefix, m)
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			errs[i] = ctx.Err()
			continue
		}
		next <- i
	}
	close(next)
	wg.Wait()
	var made []User
	for i, u := range users {
		if errs[i] == nil {
			made = append(made, u)
		}
	}
	return made, errors.Join(errs...)
}

func (c Config) addUser(l *ldap.Conn, prefix, mobile string) (User, error) {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	name := prefix + hex.EncodeToString(b)
	u := User{Login: name, DN: "CN=" + name + "," + c.ScopeOU, Mail: strings.ToLower(name + "@" + c.Realm), Mobile: mobile, Password: RandomPassword()}
	enc, err := directory.EncodePassword(u.Password)
	if err != nil {
		return u, fmt.Errorf("samba: %w", err)
	}
	req := ldap.NewAddRequest(u.DN, nil)
	req.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	req.Attribute("sAMAccountName", []string{name})
	req.Attribute("userPrincipalName", []string{name + "@" + c.Realm})
	req.Attribute("mail", []string{u.Mail})
	req.Attribute("givenName", []string{"Bench"})
	req.Attribute("sn", []string{name})
	req.Attribute("displayName", []string{"Bench " + name})
	if mobile != "" {
		req.Attribute("mobile", []string{mobile})
	}
	req.Attribute("unicodePwd", []string{enc})
	req.Attribute("userAccountControl", []string{"512"}) // NORMAL_ACCOUNT, enabled
	if err := l.Add(req); err != nil {
		return u, fmt.Errorf("samba: add %s: %w", u.DN, err)
	}
	return u, nil
}

// DeleteByPrefix deletes every user of the scope OU whose sAMAccountName
// starts with prefix (the leftovers of an interrupted run) and returns how
// many it deleted.
func (c Config) DeleteByPrefix(prefix string) (int, error) {
	if len(prefix) < 3 || strings.ContainsAny(prefix, `*()\`) {
		return 0, fmt.Errorf("samba: refusing to delete by the prefix %q", prefix)
	}
	l, err := c.dial(c.AdminDN, c.AdminPassword)
	if err != nil {
		return 0, err
	}
	defer l.Close()
	res, err := l.SearchWithPaging(ldap.NewSearchRequest(c.ScopeOU, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass=user)(sAMAccountName="+ldap.EscapeFilter(prefix)+"*))", []string{"1.1"}, nil), 500)
	if err != nil {
		return 0, fmt.Errorf("samba: search %s*: %w", prefix, err)
	}
	n := 0
	var errs []error
	for _, e := range res.Entries {
		if err := l.Del(ldap.NewDelRequest(e.DN, nil)); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			errs = append(errs, fmt.Errorf("samba: delete %s: %w", e.DN, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
