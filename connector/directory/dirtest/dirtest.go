// Package dirtest gives integration tests a real directory to work on: the
// Samba AD DC and the OpenLDAP slapd that `scripts/testenv up` starts, their
// settings (through scripts/testsvc: skipped on a developer's machine, failed
// under CI when missing), a directory.Config for the service account, and
// throwaway users.
//
// Tests must be re-runnable and must not disturb each other: each test makes
// its own users with NewUser (random names, known passwords) and they are
// deleted in t.Cleanup. Never change the seeded accounts or the policies.
package dirtest

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/latchkey/latchkey/connector/directory"
	"github.com/latchkey/latchkey/scripts/testsvc"
)

// User is a throwaway account made by NewUser.
type User struct {
	Login    string // sAMAccountName (AD) or uid (OpenLDAP)
	Password string // its current password as created
	DN       string
	UPN      string // userPrincipalName (AD only)
	Mail     string
}

// UserOption adjusts a user made by NewUser.
type UserOption func(*userSpec)

type userSpec struct {
	groups   []string
	policyDN string
	password string
}

// InGroup adds the new AD user to the group with this DN.
func InGroup(groupDN string) UserOption {
	return func(s *userSpec) { s.groups = append(s.groups, groupDN) }
}

// WithPolicy sets the new OpenLDAP user's pwdPolicySubentry.
func WithPolicy(dn string) UserOption { return func(s *userSpec) { s.policyDN = dn } }

// WithPassword gives the new user this password instead of a random one.
func WithPassword(pw string) UserOption { return func(s *userSpec) { s.password = pw } }

// RandomName returns prefix plus 10 random hex digits (short enough for a
// sAMAccountName).
func RandomName(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// RandomPassword returns a 20-character password with upper and lower case
// letters, digits and a symbol, so it meets every policy the test servers
// have (AD complexity, minimum length 12) and is never in a history.
func RandomPassword() string {
	b := make([]byte, 7)
	_, _ = rand.Read(b)
	return "Lk!" + hex.EncodeToString(b) + "Zq7#"
}

func readFile(t testing.TB, key string) []byte {
	t.Helper()
	path := testsvc.Require(t, key)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("dirtest: %s: %v", key, err)
	}
	return b
}

// dial opens an LDAPS connection checked against caPEM and binds.
func dial(url string, caPEM []byte, dn, password string) (*ldap.Conn, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("dirtest: CA holds no PEM certificate")
	}
	l, err := ldap.DialURL(url, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	if err != nil {
		return nil, err
	}
	l.SetTimeout(15 * time.Second)
	if err := l.Bind(dn, password); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// testLogger writes the directory package's logs to the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// Open builds a Directory from cfg and closes it in t.Cleanup.
func Open(t testing.TB, cfg directory.Config) directory.Directory {
	t.Helper()
	d, err := directory.New(cfg)
	if err != nil {
		t.Fatalf("dirtest: directory.New: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func mustConn(t testing.TB, l *ldap.Conn, err error, what string) *ldap.Conn {
	t.Helper()
	if err != nil {
		t.Fatalf("dirtest: %s: %v", what, err)
	}
	return l
}
