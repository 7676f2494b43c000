package mobileapi

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/latchkey/latchkey/push/challenge"
)

// The headers of a signed request (docs/mobile-api.md section 2).
const (
	HeaderDevice    = "X-Latchkey-Device"
	HeaderTimestamp = "X-Latchkey-Timestamp"
	HeaderNonce     = "X-Latchkey-Nonce"
	HeaderSignature = "X-Latchkey-Signature"
)

// SignatureContext is the first line of every signed string.
const SignatureContext = "latchkey-mobile-v1"

// RequestSkew is how far a request's timestamp may be from the server's
// clock, either way (R34).
const RequestSkew = 60 * time.Second

// Bounds on the headers.
const (
	minNonceBytes = 16
	maxNonceBytes = 64
	maxSigBytes   = 80 // an ES256 DER signature is at most 72 bytes
	maxDeviceID   = 64
)

// ErrBadAuth is what ParseAuth's errors wrap: a missing or malformed
// signing header.
var ErrBadAuth = errors.New("bad request signature headers")

// Auth is the parsed signing headers of a request.
type Auth struct {
	DeviceID  string
	Timestamp time.Time
	// TS and Nonce are the header values as sent (they are signed as is).
	TS        string
	Nonce     string
	Signature []byte
}

var b64 = base64.RawURLEncoding.Strict()

// ParseAuth checks the four signing headers' form: a device id of 1–64
// characters [A-Za-z0-9-], an RFC 3339 UTC timestamp with whole seconds,
// a nonce of 16–64 bytes and a signature of at most 80 bytes, both
// base64url without padding. It does not verify anything.
func ParseAuth(device, ts, nonce, sig string) (Auth, error) {
	if device == "" || len(device) > maxDeviceID || strings.ContainsFunc(device, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-')
	}) {
		return Auth{}, fmt.Errorf("%w: %s", ErrBadAuth, HeaderDevice)
	}
	t, err := time.Parse(challenge.TimestampFormat, ts)
	if err != nil || t.Format(challenge.TimestampFormat) != ts {
		return Auth{}, fmt.Errorf("%w: %s is not RFC 3339 UTC with seconds", ErrBadAuth, HeaderTimestamp)
	}
	if len(nonce) > b64.EncodedLen(maxNonceBytes) {
		return Auth{}, fmt.Errorf("%w: %s too long", ErrBadAuth, HeaderNonce)
	}
	n, err := b64.DecodeString(nonce)
	if err != nil || len(n) < minNonceBytes || len(n) > maxNonceBytes {
		return Auth{}, fmt.Errorf("%w: %s is not 16–64 bytes of base64url", ErrBadAuth, HeaderNonce)
	}
	if len(sig) > b64.EncodedLen(maxSigBytes) {
		return Auth{}, fmt.Errorf("%w: %s too long", ErrBadAuth, HeaderSignature)
	}
	s, err := b64.DecodeString(sig)
	if err != nil || len(s) == 0 {
		return Auth{}, fmt.Errorf("%w: %s is not base64url", ErrBadAuth, HeaderSignature)
	}
	return Auth{DeviceID: device, Timestamp: t, TS: ts, Nonce: nonce, Signature: s}, nil
}

// SignedString returns the bytes a device signs for a request: the lines
// latchkey-mobile-v1, the method, the path with query as sent, the hex
// SHA-256 of the body, the timestamp and the nonce, joined by "\n".
func SignedString(method, pathQuery string, body []byte, ts, nonce string) []byte {
	sum := sha256.Sum256(body)
	return []byte(strings.Join([]string{SignatureContext, method, pathQuery, hex.EncodeToString(sum[:]), ts, nonce}, "\n"))
}

// Verify reports whether a's signature over the request verifies with pub.
func (a Auth) Verify(pub *ecdsa.PublicKey, method, pathQuery string, body []byte) bool {
	if pub == nil {
		return false
	}
	digest := sha256.Sum256(SignedString(method, pathQuery, body, a.TS, a.Nonce))
	return ecdsa.VerifyASN1(pub, digest[:], a.Signature)
}

// Fresh reports whether a's timestamp is within RequestSkew of now.
func (a Auth) Fresh(now time.Time) bool {
	d := now.Sub(a.Timestamp)
	return d <= RequestSkew && d >= -RequestSkew
}

// SignRequest returns the four signing headers for a request, for the
// reference authenticator and tests: a fresh 32-byte nonce from r (nil:
// crypto/rand) and the signature with the device's private key.
func SignRequest(priv *ecdsa.PrivateKey, deviceID, method, pathQuery string, body []byte, now time.Time, r io.Reader) (map[string]string, error) {
	if r == nil {
		r = rand.Reader
	}
	var n [32]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, fmt.Errorf("sign request: nonce: %w", err)
	}
	ts, nonce := now.UTC().Format(challenge.TimestampFormat), b64.EncodeToString(n[:])
	digest := sha256.Sum256(SignedString(method, pathQuery, body, ts, nonce))
	sig, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
	if err != nil {
		return nil, fmt.Errorf("sign request: %w", err)
	}
	return map[string]string{HeaderDevice: deviceID, HeaderTimestamp: ts, HeaderNonce: nonce, HeaderSignature: b64.EncodeToString(sig)}, nil
}
