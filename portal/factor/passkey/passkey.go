// Package passkey is the passkey (WebAuthn) factor (R35): it runs the
// registration and login ceremonies for one tenant with go-webauthn and
// hands back plain values the caller stores — a Credential in the user's
// record, an opaque Session in its flow state. It knows nothing of HTTP,
// Fiber or storage.
//
// Relying party. Every tenant is its own relying party: RP.ID is the
// tenant's host without port ("acme.localhost", "passwords.acme.com") and
// RP.Origin is scheme://host[:port] exactly as the tenant's links use it.
// The caller takes both from the verified tenant host (R38), never from the
// request body. An assertion or attestation is refused unless its
// clientDataJSON origin equals RP.Origin and its rpIdHash is SHA-256 of
// RP.ID, so a credential made for another tenant never works here; a
// Session begun for one RP is refused by Finish for any other.
//
// Challenge. Begin draws a 32-byte challenge from Service.Rand and seals it
// into the Session together with the RP, the ceremony kind, the user and an
// expiry Timeout (5 minutes) after Service.Now. Finish refuses a Session
// that is expired, of the wrong kind or for another RP.
//
// Single use is the CALLER's job: this package has no state, so a Session
// presented twice within its Timeout verifies twice. The caller must keep
// the Session only server-side (never send it to the browser) and delete
// it in the same conditional update that accepts the result (compare and
// delete, as the flow engine does for its other one-time values); once it
// is gone a second response for the same challenge has nothing to be
// checked against and is refused.
//
// User verification is required at registration and, when the caller asks
// (RequireUV, i.e. for password resets), at login; otherwise it is
// preferred. Assertion.UserVerified reports what this ceremony did.
//
// Sign count. The library's CloneWarning rule is followed: when the stored
// count or the received count is non-zero and the received count is not
// greater than the stored one (so 5→5, 5→3 and 5→0 all count; 0→0 does
// not, authenticators without a counter always send 0), FinishLogin
// returns the Assertion with CloneWarning set AND the error
// ErrCloneWarning: the login is refused, the stored count is not advanced,
// and the caller should audit/alert and may tell the user to remove the
// passkey. (The spec leaves refusing to the RP; refusing is the safe
// choice for a password-reset portal.)
package passkey

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// ChallengeSize is the challenge length in bytes (R35 asks for at least 16
// and suggests 32).
const ChallengeSize = 32

// Timeout is how long a Session stays usable after Begin. It is also sent
// to the browser as the ceremony timeout.
const Timeout = 5 * time.Minute

// UserHandleSize is the length NewUserHandle makes (WebAuthn allows 1–64).
const UserHandleSize = 32

// maxResponse bounds the response JSON Finish parses; real ones are a few
// kilobytes.
const maxResponse = 64 << 10

// Errors returned (wrapped) by this package. Every error from Finish wraps
// exactly one of ErrMalformed, ErrSession, ErrExpired, ErrUserVerification,
// ErrCloneWarning, ErrDuplicate, ErrRefused, ErrRP or ErrUser.
var (
	// ErrRP: the RP is unusable (bad RP ID, origin not
	// scheme://host[:port] of that RP ID, http for a non-localhost host).
	ErrRP = errors.New("passkey: invalid relying party")
	// ErrUser: the user has no or a too long ID (1–64 bytes), no name, or
	// is missing where the ceremony needs one.
	ErrUser = errors.New("passkey: invalid user")
	// ErrNoCredentials: BeginLogin for a user who has no passkey.
	ErrNoCredentials = errors.New("passkey: user has no passkey")
	// ErrMalformed: the browser's response is not a parseable WebAuthn
	// response (bad JSON, bad base64, bad CBOR, too large).
	ErrMalformed = errors.New("passkey: malformed response")
	// ErrSession: the Session is corrupt, of the other ceremony kind, for
	// another relying party, or does not match the user given.
	ErrSession = errors.New("passkey: invalid session")
	// ErrExpired: the Session is older than Timeout.
	ErrExpired = errors.New("passkey: session expired")
	// ErrUserVerification: user verification was required and the
	// authenticator did not perform it (UV flag clear).
	ErrUserVerification = errors.New("passkey: user verification required")
	// ErrCloneWarning: the sign count did not increase (see the package
	// comment); the login is refused.
	ErrCloneWarning = errors.New("passkey: sign count did not increase, possible cloned authenticator")
	// ErrDuplicate: FinishRegistration got a credential the user already
	// has.
	ErrDuplicate = errors.New("passkey: credential already registered")
	// ErrRefused: verification failed — wrong origin, another RP's
	// rpIdHash, bad signature, wrong challenge, unknown credential, user
	// handle mismatch, lookup failure, ...
	ErrRefused = errors.New("passkey: refused")
)

// RP is one tenant as a WebAuthn relying party.
type RP struct {
	// ID is the tenant's host without port, lower case:
	// "acme.localhost", "passwords.acme.com".
	ID string
	// Origin is scheme://host[:port] as the tenant's links use it, with
	// host == ID: "https://passwords.acme.com",
	// "http://acme.localhost:8080". http is accepted only for localhost
	// hosts (browsers allow WebAuthn there only).
	Origin string
	// DisplayName is shown by the authenticator at registration; it
	// defaults to ID.
	DisplayName string
}

// User is the account a ceremony is for.
type User struct {
	// ID is the WebAuthn user handle: stable, random, 1–64 bytes, never
	// the username or email (authenticators store and may reveal it). Make
	// it once per user with NewUserHandle and store it in the user record.
	ID []byte
	// Name is the account name the authenticator shows (e.g. the UPN).
	Name string
	// DisplayName is the human name; it defaults to Name.
	DisplayName string
	// Credentials are the user's registered passkeys.
	Credentials []Credential
}

// Credential is one registered passkey, as the caller stores it in the
// user's record (JSON-serialisable). Credential IDs are globally unique in
// practice; the caller should still refuse to store one that another user
// of the tenant already has.
type Credential struct {
	ID              []byte    `json:"id"`
	PublicKey       []byte    `json:"public_key"` // COSE key
	AttestationType string    `json:"attestation_type,omitempty"`
	AAGUID          []byte    `json:"aaguid,omitempty"`
	SignCount       uint32    `json:"sign_count"`
	BackupEligible  bool      `json:"backup_eligible"`
	BackupState     bool      `json:"backup_state"`
	Transports      []string  `json:"transports,omitempty"`
	Name            string    `json:"name,omitempty"` // set by the caller
	CreatedAt       time.Time `json:"created_at"`
	LastUsedAt      time.Time `json:"last_used_at,omitzero"`
}

// Service runs the ceremonies. The zero value is ready to use (time.Now,
// crypto/rand); tests inject Now and Rand. Safe for concurrent use when
// Now and Rand are.
type Service struct {
	// Now is the clock for Session expiry and credential timestamps.
	Now func() time.Time
	// Rand is the source of challenges and user handles.
	Rand io.Reader
}

func (s *Service) now() time.Time {
	if s == nil || s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Service) rand() io.Reader {
	if s == nil || s.Rand == nil {
		return rand.Reader
	}
	return s.Rand
}

// NewUserHandle makes a random user handle (UserHandleSize bytes) for
// User.ID.
func (s *Service) NewUserHandle() ([]byte, error) {
	return s.random(UserHandleSize)
}

func (s *Service) random(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand(), b); err != nil {
		return nil, fmt.Errorf("passkey: random: %w", err)
	}
	return b, nil
}

// validate checks the RP and returns it with DisplayName filled in.
func (rp RP) validate() (RP, error) {
	if rp.ID == "" || rp.ID != strings.ToLower(rp.ID) || strings.HasSuffix(rp.ID, ".") {
		return rp, fmt.Errorf("%w: RP ID %q must be a lower-case host name", ErrRP, rp.ID)
	}
	if err := protocol.ValidateRPID(rp.ID); err != nil {
		return rp, fmt.Errorf("%w: RP ID %q: %w", ErrRP, rp.ID, err)
	}
	u, err := url.Parse(rp.Origin)
	if err != nil {
		return rp, fmt.Errorf("%w: origin %q: %w", ErrRP, rp.Origin, err)
	}
	if u.Scheme+"://"+u.Host != rp.Origin || u.Hostname() != rp.ID || u.User != nil {
		return rp, fmt.Errorf("%w: origin %q must be scheme://%s[:port]", ErrRP, rp.Origin, rp.ID)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && (rp.ID == "localhost" || strings.HasSuffix(rp.ID, ".localhost")):
	default:
		return rp, fmt.Errorf("%w: origin %q must be https (http only on localhost)", ErrRP, rp.Origin)
	}
	if rp.DisplayName == "" {
		rp.DisplayName = rp.ID
	}
	return rp, nil
}

// library checks the RP and returns it (DisplayName filled in) with
// go-webauthn configured for exactly this RP: one RP ID, one origin, no
// cross-origin iframes, no attestation conveyance. Expiry is enforced by
// this package with Service.Now, not by the library.
func (rp RP) library() (RP, *webauthn.WebAuthn, error) {
	rp, err := rp.validate()
	if err != nil {
		return rp, nil, err
	}
	w, err := webauthn.New(&webauthn.Config{
		RPID:                  rp.ID,
		RPDisplayName:         rp.DisplayName,
		RPOrigins:             []string{rp.Origin},
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: Timeout, TimeoutUVD: Timeout},
			Registration: webauthn.TimeoutConfig{Timeout: Timeout, TimeoutUVD: Timeout},
		},
	})
	if err != nil {
		return rp, nil, fmt.Errorf("%w: %w", ErrRP, err)
	}
	return rp, w, nil
}

// validate checks the user for a ceremony.
func (u User) validate() error {
	if n := len(u.ID); n < protocol.MinimumUserHandleLength || n > protocol.MaximumUserHandleLength {
		return fmt.Errorf("%w: ID must be %d–%d bytes, got %d", ErrUser, protocol.MinimumUserHandleLength, protocol.MaximumUserHandleLength, n)
	}
	if u.Name == "" {
		return fmt.Errorf("%w: empty name", ErrUser)
	}
	return nil
}

// libUser adapts User to go-webauthn's User interface.
type libUser struct{ u User }

func (l libUser) WebAuthnID() []byte   { return l.u.ID }
func (l libUser) WebAuthnName() string { return l.u.Name }
func (l libUser) WebAuthnDisplayName() string {
	if l.u.DisplayName == "" {
		return l.u.Name
	}
	return l.u.DisplayName
}
func (l libUser) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, len(l.u.Credentials))
	for i, c := range l.u.Credentials {
		out[i] = c.library()
	}
	return out
}

// library converts a stored Credential to go-webauthn's record. UP is
// always set; BE/BS are what registration and the last login saw (the
// library refuses an assertion whose BE differs).
func (c Credential) library() webauthn.Credential {
	flags := protocol.FlagUserPresent
	if c.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if c.BackupState {
		flags |= protocol.FlagBackupState
	}
	tr := make([]protocol.AuthenticatorTransport, len(c.Transports))
	for i, t := range c.Transports {
		tr[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID:              c.ID,
		PublicKey:       c.PublicKey,
		AttestationType: c.AttestationType,
		Transport:       tr,
		Flags:           webauthn.NewCredentialFlags(flags),
		Authenticator:   webauthn.Authenticator{AAGUID: c.AAGUID, SignCount: c.SignCount},
	}
}

// refused wraps a verification failure from go-webauthn. The message
// carries the library's Details and, for diagnosis (wrong origin, RP hash
// mismatch), its DevInfo — except for a challenge mismatch, whose DevInfo
// echoes the challenge.
func refused(ceremony string, err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" && !strings.Contains(pe.Details, "challenge") {
		return fmt.Errorf("%w: %s: %w (%s)", ErrRefused, ceremony, err, strings.TrimSpace(pe.DevInfo))
	}
	return fmt.Errorf("%w: %s: %w", ErrRefused, ceremony, err)
}
