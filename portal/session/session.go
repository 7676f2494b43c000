// Package session manages signed-in users' browser sessions over the store
// (R36, R37, R13): the cookie carries a random 256-bit token and only its
// SHA-256 is stored; sessions end after an idle and an absolute timeout, are
// rotated on every re-authentication (no fixation), and know when the user
// last authenticated, so that changes to recovery factors can demand a
// recent one (step-up).
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
	"time"

	"github.com/latchkey/latchkey/tenants"
)

// ErrNoSession: the token names no live session of this tenant.
var ErrNoSession = errors.New("session: no session")

// Defaults for the zero values of Manager.
const (
	DefaultIdle     = 15 * time.Minute
	DefaultAbsolute = 8 * time.Hour
	DefaultStepUp   = 5 * time.Minute
	touchEvery      = time.Minute
	tokenBytes      = 32
)

// Store is what the manager needs of a tenant's store (store.TenantStore).
type Store interface {
	CreateSession(ctx context.Context, s tenants.Session) (tenants.Session, error)
	GetSession(ctx context.Context, id string) (tenants.Session, error)
	TouchSession(ctx context.Context, id string, seen, authAt time.Time) error
	RevokeSession(ctx context.Context, id string, at time.Time) error
	RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) (int, error)
}

// Manager creates and checks sessions. The zero value is ready to use.
type Manager struct {
	Now                      func() time.Time
	Rand                     io.Reader
	Idle, Absolute, StepUpIn time.Duration
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Manager) idle() time.Duration     { return or(m.Idle, DefaultIdle) }
func (m *Manager) absolute() time.Duration { return or(m.Absolute, DefaultAbsolute) }
func (m *Manager) stepUp() time.Duration   { return or(m.StepUpIn, DefaultStepUp) }

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// CookieName is the session cookie's name: with TLS the __Host- prefix pins
// it to the exact host, Secure and Path=/. Set it HttpOnly, SameSite=Lax,
// Path=/ and without Domain.
func CookieName(tls bool) string {
	if tls {
		return "__Host-lk_session"
	}
	return "lk_session"
}

// IDOf is the stored ID of a token.
func IDOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func (m *Manager) newToken() (string, error) {
	r := m.Rand
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, tokenBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("session: read random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Start creates a session for a user who just authenticated.
func (m *Manager) Start(ctx context.Context, st Store, userID, ip, ua string) (string, tenants.Session, error) {
	now := m.now()
	return m.create(ctx, st, tenants.Session{UserID: userID, AuthAt: now, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(m.absolute()), IP: ip, UserAgent: ua})
}

func (m *Manager) create(ctx context.Context, st Store, s tenants.Session) (string, tenants.Session, error) {
	tok, err := m.newToken()
	if err != nil {
		return "", tenants.Session{}, err
	}
	s.ID = IDOf(tok)
	s, err = st.CreateSession(ctx, s)
	if err != nil {
		return "", tenants.Session{}, fmt.Errorf("session: create: %w", err)
	}
	return tok, s, nil
}

// Get returns the live session of token; ErrNoSession for an unknown,
// malformed, revoked, idle or expired one.
func (m *Manager) Get(ctx context.Context, st Store, token string) (tenants.Session, error) {
	if len(token) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return tenants.Session{}, ErrNoSession
	}
	if _, err := base64.RawURLEncoding.DecodeString(token); err != nil {
		return tenants.Session{}, ErrNoSession
	}
	s, err := st.GetSession(ctx, IDOf(token))
	if err != nil {
		return tenants.Session{}, ErrNoSession
	}
	now := m.now()
	if !s.RevokedAt.IsZero() || !now.Before(s.ExpiresAt) || !now.Before(s.LastSeenAt.Add(m.idle())) {
		return tenants.Session{}, ErrNoSession
	}
	if now.Sub(s.LastSeenAt) >= touchEvery {
		if err := st.TouchSession(ctx, s.ID, now, time.Time{}); err != nil {
			return tenants.Session{}, fmt.Errorf("session: touch: %w", err)
		}
		s.LastSeenAt = now
	}
	return s, nil
}

// StepUp records a re-authentication: the session is replaced by a new one
// (new token, AuthAt now, same absolute expiry) and the old one revoked, so a
// token an attacker planted or saw before is worthless (R36).
func (m *Manager) StepUp(ctx context.Context, st Store, token string) (string, tenants.Session, error) {
	old, err := m.Get(ctx, st, token)
	if err != nil {
		return "", tenants.Session{}, err
	}
	now := m.now()
	tok, s, err := m.create(ctx, st, tenants.Session{UserID: old.UserID, AuthAt: now, CreatedAt: old.CreatedAt, LastSeenAt: now,
		ExpiresAt: old.ExpiresAt, IP: old.IP, UserAgent: old.UserAgent})
	if err != nil {
		return "", tenants.Session{}, err
	}
	if err := st.RevokeSession(ctx, old.ID, now); err != nil {
		return "", tenants.Session{}, fmt.Errorf("session: revoke the old one: %w", err)
	}
	return tok, s, nil
}

// RecentlyAuthenticated reports whether s authenticated within the step-up
// window (R37).
func (m *Manager) RecentlyAuthenticated(s tenants.Session) bool {
	return m.now().Before(s.AuthAt.Add(m.stepUp()))
}

// End revokes the session of token (sign-out).
func (m *Manager) End(ctx context.Context, st Store, token string) error {
	if err := st.RevokeSession(ctx, IDOf(token), m.now()); err != nil {
		return fmt.Errorf("session: end: %w", err)
	}
	return nil
}

// EndOthers revokes the user's other sessions (R13).
func (m *Manager) EndOthers(ctx context.Context, st Store, s tenants.Session) (int, error) {
	n, err := st.RevokeUserSessions(ctx, s.UserID, s.ID, m.now())
	if err != nil {
		return 0, fmt.Errorf("session: end others: %w", err)
	}
	return n, nil
}
