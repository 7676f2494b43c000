package flow

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/latchkey/latchkey/connector/hub"
	"github.com/latchkey/latchkey/portal/factor/passkey"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// Errors the handlers turn into pages. None of them says anything about the
// account.
var (
	// ErrNoFlow: the token names no flow of this tenant, or it expired. The
	// page says the session ended and offers to start again (R7, R38).
	ErrNoFlow = errors.New("flow: no such flow")
	// ErrStale: the step token does not match the flow's current step — a
	// replayed, skipped or stale form. Nothing changed (R16).
	ErrStale = errors.New("flow: step out of date")
	// ErrInvalidInput: the form was malformed (not a wrong answer).
	ErrInvalidInput = errors.New("flow: invalid input")
	// ErrUnavailable: the directory cannot be reached through a connector
	// right now; the user is told before verification starts (R57).
	ErrUnavailable = errors.New("flow: directory unavailable")
	// ErrBusy: the server sheds load (argon2id semaphore); try again.
	ErrBusy = errors.New("flow: busy")
	// ErrDisabled: the action is switched off by the tenant's policy.
	ErrDisabled = errors.New("flow: action not enabled")
)

// Defaults for the zero values of Config.
const (
	DefaultFlowTTL          = 15 * time.Minute
	DefaultCodeTTL          = 10 * time.Minute // R6: at most 10 minutes
	DefaultMaxCodeAttempts  = 5                // R21: the 6th wrong code kills the flow
	DefaultMaxFlowFailures  = 6
	DefaultLockoutThreshold = 10
	DefaultLockoutDuration  = 30 * time.Minute
	DefaultMinDelay         = 250 * time.Millisecond
	DefaultJitter           = 50 * time.Millisecond
	DefaultMaxSends         = 5 // codes per account per hour (R3)
	DefaultQuestions        = 3
	DefaultAnswerWait       = 2 * time.Second
	DefaultSMSPerTenantDay  = 1000
	DefaultSMSPerUserDay    = 10
	DefaultSMSCooldown      = 30 * time.Second
	reportTTL               = 7 * 24 * time.Hour
	tokenBytes              = 32 // R4: ≥128 bits
)

// Dispatcher runs a directory command on one of the tenant's connectors and
// returns its one definite outcome (connector/hub.Dispatcher). It zeroes the
// passwords it is given.
type Dispatcher interface {
	Execute(ctx context.Context, tenantID string, req hub.Request) hub.Outcome
}

// Codes makes and checks one-time codes (portal/factor/otp.Codes).
type Codes interface {
	New(binding string) (code string, mac []byte, err error)
	Check(binding, input string, mac []byte) bool
}

// Answers hashes and verifies security answers with argon2id
// (portal/factor/questions.Hasher).
type Answers interface {
	Hash(ctx context.Context, answer string) (string, error)
	Verify(ctx context.Context, phc, answer string) (bool, error)
}

// Message is a notification for the Messenger to render and queue.
type Message struct {
	Channel     tenants.MessageChannel
	To          string
	Kind        string // portal/notify kinds: "email_code", "sms_code", "reset_done", …
	Lang        string
	Code        string // only for the code kinds
	ExpiresIn   time.Duration
	Action      tenants.Action
	Username    string
	DisplayName string
	IP          string
	UserAgent   string
	Browser     string // a browser summary when the raw header is not known (a push's context)
	ReportURL   string // "this wasn't me"
	Time        time.Time
}

// Messenger renders a message with the tenant's templates and queues it in
// the durable outbox; it must not wait for a provider (portal/notify).
type Messenger interface {
	Send(ctx context.Context, t *tenants.Tenant, m Message) error
}

// Pusher sends push-approval challenges for flows (push/approval).
type Pusher interface {
	// Push creates a challenge for the user's device and sends it (FCM,
	// and it is listed for polling). ok is false when the user has no
	// device or the push-fatigue limits refuse: the page then looks the
	// same, but nothing arrives (R1, R29).
	Push(ctx context.Context, t *tenants.Tenant, userID string, action tenants.Action, c Client) (cid string, number int, ok bool, err error)
	// Status returns the challenge's state: "pending", "approved",
	// "denied", "expired" or "reported".
	Status(ctx context.Context, t *tenants.Tenant, cid string) (string, error)
}

// TOTP checks authenticator-app codes against a user's sealed seed
// (portal/factor/totp.Service).
type TOTP interface {
	// Check checks code for the enrollment at now and returns the time
	// step it matched; a step at or before e.LastCounter is refused with
	// an error matching totp.ErrReplay (R26), any other miss with another
	// error.
	Check(t *tenants.Tenant, e tenants.TOTPEnrollment, code string, now time.Time) (counter int64, err error)
}

// PhoneChecker validates numbers for SMS (portal/phone): the E.164 form and
// the ISO region of raw, or an error.
type PhoneChecker func(raw string) (e164, region string, err error)

// Client is who is asking: for rate limits, notifications and the audit log.
type Client struct {
	IP        string
	UserAgent string
	RequestID string
	Lang      string
}

// Config tunes the engine; zero values take the Default… constants.
type Config struct {
	FlowTTL         time.Duration
	CodeTTL         time.Duration
	MaxCodeAttempts int
	MaxFlowFailures int
	MinDelay        time.Duration // response floor of Start, sending codes and verifying (R2)
	Jitter          time.Duration
	MaxSends        int
	// CaptchaAfterIP is how many flows one IP may start per 10 minutes
	// before a CAPTCHA is required (tenant setting "suspicious").
	CaptchaAfterIP int
	// DecoyAfterIP is how many flows one IP may start per 10 minutes before
	// further ones silently run as decoys (R3: the reply looks the same).
	DecoyAfterIP int
	// TenantStartsPerMinute above which every flow of the tenant gets a CAPTCHA.
	TenantStartsPerMinute int
	// AnswerWait bounds how long one security-questions submission may wait
	// for and run its argon2id verifications before the server sheds it
	// with ErrBusy (DefaultAnswerWait).
	AnswerWait time.Duration
}

// Deps are the engine's collaborators.
type Deps struct {
	Store      store.Store
	Dispatcher Dispatcher
	Messenger  Messenger
	Codes      Codes
	Answers    Answers
	Phone      PhoneChecker
	// Pusher, TOTP and Passkeys enable those factors; nil leaves them out.
	Pusher   Pusher
	TOTP     TOTP
	Passkeys *passkey.Service
	// Key is the engine's HMAC key (≥32 bytes, from configuration): step
	// tokens, decoy questions, CAPTCHA digits.
	Key []byte
	// Links builds "this wasn't me" links from the tenant's host (R9).
	Links  tenants.LinkBuilder
	Now    func() time.Time
	Rand   io.Reader
	Logger *slog.Logger
	// Sleep waits for d or until ctx ends (the response floor); nil: a timer.
	Sleep func(ctx context.Context, d time.Duration)
}

// Engine runs self-service flows. It is safe for concurrent use.
type Engine struct {
	cfg Config
	Deps
	dummyMu sync.Mutex
	dummy   string // see dummyHash
}

// New returns an engine.
func New(cfg Config, d Deps) (*Engine, error) {
	switch {
	case d.Store == nil:
		return nil, errors.New("flow: Deps.Store is required")
	case d.Dispatcher == nil:
		return nil, errors.New("flow: Deps.Dispatcher is required")
	case d.Messenger == nil:
		return nil, errors.New("flow: Deps.Messenger is required")
	case d.Codes == nil || d.Answers == nil:
		return nil, errors.New("flow: Deps.Codes and Deps.Answers are required")
	case len(d.Key) < 32:
		return nil, errors.New("flow: Deps.Key must be at least 32 bytes")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Rand == nil {
		d.Rand = rand.Reader
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Sleep == nil {
		d.Sleep = sleepCtx
	}
	def := func(v *time.Duration, dv time.Duration) {
		if *v == 0 {
			*v = dv
		}
	}
	defi := func(v *int, dv int) {
		if *v == 0 {
			*v = dv
		}
	}
	def(&cfg.FlowTTL, DefaultFlowTTL)
	def(&cfg.CodeTTL, DefaultCodeTTL)
	if cfg.CodeTTL > DefaultCodeTTL {
		return nil, fmt.Errorf("flow: CodeTTL %s is over the 10-minute maximum (R6)", cfg.CodeTTL)
	}
	defi(&cfg.MaxCodeAttempts, DefaultMaxCodeAttempts)
	defi(&cfg.MaxFlowFailures, DefaultMaxFlowFailures)
	if cfg.MinDelay == 0 {
		cfg.MinDelay = DefaultMinDelay
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = DefaultJitter
	}
	if cfg.MinDelay < 0 { // tests switch the floor off with a negative value
		cfg.MinDelay, cfg.Jitter = 0, 0
	}
	defi(&cfg.MaxSends, DefaultMaxSends)
	defi(&cfg.CaptchaAfterIP, 10)
	defi(&cfg.DecoyAfterIP, 100)
	defi(&cfg.TenantStartsPerMinute, 600)
	def(&cfg.AnswerWait, DefaultAnswerWait)
	return &Engine{cfg: cfg, Deps: d}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// newToken returns a fresh random token (base64url, 256 bits) and its flow
// or session ID (hex SHA-256).
func (e *Engine) newToken() (token, id string, err error) { return NewToken(e.Rand) }

// NewToken returns a fresh token from r (nil: crypto/rand) — 256 bits,
// base64url — and its stored ID (IDOf).
func NewToken(r io.Reader) (token, id string, err error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, tokenBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", "", fmt.Errorf("flow: read random: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, IDOf(token), nil
}

// IDOf returns the stored ID of a flow token: its hex SHA-256 (R4).
func IDOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// validToken reports whether s looks like a token we issued (43 base64url
// characters), so that garbage never reaches the store.
func validToken(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return false
	}
	// Re-encoding must give s back: the decoder skips CR and LF and ignores
	// the unused low bits of the last character, so DecodeString alone
	// accepts strings we never issued.
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && base64.RawURLEncoding.EncodeToString(b) == s
}

// mac returns HMAC-SHA256(Key, parts joined by NUL).
func (e *Engine) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, e.Key)
	for i, p := range parts {
		if i > 0 {
			m.Write([]byte{0})
		}
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// stepToken is the token a page's form carries: it binds the answer to the
// tenant, the flow and the flow's version, so a form can be answered once.
func (e *Engine) stepToken(f tenants.Flow) string {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(f.Version))
	return base64.RawURLEncoding.EncodeToString(e.mac("step", string(f.TenantID), f.ID, string(v[:]))[:18])
}

func (e *Engine) checkStep(f tenants.Flow, step string) bool {
	return hmac.Equal([]byte(e.stepToken(f)), []byte(step))
}

// pad waits until the response floor after start has passed, plus jitter
// (R2): every account state answers in the same time.
func (e *Engine) pad(ctx context.Context, start time.Time) {
	if e.cfg.MinDelay <= 0 {
		return
	}
	d := e.cfg.MinDelay
	if e.cfg.Jitter > 0 {
		var b [8]byte
		if _, err := io.ReadFull(e.Rand, b[:]); err == nil {
			d += time.Duration(binary.BigEndian.Uint64(b[:]) % uint64(e.cfg.Jitter))
		}
	}
	e.Sleep(ctx, start.Add(d).Sub(e.Now())) // the injected clock, not the wall clock
}

// load finds the flow of token for tenant t and decodes its state.
func (e *Engine) load(ctx context.Context, t *tenants.Tenant, token string) (tenants.Flow, *state, error) {
	if !validToken(token) {
		return tenants.Flow{}, nil, ErrNoFlow
	}
	f, err := e.Store.Tenant(t.ID).GetFlow(ctx, IDOf(token))
	if errors.Is(err, store.ErrNotFound) {
		return tenants.Flow{}, nil, ErrNoFlow
	}
	if err != nil {
		return tenants.Flow{}, nil, fmt.Errorf("flow: load: %w", err)
	}
	if !e.Now().Before(f.ExpiresAt) {
		return tenants.Flow{}, nil, ErrNoFlow
	}
	st := new(state)
	if err := json.Unmarshal(f.State, st); err != nil {
		return tenants.Flow{}, nil, fmt.Errorf("flow: decode state of %s: %w", f.ID[:8], err)
	}
	return f, st, nil
}

// save writes st back as the next version of f. ErrStale when another
// request won the race for this version.
func (e *Engine) save(ctx context.Context, f tenants.Flow, st *state) (tenants.Flow, error) {
	raw, err := json.Marshal(st)
	if err != nil {
		return f, fmt.Errorf("flow: encode state: %w", err)
	}
	f.State = raw
	nf, err := e.Store.Tenant(f.TenantID).UpdateFlow(ctx, f)
	switch {
	case errors.Is(err, store.ErrConflict):
		return f, ErrStale
	case errors.Is(err, store.ErrNotFound):
		return f, ErrNoFlow
	case err != nil:
		return f, fmt.Errorf("flow: save: %w", err)
	}
	return nf, nil
}

// audit appends an event; a failure is logged, not fatal to the user's step
// (the step itself is already durable).
func (e *Engine) audit(ctx context.Context, t *tenants.Tenant, c Client, actor, action, target, outcome string, detail map[string]string) {
	_, err := e.Store.Tenant(t.ID).AppendAudit(ctx, tenants.AuditEvent{Actor: actor, Action: action, Target: target,
		IP: c.IP, UserAgent: c.UserAgent, Outcome: outcome, CorrelationID: c.RequestID, Detail: detail})
	if err != nil {
		e.Logger.ErrorContext(ctx, "audit append failed", "action", action, "err", err)
	}
}
