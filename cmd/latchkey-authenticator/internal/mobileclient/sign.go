package mobileclient

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// The request-signing headers (docs/mobile-api.md section 2).
const (
	HeaderDevice    = "X-Latchkey-Device"
	HeaderTimestamp = "X-Latchkey-Timestamp"
	HeaderNonce     = "X-Latchkey-Nonce"
	HeaderSignature = "X-Latchkey-Signature"
)

// SignatureVersion is the first line of every signed string.
const SignatureVersion = "latchkey-mobile-v1"

// TimestampFormat is the form of X-Latchkey-Timestamp: RFC 3339 UTC with
// whole seconds.
const TimestampFormat = "2006-01-02T15:04:05Z"

// nonceLen is how many random bytes a nonce has (the API accepts 16–64).
const nonceLen = 16

// SigningString returns the string a device signs for one request: the
// version, method, path with query as sent, lower-case hex SHA-256 of the
// body (of the empty string when there is none), timestamp and nonce, joined
// by "\n" with no trailing newline.
func SigningString(method, pathAndQuery string, body []byte, timestamp, nonce string) string {
	sum := sha256.Sum256(body)
	return strings.Join([]string{
		SignatureVersion,
		method,
		pathAndQuery,
		hex.EncodeToString(sum[:]),
		timestamp,
		nonce,
	}, "\n")
}

// SignString returns base64url (no padding) of the ES256 ASN.1 DER signature
// over s. A nil rand makes the deterministic signature of RFC 6979 (for
// golden vectors); otherwise the signature is randomised.
func SignString(k *ecdsa.PrivateKey, rand io.Reader, s string) (string, error) {
	digest := sha256.Sum256([]byte(s))
	sig, err := k.Sign(rand, digest[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("sign the request: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sig), nil
}

// VerifyString reports whether sig (base64url) is k's signature over s. It is
// the server's side of SignString, for tests and the fake server.
func VerifyString(pub *ecdsa.PublicKey, s, sig string) bool {
	der, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil {
		return false
	}
	digest := sha256.Sum256([]byte(s))
	return ecdsa.VerifyASN1(pub, digest[:], der)
}

// Signer signs requests as one device.
type Signer struct {
	DeviceID string
	Key      *ecdsa.PrivateKey
	// Rand is the source of nonces (and of the signatures' randomness when
	// the runtime honours it); required.
	Rand io.Reader
	// Now is the clock; required.
	Now func() time.Time
}

// SignRequest adds the four signing headers to req, whose body is body.
// req.URL must be the URL as it will be sent.
func (s Signer) SignRequest(req *http.Request, body []byte) error {
	var n [nonceLen]byte
	if _, err := io.ReadFull(s.Rand, n[:]); err != nil {
		return fmt.Errorf("nonce: %w", err)
	}
	nonce := base64.RawURLEncoding.EncodeToString(n[:])
	ts := s.Now().UTC().Format(TimestampFormat)
	sig, err := SignString(s.Key, s.Rand, SigningString(req.Method, req.URL.RequestURI(), body, ts, nonce))
	if err != nil {
		return err
	}
	req.Header.Set(HeaderDevice, s.DeviceID)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderNonce, nonce)
	req.Header.Set(HeaderSignature, sig)
	return nil
}
