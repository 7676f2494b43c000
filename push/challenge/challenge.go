package challenge

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/latchkey/latchkey/tenants"
)

// MaxLifetime is the longest a challenge can be answered (security.md R30).
const MaxLifetime = 120 * time.Second

// State is where a challenge is in its life: pending until it is answered
// once or expires.
type State string

const (
	StatePending  State = "pending"
	StateApproved State = "approved"
	StateDenied   State = "denied"
	StateExpired  State = "expired"
	StateReported State = "reported" // the user answered "this wasn't me"
)

// Terminal reports whether s ends the challenge.
func (s State) Terminal() bool {
	switch s {
	case StateApproved, StateDenied, StateExpired, StateReported:
		return true
	}
	return false
}

// CanTransition reports whether a challenge may move from one state to
// another: only from pending, only to a terminal state.
func CanTransition(from, to State) bool {
	return from == StatePending && to.Terminal()
}

// Purpose is the self-service action a challenge verifies (reset, unlock,
// sign-in, change, enroll). It uses the tenants package's action names.
type Purpose = tenants.Action

// Reason says why a challenge reached its state, for the audit log and the
// limits (a wrong number counts as a denial).
type Reason string

const (
	ReasonNone        Reason = ""
	ReasonApproved    Reason = "approved"
	ReasonDenied      Reason = "denied"       // the user pressed deny
	ReasonWrongNumber Reason = "wrong_number" // approve with a wrong or missing number
	ReasonReported    Reason = "reported"
	ReasonExpired     Reason = "expired"
)

// Context is what the phone shows the user about the request being verified.
// It carries no secrets: no password, code, token or number.
type Context struct {
	Action     Purpose   // what is being done, same as the challenge's purpose
	TenantName string    // the tenant's display name
	App        string    // optional: which client asked ("Self-service portal")
	IP         string    // the browser's address as the portal saw it
	Geo        string    // optional: coarse location of IP ("Berlin, DE")
	Browser    string    // user agent summary ("Firefox on Windows")
	Time       time.Time // when the request was made (UTC)
}

// Challenge is one push verification.
type Challenge struct {
	CID      string // 128 random bits, lower-case hex
	Tenant   tenants.ID
	UserID   string
	DeviceID string // the device that may answer
	Purpose  Purpose
	Context  Context
	// Number is the two-digit number shown in the browser that the phone must
	// send back (10–99), or 0 when number matching is off.
	Number    int
	CreatedAt time.Time
	ExpiresAt time.Time
	State     State
	Reason    Reason
	// AnsweredAt is when State left pending (zero while pending).
	AnsweredAt time.Time
}

// StateAt is c's state as seen at now: a pending challenge past its expiry is
// expired even before anything stored that.
func (c *Challenge) StateAt(now time.Time) State {
	if c.State == StatePending && !now.Before(c.ExpiresAt) {
		return StateExpired
	}
	return c.State
}

// Remaining is how long c can still be answered at now (0 when it cannot).
func (c *Challenge) Remaining(now time.Time) time.Duration {
	if c.StateAt(now) != StatePending {
		return 0
	}
	return c.ExpiresAt.Sub(now)
}

// Config configures an Issuer.
type Config struct {
	// Lifetime is how long a challenge can be answered: at most MaxLifetime,
	// which is also the default.
	Lifetime time.Duration
	// DisableNumberMatching turns number matching off (it is on by default,
	// security.md R28). Off, the phone approves without typing a number.
	DisableNumberMatching bool
	// Rand is the source of challenge ids and numbers (default crypto/rand.Reader).
	Rand io.Reader
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Issuer creates challenges.
type Issuer struct {
	cfg Config
}

// NewIssuer checks cfg and fills its defaults.
func NewIssuer(cfg Config) (*Issuer, error) {
	switch {
	case cfg.Lifetime == 0:
		cfg.Lifetime = MaxLifetime
	case cfg.Lifetime < time.Second || cfg.Lifetime > MaxLifetime:
		return nil, fmt.Errorf("push challenge config: lifetime %v not within 1s..%v", cfg.Lifetime, MaxLifetime)
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Issuer{cfg: cfg}, nil
}

// Request is what a flow asks a challenge for.
type Request struct {
	Tenant   tenants.ID
	UserID   string
	DeviceID string
	Purpose  Purpose
	Context  Context // Action and Time are filled in when empty
}

// ErrInvalidRequest is returned for a Request missing a field or carrying a
// context field that cannot be shown.
var ErrInvalidRequest = errors.New("invalid push challenge request")

// maxContextLen bounds every context string the phone shows.
const maxContextLen = 200

// Issue creates a pending challenge for req, with a fresh cid and, unless
// number matching is off, a fresh number. It stores nothing.
func (is *Issuer) Issue(req Request) (*Challenge, error) {
	now := is.cfg.Now().UTC().Truncate(time.Second)
	ctx, err := checkRequest(req, now)
	if err != nil {
		return nil, err
	}
	cid, err := newCID(is.cfg.Rand)
	if err != nil {
		return nil, err
	}
	number := 0
	if !is.cfg.DisableNumberMatching {
		if number, err = newNumber(is.cfg.Rand); err != nil {
			return nil, err
		}
	}
	return &Challenge{
		CID:       cid,
		Tenant:    req.Tenant,
		UserID:    req.UserID,
		DeviceID:  req.DeviceID,
		Purpose:   req.Purpose,
		Context:   ctx,
		Number:    number,
		CreatedAt: now,
		ExpiresAt: now.Add(is.cfg.Lifetime),
		State:     StatePending,
	}, nil
}

// checkRequest validates req and returns its context with Action and Time
// filled in.
func checkRequest(req Request, now time.Time) (Context, error) {
	ctx := req.Context
	if ctx.Action == "" {
		ctx.Action = req.Purpose
	}
	if ctx.Time.IsZero() {
		ctx.Time = now
	}
	ctx.Time = ctx.Time.UTC()
	return ctx, validateRequest(req, ctx)
}

func validateRequest(req Request, ctx Context) error {
	switch {
	case req.Tenant == "":
		return fmt.Errorf("%w: no tenant", ErrInvalidRequest)
	case req.UserID == "":
		return fmt.Errorf("%w: no user", ErrInvalidRequest)
	case req.DeviceID == "":
		return fmt.Errorf("%w: no device", ErrInvalidRequest)
	case !slices.Contains(tenants.Actions, req.Purpose):
		return fmt.Errorf("%w: unknown purpose %q", ErrInvalidRequest, req.Purpose)
	case ctx.Action != req.Purpose:
		return fmt.Errorf("%w: context action %q differs from purpose %q", ErrInvalidRequest, ctx.Action, req.Purpose)
	case ctx.TenantName == "" || ctx.IP == "" || ctx.Browser == "":
		return fmt.Errorf("%w: context needs tenant name, IP and browser", ErrInvalidRequest)
	}
	for name, v := range map[string]string{"tenant name": ctx.TenantName, "app": ctx.App, "IP": ctx.IP, "geo": ctx.Geo, "browser": ctx.Browser} {
		if !displayable(v) {
			return fmt.Errorf("%w: context %s is too long or not printable", ErrInvalidRequest, name)
		}
	}
	return nil
}

// displayable reports whether s is short, valid UTF-8 without control or
// bidi-override characters, so it cannot forge lines on the phone's screen.
func displayable(s string) bool {
	if len(s) > maxContextLen || !utf8.ValidString(s) {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
	})
}

// newCID returns 128 random bits from r as 32 lower-case hex digits.
func newCID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("read challenge id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// newNumber returns a uniform number in 10..99 from r (rejection sampling
// over bytes below 180, the largest multiple of 90 that fits).
func newNumber(r io.Reader) (int, error) {
	var b [1]byte
	for range 64 {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, fmt.Errorf("read challenge number: %w", err)
		}
		if b[0] < 180 {
			return 10 + int(b[0])%90, nil
		}
	}
	return 0, errors.New("read challenge number: random source keeps returning bytes ≥ 180")
}

// validCID reports whether s looks like a cid (32 lower-case hex digits).
func validCID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
