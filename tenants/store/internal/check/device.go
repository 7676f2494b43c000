package check

import (
	"bytes"
	"encoding/json"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/latchkey/latchkey/tenants"
)

// Limits of the device and push-challenge tables (the migrations hold the
// same CHECKs).
const (
	MaxDeviceName     = 100      // runes of a device's name
	MaxKeyID          = 128      // bytes of a device's key id
	MaxPublicKey      = 200      // bytes of a device's public key (a P-256 PKIX DER is 91)
	MaxPushToken      = 4096     // bytes of an FCM registration token
	MaxContext        = 4 << 10  // bytes of a challenge's context JSON
	MaxPushHistory    = 64 << 10 // bytes of a user's push history
	ChallengeIDLength = 32       // lower-case hex digits of a challenge id
)

// Platforms are the device platforms the store accepts.
var Platforms = []string{"android", "ios", "cli"}

// ChallengeStates are the states a push challenge can be in.
var ChallengeStates = []string{"pending", "approved", "denied", "expired", "reported"}

// ChallengeID reports whether cid is 32 lowercase hex digits, the form of a
// push challenge's id.
func ChallengeID(cid string) bool {
	return len(cid) == ChallengeIDLength && lowerHex(cid)
}

// lowerHex reports whether s is made of lowercase hex digits only.
func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// NewDevice checks a device for CreateDevice (its ID only when set).
func NewDevice(d tenants.Device) error {
	if d.ID != "" && !UUID(d.ID) {
		return invalidf("device id %q is not a UUID", d.ID)
	}
	if err := userRef("device user", d.UserID); err != nil {
		return err
	}
	if !slices.Contains(Platforms, d.Platform) {
		return invalidf("device platform %q is not one of %v", d.Platform, Platforms)
	}
	if err := keyID(d.KeyID); err != nil {
		return err
	}
	if n := len(d.PublicKey); n == 0 || n > MaxPublicKey {
		return invalidf("device public key is %d bytes, 1 to %d allowed", n, MaxPublicKey)
	}
	return DeviceUpdate(d)
}

// DeviceUpdate checks the fields UpdateDevice saves: the name and the push
// token.
func DeviceUpdate(d tenants.Device) error {
	if err := Text("device name", d.Name, 4*MaxDeviceName); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(d.Name); n > MaxDeviceName {
		return invalidf("device name is %d characters long, at most %d allowed", n, MaxDeviceName)
	}
	for _, r := range d.Name {
		if unicode.IsControl(r) {
			return invalidf("device name contains the control character %U", r)
		}
	}
	return Text("device push token", d.PushToken, MaxPushToken)
}

// keyID refuses a key id that is not 1–128 bytes of printable ASCII
// (space to tilde).
func keyID(id string) error {
	if id == "" || len(id) > MaxKeyID {
		return invalidf("device key id is %d bytes long, 1 to %d allowed", len(id), MaxKeyID)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x20 || c > 0x7e {
			return invalidf("device key id contains the byte %#02x, not printable ASCII", c)
		}
	}
	return nil
}

// Challenge checks a push challenge for CreateChallenge.
func Challenge(c tenants.PushChallenge) error {
	if !ChallengeID(c.CID) {
		return invalidf("challenge id %q is not %d lowercase hex digits", c.CID, ChallengeIDLength)
	}
	if err := userRef("challenge user", c.UserID); err != nil {
		return err
	}
	if !UUID(c.DeviceID) {
		return invalidf("challenge device %q is not a device id", c.DeviceID)
	}
	if c.Purpose == "" {
		return invalidf("challenge has no purpose")
	}
	if err := Text("challenge purpose", c.Purpose, maxShortText); err != nil {
		return err
	}
	if err := challengeContext(c.Context); err != nil {
		return err
	}
	if c.Number != 0 && (c.Number < 10 || c.Number > 99) {
		return invalidf("challenge number %d is neither 0 nor 10 to 99", c.Number)
	}
	if err := ChallengeState("challenge state", c.State); err != nil {
		return err
	}
	if err := Text("challenge reason", c.Reason, maxShortText); err != nil {
		return err
	}
	switch {
	case c.CreatedAt.IsZero():
		return invalidf("challenge has no creation time")
	case !c.ExpiresAt.After(c.CreatedAt):
		return invalidf("challenge expires at %s, not after its creation at %s", c.ExpiresAt, c.CreatedAt)
	}
	return nil
}

// challengeContext refuses a challenge context that is not a JSON object of at most
// MaxContext bytes of UTF-8.
func challengeContext(b []byte) error {
	switch {
	case len(b) > MaxContext:
		return invalidf("challenge context is %d bytes, at most %d allowed", len(b), MaxContext)
	case !utf8.Valid(b) || !json.Valid(b):
		return invalidf("challenge context is not valid JSON")
	case !bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("{")):
		return invalidf("challenge context is not a JSON object")
	}
	return nil
}

// ChallengeState refuses a state that is not one of ChallengeStates.
func ChallengeState(what, state string) error {
	if !slices.Contains(ChallengeStates, state) {
		return invalidf("%s %q is not one of %v", what, state, ChallengeStates)
	}
	return nil
}

// Answer checks the arguments of AnswerChallenge.
func Answer(from, to, reason string, at time.Time) error {
	if err := ChallengeState("answer: from state", from); err != nil {
		return err
	}
	if err := ChallengeState("answer: to state", to); err != nil {
		return err
	}
	if err := Text("answer: reason", reason, maxShortText); err != nil {
		return err
	}
	return Time("answer challenge", at)
}

// NullBytes returns b as the argument of a nullable bytes column (a user's
// push history): nil (NULL) when b is empty, so that empty and none are the
// same.
func NullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Bytes is NullBytes backwards: what a nullable bytes column reads back as,
// nil for NULL or empty.
func Bytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
