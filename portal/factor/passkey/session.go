package passkey

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
)

// Session is the server-side state of one ceremony: opaque JSON holding
// go-webauthn's SessionData (with the challenge), the RP, the ceremony kind
// and the expiry. The caller stores it in its flow state — never in the
// browser — and must delete it when the ceremony finishes, successfully or
// not (see the package comment: single use is enforced by that delete).
type Session []byte

// maxSession bounds the Session Finish decodes (a user with many
// credentials makes the login one larger).
const maxSession = 256 << 10

const sessionVersion = 1

// Ceremony kinds.
const (
	kindRegistration = "registration"
	kindLogin        = "login"
)

type sessionState struct {
	V         int                  `json:"v"`
	Kind      string               `json:"kind"`
	RPID      string               `json:"rp_id"`
	Origin    string               `json:"origin"`
	Expires   time.Time            `json:"expires"`
	RequireUV bool                 `json:"require_uv"`
	Data      webauthn.SessionData `json:"data"`
}

// begun completes a Begin from the library's result: it encodes the
// options for the browser and seals the Session. The library's own expiry
// stays zero: it would use the wall clock, this package uses Service.Now.
func (s *Service) begun(kind string, rp RP, requireUV bool, options any, data *webauthn.SessionData, err error) ([]byte, Session, error) {
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: begin %s: %w", kind, err)
	}
	optionsJSON, err := json.Marshal(options)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: encode %s options: %w", kind, err)
	}
	d := *data
	d.Expires = time.Time{}
	sess, err := json.Marshal(sessionState{
		V: sessionVersion, Kind: kind, RPID: rp.ID, Origin: rp.Origin,
		Expires: s.now().Add(Timeout), RequireUV: requireUV, Data: d,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: encode session: %w", err)
	}
	return optionsJSON, sess, nil
}

// checkSize refuses an empty or oversized response before parsing.
func checkSize(responseJSON []byte) error {
	if len(responseJSON) == 0 || len(responseJSON) > maxResponse {
		return fmt.Errorf("%w: empty or oversized (%d bytes)", ErrMalformed, len(responseJSON))
	}
	return nil
}

// open decodes a Session and checks it was made by seal for this kind of
// ceremony and this RP, and has not expired.
func (s *Service) open(kind string, rp RP, sess Session) (sessionState, error) {
	var st sessionState
	if len(sess) == 0 || len(sess) > maxSession {
		return st, fmt.Errorf("%w: empty or oversized", ErrSession)
	}
	dec := json.NewDecoder(bytes.NewReader(sess))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return st, fmt.Errorf("%w: %w", ErrSession, err)
	}
	if st.V != sessionVersion || st.Kind != kind {
		return st, fmt.Errorf("%w: not a %s session", ErrSession, kind)
	}
	if st.RPID != rp.ID || st.Origin != rp.Origin || st.Data.RelyingPartyID != rp.ID {
		return st, fmt.Errorf("%w: session belongs to relying party %q, not %q", ErrSession, st.RPID, rp.ID)
	}
	if c, err := base64.RawURLEncoding.DecodeString(st.Data.Challenge); err != nil || len(c) != ChallengeSize {
		return st, fmt.Errorf("%w: bad challenge", ErrSession)
	}
	if !s.now().Before(st.Expires) {
		return st, fmt.Errorf("%w: expired at %s", ErrExpired, st.Expires.UTC().Format(time.RFC3339))
	}
	return st, nil
}
