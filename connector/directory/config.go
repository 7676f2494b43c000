package directory

import (
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Dialect selects how passwords and account state are written and read.
type Dialect string

// The dialects.
const (
	DialectAD       Dialect = "ad"       // Active Directory and Samba AD DC: unicodePwd, lockoutTime, pwdLastSet
	DialectOpenLDAP Dialect = "openldap" // OpenLDAP with ppolicy: Password Modify exop, pwdAccountLockedTime, pwdReset
)

// Defaults applied by New for zero fields.
const (
	DefaultPoolSize         = 4
	DefaultDialTimeout      = 5 * time.Second
	DefaultOpTimeout        = 15 * time.Second
	DefaultIdleTimeout      = 2 * time.Minute
	DefaultHealthCheckAfter = 30 * time.Second
	maxPoolSize             = 64
)

// Config is one directory (one domain) as the connector reaches it.
type Config struct {
	// URLs are tried in order for failover: ldaps://host[:636], or
	// ldap://host[:389], which always upgrades with StartTLS. There is no
	// unencrypted mode (R43).
	URLs []string
	// CAPEM holds the CA certificate(s) that sign the DCs' certificates. With
	// neither CAPEM nor CertSHA256 the system roots are used.
	CAPEM []byte
	// CertSHA256 pins the DC's leaf certificate: the hex SHA-256 of its DER
	// (colons allowed). With a pin the chain need not verify, but the leaf
	// must match; with a pin and CAPEM both must hold.
	CertSHA256 string
	// TLSServerName overrides the name checked in the certificate (default:
	// the URL's host).
	TLSServerName string
	// BindDN and BindPassword are the service account's credentials.
	BindDN       string
	BindPassword string
	// BaseDN is where users are searched (and found by GUID).
	BaseDN string
	// Dialect is DialectAD or DialectOpenLDAP.
	Dialect Dialect
	// PPolicyDN (OpenLDAP) is the default password policy entry
	// (slapd's ppolicy_default), used when a user has no pwdPolicySubentry.
	PPolicyDN string
	// PoolSize bounds the pooled service connections (default 4).
	PoolSize int
	// DialTimeout bounds TCP connect, TLS handshake, StartTLS and the service
	// bind of one connection attempt (default 5 s).
	DialTimeout time.Duration
	// OpTimeout bounds one LDAP operation when the ctx has no earlier deadline
	// (default 15 s).
	OpTimeout time.Duration
	// IdleTimeout closes pooled connections idle for longer (default 2 min;
	// AD drops idle connections after 15 min).
	IdleTimeout time.Duration
	// HealthCheckAfter: a pooled connection idle for longer is checked with a
	// RootDSE read before reuse (default 30 s).
	HealthCheckAfter time.Duration
	// Now is the clock for account-state decisions (default time.Now).
	Now func() time.Time
	// Logger receives connection events (default slog.Default()). Passwords
	// are never logged.
	Logger *slog.Logger
}

// Validate reports every invalid field by name.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if len(c.URLs) == 0 {
		bad("URLs", "at least one ldaps:// or ldap:// URL is required")
	}
	for i, raw := range c.URLs {
		if _, err := parseURL(raw); err != nil {
			bad(fmt.Sprintf("URLs[%d]", i), "%v", err)
		}
	}
	if len(c.CAPEM) > 0 {
		if !x509.NewCertPool().AppendCertsFromPEM(c.CAPEM) {
			bad("CAPEM", "no PEM certificate found")
		}
	}
	if c.CertSHA256 != "" {
		if _, err := parsePin(c.CertSHA256); err != nil {
			bad("CertSHA256", "%v", err)
		}
	}
	if strings.TrimSpace(c.BindDN) == "" {
		bad("BindDN", "is required")
	}
	if c.BindPassword == "" {
		bad("BindPassword", "is required")
	}
	if strings.TrimSpace(c.BaseDN) == "" {
		bad("BaseDN", "is required")
	} else if _, err := ldap.ParseDN(c.BaseDN); err != nil {
		bad("BaseDN", "not a DN: %v", err)
	}
	switch c.Dialect {
	case DialectAD, DialectOpenLDAP:
	default:
		bad("Dialect", "must be %q or %q, got %q", DialectAD, DialectOpenLDAP, c.Dialect)
	}
	if c.PPolicyDN != "" {
		if _, err := ldap.ParseDN(c.PPolicyDN); err != nil {
			bad("PPolicyDN", "not a DN: %v", err)
		}
	}
	if c.PoolSize < 0 || c.PoolSize > maxPoolSize {
		bad("PoolSize", "must be between 0 (default %d) and %d", DefaultPoolSize, maxPoolSize)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"DialTimeout", c.DialTimeout}, {"OpTimeout", c.OpTimeout},
		{"IdleTimeout", c.IdleTimeout}, {"HealthCheckAfter", c.HealthCheckAfter},
	} {
		if d.v < 0 {
			bad(d.name, "must not be negative")
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("directory config: %w", errors.Join(errs...))
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.PoolSize == 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = DefaultOpTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.HealthCheckAfter == 0 {
		c.HealthCheckAfter = DefaultHealthCheckAfter
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// parseURL accepts ldaps:// and ldap:// (StartTLS) URLs with a host.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %w", err)
	}
	switch u.Scheme {
	case "ldaps", "ldap":
	default:
		return nil, fmt.Errorf("scheme must be ldaps or ldap (StartTLS), got %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("host is required")
	}
	if u.User != nil || u.RawQuery != "" || (u.Path != "" && u.Path != "/") {
		return nil, errors.New("only scheme, host and port are allowed")
	}
	return u, nil
}

// hostPort returns host:port with the scheme's default port.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "389"
		if u.Scheme == "ldaps" {
			port = "636"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// parsePin decodes a hex SHA-256 (colons and spaces allowed, any case).
func parsePin(s string) ([]byte, error) {
	clean := strings.NewReplacer(":", "", " ", "").Replace(s)
	b, err := hex.DecodeString(clean)
	if err != nil || len(b) != 32 {
		return nil, errors.New("must be the 64 hex digits of a SHA-256")
	}
	return b, nil
}
