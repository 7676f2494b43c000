package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/connector/enroll"
	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/connector/relay"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// connectorConfig is the connector hub's part of serve and demo.
type connectorConfig struct {
	Addr           string        // the hub's own listener
	PublicURL      string        // ws(s):// base handed to connectors at enrollment
	CommandKeyFile string        // PEM PKCS#8 Ed25519 key that signs commands
	Recheck        time.Duration // how often live sessions' records are re-read
	NodeID         string        // this node's name among several on one PostgreSQL (random when empty)
}

func (c *connectorConfig) register(fs *pflag.FlagSet, addr string) {
	fs.StringVar(&c.Addr, "connector-addr", addr, "address the connector hub (WebSocket) listens on")
	fs.StringVar(&c.PublicURL, "connector-public-url", "", "ws:// or wss:// base URL connectors dial (the hub path is appended); derived from --connector-addr when links are http")
	fs.StringVar(&c.CommandKeyFile, "command-key-file", "", "PEM (PKCS#8) Ed25519 key that signs connector commands; required with PostgreSQL, generated under --data-dir with SQLite")
	fs.StringVar(&c.NodeID, "node-id", "", "this node's name among several control-plane nodes on one PostgreSQL (lower-case letters, digits, - and _; a random one per start when empty)")
	fs.DurationVar(&c.Recheck, "connector-recheck", 5*time.Second, "how often the hub re-reads its live connectors' records (a revoked connector is cut off within this)")
}

func (c *connectorConfig) validate(publicScheme string, bad func(flag, format string, args ...any)) {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("connector-addr", "%q is not host:port", c.Addr)
	}
	if c.PublicURL != "" {
		if _, err := hubBase(c.PublicURL); err != nil {
			bad("connector-public-url", "%v", err)
		}
	} else if publicScheme == "https" {
		bad("connector-public-url", "required when links are https (e.g. wss://connect.latchkey.example.com)")
	}
	if c.NodeID != "" && !relay.ValidNodeID(c.NodeID) {
		bad("node-id", "%q: use 1 to 48 lower-case letters, digits, - or _", c.NodeID)
	}
	if c.Recheck < 100*time.Millisecond || c.Recheck > 5*time.Minute {
		bad("connector-recheck", "%s is outside 100ms..5m", c.Recheck)
	}
}

// hubBase checks a public connector URL and returns it without a trailing slash.
func hubBase(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", fmt.Errorf("%q is not a URL", raw)
	case u.Scheme != "ws" && u.Scheme != "wss":
		return "", fmt.Errorf("%q: the scheme must be wss (or ws for local testing)", raw)
	case u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("%q: want scheme://host[:port][/prefix] without credentials, query or fragment", raw)
	}
	return strings.TrimSuffix(raw, "/"), nil
}

// derivedHubBase is the public URL of a hub bound to addr on this machine
// (demo, local testing).
func derivedHubBase(addr net.Addr, tls bool) string {
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	scheme := "ws"
	if tls {
		scheme = "wss"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// commandKeyName is the generated key's file under the data directory.
const commandKeyName = "command-key.pem"

// loadCommandKey returns the command-signing key: from --command-key-file,
// else (SQLite, one box) from the data directory, generating it the first
// time with mode 0600. PostgreSQL installs run several nodes that must sign
// with one key, so there the file is required.
func loadCommandKey(c connectorConfig, sc storageConfig, log *slog.Logger) (ed25519.PrivateKey, error) {
	path := c.CommandKeyFile
	if path == "" {
		if sc.DatabaseURL != "" {
			return nil, fmt.Errorf("--command-key-file (%s) is required with PostgreSQL: every node must sign connector commands with the same Ed25519 key; create one with `openssl genpkey -algorithm ed25519 -out command-key.pem` and give it to all nodes", envName("command-key-file"))
		}
		path = filepath.Join(sc.DataDir, commandKeyName)
		if err := generateKeyFile(path); err != nil {
			return nil, fmt.Errorf("command key %s: %w", path, err)
		}
	}
	key, err := readKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("--command-key-file (%s) %s: %w", envName("command-key-file"), path, err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("the command key file is readable by others; chmod 600 it", slog.String("path", path), slog.String("mode", fi.Mode().Perm().String()))
	}
	return key, nil
}

// generateKeyFile writes a new Ed25519 key to path unless the file exists.
// O_EXCL makes a concurrent start keep the first key.
func generateKeyFile(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

func readKeyFile(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM \"PRIVATE KEY\" (PKCS#8) file")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse PKCS#8: %w", err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the key is a %T, want Ed25519", k)
	}
	return key, nil
}

// hubStore is the hub's view of the store: connectors by id across tenants
// (the tenant comes from the record) and their last-seen times.
type hubStore struct{ s store.Store }

func (h hubStore) Connector(ctx context.Context, id string) (hub.ConnectorRecord, error) {
	c, err := h.s.Platform().ConnectorByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return hub.ConnectorRecord{}, hub.ErrUnknownConnector
	}
	if err != nil {
		return hub.ConnectorRecord{}, err
	}
	return hub.ConnectorRecord{TenantID: string(c.TenantID), ID: c.ID, Name: c.Name,
		SignKey: ed25519.PublicKey(c.SignKey), SealKey: c.SealKey, Revoked: c.Revoked(), Domains: c.Domains}, nil
}

func (h hubStore) Seen(ctx context.Context, rec hub.ConnectorRecord, at time.Time) error {
	return h.s.Tenant(tenants.ID(rec.TenantID)).TouchConnector(ctx, rec.ID, at)
}

func newConnectorCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "connector", Short: "Enroll, list and revoke a tenant's connectors (operator)"}
	cmd.AddCommand(newConnectorTokenCmd(), newConnectorListCmd(), newConnectorRevokeCmd())
	return cmd
}

func newConnectorTokenCmd() *cobra.Command {
	var (
		sc                         storageConfig
		slug, domain, scheme, port string
		ttl                        time.Duration
	)
	cmd := &cobra.Command{
		Use:   "token --tenant SLUG [--ttl 1h]",
		Short: "Create a one-time join token for a new connector (shown once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, sc, func(ctx context.Context, st store.Store) error {
				t, err := tenantBySlug(ctx, st, slug)
				if err != nil {
					return err
				}
				if t.CanonicalHost == "" && domain == "" {
					return fmt.Errorf("tenant %s has no canonical host: give --platform-domain (%s)", t.Slug, envName("platform-domain"))
				}
				svc := &enroll.Service{Store: st}
				tok, err := svc.CreateToken(ctx, t.ID, "operator", ttl)
				if err != nil {
					return err
				}
				base := strings.TrimSuffix(tenants.LinkBuilder{PlatformDomain: domain, Scheme: scheme, Port: port}.URL(&t, "/"), "/")
				fmt.Fprintf(cmd.OutOrStdout(), "Join token for %s (one use, expires %s). It is shown only this once:\n\n  %s\n\n"+
					"On the connector's host, run this and paste the token (then Enter):\n\n  latchkey-connector enroll --url %s --token-file -\n\n"+
					"(or put it in a file only you can read and give --token-file <file>, or set LATCHKEY_JOIN_TOKEN;\n"+
					"avoid --token, which every local user can see in the process list)\n",
					t.Slug, tok.ExpiresAt.UTC().Format(time.RFC3339), tok.Token, base)
				return nil
			})
		},
	}
	sc.register(cmd.Flags(), "latchkey-data")
	cmd.Flags().StringVar(&slug, "tenant", "", "the tenant's slug")
	cmd.Flags().DurationVar(&ttl, "ttl", enroll.DefaultTTL, "how long the token stays valid (1m..24h)")
	cmd.Flags().StringVar(&domain, "platform-domain", "", "the platform's domain (only for a tenant without a canonical host)")
	cmd.Flags().StringVar(&scheme, "public-scheme", "https", "scheme of the enrollment URL printed (http for local testing)")
	cmd.Flags().StringVar(&port, "public-port", "", "port of the enrollment URL printed, when not the scheme's default")
	return cmd
}

func newConnectorListCmd() *cobra.Command {
	var (
		sc   storageConfig
		slug string
	)
	cmd := &cobra.Command{
		Use:   "list --tenant SLUG",
		Short: "List a tenant's connectors",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, sc, func(ctx context.Context, st store.Store) error {
				t, err := tenantBySlug(ctx, st, slug)
				if err != nil {
					return err
				}
				cs, err := (&enroll.Service{Store: st}).List(ctx, t.ID)
				if err != nil {
					return err
				}
				now := time.Now()
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tNAME\tDOMAINS\tVERSION\tCREATED\tLAST SEEN\tONLINE\tREVOKED")
				for _, c := range cs {
					online := "no"
					if enroll.Online(c, now) {
						online = "yes"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, orDash(strings.Join(c.Domains, ",")),
						orDash(c.AgentVersion), stamp(c.CreatedAt), stamp(c.LastSeenAt), online, stamp(c.RevokedAt))
				}
				return w.Flush()
			})
		},
	}
	sc.register(cmd.Flags(), "latchkey-data")
	cmd.Flags().StringVar(&slug, "tenant", "", "the tenant's slug")
	return cmd
}

func newConnectorRevokeCmd() *cobra.Command {
	var (
		sc   storageConfig
		slug string
	)
	cmd := &cobra.Command{
		Use:   "revoke --tenant SLUG CONNECTOR-ID",
		Short: "Revoke a connector for good: hubs cut its connection and refuse it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd, sc, func(ctx context.Context, st store.Store) error {
				t, err := tenantBySlug(ctx, st, slug)
				if err != nil {
					return err
				}
				c, err := (&enroll.Service{Store: st}).Revoke(ctx, t.ID, args[0], "operator")
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("tenant %s has no connector %q", t.Slug, args[0])
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "revoked connector %s (%s) of %s at %s; hubs close its connection within their --connector-recheck interval\n",
					c.ID, c.Name, t.Slug, stamp(c.RevokedAt))
				return nil
			})
		},
	}
	sc.register(cmd.Flags(), "latchkey-data")
	cmd.Flags().StringVar(&slug, "tenant", "", "the tenant's slug")
	return cmd
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
