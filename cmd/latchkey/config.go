package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/retention"
)

// storageConfig chooses the database. With no database URL the embedded SQLite
// file under DataDir is used, so nothing else needs installing.
type storageConfig struct {
	DatabaseURL        string // PostgreSQL URL of the application role (latchkey_app)
	DatabaseMigrateURL string // PostgreSQL URL of the schema owner, used to migrate
	DataDir            string // where the SQLite file (and other local state) lives
}

func (c *storageConfig) register(fs *pflag.FlagSet, dataDir string) {
	fs.StringVar(&c.DatabaseURL, "database-url", "", "PostgreSQL URL for the application role; empty = embedded SQLite under --data-dir")
	fs.StringVar(&c.DatabaseMigrateURL, "database-migrate-url", "", "PostgreSQL URL of the schema owner role, used to apply migrations")
	fs.StringVar(&c.DataDir, "data-dir", dataDir, "directory for the embedded SQLite database and local state")
}

func (c *storageConfig) validate() error {
	var errs []error
	for _, u := range []struct{ flag, val string }{{"database-url", c.DatabaseURL}, {"database-migrate-url", c.DatabaseMigrateURL}} {
		if u.val != "" && !strings.HasPrefix(u.val, "postgres://") && !strings.HasPrefix(u.val, "postgresql://") {
			errs = append(errs, fmt.Errorf("--%s (%s): must be a postgres:// URL", u.flag, envName(u.flag)))
		}
	}
	if c.DatabaseURL == "" && c.DatabaseMigrateURL != "" {
		errs = append(errs, fmt.Errorf("--database-migrate-url (%s) is set but --database-url (%s) is not", envName("database-migrate-url"), envName("database-url")))
	}
	if c.DatabaseURL == "" && strings.TrimSpace(c.DataDir) == "" {
		errs = append(errs, fmt.Errorf("--data-dir (%s) is empty and no --database-url is set: one is needed", envName("data-dir")))
	}
	return errors.Join(errs...)
}

// sqlitePath is the embedded database file.
func (c *storageConfig) sqlitePath() string { return filepath.Join(c.DataDir, "latchkey.db") }

// serverConfig is what `serve` and `demo` need to answer HTTP.
type serverConfig struct {
	Addr            string
	OpsAddr         string
	TLSCert         string
	TLSKey          string
	PlatformDomain  string
	PublicScheme    string
	PublicPort      string
	TrustedProxies  []string
	BodyLimit       int
	ShutdownTimeout time.Duration
	// Retention and PurgeInterval drive the retention sweep (tenants/retention).
	Retention     time.Duration
	PurgeInterval time.Duration
	LogFormat     string
	LogLevel      string
	Connector     connectorConfig
	SelfService   selfServiceConfig

	// commandKey signs connector commands; loaded by loadCommandKey before
	// newServer.
	commandKey ed25519.PrivateKey
	// relayURL is the PostgreSQL URL (application role) when the store is
	// PostgreSQL: nodes then relay commands to the node holding a connector.
	relayURL string
}

// serverDefaults are the flag defaults, which differ between serve and demo.
type serverDefaults struct{ Addr, OpsAddr, ConnectorAddr, PlatformDomain, Scheme, LogFormat string }

func (c *serverConfig) register(fs *pflag.FlagSet, d serverDefaults) {
	fs.StringVar(&c.Addr, "addr", d.Addr, "address the portal listens on")
	fs.StringVar(&c.OpsAddr, "ops-addr", d.OpsAddr, "address of the operator listener (/metrics, /healthz, /readyz); empty disables it")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "PEM certificate (chain) to serve HTTPS; with --tls-key")
	fs.StringVar(&c.TLSKey, "tls-key", "", "PEM private key for --tls-cert")
	fs.StringVar(&c.PlatformDomain, "platform-domain", d.PlatformDomain, "tenants get <slug>.<platform-domain> as their platform host")
	fs.StringVar(&c.PublicScheme, "public-scheme", d.Scheme, "scheme of the links sent to users (https, or http for local testing)")
	fs.StringVar(&c.PublicPort, "public-port", "", "port of the links sent to users, when not the scheme's default (0: the port --addr was given)")
	fs.StringSliceVar(&c.TrustedProxies, "trusted-proxies", nil, "IPs or CIDRs of reverse proxies whose X-Forwarded-*/Forwarded headers are honoured")
	fs.IntVar(&c.BodyLimit, "body-limit", 64<<10, "largest request body accepted, in bytes")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "how long a graceful shutdown may take")
	fs.DurationVar(&c.Retention, "retention", retention.DefaultRetention, "how long ended sessions, delivered or dead messages and expired push challenges are kept (the audit log is kept for good)")
	fs.DurationVar(&c.PurgeInterval, "purge-interval", retention.DefaultInterval, "how often the node deletes expired rows; 0 turns the sweep off on this node")
	fs.StringVar(&c.LogFormat, "log-format", d.LogFormat, "log format: json or text")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	c.Connector.register(fs, d.ConnectorAddr)
	c.SelfService.register(fs)
}

func (c *serverConfig) validate() error {
	var errs []error
	bad := func(flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s (%s): %s", flag, envName(flag), fmt.Sprintf(format, args...)))
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("addr", "%q is not host:port", c.Addr)
	}
	if c.OpsAddr != "" {
		if _, _, err := net.SplitHostPort(c.OpsAddr); err != nil {
			bad("ops-addr", "%q is not host:port", c.OpsAddr)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("tls-cert", "--tls-cert and --tls-key go together")
	}
	for _, f := range []struct{ flag, path string }{{"tls-cert", c.TLSCert}, {"tls-key", c.TLSKey}} {
		if f.path != "" {
			if _, err := os.Stat(f.path); err != nil {
				bad(f.flag, "%v", err)
			}
		}
	}
	if c.PlatformDomain == "" {
		bad("platform-domain", "required (e.g. latchkey.example.com)")
	} else if h, err := tenants.NormalizeHost(c.PlatformDomain); err != nil || h != c.PlatformDomain {
		bad("platform-domain", "%q is not a lower-case host name", c.PlatformDomain)
	}
	switch c.PublicScheme {
	case "https", "http":
	default:
		bad("public-scheme", "must be https or http, not %q", c.PublicScheme)
	}
	if c.PublicPort != "" {
		if p, err := strconv.Atoi(c.PublicPort); err != nil || p < 0 || p > 65535 {
			bad("public-port", "%q is not a port", c.PublicPort)
		}
	}
	if _, err := tenants.ParseTrustedProxies(c.TrustedProxies); err != nil {
		bad("trusted-proxies", "%v", err)
	}
	if c.TLSCert == "" && c.PublicScheme == "https" && len(c.TrustedProxies) == 0 {
		bad("trusted-proxies", "links are https but this process serves plain HTTP: give --tls-cert/--tls-key, or name the TLS-terminating proxy in --trusted-proxies")
	}
	if c.BodyLimit < 1024 || c.BodyLimit > 16<<20 {
		bad("body-limit", "%d is outside 1024..16777216", c.BodyLimit)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown-timeout", "must be positive")
	}
	if c.Retention < time.Hour {
		bad("retention", "%v is shorter than an hour (sessions and challenges must outlive their use)", c.Retention)
	}
	if c.PurgeInterval < 0 {
		bad("purge-interval", "must not be negative")
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		bad("log-format", "must be json or text, not %q", c.LogFormat)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		bad("log-level", "%v", err)
	}
	c.Connector.validate(c.PublicScheme, bad)
	return errors.Join(errs...)
}

// tls reports whether this process terminates TLS itself or sits behind a proxy
// that does (links are https): either way cookies are Secure and HSTS is sent.
func (c *serverConfig) tls() bool { return c.TLSCert != "" || c.PublicScheme == "https" }
