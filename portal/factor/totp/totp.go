// Package totp is the authenticator-app factor (RFC 6238, R26): it makes a
// user's enrollment (a random 160-bit seed, sealed at rest, and the
// otpauth:// URI an app scans), checks codes against it, and draws the
// enrollment QR code as CSP-safe inline SVG or as PNG.
//
// Codes are 6 digits, HMAC-SHA-1, 30 s steps, the parameters every
// authenticator app supports. A code is accepted for the server's current
// step and one step either side (clock drift), judged by the server's clock
// only, never a time the client sends.
//
// Replay: a code is refused when the step it matches is at or before the
// enrollment's LastCounter. This package has no state, so the caller must
// store the returned counter with a conditional update — in the same
// read-modify-write that re-checks counter > LastCounter on the freshest
// record (portal/flow's SubmitTOTP does this inside Store.UpdateUser) — so
// that of two concurrent uses of one code exactly one wins.
package totp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	pqtotp "github.com/pquerna/otp/totp"

	"github.com/latchkey/latchkey/tenants"
)

// The RFC 6238 parameters every enrollment uses.
const (
	// SeedSize is the seed length: 160 bits, as RFC 4226 section 4
	// recommends (R26).
	SeedSize = 20
	// Digits is the code length.
	Digits = 6
	// Period is the length of one time step.
	Period = 30 * time.Second
	// Drift is how many steps either side of the server's current one are
	// accepted.
	Drift = 1
)

// maxInput bounds the code text Check looks at: six digits with generous
// spacing fit; anything longer is not a code.
const maxInput = 64

// Errors returned (wrapped) by Check and New.
var (
	// ErrWrong: the code is malformed or matches none of the accepted steps.
	ErrWrong = errors.New("totp: wrong code")
	// ErrReplay: the code matches an accepted step, but one at or before
	// the enrollment's LastCounter (already used).
	ErrReplay = errors.New("totp: code already used")
	// ErrConfig: the Service cannot work (no Sealer, no tenant).
	ErrConfig = errors.New("totp: not configured")
	// ErrAccount: the account name is empty or contains a colon, which the
	// otpauth label cannot carry.
	ErrAccount = errors.New("totp: invalid account name")
)

// SeedSealer encrypts seeds at rest, bound to their tenant and to the
// purpose "totp". *Sealer is the implementation.
type SeedSealer interface {
	SealSeed(tenant tenants.ID, seed []byte) ([]byte, error)
	OpenSeed(tenant tenants.ID, sealed []byte) ([]byte, error)
}

// Service makes and checks TOTP enrollments. It implements the flow
// engine's TOTP interface. Safe for concurrent use when its Sealer and Rand
// are.
type Service struct {
	// Sealer seals the seed in New and opens it in Verify. Required.
	Sealer SeedSealer
	// Rand is the seed source; nil means crypto/rand.
	Rand io.Reader
	// Issuer is the name the app shows for the account; empty means the
	// tenant's display name (Branding.DisplayName, else Name, else Slug).
	Issuer string
	// Now stamps CreatedAt; nil means time.Now.
	Now func() time.Time
	// Log receives a warning when a stored seed cannot be opened; nil
	// means slog.Default(). Codes and seeds are never logged.
	Log *slog.Logger
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

var hotpOpts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// New makes an enrollment for accountName (the name the app shows under the
// issuer, e.g. the user's UPN): a fresh random seed, sealed for t, and the
// otpauth://totp URI to show as a QR code. The URI holds the seed in clear:
// show it to the user once and never store or log it. LastCounter starts at
// 0.
func (s *Service) New(t *tenants.Tenant, accountName string) (tenants.TOTPEnrollment, string, error) {
	if t == nil || s.Sealer == nil {
		return tenants.TOTPEnrollment{}, "", fmt.Errorf("%w: need a tenant and a sealer", ErrConfig)
	}
	account := strings.TrimSpace(accountName)
	if account == "" || strings.Contains(account, ":") {
		return tenants.TOTPEnrollment{}, "", fmt.Errorf("%w: %q", ErrAccount, account)
	}
	seed := make([]byte, SeedSize)
	defer clear(seed)
	random := s.Rand
	if random == nil {
		random = rand.Reader
	}
	if _, err := io.ReadFull(random, seed); err != nil {
		return tenants.TOTPEnrollment{}, "", fmt.Errorf("totp: read seed: %w", err)
	}
	key, err := pqtotp.Generate(pqtotp.GenerateOpts{
		Issuer:      s.issuer(t),
		AccountName: account,
		Period:      uint(Period / time.Second),
		SecretSize:  SeedSize,
		Secret:      seed,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return tenants.TOTPEnrollment{}, "", fmt.Errorf("totp: build URI: %w", err)
	}
	sealed, err := s.Sealer.SealSeed(t.ID, seed)
	if err != nil {
		return tenants.TOTPEnrollment{}, "", fmt.Errorf("totp: seal seed: %w", err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return tenants.TOTPEnrollment{Seed: sealed, CreatedAt: now().UTC()}, key.String(), nil
}

// issuer is the label's issuer: colons (the label's separator) become
// spaces, runs of white space collapse.
func (s *Service) issuer(t *tenants.Tenant) string {
	for _, name := range []string{s.Issuer, t.Branding.DisplayName, t.Name, t.Slug} {
		name = strings.Join(strings.Fields(strings.ReplaceAll(name, ":", " ")), " ")
		if name != "" {
			return name
		}
	}
	return "Latchkey"
}

// Verify checks code against e at now and returns the matched time step
// for the caller to store as the new LastCounter with a conditional update
// (see the package comment). It is Check without the reason.
func (s *Service) Verify(t *tenants.Tenant, e tenants.TOTPEnrollment, code string, now time.Time) (int64, bool) {
	counter, err := s.Check(t, e, code, now)
	return counter, err == nil
}

// Check is Verify with the reason for a refusal: ErrWrong, ErrReplay (so a
// caller can alert the user, R26), ErrConfig, or an error opening the seed.
//
// The code may contain white space ("123 456"); after removing it, it must
// be exactly six ASCII digits. Each candidate step's code is compared in
// constant time and all three are always computed. When the code matches
// more than one step (two steps with equal codes), the latest one is
// returned, so the same code cannot be accepted a second time for the
// other step.
func (s *Service) Check(t *tenants.Tenant, e tenants.TOTPEnrollment, code string, now time.Time) (int64, error) {
	given, ok := normalize(code)
	if !ok {
		return 0, ErrWrong
	}
	if t == nil || s.Sealer == nil {
		return 0, fmt.Errorf("%w: need a tenant and a sealer", ErrConfig)
	}
	seed, err := s.Sealer.OpenSeed(t.ID, e.Seed)
	if err != nil {
		s.log().Warn("totp: cannot open stored seed", "tenant", string(t.ID), "err", err)
		return 0, fmt.Errorf("totp: open seed: %w", err)
	}
	secret := b32.EncodeToString(seed)
	clear(seed)
	step := stepAt(now)
	var codes [2*Drift + 1]string
	for i := range codes {
		c := step - Drift + int64(i)
		if c < 0 {
			continue // before 1970: no such step
		}
		if codes[i], err = hotp.GenerateCodeCustom(secret, uint64(c), hotpOpts); err != nil {
			return 0, fmt.Errorf("totp: compute code: %w", err)
		}
	}
	return match(codes, step-Drift, given, e.LastCounter)
}

// match finds the latest step whose code equals given; codes[i] is the code
// of step first+i ("" for a step that does not exist). Every comparison
// runs, in constant time.
func match(codes [2*Drift + 1]string, first int64, given string, last int64) (int64, error) {
	best, replay := int64(-1), false
	for i, want := range codes {
		c := first + int64(i)
		eq := len(want) == len(given) && subtle.ConstantTimeCompare([]byte(want), []byte(given)) == 1
		switch {
		case eq && c > last:
			best = c
		case eq:
			replay = true
		}
	}
	switch {
	case best >= 0:
		return best, nil
	case replay:
		return 0, ErrReplay
	default:
		return 0, ErrWrong
	}
}

// stepAt is the RFC 6238 time step of now: floor(unix / 30).
func stepAt(now time.Time) int64 {
	sec, p := now.Unix(), int64(Period/time.Second)
	step := sec / p
	if sec%p < 0 {
		step--
	}
	return step
}

// normalize removes white space (any Unicode space: apps and users group
// the digits) and reports whether what is left is exactly Digits ASCII
// digits.
func normalize(code string) (string, bool) {
	if len(code) > maxInput {
		return "", false
	}
	var b strings.Builder
	for _, r := range code {
		switch {
		case unicode.IsSpace(r):
		case r >= '0' && r <= '9' && b.Len() < Digits:
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != Digits {
		return "", false
	}
	return b.String(), true
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}
