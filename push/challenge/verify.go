package challenge

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/tenants"
)

// TimestampSkew is how far a response's ts may be from the server's clock,
// either way (security.md R34).
const TimestampSkew = 60 * time.Second

// Device is the registered record of an authenticator, as the caller loaded
// it: whose it is and the public half of the key it made at enrollment.
type Device struct {
	Tenant    tenants.ID
	UserID    string
	DeviceID  string
	KeyID     string
	PublicKey *ecdsa.PublicKey // P-256
	// PushToken is the FCM registration token (used by the sender only).
	PushToken string
}

var (
	// ErrWrongDevice: the device or key is not the one this challenge was
	// sent to (another device, user or tenant, or another key id).
	ErrWrongDevice = errors.New("push response from a device or key not bound to the challenge")
	// ErrBadSignature: the signature does not verify under the device's key.
	ErrBadSignature = errors.New("push response signature does not verify")
	// ErrWrongChallenge: the signed cid is another challenge's.
	ErrWrongChallenge = errors.New("push response is for another challenge")
	// ErrStaleTimestamp: the signed ts is more than TimestampSkew off.
	ErrStaleTimestamp = errors.New("push response timestamp outside the accepted window")
	// ErrExpired: the challenge can no longer be answered.
	ErrExpired = errors.New("push challenge expired")
	// ErrAlreadyAnswered: the challenge was answered before (one answer only).
	ErrAlreadyAnswered = errors.New("push challenge already answered")
	// ErrWrongNumber: an approval with a wrong or missing number. The
	// challenge ends denied.
	ErrWrongNumber = errors.New("push approval with a wrong or missing number")
)

// Verdict is the transition a verified answer asks for.
type Verdict struct {
	To       State
	Reason   Reason
	Response Response
}

// Verify checks a device's answer to c at now, in the order the package
// comment lists, and returns the transition it calls for. An error other
// than ErrExpired or ErrWrongNumber means the answer is refused and c stays
// as it is. ErrExpired comes with Verdict{To: StateExpired} and
// ErrWrongNumber with Verdict{To: StateDenied}: the caller records those
// transitions too, and still refuses the answer.
//
// Verify reads c.State but does not change anything; the single winning
// answer is decided by Store.Answer.
func Verify(c *Challenge, dev Device, a SignedAnswer, now time.Time) (Verdict, error) {
	// 1. Form: strict decoding, canonical bytes only.
	r, err := ParseResponse(a.Payload)
	if err != nil {
		return Verdict{}, err
	}
	// 2. The key belongs to the device the challenge was sent to, of this
	// user and tenant, and is the key the response names.
	if dev.Tenant != c.Tenant || dev.UserID != c.UserID || dev.DeviceID != c.DeviceID || dev.KeyID == "" || r.KeyID != dev.KeyID {
		return Verdict{}, ErrWrongDevice
	}
	// 3. The signature over exactly the received bytes.
	if dev.PublicKey == nil || dev.PublicKey.Curve != elliptic.P256() {
		return Verdict{}, fmt.Errorf("%w: device key is not P-256", ErrWrongDevice)
	}
	digest := sha256.Sum256(a.Payload)
	if !ecdsa.VerifyASN1(dev.PublicKey, digest[:], a.Signature) {
		return Verdict{}, ErrBadSignature
	}
	// 4. Bound to this challenge.
	if r.CID != c.CID {
		return Verdict{}, ErrWrongChallenge
	}
	// 5. Fresh.
	if d := now.Sub(r.TS); d > TimestampSkew || d < -TimestampSkew {
		return Verdict{}, ErrStaleTimestamp
	}
	// 6. Still answerable.
	switch c.StateAt(now) {
	case StatePending:
	case StateExpired:
		if c.State == StatePending {
			return Verdict{To: StateExpired, Reason: ReasonExpired, Response: r}, ErrExpired
		}
		return Verdict{}, ErrExpired
	default:
		return Verdict{}, ErrAlreadyAnswered
	}
	// 7. The decision, and the number for an approval.
	switch r.Decision {
	case DecisionDeny:
		return Verdict{To: StateDenied, Reason: ReasonDenied, Response: r}, nil
	case DecisionReport:
		return Verdict{To: StateReported, Reason: ReasonReported, Response: r}, nil
	}
	if r.Number != c.Number {
		return Verdict{To: StateDenied, Reason: ReasonWrongNumber, Response: r}, ErrWrongNumber
	}
	return Verdict{To: StateApproved, Reason: ReasonApproved, Response: r}, nil
}
