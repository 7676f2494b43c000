package fakeserver

import (
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/mobileclient"
	"github.com/latchkey/latchkey/push/challenge"
)

// signedHandler serves a request whose signature verified, for device d.
type signedHandler func(w http.ResponseWriter, r *http.Request, d *device, body []byte)

// signed checks section 2 of the contract and answers 401 unauthenticated,
// one answer for every cause, before the handler runs.
func (s *Server) signed(h signedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if r.Method == http.MethodGet || r.Method == http.MethodDelete {
			if r.ContentLength > 0 {
				writeError(w, http.StatusBadRequest, mobileclient.CodeMalformed, "no body expected")
				return
			}
		} else {
			var ok bool
			if body, ok = readBody(w, r); !ok {
				return
			}
		}
		d, err := s.authenticate(r, body)
		if err != nil {
			writeError(w, http.StatusUnauthorized, mobileclient.CodeUnauthenticated, "unauthenticated")
			return
		}
		h(w, r, d, body)
	}
}

func (s *Server) authenticate(r *http.Request, body []byte) (*device, error) {
	id := r.Header.Get(mobileclient.HeaderDevice)
	ts := r.Header.Get(mobileclient.HeaderTimestamp)
	nonce := r.Header.Get(mobileclient.HeaderNonce)
	sig := r.Header.Get(mobileclient.HeaderSignature)
	t, err := time.Parse(mobileclient.TimestampFormat, ts)
	if err != nil || t.Format(mobileclient.TimestampFormat) != ts {
		return nil, errors.New("timestamp")
	}
	now := s.cfg.Now()
	if t.Sub(now) > Skew || now.Sub(t) > Skew {
		return nil, errors.New("clock")
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(nonce)
	if err != nil || len(raw) < 16 || len(raw) > 64 {
		return nil, errors.New("nonce")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.devices[id]
	if d == nil || d.Removed {
		return nil, errors.New("device")
	}
	// r.RequestURI is the path with query exactly as the client sent it.
	if !mobileclient.VerifyString(d.PublicKey, mobileclient.SigningString(r.Method, r.RequestURI, body, ts, nonce), sig) {
		return nil, errors.New("signature")
	}
	for n, at := range d.nonces {
		if now.Sub(at) > 2*Skew+time.Minute {
			delete(d.nonces, n)
		}
	}
	if _, seen := d.nonces[nonce]; seen {
		return nil, errors.New("replay")
	}
	d.nonces[nonce] = now
	return d, nil
}

// challengeJSON is a challenge as the API shows it.
func challengeJSON(c *challenge.Challenge, now time.Time) mobileclient.Challenge {
	return mobileclient.Challenge{
		CID: c.CID, Purpose: string(c.Purpose), State: string(c.StateAt(now)),
		NumberMatching: c.Number != 0, ExpiresAt: c.ExpiresAt.UTC(),
		Context: mobileclient.Context{
			Action: string(c.Context.Action), TenantName: c.Context.TenantName, App: c.Context.App,
			IP: c.Context.IP, Geo: c.Context.Geo, Browser: c.Context.Browser, Time: c.Context.Time.UTC(),
		},
	}
}

func (s *Server) listChallenges(w http.ResponseWriter, r *http.Request, d *device, _ []byte) {
	s.mu.Lock()
	cids := slices.Clone(d.cids)
	s.mu.Unlock()
	now := s.cfg.Now()
	out := mobileclient.ChallengeList{Challenges: []mobileclient.Challenge{}}
	for i := len(cids) - 1; i >= 0; i-- { // newest first
		c, err := s.store.Get(r.Context(), Tenant, cids[i])
		if err == nil && c.StateAt(now) == challenge.StatePending {
			out.Challenges = append(out.Challenges, challengeJSON(c, now))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// deviceChallenge loads the challenge of the path if it is this device's.
func (s *Server) deviceChallenge(w http.ResponseWriter, r *http.Request, d *device) (*challenge.Challenge, bool) {
	if !mobileclient.ValidCID(r.PathValue("cid")) {
		writeError(w, http.StatusBadRequest, mobileclient.CodeMalformed, "cid is not 32 lower-case hex digits")
		return nil, false
	}
	c, err := s.store.Get(r.Context(), Tenant, r.PathValue("cid"))
	if err != nil || c.DeviceID != d.ID {
		writeError(w, http.StatusNotFound, mobileclient.CodeNotFound, "no such challenge")
		return nil, false
	}
	return c, true
}

func (s *Server) getChallenge(w http.ResponseWriter, r *http.Request, d *device, _ []byte) {
	if c, ok := s.deviceChallenge(w, r, d); ok {
		writeJSON(w, http.StatusOK, challengeJSON(c, s.cfg.Now()))
	}
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, d *device, body []byte) {
	c, ok := s.deviceChallenge(w, r, d)
	if !ok {
		return
	}
	a, err := challenge.DecodeAnswer(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, mobileclient.CodeMalformed, "answer envelope")
		return
	}
	s.mu.Lock()
	dev := s.challengeDevice(d)
	s.mu.Unlock()
	after, err := s.svc.Respond(r.Context(), Tenant, c.CID, dev, a)
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, map[string]string{"state": string(after.State)})
	case errors.Is(err, challenge.ErrMalformed), errors.Is(err, challenge.ErrNotCanonical):
		writeError(w, http.StatusBadRequest, mobileclient.CodeMalformed, "answer payload")
	case errors.Is(err, challenge.ErrWrongDevice), errors.Is(err, challenge.ErrBadSignature), errors.Is(err, challenge.ErrStaleTimestamp), errors.Is(err, challenge.ErrWrongChallenge):
		writeError(w, http.StatusUnauthorized, mobileclient.CodeUnauthenticated, "unauthenticated")
	case errors.Is(err, challenge.ErrNotFound):
		writeError(w, http.StatusNotFound, mobileclient.CodeNotFound, "no such challenge")
	case errors.Is(err, challenge.ErrAlreadyAnswered):
		writeError(w, http.StatusConflict, mobileclient.CodeAlreadyAnswered, "already answered")
	case errors.Is(err, challenge.ErrExpired):
		writeError(w, http.StatusGone, mobileclient.CodeExpired, "expired")
	case errors.Is(err, challenge.ErrWrongNumber):
		writeError(w, http.StatusUnprocessableEntity, mobileclient.CodeWrongNumber, "wrong number")
	default:
		writeError(w, http.StatusInternalServerError, "internal", "internal error")
	}
}

func (s *Server) deviceJSON(d *device) map[string]any {
	return map[string]any{
		"device_id": d.ID, "name": d.Name, "platform": d.Platform,
		"created_at": d.CreatedAt.UTC().Format(time.RFC3339), "push": d.PushToken != "",
	}
}

func (s *Server) getDevice(w http.ResponseWriter, _ *http.Request, d *device, _ []byte) {
	s.mu.Lock()
	out := s.deviceJSON(d)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) renameDevice(w http.ResponseWriter, _ *http.Request, d *device, body []byte) {
	var req struct {
		Name string `json:"name"`
	}
	if err := decodeStrict(body, &req); err != nil || !validName(req.Name) {
		writeError(w, http.StatusBadRequest, mobileclient.CodeMalformed, "name")
		return
	}
	s.mu.Lock()
	d.Name = req.Name
	out := s.deviceJSON(d)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) setPushToken(w http.ResponseWriter, _ *http.Request, d *device, body []byte) {
	var req struct {
		PushToken *string `json:"push_token"`
	}
	if err := decodeStrict(body, &req); err != nil || req.PushToken == nil || !validPushToken(*req.PushToken) {
		writeError(w, http.StatusBadRequest, mobileclient.CodeMalformed, "push_token")
		return
	}
	s.mu.Lock()
	d.PushToken = *req.PushToken
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) removeDevice(w http.ResponseWriter, _ *http.Request, d *device, _ []byte) {
	s.mu.Lock()
	d.Removed = true
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
