// Package session manages signed-in users' browser sessions (R36, R37,
// R13) over the tenant's store, without any HTTP framework.
//
// The browser's cookie carries a token of 32 random bytes (256 bits,
// base64url); the store keeps only its SHA-256, hex, as the session's ID,
// so a database dump opens no session (R4's rule, applied to sessions). A
// session ends after Idle without a request or Absolute after sign-in,
// whichever is first; revoked sessions are dead at once. StepUp, after the
// user authenticated again, moves the session to a new token and kills the
// old one (no fixation, R36) and opens the step-up window in which recovery
// factors may be changed (RecentlyAuthenticated, R37). End ends one
// session, EndOthers all the user's other sessions after a reset or a
// factor change (R13), EndUser all of them (admin kill, disabled user).
//
// Cookies (see CookieAttrs): "__Host-lk_session" with Secure, HttpOnly,
// SameSite=Lax, Path=/ and no Domain over TLS; "lk_session" without
// Secure only for plain-HTTP development.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// Defaults for Manager's zero durations.
const (
	DefaultIdle     = 15 * time.Minute
	DefaultAbsolute = 8 * time.Hour
	DefaultStepUp   = 5 * time.Minute
)

// TokenBytes is the entropy of a session token: 256 bits.
const TokenBytes = 32

// touchEvery is how stale LastSeenAt may get before Get writes it again;
// a session can therefore end up to this much before Idle.
const touchEvery = time.Minute

// tokenLen is the length of a token: unpadded base64url of TokenBytes.
var tokenLen = base64.RawURLEncoding.EncodedLen(TokenBytes)

// ErrNoSession means there is no live session for the token: unknown,
// malformed, revoked, idle too long or past its absolute expiry. The page
// treats it as signed out (401 for an API).
var ErrNoSession = errors.New("session: no live session")

// Store is what the manager needs of a tenant's store;
// store.TenantStore has it.
type Store interface {
	CreateSession(ctx context.Context, s tenants.Session) (tenants.Session, error)
	GetSession(ctx context.Context, id string) (tenants.Session, error)
	TouchSession(ctx context.Context, id string, seen, authAt time.Time) error
	RevokeSession(ctx context.Context, id string, at time.Time) error
	RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) (int, error)
}

var _ Store = store.TenantStore(nil)

// Manager starts, checks, rotates and ends sessions. Its zero value works:
// time.Now, crypto/rand and the default timeouts. It holds no state, so one
// Manager serves every tenant; the Store passed to each call is the
// tenant's.
type Manager struct {
	Now      func() time.Time
	Rand     io.Reader
	Idle     time.Duration // without a request; 0 means DefaultIdle
	Absolute time.Duration // after sign-in; 0 means DefaultAbsolute
	// StepUpWindow is how long a (re-)authentication counts for
	// RecentlyAuthenticated; 0 means DefaultStepUp. (Not named StepUp: that
	// is the method.)
	StepUpWindow time.Duration
	// Log receives failures that do not fail the request (a lost touch);
	// nil means slog.Default(). Tokens are never logged.
	Log *slog.Logger
}

func (m Manager) now() time.Time {
	if m.Now == nil {
		return time.Now()
	}
	return m.Now()
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Start opens a session for userID after a successful sign-in and returns
// the token for the cookie with the stored session. A session cookie the
// browser already had should be ended (End) first.
func (m Manager) Start(ctx context.Context, st Store, userID, ip, ua string) (token string, s tenants.Session, err error) {
	now := m.now()
	return m.create(ctx, st, tenants.Session{
		UserID: userID, AuthAt: now, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(orDefault(m.Absolute, DefaultAbsolute)), IP: ip, UserAgent: ua,
	})
}

// create stores s under a fresh token.
func (m Manager) create(ctx context.Context, st Store, s tenants.Session) (string, tenants.Session, error) {
	r := m.Rand
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, TokenBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", tenants.Session{}, fmt.Errorf("session: reading randomness: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	s.ID = ID(token)
	out, err := st.CreateSession(ctx, s)
	if err != nil {
		return "", tenants.Session{}, fmt.Errorf("session: creating: %w", err)
	}
	return token, out, nil
}

// ID is the store ID of a token: hex SHA-256 of the token's text.
func ID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// wellFormed reports whether token is one Start could have made, so that
// junk never reaches the store.
func wellFormed(token string) bool {
	if len(token) != tokenLen {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	return err == nil && len(b) == TokenBytes
}

// Get returns the live session for token, or ErrNoSession. It records the
// request in LastSeenAt, writing at most once a minute per session.
func (m Manager) Get(ctx context.Context, st Store, token string) (tenants.Session, error) {
	s, err := m.live(ctx, st, token)
	if err != nil {
		return tenants.Session{}, err
	}
	if now := m.now(); now.Sub(s.LastSeenAt) >= touchEvery {
		if err := st.TouchSession(ctx, s.ID, now, time.Time{}); err != nil {
			// The request goes on; at worst the session idles out early.
			m.logger().WarnContext(ctx, "session touch failed", "user_id", s.UserID, "err", err)
		} else {
			s.LastSeenAt = now
		}
	}
	return s, nil
}

func (m Manager) logger() *slog.Logger {
	if m.Log == nil {
		return slog.Default()
	}
	return m.Log
}

// live loads the session for token and checks that it is alive now.
func (m Manager) live(ctx context.Context, st Store, token string) (tenants.Session, error) {
	if !wellFormed(token) {
		return tenants.Session{}, ErrNoSession
	}
	id := ID(token)
	s, err := st.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return tenants.Session{}, ErrNoSession
	}
	if err != nil {
		return tenants.Session{}, fmt.Errorf("session: loading: %w", err)
	}
	now := m.now()
	switch {
	case s.ID != id,
		!s.RevokedAt.IsZero(),
		!now.Before(s.ExpiresAt),
		now.Sub(s.LastSeenAt) >= orDefault(m.Idle, DefaultIdle):
		return tenants.Session{}, ErrNoSession
	}
	return s, nil
}

// StepUp is called after the user of a live session authenticated again:
// it stores the session under a new token (AuthAt now; the same CreatedAt
// and absolute expiry), revokes the old one and returns the new token,
// which the caller sets as the cookie (R36, R37).
func (m Manager) StepUp(ctx context.Context, st Store, token string) (newToken string, s tenants.Session, err error) {
	old, err := m.live(ctx, st, token)
	if err != nil {
		return "", tenants.Session{}, err
	}
	now := m.now()
	next := old
	next.AuthAt, next.LastSeenAt, next.RevokedAt = now, now, time.Time{}
	newToken, s, err = m.create(ctx, st, next)
	if err != nil {
		return "", tenants.Session{}, err
	}
	if err := st.RevokeSession(ctx, old.ID, now); err != nil {
		// Both would be alive: take the new one back and report failure.
		if rerr := st.RevokeSession(ctx, s.ID, now); rerr != nil {
			m.logger().ErrorContext(ctx, "session: revoking the new session after a failed rotation", "user_id", s.UserID, "err", rerr)
		}
		return "", tenants.Session{}, fmt.Errorf("session: revoking the old session: %w", err)
	}
	return newToken, s, nil
}

// RecentlyAuthenticated reports whether s's user authenticated within the
// StepUpWindow, as changing a recovery email, phone or MFA needs (R37).
func (m Manager) RecentlyAuthenticated(s tenants.Session) bool {
	return !s.AuthAt.IsZero() && m.now().Sub(s.AuthAt) < orDefault(m.StepUpWindow, DefaultStepUp)
}

// End revokes the session of token (sign-out). Unknown or malformed tokens
// are not an error: there is nothing to end.
func (m Manager) End(ctx context.Context, st Store, token string) error {
	if !wellFormed(token) {
		return nil
	}
	err := st.RevokeSession(ctx, ID(token), m.now())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("session: ending: %w", err)
	}
	return nil
}

// EndOthers revokes every live session of s's user except s itself, after
// a password reset or a change of factors (R13), and returns how many.
func (m Manager) EndOthers(ctx context.Context, st Store, s tenants.Session) (int, error) {
	if s.UserID == "" || s.ID == "" {
		return 0, errors.New("session: EndOthers needs a stored session")
	}
	n, err := st.RevokeUserSessions(ctx, s.UserID, s.ID, m.now())
	if err != nil {
		return 0, fmt.Errorf("session: ending other sessions: %w", err)
	}
	return n, nil
}

// EndUser revokes every live session of userID (an admin ends them, or the
// user was disabled, R37) and returns how many.
func (m Manager) EndUser(ctx context.Context, st Store, userID string) (int, error) {
	if userID == "" {
		return 0, errors.New("session: EndUser needs a user id")
	}
	n, err := st.RevokeUserSessions(ctx, userID, "", m.now())
	if err != nil {
		return 0, fmt.Errorf("session: ending the user's sessions: %w", err)
	}
	return n, nil
}
