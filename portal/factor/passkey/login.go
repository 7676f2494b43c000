package passkey

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// Lookup finds the user a discoverable (passwordless) assertion names by
// its user handle (User.ID). It returns an error for an unknown handle.
type Lookup func(userHandle []byte) (User, error)

// Assertion is the outcome of FinishLogin.
type Assertion struct {
	// UserHandle is the User.ID of the user who logged in.
	UserHandle []byte
	// Credential is the passkey used. On success its SignCount,
	// BackupState and LastUsedAt are updated and the caller writes it back
	// to the user's record (replacing the credential with the same ID).
	// With CloneWarning it is the stored credential unchanged.
	Credential Credential
	// UserVerified is the UV flag of this assertion.
	UserVerified bool
	// CloneWarning: the sign count did not increase (FinishLogin also
	// returns ErrCloneWarning). The caller audits/alerts.
	CloneWarning bool
}

// BeginLogin starts a login at rp. With user != nil the browser is offered
// only that user's credentials (second factor, or a reset after the user
// typed their name); with user == nil it is a discoverable (passwordless)
// login and the authenticator chooses. requireUV makes user verification
// required (password resets, R35); otherwise it is preferred. optionsJSON
// is go-webauthn's CredentialAssertion, {"publicKey":{...}}, for
// PublicKeyCredential.parseRequestOptionsFromJSON(opts.publicKey) and
// navigator.credentials.get.
func (s *Service) BeginLogin(rp RP, user *User, requireUV bool) (optionsJSON []byte, sess Session, err error) {
	rp, w, err := rp.library()
	if err != nil {
		return nil, nil, err
	}
	challenge, err := s.random(ChallengeSize)
	if err != nil {
		return nil, nil, err
	}
	uv := protocol.VerificationPreferred
	if requireUV {
		uv = protocol.VerificationRequired
	}
	opts := []webauthn.LoginOption{webauthn.WithChallenge(challenge), webauthn.WithUserVerification(uv)}
	var (
		assertion *protocol.CredentialAssertion
		data      *webauthn.SessionData
	)
	if user == nil {
		assertion, data, err = w.BeginDiscoverableLogin(opts...)
	} else {
		if len(user.ID) == 0 || len(user.ID) > protocol.MaximumUserHandleLength {
			return nil, nil, fmt.Errorf("%w: ID must be 1–%d bytes", ErrUser, protocol.MaximumUserHandleLength)
		}
		if len(user.Credentials) == 0 {
			return nil, nil, ErrNoCredentials
		}
		assertion, data, err = w.BeginLogin(libUser{*user}, opts...)
	}
	return s.begun(kindLogin, rp, requireUV, assertion, data, err)
}

// FinishLogin checks the browser's response (the JSON of the
// PublicKeyCredential from navigator.credentials.get) against the Session
// from BeginLogin at the same rp. Pass the same user BeginLogin got; for a
// discoverable Session (user was nil) pass user nil and a lookup, which is
// called with the response's user handle. The returned user must own the
// credential and its ID must equal that handle.
//
// On success the caller deletes the Session and stores
// Assertion.Credential. With ErrCloneWarning the Assertion is filled in
// (CloneWarning true) for auditing, and the login is refused.
func (s *Service) FinishLogin(rp RP, lookup Lookup, user *User, sess Session, responseJSON []byte) (Assertion, error) {
	rp, w, err := rp.library()
	if err != nil {
		return Assertion{}, err
	}
	st, err := s.open(kindLogin, rp, sess)
	if err != nil {
		return Assertion{}, err
	}
	discoverable := len(st.Data.UserID) == 0
	switch {
	case discoverable && user != nil:
		return Assertion{}, fmt.Errorf("%w: discoverable login, pass user nil and a lookup", ErrSession)
	case discoverable && lookup == nil:
		return Assertion{}, fmt.Errorf("%w: discoverable login needs a lookup", ErrUser)
	case !discoverable && user == nil:
		return Assertion{}, fmt.Errorf("%w: login was begun for a user, pass that user", ErrUser)
	case !discoverable && !bytes.Equal(st.Data.UserID, user.ID):
		return Assertion{}, fmt.Errorf("%w: login was begun for another user", ErrSession)
	}
	if err = checkSize(responseJSON); err != nil {
		return Assertion{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(responseJSON)
	if err != nil {
		return Assertion{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	uv := parsed.Response.AuthenticatorData.Flags.HasUserVerified()
	if st.RequireUV && !uv {
		return Assertion{}, ErrUserVerification
	}

	var owner User
	var lc *webauthn.Credential
	if discoverable {
		var lookupErr error
		_, lc, err = w.ValidatePasskeyLogin(func(_, userHandle []byte) (webauthn.User, error) {
			owner, lookupErr = lookup(userHandle)
			if lookupErr != nil {
				return nil, lookupErr
			}
			return libUser{owner}, nil
		}, st.Data, parsed)
		if lookupErr != nil {
			return Assertion{}, refused("login: lookup", lookupErr)
		}
	} else {
		owner = *user
		lc, err = w.ValidateLogin(libUser{owner}, st.Data, parsed)
	}
	if err != nil {
		return Assertion{}, refused("login", err)
	}

	stored, ok := findCredential(owner.Credentials, lc.ID)
	if !ok { // the library found it in the same slice; cannot happen
		return Assertion{}, refused("login", errors.New("credential vanished"))
	}
	res := Assertion{UserHandle: owner.ID, Credential: stored, UserVerified: uv}
	if lc.Authenticator.CloneWarning {
		res.CloneWarning = true
		return res, fmt.Errorf("%w: stored %d, received %d", ErrCloneWarning,
			stored.SignCount, parsed.Response.AuthenticatorData.Counter)
	}
	res.Credential.SignCount = lc.Authenticator.SignCount
	res.Credential.BackupState = lc.Flags.BackupState
	res.Credential.LastUsedAt = s.now()
	return res, nil
}

func findCredential(creds []Credential, id []byte) (Credential, bool) {
	for _, c := range creds {
		if bytes.Equal(c.ID, id) {
			return c, true
		}
	}
	return Credential{}, false
}
