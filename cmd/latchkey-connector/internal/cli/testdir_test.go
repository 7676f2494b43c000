package cli

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"

	"github.com/latchkey/latchkey/connector/directory"
	"github.com/latchkey/latchkey/connector/directory/demodir"
)

// tlsDC is a TLS listener with httptest's certificate (for 127.0.0.1): the
// probe only does the handshake, so an HTTPS server stands in for LDAPS.
func tlsDC(t *testing.T) (addr string, caPEM []byte, sha string, cert tls.Certificate) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	sum := sha256.Sum256(srv.Certificate().Raw)
	return strings.TrimPrefix(srv.URL, "https://"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}),
		hex.EncodeToString(sum[:]), srv.TLS.Certificates[0]
}

// startTLSDC answers one StartTLS request per connection, then TLS.
func startTLSDC(t *testing.T, cert tls.Certificate, refuse bool) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := ber.ReadPacket(c)
				if err != nil {
					return
				}
				code := int64(0)
				if refuse {
					code = 2 // protocolError
				}
				p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Response")
				p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, req.Children[0].Value, "MessageID"))
				r := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 24, nil, "Extended Response")
				r.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, code, "resultCode"))
				r.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "matchedDN"))
				r.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "diagnosticMessage"))
				p.AppendChild(r)
				c.Write(p.Bytes())
				if !refuse {
					tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}}).Handshake()
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func useDemoDirectory(t *testing.T, opt demodir.Options) {
	old := openDirectory
	openDirectory = func(cfg directory.Config) (directory.Directory, error) {
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		return demodir.New(opt)
	}
	t.Cleanup(func() { openDirectory = old })
}

func dirConfig(t *testing.T, urls []string, caPEM []byte, pin string) string {
	dir := t.TempDir()
	extra := ""
	if caPEM != nil {
		ca := filepath.Join(dir, "dc-ca.pem")
		os.WriteFile(ca, caPEM, 0o644)
		extra += `, "ca_file": "` + ca + `"`
	}
	if pin != "" {
		extra += `, "cert_sha256": "` + pin + `"`
	}
	cfg := strings.Replace(goodConfig, `"urls": ["ldaps://127.0.0.1:1"]`, `"urls": ["`+strings.Join(urls, `","`)+`"]`+extra, 1)
	return writeConfig(t, dir, cfg)
}

func TestTestDirectoryAllGood(t *testing.T) {
	useDemoDirectory(t, demodir.Options{Tenant: "acme"})
	addr, ca, sha, cert := tlsDC(t)
	st := startTLSDC(t, cert, false)
	cfg := dirConfig(t, []string{"ldaps://" + addr, "ldap://" + st}, ca, "")
	out, errOut, code := cli(t, "test-directory", "--config", cfg, "--user", "alice")
	if code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"✓ TLS ldaps://" + addr + ": LDAPS, certificate verified with the CA file (SHA-256 " + sha,
		"✓ TLS ldap://" + st + ": StartTLS, certificate verified with the CA file (SHA-256 " + sha,
		"✓ bind as the service account CN=svc-latchkey",
		"✓ RootDSE: naming context DC=acme,DC=local", "history enforced on reset",
		"✓ lookup alice: CN=Alice Martin,OU=Staff,DC=acme,DC=local",
		"✓ status of alice: locked no, bad passwords 0, disabled no, must change no",
		"✓ password policy of alice (domain): min length 8, complexity on, history 5",
		"lockout after 5 bad passwords for 15m0s",
		"✓ delegated rights on alice (dry run): lockoutTime writable yes (unlock), pwdLastSet writable yes",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "✗") || strings.Contains(out, "s3cret") {
		t.Fatalf("output:\n%s", out)
	}
}

func TestTestDirectoryFailures(t *testing.T) {
	useDemoDirectory(t, demodir.Options{Tenant: "acme", NoPolicyHints: true})
	addr, ca, sha, cert := tlsDC(t)

	// No CA, no pin: the DC's certificate is not trusted; its SHA-256 is shown to pin it.
	out, _, code := cli(t, "test-directory", "--config", dirConfig(t, []string{"ldaps://" + addr}, nil, ""))
	if code != 1 || !strings.Contains(out, "✗ TLS ldaps://"+addr+": LDAPS: certificate not trusted by system CA roots") ||
		!strings.Contains(out, "SHA-256 "+sha) || !strings.Contains(out, "cert_sha256") {
		t.Fatalf("untrusted: %d\n%s", code, out)
	}
	if !strings.Contains(out, "history NOT enforced on reset") || !strings.Contains(out, "1 check(s) failed") {
		t.Fatalf("RootDSE without policy hints / summary:\n%s", out)
	}

	// The pin alone is enough; a wrong pin is refused.
	out, _, code = cli(t, "test-directory", "--config", dirConfig(t, []string{"ldaps://" + addr}, nil, sha))
	if code != 0 || !strings.Contains(out, "✓ TLS ldaps://"+addr+": LDAPS, certificate matches the pin") {
		t.Fatalf("pinned: %d\n%s", code, out)
	}
	wrong := strings.Repeat("ab", 32)
	out, _, code = cli(t, "test-directory", "--config", dirConfig(t, []string{"ldaps://" + addr}, ca, wrong))
	if code != 1 || !strings.Contains(out, "presented certificate (SHA-256 "+sha) || !strings.Contains(out, "does not match cert_sha256") {
		t.Fatalf("wrong pin: %d\n%s", code, out)
	}

	// StartTLS refused, nothing listening, unknown user.
	st := startTLSDC(t, cert, true)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	out, _, code = cli(t, "test-directory", "--config", dirConfig(t, []string{"ldap://" + st, "ldaps://" + closed}, ca, ""), "--user", "nobody")
	for _, want := range []string{"✗ TLS ldap://" + st + ": StartTLS refused by the server: result 2", "✗ TLS ldaps://" + closed + ": cannot connect",
		"✗ lookup nobody: NotFound", "3 check(s) failed"} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// A configuration error is one failed check.
	out, _, code = cli(t, "test-directory", "--config", filepath.Join(t.TempDir(), "none.json"))
	if code != 1 || !strings.Contains(out, "✗ configuration:") {
		t.Fatalf("no config: %s", out)
	}
}
