package mobileclient

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
)

// GenerateKey makes the device's P-256 key pair. The standard library draws
// the key from the system's secure random source.
func GenerateKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), nil)
	if err != nil {
		return nil, fmt.Errorf("generate the device key: %w", err)
	}
	return k, nil
}

// NewKeyID returns a fresh key id: "cli-" and 16 hex digits from r. Key ids
// stay within [A-Za-z0-9._:-], which every server accepts.
func NewKeyID(r io.Reader) (string, error) {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("key id: %w", err)
	}
	return "cli-" + hex.EncodeToString(b[:]), nil
}

// EncodePublicKey returns what enrollment sends as public_key: base64url
// (no padding) of the PKIX DER encoding.
func EncodePublicKey(pub *ecdsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encode the public key: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(der), nil
}

// MarshalPrivateKeyPEM returns k as a PKCS#8 "PRIVATE KEY" PEM block.
func MarshalPrivateKeyPEM(k *ecdsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", fmt.Errorf("encode the private key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}

// ParsePrivateKeyPEM reads a PKCS#8 PEM P-256 private key.
func ParsePrivateKeyPEM(s string) (*ecdsa.PrivateKey, error) {
	b, rest := pem.Decode([]byte(s))
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, errors.New("private key: not a PKCS#8 PEM block (PRIVATE KEY)")
	}
	if len(rest) != 0 && len(trimSpace(rest)) != 0 {
		return nil, errors.New("private key: data after the PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("private key: not a P-256 key")
	}
	return ec, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == '\n' || b[0] == '\r' || b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}
