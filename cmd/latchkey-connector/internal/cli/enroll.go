package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/connector/agent"
	"github.com/latchkey/latchkey/connector/protocol"
)

// enrollTimeout bounds the whole enrollment request.
const enrollTimeout = 30 * time.Second

type enrollOptions struct {
	URL, Token, TokenFile, Name, Identity, CAFile, Version string
	Domains                                                []string
	Force                                                  bool
	Stdin                                                  io.Reader // for --token-file -
}

// tokenEnv is the environment variable enroll reads the join token from when
// neither --token-file nor --token is given.
const tokenEnv = "LATCHKEY_JOIN_TOKEN"

// joinToken reads the token from --token-file (a path, or - for standard
// input), --token, or $LATCHKEY_JOIN_TOKEN. --token works but puts the token
// where every local user can read it (the process list, shell history).
func (o enrollOptions) joinToken() (string, error) {
	var tok string
	switch {
	case o.TokenFile != "" && o.Token != "":
		return "", errors.New("give the join token once: --token-file or --token, not both")
	case o.TokenFile == "-":
		line, err := bufio.NewReader(io.LimitReader(o.Stdin, 1024)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the join token from standard input: %w", err)
		}
		tok = line
	case o.TokenFile != "":
		b, err := os.ReadFile(o.TokenFile)
		if err != nil {
			return "", fmt.Errorf("--token-file: %w", err)
		}
		tok = string(b)
	case o.Token != "":
		tok = o.Token
	default:
		tok = os.Getenv(tokenEnv)
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", fmt.Errorf("no join token: paste it on standard input with --token-file -, or set $%s (copy it from the admin console)", tokenEnv)
	}
	return tok, nil
}

func newEnrollCmd(version string) *cobra.Command {
	_, identity, _ := defaultPaths()
	o := enrollOptions{Version: version}
	cmd := &cobra.Command{
		Use:   "enroll --url <tenant URL> --token-file -   (then paste the join token)",
		Short: "Enroll this host as a connector of a tenant, with a one-time join token",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Name == "" {
				h, err := os.Hostname()
				if err != nil {
					return fmt.Errorf("--name is required (no host name: %v)", err)
				}
				o.Name = h
			}
			o.Stdin = cmd.InOrStdin()
			return enroll(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.URL, "url", "", "the tenant's URL, e.g. https://passwords.acme.com (required)")
	f.StringVar(&o.TokenFile, "token-file", "", "read the one-time join token from this file, or from standard input with -")
	f.StringVar(&o.Token, "token", "", "the join token itself (avoid: other local users can see it in the process list; default $"+tokenEnv+")")
	f.StringVar(&o.Name, "name", "", "the name shown in the admin console (default: this host's name)")
	f.StringVar(&o.Identity, "identity", identity, "where to save the identity (private keys)")
	f.StringSliceVar(&o.Domains, "domain", nil, "directory domain this connector serves (repeatable), e.g. acme.local")
	f.StringVar(&o.CAFile, "ca-file", "", "PEM CA certificate(s) to trust for the control plane (a private CA)")
	f.BoolVar(&o.Force, "force", false, "replace an existing identity (the old connector should be revoked)")
	cmd.MarkFlagRequired("url")
	return cmd
}

// loopbackHost reports whether host may be reached over plain HTTP (the
// demo): localhost, *.localhost and loopback addresses.
func loopbackHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// dialLocalhostAsLoopback makes localhost and *.localhost reach 127.0.0.1, as
// RFC 6761 (6.3) lets every resolver do and browsers do, while Go's resolver
// asks DNS for *.localhost and fails: `latchkey demo` serves its tenants on
// acme.localhost and globex.localhost. Every other name is dialled as given.
func dialLocalhostAsLoopback(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil {
			h := strings.ToLower(strings.TrimSuffix(host, "."))
			if h == "localhost" || strings.HasSuffix(h, ".localhost") {
				addr = net.JoinHostPort("127.0.0.1", port)
			}
		}
		return dial(ctx, network, addr)
	}
}

// enrollURL checks the tenant URL and returns the enrollment endpoint.
func enrollURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("--url %q is not a URL like https://passwords.acme.com", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("--url must be the tenant's address only (no user, query or fragment)")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopbackHost(u.Hostname()) {
			return nil, fmt.Errorf("--url must use https:// (plain http:// is accepted only for localhost, *.localhost and 127.0.0.1)")
		}
	default:
		return nil, fmt.Errorf("--url must use https://, not %q", u.Scheme)
	}
	u.Path = strings.TrimRight(u.Path, "/") + protocol.EnrollPath
	u.RawPath = ""
	return u, nil
}

// httpClient is an HTTP client that trusts the system roots plus caFile and
// never follows redirects (the token must go only where the admin said).
func httpClient(caFile string, timeout time.Duration) (*http.Client, error) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pool, err := caPool(caFile)
		if err != nil {
			return nil, err
		}
		tlsConf.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConf
	tr.Proxy = http.ProxyFromEnvironment
	tr.DialContext = dialLocalhostAsLoopback(tr.DialContext)
	return &http.Client{Timeout: timeout, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, nil
}

// hubCAPin does a TLS handshake with the hub (trusting the system roots plus
// caFile) and returns the pin of the root its verified chain ends in.
func hubCAPin(ctx context.Context, hub *url.URL, caFile string) (string, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: hub.Hostname()}
	if caFile != "" {
		pool, err := caPool(caFile)
		if err != nil {
			return "", err
		}
		conf.RootCAs = pool
	}
	addr := hub.Host
	if hub.Port() == "" {
		addr = net.JoinHostPort(hub.Hostname(), "443")
	}
	d := tls.Dialer{Config: conf, NetDialer: &net.Dialer{Timeout: 15 * time.Second}}
	dial := dialLocalhostAsLoopback(d.DialContext)
	c, err := dial(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	cs := c.(*tls.Conn).ConnectionState()
	if len(cs.VerifiedChains) == 0 {
		return "", errors.New("no verified certificate chain")
	}
	return agent.CAPin(cs.VerifiedChains[0]), nil
}

// caPool is the system roots plus the PEM certificates in caFile (--ca-file).
func caPool(caFile string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--ca-file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca-file %s: no PEM certificate found", caFile)
	}
	return pool, nil
}

// Fingerprint is how a command key is shown to be compared: the lowercase hex
// SHA-256 of its 32 raw bytes.
func Fingerprint(key ed25519.PublicKey) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:])
}

func enroll(ctx context.Context, o enrollOptions, out io.Writer) error {
	endpoint, err := enrollURL(o.URL)
	if err != nil {
		return err
	}
	token, err := o.joinToken()
	if err != nil {
		return err
	}
	if o.Identity == "" {
		return errors.New("--identity is empty")
	}
	// Refuse before the token is used up: the old identity would be lost.
	if _, err := os.Stat(o.Identity); err == nil && !o.Force {
		return fmt.Errorf("%s already holds an identity: this host is enrolled. Keep it, or use --force to replace it (and revoke the old connector in the admin console)", o.Identity)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("identity %s: %w", o.Identity, err)
	}
	client, err := httpClient(o.CAFile, enrollTimeout)
	if err != nil {
		return err
	}
	sign, sealPriv, sealPub, err := agent.NewKeys()
	if err != nil {
		return err
	}
	req := protocol.EnrollRequest{Token: token, Name: strings.TrimSpace(o.Name),
		SignKey: sign.Public().(ed25519.PublicKey), SealKey: sealPub, AgentVersion: o.Version, Domains: o.Domains}
	if err := req.Validate(); err != nil {
		return fmt.Errorf("enrollment request: %w", err)
	}
	body, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(ctx, enrollTimeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", "latchkey-connector/"+o.Version)
	resp, err := client.Do(hreq)
	if err != nil {
		return networkError(endpoint, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return networkError(endpoint, err)
	}
	var er protocol.EnrollResponse
	switch resp.StatusCode {
	case http.StatusCreated:
		if err := json.Unmarshal(raw, &er); err != nil {
			return fmt.Errorf("the control plane at %s answered 201 with an unreadable body: %v", endpoint.Host, err)
		}
		if err := er.Validate(); err != nil {
			return fmt.Errorf("the control plane's answer is not usable: %w", err)
		}
	case http.StatusUnauthorized:
		return errors.New("the join token was refused: it is invalid, already used or expired. Ask the tenant's admin for a new one")
	case http.StatusBadRequest:
		var e struct{ Error, Message string }
		json.Unmarshal(raw, &e)
		if e.Message == "" {
			e.Message = e.Error
		}
		return fmt.Errorf("the control plane refused the enrollment request: %q", e.Message)
	default:
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			return fmt.Errorf("%s answered %s, redirecting to %q: give that address as --url", endpoint.Host, resp.Status, resp.Header.Get("Location"))
		}
		if resp.StatusCode == http.StatusNotFound {
			return fmt.Errorf("%s answered 404: is --url the tenant's address (e.g. https://passwords.acme.com)?", endpoint.Host)
		}
		return fmt.Errorf("%s answered %s: enrollment failed, try again later", endpoint.Host, resp.Status)
	}
	hub, err := url.Parse(er.HubURL)
	if err != nil || hub.Host == "" {
		return fmt.Errorf("the control plane's answer is not usable: hub_url %q", er.HubURL)
	}
	if hub.Scheme == "ws" && !(endpoint.Scheme == "http" && loopbackHost(hub.Hostname())) {
		return fmt.Errorf("the control plane gave an unencrypted hub URL (%s): refusing outside a localhost demo", er.HubURL)
	}
	id := agent.Identity{HubURL: er.HubURL, TenantID: er.TenantID, ConnectorID: er.ConnectorID,
		SignKey: sign, SealKey: sealPriv, CommandKey: ed25519.PublicKey(er.CommandKey)}
	if err := id.Validate(); err != nil {
		return fmt.Errorf("the control plane's answer is not usable: %w", err)
	}
	if hub.Scheme == "wss" {
		// Pin the CA the hub's certificate chains to now (R53): from then on
		// run accepts only a hub whose chain ends there.
		if id.HubCAPin, err = hubCAPin(ctx, hub, o.CAFile); err != nil {
			return fmt.Errorf("enrolled as connector %s, but its hub %s could not be reached to pin its CA (%v): revoke that connector in the admin console and enroll again with a new token", er.ConnectorID, hub.Host, err)
		}
	}
	if err := savePrivate(o.Identity, id); err != nil {
		return fmt.Errorf("enrolled as connector %s, but the identity could not be saved (%v): revoke that connector in the admin console and enroll again with a new token", er.ConnectorID, err)
	}
	fmt.Fprintf(out, "Enrolled connector %s for tenant %s.\n", er.ConnectorID, er.TenantID)
	fmt.Fprintf(out, "Hub: %s\n", er.HubURL)
	fmt.Fprintf(out, "Pinned command key, SHA-256: %s\n", Fingerprint(id.CommandKey))
	fmt.Fprintf(out, "  (compare it with the fingerprint the admin console shows)\n")
	fmt.Fprintf(out, "Identity saved to %s (readable only by its owner).\n", o.Identity)
	return nil
}

// savePrivate saves the identity with agent.SavePrivate; a directory it has
// to create, and the file, are restricted to their owner (Windows: SYSTEM and
// Administrators).
func savePrivate(path string, id agent.Identity) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// Before writing, also when the directory exists already: on Windows a
	// file inherits its directory's ACL (%ProgramData% lets Users read), so
	// the key must never be written under an unprotected one. (No-op on Unix,
	// where the file's 0600 is what counts.)
	if err := protectPrivate(dir, true); err != nil {
		return err
	}
	if err := agent.SavePrivate(path, id); err != nil {
		return err
	}
	if err := protectPrivate(path, false); err != nil {
		os.Remove(path) // never leave private keys behind with the wrong access
		return err
	}
	return nil
}

// networkError explains a failure to talk to the control plane.
func networkError(u *url.URL, err error) error {
	var uerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	var cerr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &uerr), errors.As(err, &cerr) && errors.As(cerr.Err, &uerr):
		return fmt.Errorf("cannot enroll with %s: its certificate is not signed by a trusted CA (use --ca-file for a private CA): %v", u.Host, err)
	case errors.As(err, &herr):
		return fmt.Errorf("cannot enroll with %s: its certificate is for another name: %v", u.Host, err)
	case errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err):
		return fmt.Errorf("cannot enroll with %s: no answer within %s (firewall or proxy? the connector needs outbound HTTPS)", u.Host, enrollTimeout)
	}
	return fmt.Errorf("cannot reach %s: %v", u.Host, err)
}
