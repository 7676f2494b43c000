// Package otp makes and checks the short numeric one-time codes that the
// self-service flows send by email or SMS (R20, R22).
//
// A code is drawn digit by digit from a CSPRNG with rejection sampling, so
// every digit is uniform (R20: 6 digits are ~20 bits, 8 are ~26). The code
// itself is never stored: the caller keeps only
//
//	mac = HMAC-SHA256(Key, binding || 0x00 || code)
//
// in its flow state (R22; an HMAC with a server key is enough for a secret
// that lives minutes). The binding is the caller's
// "tenant|flow|purpose|factor|destination" string, so a code only checks
// against the transaction it was made for (R7).
//
// What this package does not do, because it has no state: expiry (R6: the
// caller stores an expiry of at most 10 minutes beside the MAC and checks it
// first), single use (R5: the caller clears the MAC in the same versioned
// flow update that accepts the code), a resend replacing the old code (R20:
// the caller overwrites the MAC) and counting failures (R21).
package otp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// MinKeyLen is the shortest HMAC key Codes accepts.
const MinKeyLen = 32

// DefaultDigits is the code length when Codes.Digits is 0.
const DefaultDigits = 6

// The valid range of Codes.Digits.
const (
	MinDigits = 6
	MaxDigits = 10
)

// maxInput bounds what Check normalises: a code with generous separators
// fits easily; anything longer is not a code.
const maxInput = 128

// Configuration errors returned by New and Validate.
var (
	ErrShortKey  = errors.New("otp: key must be at least 32 bytes")
	ErrBadDigits = errors.New("otp: digits must be between 6 and 10")
)

// Codes makes and checks one-time codes. The zero Digits means 6; a nil Rand
// means crypto/rand. A Codes is a value: copy it freely.
type Codes struct {
	// Key is the server's HMAC key (at least MinKeyLen bytes, from config).
	Key []byte
	// Rand is the randomness source; nil means crypto/rand.Reader.
	Rand io.Reader
	// Digits is the code length, 6..10; 0 means DefaultDigits.
	Digits int
}

// Validate reports whether c is usable (key length, digit count).
func (c Codes) Validate() error {
	if len(c.Key) < MinKeyLen {
		return ErrShortKey
	}
	if d := c.digits(); d < MinDigits || d > MaxDigits {
		return fmt.Errorf("%w (got %d)", ErrBadDigits, d)
	}
	return nil
}

func (c Codes) digits() int {
	if c.Digits == 0 {
		return DefaultDigits
	}
	return c.Digits
}

func (c Codes) rand() io.Reader {
	if c.Rand == nil {
		return rand.Reader
	}
	return c.Rand
}

// New draws a fresh code for binding and returns it with its MAC. Send the
// code to the user, store only the MAC.
func (c Codes) New(binding string) (code string, mac []byte, err error) {
	if err := c.Validate(); err != nil {
		return "", nil, err
	}
	code, err = Digits(c.rand(), c.digits())
	if err != nil {
		return "", nil, err
	}
	return code, c.mac(binding, code), nil
}

// Check reports whether input, as the user typed it, is the code whose MAC
// is mac for binding. The input is normalised first (see Normalize); the
// comparison of MACs is constant-time. A misconfigured Codes checks nothing.
func (c Codes) Check(binding, input string, mac []byte) bool {
	if c.Validate() != nil || len(mac) != sha256.Size {
		return false
	}
	code, ok := Normalize(input, c.digits())
	if !ok {
		return false
	}
	return hmac.Equal(c.mac(binding, code), mac)
}

func (c Codes) mac(binding, code string) []byte {
	h := hmac.New(sha256.New, c.Key)
	h.Write([]byte(binding))
	h.Write([]byte{0})
	h.Write([]byte(code))
	return h.Sum(nil)
}

// Digits returns n decimal digits read from r, each uniform: a byte is used
// only when it is below 250 (the largest multiple of 10 that fits), so no
// digit is more likely than another. It fails only when r does.
func Digits(r io.Reader, n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/8+2) // a little spare for rejected bytes
	for len(out) < n {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("otp: reading randomness: %w", err)
		}
		for _, b := range buf {
			if b >= 250 {
				continue
			}
			out = append(out, '0'+b%10)
			if len(out) == n {
				break
			}
		}
	}
	return string(out), nil
}

// Normalize turns what a user typed into the bare code: NFKC (full-width
// digits become ASCII, a no-break space a space), then spaces and dashes are
// dropped. It reports false unless the result is exactly n ASCII digits.
func Normalize(input string, n int) (string, bool) {
	if len(input) > maxInput {
		return "", false
	}
	var b strings.Builder
	for _, r := range norm.NFKC.String(input) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) || r == '\u2212':
			// separators people type or paste: spaces, hyphens, dashes, minus
		default:
			return "", false
		}
		if b.Len() > n {
			return "", false
		}
	}
	if b.Len() != n {
		return "", false
	}
	return b.String(), true
}
