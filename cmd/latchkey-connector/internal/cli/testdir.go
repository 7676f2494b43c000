package cli

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/spf13/cobra"

	"github.com/latchkey/latchkey/connector/directory"
)

// openDirectory builds the directory from its configuration (tests swap it).
var openDirectory = directory.New

type testDirOptions struct {
	Config, BindPasswordFile, User string
	Timeout                        time.Duration
}

func newTestDirectoryCmd() *cobra.Command {
	config, _, _ := defaultPaths()
	o := testDirOptions{}
	cmd := &cobra.Command{
		Use:   "test-directory",
		Short: "Check TLS, the service account, the RootDSE, a lookup and the delegated rights (read-only)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return testDirectory(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Config, "config", config, "the local configuration")
	f.StringVar(&o.BindPasswordFile, "bind-password-file", "", "read the service account's password from this file instead of directory.bind_password_file")
	f.StringVar(&o.User, "user", "", "a login to look up, read and check the delegated rights on (nothing is written)")
	f.DurationVar(&o.Timeout, "timeout", 10*time.Second, "timeout of each check")
	return cmd
}

type checker struct {
	out    io.Writer
	failed int
}

func (c *checker) ok(format string, args ...any) {
	fmt.Fprintf(c.out, "✓ %s\n", fmt.Sprintf(format, args...))
}
func (c *checker) fail(format string, args ...any) {
	c.failed++
	fmt.Fprintf(c.out, "✗ %s\n", fmt.Sprintf(format, args...))
}
func (c *checker) skip(format string, args ...any) {
	fmt.Fprintf(c.out, "- %s\n", fmt.Sprintf(format, args...))
}

// describe gives a directory error's code and detail (logs-grade text: this
// is the administrator's own terminal).
func describe(err error) string {
	if code, ok := directory.CodeOf(err); ok {
		return fmt.Sprintf("%s: %v", code, err)
	}
	return err.Error()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// testDirectory runs the checks; it only reads.
func testDirectory(ctx context.Context, o testDirOptions, out io.Writer) error {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	c := &checker{out: out}
	l, err := loadConfig(o.Config, o.BindPasswordFile)
	if err != nil {
		c.fail("configuration: %v", err)
		return errReported
	}
	c.ok("configuration %s", o.Config)
	for _, raw := range l.dcfg.URLs {
		cctx, cancel := context.WithTimeout(ctx, o.Timeout)
		msg, err := probeTLS(cctx, raw, l.dcfg.CAPEM, l.dcfg.CertSHA256)
		cancel()
		if err != nil {
			c.fail("TLS %s: %v", raw, err)
		} else {
			c.ok("TLS %s: %s", raw, msg)
		}
	}

	l.dcfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	l.dcfg.DialTimeout = o.Timeout
	dir, err := openDirectory(l.dcfg)
	if err != nil {
		c.fail("directory: %v", err)
		return errReported
	}
	defer dir.Close()
	step := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, o.Timeout) }

	cctx, cancel := step()
	err = dir.Ping(cctx)
	cancel()
	if err != nil {
		c.fail("bind as the service account %s: %s", l.dcfg.BindDN, describe(err))
		c.skip("RootDSE, lookup and rights skipped: no working connection")
		return errReported
	}
	c.ok("bind as the service account %s", l.dcfg.BindDN)

	cctx, cancel = step()
	info, err := dir.Info(cctx)
	cancel()
	if err != nil {
		c.fail("RootDSE: %s", describe(err))
	} else {
		hist := "history NOT enforced on reset (the DC does not advertise the policy-hints control: a reset may reuse an old password)"
		if info.PolicyHintsOID != "" {
			hist = "history enforced on reset (policy hints " + info.PolicyHintsOID + ")"
		}
		vendor := ""
		if info.Vendor != "" {
			vendor = ", " + info.Vendor
		}
		c.ok("RootDSE: naming context %s%s; %s", info.DefaultNamingContext, vendor, hist)
	}

	if o.User == "" {
		c.skip("lookup, status, policy and rights skipped: give --user <login> to check them on one user")
	} else {
		checkUser(ctx, c, dir, o.User, step)
	}
	if c.failed > 0 {
		fmt.Fprintf(out, "%d check(s) failed\n", c.failed)
		return errReported
	}
	return nil
}

func checkUser(ctx context.Context, c *checker, dir directory.Directory, login string, step func() (context.Context, context.CancelFunc)) {
	cctx, cancel := step()
	e, err := dir.Lookup(cctx, login)
	cancel()
	if err != nil {
		c.fail("lookup %s: %s", login, describe(err))
		return
	}
	admin := ""
	if e.AdminCount == 1 {
		admin = " (adminCount=1: protected, self-service refuses it unless protect_admins is off)"
	}
	c.ok("lookup %s: %s, GUID %s%s", login, e.DN, e.GUID, admin)

	cctx, cancel = step()
	st, err := dir.Status(cctx, e.GUID)
	cancel()
	if err != nil {
		c.fail("status of %s: %s", login, describe(err))
	} else {
		locked := yesNo(st.Locked)
		if st.Locked && !st.LockoutEnds.IsZero() {
			locked += " until " + st.LockoutEnds.Format(time.RFC3339)
		}
		c.ok("status of %s: locked %s, bad passwords %d, disabled %s, must change %s, password expired %s, account expired %s",
			login, locked, st.BadPwdCount, yesNo(st.Disabled), yesNo(st.MustChange), yesNo(st.Expired), yesNo(st.AccountExpired))
	}

	cctx, cancel = step()
	p, err := dir.Policy(cctx, e.GUID)
	cancel()
	if err != nil {
		c.fail("password policy of %s: %s", login, describe(err))
	} else {
		lockout := "no lockout"
		if p.LockoutThreshold > 0 {
			d := "until an administrator unlocks"
			if p.LockoutDuration > 0 {
				d = "for " + p.LockoutDuration.String()
			}
			lockout = fmt.Sprintf("lockout after %d bad passwords %s", p.LockoutThreshold, d)
		}
		maxAge := "never expires"
		if p.MaxAge > 0 {
			maxAge = "max age " + p.MaxAge.String()
		}
		c.ok("password policy of %s (%s): min length %d, complexity %s, history %d, min age %s, %s, %s",
			login, p.Source, p.MinLength, onOff(p.Complexity), p.HistoryLength, p.MinAge, maxAge, lockout)
	}

	rr, ok := dir.(directory.RightsReader)
	if !ok {
		c.skip("delegated rights: this directory type cannot report them")
		return
	}
	cctx, cancel = step()
	r, err := rr.EffectiveRights(cctx, e.GUID)
	cancel()
	switch {
	case err != nil:
		c.fail("delegated rights on %s: %s", login, describe(err))
	case !r.Known:
		c.skip("delegated rights on %s: the server does not report effective rights", login)
	default:
		pwd := "unicodePwd writable"
		if !r.WriteUnicodePwd {
			pwd = "unicodePwd not listed (normal with the Reset Password right, which AD does not list; only a real reset proves it)"
		}
		line := fmt.Sprintf("delegated rights on %s (dry run): lockoutTime writable %s (unlock), pwdLastSet writable %s (force change), %s",
			login, yesNo(r.WriteLockoutTime), yesNo(r.WritePwdLastSet), pwd)
		if r.WriteLockoutTime && r.WritePwdLastSet {
			c.ok("%s", line)
		} else {
			c.fail("%s — delegate the missing rights to the service account (docs/connector.md)", line)
		}
	}
}

// probeTLS connects to one directory URL (LDAPS, or LDAP + StartTLS) and
// checks its certificate as the directory layer will: against the CA (or
// the system roots) and/or the pin. It always reports the presented
// certificate's SHA-256 so it can be pinned. Nothing but StartTLS is sent.
func probeTLS(ctx context.Context, raw string, caPEM []byte, pin string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "ldaps" && u.Scheme != "ldap") || u.Hostname() == "" {
		return "", fmt.Errorf("not an ldaps:// or ldap:// URL")
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"ldaps": "636", "ldap": "389"}[u.Scheme]
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return "", fmt.Errorf("cannot connect: %v", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	mode := "LDAPS"
	if u.Scheme == "ldap" {
		mode = "StartTLS"
		if err := startTLS(conn); err != nil {
			return "", err
		}
	}
	var roots *x509.CertPool
	trust := "system CA roots"
	if len(caPEM) > 0 {
		roots = x509.NewCertPool()
		roots.AppendCertsFromPEM(caPEM)
		trust = "the CA file"
	}
	var wantPin []byte
	if pin != "" {
		wantPin, err = hex.DecodeString(strings.NewReplacer(":", "", " ", "").Replace(pin))
		if err != nil || len(wantPin) != sha256.Size {
			return "", fmt.Errorf("cert_sha256 is not a SHA-256")
		}
	}
	tc := tls.Client(conn, &tls.Config{ServerName: u.Hostname(), RootCAs: roots, MinVersion: tls.VersionTLS12})
	herr := tc.HandshakeContext(ctx)
	var leaf *x509.Certificate
	var verr *tls.CertificateVerificationError
	switch {
	case herr == nil:
		leaf = tc.ConnectionState().PeerCertificates[0]
	case errors.As(herr, &verr) && len(verr.UnverifiedCertificates) > 0:
		leaf = verr.UnverifiedCertificates[0]
	default:
		return "", fmt.Errorf("%s handshake failed: %v", mode, herr)
	}
	sum := sha256.Sum256(leaf.Raw)
	fp := hex.EncodeToString(sum[:])
	pinOK := wantPin != nil && subtle.ConstantTimeCompare(sum[:], wantPin) == 1
	switch {
	case wantPin != nil && !pinOK:
		return "", fmt.Errorf("%s: the presented certificate (SHA-256 %s, subject %q) does not match cert_sha256", mode, fp, leaf.Subject.String())
	case wantPin != nil && len(caPEM) == 0:
		return fmt.Sprintf("%s, certificate matches the pin (SHA-256 %s, subject %q)", mode, fp, leaf.Subject.String()), nil
	case herr != nil:
		return "", fmt.Errorf("%s: certificate not trusted by %s (%v); presented certificate SHA-256 %s, subject %q: set directory.ca_file to the CA that signed it, or cert_sha256 to this SHA-256 to pin it",
			mode, trust, verr.Err, fp, leaf.Subject.String())
	}
	extra := ""
	if pinOK {
		extra = " and the pin"
	}
	return fmt.Sprintf("%s, certificate verified with %s%s (SHA-256 %s, subject %q)", mode, trust, extra, fp, leaf.Subject.String()), nil
}

// startTLS sends the StartTLS extended request (RFC 4511 4.14) and reads the
// answer.
func startTLS(conn net.Conn) error {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Request")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 1, "MessageID"))
	req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 23, nil, "Extended Request")
	req.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, "1.3.6.1.4.1.1466.20037", "StartTLS"))
	p.AppendChild(req)
	if _, err := conn.Write(p.Bytes()); err != nil {
		return fmt.Errorf("StartTLS: %v", err)
	}
	resp, err := ber.ReadPacket(conn)
	if err != nil {
		return fmt.Errorf("StartTLS: no answer: %v", err)
	}
	if len(resp.Children) < 2 || len(resp.Children[1].Children) < 3 {
		return errors.New("StartTLS: malformed answer")
	}
	res := resp.Children[1]
	code, _ := res.Children[0].Value.(int64)
	if code != 0 {
		msg, _ := res.Children[2].Value.(string)
		return fmt.Errorf("StartTLS refused by the server: result %d %s", code, msg)
	}
	return nil
}
