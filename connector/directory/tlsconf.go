package directory

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// errPinMismatch: the DC presented a certificate other than the pinned one.
var errPinMismatch = errors.New("server certificate does not match the configured SHA-256 pin")

// tlsConfig builds the client TLS configuration for one server name (R43).
//
//   - CA mode (CAPEM, or the system roots when neither CAPEM nor a pin is
//     set): Go's full chain and host name verification.
//   - Pin mode (CertSHA256): the leaf's SHA-256 must match; when CAPEM is
//     also given the chain and host name must verify against it too.
//
// Pin mode has to switch off crypto/tls's built-in chain check (it runs
// before any callback and would reject a self-signed DC certificate), and
// does its own verification in VerifyConnection, which runs on every
// handshake including resumed ones. No configuration disables verification.
func (c Config) tlsConfig(serverName string) (*tls.Config, error) {
	if c.TLSServerName != "" {
		serverName = c.TLSServerName
	}
	var roots *x509.CertPool
	if len(c.CAPEM) > 0 {
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(c.CAPEM) {
			return nil, errors.New("tls config: CAPEM has no PEM certificate")
		}
	}
	conf := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: serverName,
		RootCAs:    roots,
	}
	if c.CertSHA256 == "" {
		return conf, nil
	}
	pin, err := parsePin(c.CertSHA256)
	if err != nil {
		return nil, fmt.Errorf("tls config: CertSHA256: %w", err)
	}
	conf.InsecureSkipVerify = true // replaced by verifyPinned below; see the doc comment
	conf.VerifyConnection = func(cs tls.ConnectionState) error {
		return verifyPinned(cs, pin, roots, serverName)
	}
	return conf, nil
}

// verifyPinned checks the leaf against the pin and, with roots, the chain and
// host name as crypto/tls would.
func verifyPinned(cs tls.ConnectionState, pin []byte, roots *x509.CertPool, serverName string) error {
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("verify server certificate: %w (no certificate)", errPinMismatch)
	}
	leaf := cs.PeerCertificates[0]
	sum := sha256.Sum256(leaf.Raw)
	if subtle.ConstantTimeCompare(sum[:], pin) != 1 {
		return fmt.Errorf("verify server certificate: %w (got %x)", errPinMismatch, sum)
	}
	if roots == nil {
		return nil
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: serverName}); err != nil {
		return fmt.Errorf("verify server certificate: %w", err)
	}
	return nil
}
