package passkey

import (
	"bytes"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// BeginRegistration starts adding a passkey for user at rp. optionsJSON is
// go-webauthn's CredentialCreation, {"publicKey":{...}} with base64url
// binary fields, for the browser's
// PublicKeyCredential.parseCreationOptionsFromJSON(opts.publicKey) and
// navigator.credentials.create. It asks for a discoverable credential
// (resident key preferred, so it also works for passwordless login),
// requires user verification, asks for no attestation, and excludes the
// user's existing credentials. The Session goes into the caller's flow
// state.
func (s *Service) BeginRegistration(rp RP, user User) (optionsJSON []byte, sess Session, err error) {
	rp, w, err := rp.library()
	if err != nil {
		return nil, nil, err
	}
	if err = user.validate(); err != nil {
		return nil, nil, err
	}
	challenge, err := s.random(ChallengeSize)
	if err != nil {
		return nil, nil, err
	}
	creation, data, err := w.BeginRegistration(libUser{user},
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			UserVerification: protocol.VerificationRequired,
		}),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementPreferred),
		webauthn.WithExclusions(webauthn.Credentials(libUser{user}.WebAuthnCredentials()).CredentialDescriptors()),
		func(o *protocol.PublicKeyCredentialCreationOptions) error {
			o.Challenge = challenge
			return nil
		},
	)
	return s.begun(kindRegistration, rp, true, creation, data, err)
}

// FinishRegistration checks the browser's response (the JSON of the
// PublicKeyCredential from navigator.credentials.create, i.e.
// credential.toJSON()) against the Session from BeginRegistration for the
// same rp and user, and returns the new Credential (CreatedAt = now, Name
// empty for the caller to fill). The caller appends it to the user's
// record and deletes the Session.
func (s *Service) FinishRegistration(rp RP, user User, sess Session, responseJSON []byte) (Credential, error) {
	rp, w, err := rp.library()
	if err != nil {
		return Credential{}, err
	}
	if err = user.validate(); err != nil {
		return Credential{}, err
	}
	st, err := s.open(kindRegistration, rp, sess)
	if err != nil {
		return Credential{}, err
	}
	if !bytes.Equal(st.Data.UserID, user.ID) {
		return Credential{}, fmt.Errorf("%w: registration was begun for another user", ErrSession)
	}
	if err = checkSize(responseJSON); err != nil {
		return Credential{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(responseJSON)
	if err != nil {
		return Credential{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if st.RequireUV && !parsed.Response.AttestationObject.AuthData.Flags.HasUserVerified() {
		return Credential{}, ErrUserVerification
	}
	lc, err := w.CreateCredential(libUser{user}, st.Data, parsed)
	if err != nil {
		return Credential{}, refused("registration", err)
	}
	for _, c := range user.Credentials {
		if bytes.Equal(c.ID, lc.ID) {
			return Credential{}, ErrDuplicate
		}
	}
	cred := Credential{
		ID:              lc.ID,
		PublicKey:       lc.PublicKey,
		AttestationType: lc.AttestationType,
		AAGUID:          lc.Authenticator.AAGUID,
		SignCount:       lc.Authenticator.SignCount,
		BackupEligible:  lc.Flags.BackupEligible,
		BackupState:     lc.Flags.BackupState,
		CreatedAt:       s.now(),
	}
	for _, t := range lc.Transport {
		cred.Transports = append(cred.Transports, string(t))
	}
	return cred, nil
}
