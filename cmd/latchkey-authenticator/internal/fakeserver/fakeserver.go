// Package fakeserver is an in-memory server of Latchkey's mobile API v1
// (docs/mobile-api.md) for the authenticator's tests. It implements the
// documented behaviour strictly — one-time, 10-minute enrollment secrets
// stored as SHA-256 (a wrong secret or a taken key_id leaves the link
// usable), P-256 keys only, the documented field rules, 10 well-formed
// enrollments per address and 10-minute window (then 429 with Retry-After),
// every later request signed as in section 2 (±60 s, nonces once per device,
// one 401 for every cause), only the contract's members, bodies of at most
// 16 KiB (then 413), the documented status and error code for each refusal —
// and answers challenges with push/challenge's real Service, so an answer is
// accepted only in canonical form and under the device's key. FCM is a
// channel of the data messages that would have been sent.
//
// It serves one tenant; the real server also takes the tenant from the host.
package fakeserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/mobileclient"
	"github.com/latchkey/latchkey/push/challenge"
	"github.com/latchkey/latchkey/tenants"
)

// Tenant is the fake's one tenant id.
const Tenant tenants.ID = "fake-tenant"

// Documented limits.
const (
	EnrollAttempts     = 10 // well-formed enrollments per address and window
	EnrollWindow       = 10 * time.Minute
	EnrollmentLifetime = 10 * time.Minute
	Skew               = 60 * time.Second
	PollInterval       = 5
)

// Config configures a Server.
type Config struct {
	TenantName string           // default "Acme"
	Now        func() time.Time // default time.Now
	Rand       io.Reader        // ids, secrets, cids and numbers; default crypto/rand
	// DisableNumberMatching issues challenges without a number.
	DisableNumberMatching bool
}

// User is whose enrollment it is.
type User struct {
	ID, Username, DisplayName string
}

// Request is one request the server answered, for tests to look at.
type Request struct {
	Method, Path string
	Status       int
	Code         string // the error code, "" on success
}

// DeviceInfo is the server's record of a device.
type DeviceInfo struct {
	ID, KeyID, Name, Platform, PushToken string
	User                                 User
	CreatedAt                            time.Time
	Removed                              bool
	PublicKey                            *ecdsa.PublicKey
}

type enrollment struct {
	secretHash [32]byte
	expires    time.Time
	used       bool
	user       User
}

type device struct {
	DeviceInfo
	nonces map[string]time.Time
	cids   []string // newest last
}

// Server is the fake. It is safe for concurrent use.
type Server struct {
	cfg   Config
	svc   *challenge.Service
	store *challenge.MemStore
	fcm   chan challenge.Message
	mux   *http.ServeMux

	mu          sync.Mutex
	enrollments map[string]*enrollment
	devices     map[string]*device
	requests    []Request
	// enrollTries counts well-formed enrollment attempts per client address
	// in the current window.
	enrollTries  map[string]int
	enrollWindow time.Time
}

// New returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.TenantName == "" {
		cfg.TenantName = "Acme"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	s := &Server{
		cfg:         cfg,
		store:       challenge.NewMemStore(),
		fcm:         make(chan challenge.Message, 64),
		enrollments: map[string]*enrollment{},
		devices:     map[string]*device{},
		enrollTries: map[string]int{},
	}
	is, err := challenge.NewIssuer(challenge.Config{Rand: cfg.Rand, Now: cfg.Now, DisableNumberMatching: cfg.DisableNumberMatching})
	if err != nil {
		return nil, fmt.Errorf("fake server: %w", err)
	}
	// Generous limits: the tests of the client push many challenges.
	lim, err := challenge.NewLimiter(challenge.NewMemHistory(), challenge.Limits{MaxPushes: 1000, Cooldowns: []time.Duration{0}, MaxDenials: 1000}, cfg.Now)
	if err != nil {
		return nil, fmt.Errorf("fake server: %w", err)
	}
	s.svc, err = challenge.NewService(challenge.ServiceConfig{Issuer: is, Store: s.store, Limiter: lim, Sender: fcmSender{s.fcm}, Now: cfg.Now})
	if err != nil {
		return nil, fmt.Errorf("fake server: %w", err)
	}
	m := http.NewServeMux()
	m.HandleFunc("POST "+mobileclient.PathEnroll, s.enroll)
	m.HandleFunc("GET "+mobileclient.PathChallenges, s.signed(s.listChallenges))
	m.HandleFunc("GET "+mobileclient.PathChallenges+"/{cid}", s.signed(s.getChallenge))
	m.HandleFunc("POST "+mobileclient.PathChallenges+"/{cid}/answer", s.signed(s.answer))
	m.HandleFunc("GET "+mobileclient.PathDevice, s.signed(s.getDevice))
	m.HandleFunc("PATCH "+mobileclient.PathDevice, s.signed(s.renameDevice))
	m.HandleFunc("DELETE "+mobileclient.PathDevice, s.signed(s.removeDevice))
	m.HandleFunc("PUT "+mobileclient.PathPushToken, s.signed(s.setPushToken))
	m.HandleFunc(mobileclient.APIPrefix+"/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, mobileclient.CodeNotFound, "no such endpoint")
	})
	s.mux = m
	return s, nil
}

type fcmSender struct{ c chan challenge.Message }

func (f fcmSender) Send(_ context.Context, m challenge.Message) error {
	select {
	case f.c <- m:
		return nil
	default:
		return errors.New("fake FCM: queue full")
	}
}

// FCM delivers the data messages the server sent.
func (s *Server) FCM() <-chan challenge.Message { return s.fcm }

// Requests returns the requests answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// NewEnrollment starts an enrollment for u and returns its link on baseURL
// (scheme://host[:port]).
func (s *Server) NewEnrollment(baseURL string, u User) (string, error) {
	id, err := s.random(16)
	if err != nil {
		return "", err
	}
	secret, err := s.random(32)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enrollments[id] = &enrollment{secretHash: sha256.Sum256([]byte(secret)), expires: s.cfg.Now().Add(EnrollmentLifetime), user: u}
	return strings.TrimRight(baseURL, "/") + mobileclient.EnrollPath + "?id=" + id + "&secret=" + secret, nil
}

func (s *Server) random(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return "", fmt.Errorf("fake server: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Device returns the record of a device.
func (s *Server) Device(id string) (DeviceInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[id]
	if !ok {
		return DeviceInfo{}, false
	}
	return d.DeviceInfo, true
}

// Push creates a challenge for the device, as "Approve on your phone" does,
// and sends its data message to the fake FCM when the device has a push
// token. It returns the challenge (with the number the browser would show).
func (s *Server) Push(deviceID string, purpose challenge.Purpose, c challenge.Context) (*challenge.Challenge, error) {
	s.mu.Lock()
	d, ok := s.devices[deviceID]
	var dev challenge.Device
	if ok {
		dev = s.challengeDevice(d)
		ok = !d.Removed
	}
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("fake server: no device %s", deviceID)
	}
	ch, err := s.svc.Push(context.Background(), challenge.Request{
		Tenant: Tenant, UserID: dev.UserID, DeviceID: deviceID, Purpose: purpose, Context: c,
	}, dev)
	if err != nil && !(ch != nil && dev.PushToken == "" && errors.Is(err, challenge.ErrSendFailed)) {
		return nil, err
	}
	s.mu.Lock()
	d.cids = append(d.cids, ch.CID)
	s.mu.Unlock()
	return ch, nil
}

// Challenge returns a challenge as stored.
func (s *Server) Challenge(cid string) (*challenge.Challenge, error) {
	return s.store.Get(context.Background(), Tenant, cid)
}

func (s *Server) challengeDevice(d *device) challenge.Device {
	return challenge.Device{Tenant: Tenant, UserID: d.User.ID, DeviceID: d.ID, KeyID: d.KeyID, PublicKey: d.PublicKey, PushToken: d.PushToken}
}

// ServeHTTP serves the API under /api/mobile/v1.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(rec, r)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Status: rec.status, Code: rec.code})
	s.mu.Unlock()
}

type recorder struct {
	http.ResponseWriter
	status int
	code   string
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	if rec, ok := w.(*recorder); ok {
		rec.code = code
	}
	writeJSON(w, status, mobileclient.ErrorBody{Error: code, Message: msg})
}

// readBody reads a JSON body of at most 16 KiB with the right content type.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" && !strings.HasPrefix(ct, "application/json;") {
		writeError(w, http.StatusBadRequest, mobileclient.CodeMalformed, "Content-Type must be application/json")
		return nil, false
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, mobileclient.MaxBody+1))
	switch {
	case err != nil:
		writeError(w, http.StatusBadRequest, mobileclient.CodeMalformed, "body unreadable")
		return nil, false
	case len(b) > mobileclient.MaxBody:
		writeError(w, http.StatusRequestEntityTooLarge, mobileclient.CodeTooLarge, "body over 16 KiB")
		return nil, false
	}
	return b, true
}

// decodeStrict decodes exactly one JSON object with only known members.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the object")
	}
	return nil
}

func (s *Server) enroll(w http.ResponseWriter, r *http.Request) {
	b, ok := readBody(w, r)
	if !ok {
		return
	}
	var req mobileclient.EnrollRequest
	if err := decodeStrict(b, &req); err != nil {
		writeError(w, http.StatusBadRequest, mobileclient.CodeMalformed, err.Error())
		return
	}
	pub, err := parseP256(req.PublicKey)
	switch {
	case err != nil:
		writeError(w, http.StatusBadRequest, mobileclient.CodeMalformed, err.Error())
		return
	case !validKeyID(req.KeyID):
		writeError(w, http.StatusBadRequest, mobileclient.CodeMalformed, "key_id: 1–128 characters of A–Z a–z 0–9 . _ : -")
		return
	case req.Platform != "android" && req.Platform != "ios" && req.Platform != "cli":
		writeError(w, http.StatusBadRequest, mobileclient.CodeMalformed, "platform")
		return
	case !validPushToken(req.PushToken):
		writeError(w, http.StatusBadRequest, mobileclient.CodeMalformed, "push_token")
		return
	case !validName(req.Name):
		writeError(w, http.StatusBadRequest, mobileclient.CodeMalformed, "name")
		return
	case len(req.EnrollmentID) != 22 || len(req.Secret) != 43:
		writeError(w, http.StatusBadRequest, mobileclient.CodeMalformed, "enrollment_id or secret")
		return
	}
	devID, err := uuid.NewRandomFromReader(s.cfg.Rand)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "random")
		return
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if w0 := now.Truncate(EnrollWindow); !w0.Equal(s.enrollWindow) {
		s.enrollWindow, s.enrollTries = w0, map[string]int{}
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	if s.enrollTries[ip]++; s.enrollTries[ip] > EnrollAttempts {
		w.Header().Set("Retry-After", strconv.Itoa(int(s.enrollWindow.Add(EnrollWindow).Sub(now).Seconds())))
		writeError(w, http.StatusTooManyRequests, mobileclient.CodeRateLimited, "too many attempts")
		return
	}
	e := s.enrollments[req.EnrollmentID]
	sum := sha256.Sum256([]byte(req.Secret))
	if e == nil || e.used || !now.Before(e.expires) || subtle.ConstantTimeCompare(sum[:], e.secretHash[:]) != 1 {
		writeError(w, http.StatusGone, mobileclient.CodeEnrollmentInvalid, "enrollment unknown, used or expired")
		return
	}
	for _, other := range s.devices {
		if other.User.ID == e.user.ID && other.KeyID == req.KeyID && !other.Removed {
			writeError(w, http.StatusConflict, mobileclient.CodeKeyIDTaken, "another of this user's devices has this key_id")
			return // the link stays usable
		}
	}
	e.used = true
	d := &device{DeviceInfo: DeviceInfo{
		ID: devID.String(), KeyID: req.KeyID, Name: req.Name, Platform: req.Platform, PushToken: req.PushToken,
		User: e.user, CreatedAt: now.UTC().Truncate(time.Second), PublicKey: pub,
	}, nonces: map[string]time.Time{}}
	s.devices[d.ID] = d
	writeJSON(w, http.StatusCreated, mobileclient.Enrolled{
		DeviceID: d.ID, KeyID: d.KeyID,
		User:                mobileclient.User{Username: e.user.Username, DisplayName: e.user.DisplayName},
		Tenant:              mobileclient.Tenant{Name: s.cfg.TenantName},
		PollIntervalSeconds: PollInterval,
	})
}

func parseP256(s string) (*ecdsa.PublicKey, error) {
	der, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, errors.New("public_key is not base64url")
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("public_key: %w", err)
	}
	ec, ok := k.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("public_key is not a P-256 key")
	}
	return ec, nil
}

// validName: 1–64 characters, no control or bidi characters.
func validName(s string) bool {
	n := utf8.RuneCountInString(s)
	return utf8.ValidString(s) && n >= 1 && n <= 64 && !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
	})
}

// validKeyID: 1–128 characters of A–Z a–z 0–9 . _ : -
func validKeyID(s string) bool {
	return len(s) >= 1 && len(s) <= 128 && !strings.ContainsFunc(s, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '_' || r == ':' || r == '-')
	})
}

// validPushToken: empty, or up to 4096 printable ASCII characters without
// spaces.
func validPushToken(s string) bool {
	return len(s) <= 4096 && !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r >= 0x7f })
}
