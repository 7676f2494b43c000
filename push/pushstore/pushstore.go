// Package pushstore keeps push challenges and the push-fatigue history in
// the tenants store, so that every node of a cluster sees the same
// challenges and the same limits (security.md R29, R30).
//
//   - Challenges implements challenge.Store over the store's
//     CreateChallenge, GetChallenge and AnswerChallenge (one conditional
//     UPDATE, so of concurrent answers exactly one wins). The challenge's
//     Context travels as JSON (EncodeContext).
//   - History implements challenge.History over the user's PushHistory
//     (JSON) and FrozenAt, through UpdateUser, which loads, changes and
//     saves one user atomically: the limiter's guard runs inside that
//     update, so two pushes decided at once on two nodes cannot both pass a
//     limit.
//
// Both are scoped per tenant through a Scope, usually store.Store's Tenant
// method adapted with Scoped.
package pushstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/push/challenge"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// Store is the part of store.TenantStore this package uses.
type Store interface {
	CreateChallenge(ctx context.Context, c tenants.PushChallenge) error
	GetChallenge(ctx context.Context, cid string) (tenants.PushChallenge, error)
	AnswerChallenge(ctx context.Context, cid, from, to, reason string, at time.Time) (bool, error)
	UpdateUser(ctx context.Context, id string, fn func(*tenants.User) error) (tenants.User, error)
}

// Scope returns the Store of one tenant.
type Scope func(tenants.ID) Store

// Scoped adapts a function returning a tenant's store of any type that has
// Store's methods (store.Store's Tenant method: Scoped(st.Tenant)).
func Scoped[S Store](tenant func(tenants.ID) S) Scope {
	return func(id tenants.ID) Store { return tenant(id) }
}

// Challenges is a challenge.Store over the tenants store.
type Challenges struct {
	scope Scope
}

var _ challenge.Store = (*Challenges)(nil)

// NewChallenges returns a challenge.Store over scope.
func NewChallenges(scope Scope) *Challenges { return &Challenges{scope: scope} }

// Create implements challenge.Store.
func (s *Challenges) Create(ctx context.Context, c *challenge.Challenge) error {
	rec, err := ToRecord(c)
	if err != nil {
		return fmt.Errorf("create push challenge: %w", err)
	}
	if err := s.scope(c.Tenant).CreateChallenge(ctx, rec); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return fmt.Errorf("create push challenge: %w: %w", challenge.ErrExists, err)
		}
		return fmt.Errorf("create push challenge: %w", err)
	}
	return nil
}

// Get implements challenge.Store.
func (s *Challenges) Get(ctx context.Context, tenant tenants.ID, cid string) (*challenge.Challenge, error) {
	rec, err := s.scope(tenant).GetChallenge(ctx, cid)
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && rec.TenantID != tenant:
		return nil, fmt.Errorf("get push challenge: %w", challenge.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("get push challenge: %w", err)
	}
	c, err := FromRecord(rec)
	if err != nil {
		return nil, fmt.Errorf("get push challenge: %w", err)
	}
	return c, nil
}

// Answer implements challenge.Store with the store's conditional update.
func (s *Challenges) Answer(ctx context.Context, tenant tenants.ID, cid string, t challenge.Transition) (bool, error) {
	if !challenge.CanTransition(t.From, t.To) {
		return false, fmt.Errorf("answer push challenge: %w: %s → %s", challenge.ErrInvalidTransition, t.From, t.To)
	}
	won, err := s.scope(tenant).AnswerChallenge(ctx, cid, string(t.From), string(t.To), string(t.Reason), t.At.UTC())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, fmt.Errorf("answer push challenge: %w", challenge.ErrNotFound)
	case err != nil:
		return false, fmt.Errorf("answer push challenge: %w", err)
	}
	return won, nil
}

// ContextJSON is the stored and served form of a challenge's context (the
// "context" object of docs/mobile-api.md).
type ContextJSON struct {
	Action     string    `json:"action"`
	TenantName string    `json:"tenant_name"`
	App        string    `json:"app"`
	IP         string    `json:"ip"`
	Geo        string    `json:"geo"`
	Browser    string    `json:"browser"`
	Time       time.Time `json:"time"`
}

// ContextOf returns the JSON form of c.
func ContextOf(c challenge.Context) ContextJSON {
	return ContextJSON{Action: string(c.Action), TenantName: c.TenantName, App: c.App, IP: c.IP, Geo: c.Geo, Browser: c.Browser,
		Time: c.Time.UTC().Truncate(time.Second)}
}

// EncodeContext returns the JSON stored for c.
func EncodeContext(c challenge.Context) ([]byte, error) {
	b, err := json.Marshal(ContextOf(c))
	if err != nil {
		return nil, fmt.Errorf("encode push context: %w", err)
	}
	return b, nil
}

// DecodeContext reads what EncodeContext wrote.
func DecodeContext(b []byte) (challenge.Context, error) {
	var j ContextJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return challenge.Context{}, fmt.Errorf("decode push context: %w", err)
	}
	return challenge.Context{Action: challenge.Purpose(j.Action), TenantName: j.TenantName, App: j.App, IP: j.IP, Geo: j.Geo,
		Browser: j.Browser, Time: utc(j.Time)}, nil
}

// ToRecord returns the store's form of c.
func ToRecord(c *challenge.Challenge) (tenants.PushChallenge, error) {
	ctx, err := EncodeContext(c.Context)
	if err != nil {
		return tenants.PushChallenge{}, err
	}
	return tenants.PushChallenge{TenantID: c.Tenant, CID: c.CID, UserID: c.UserID, DeviceID: c.DeviceID, Purpose: string(c.Purpose),
		Context: ctx, Number: c.Number, State: string(c.State), Reason: string(c.Reason), CreatedAt: utc(c.CreatedAt),
		ExpiresAt: utc(c.ExpiresAt), AnsweredAt: utc(c.AnsweredAt)}, nil
}

// FromRecord returns the challenge a stored record holds.
func FromRecord(r tenants.PushChallenge) (*challenge.Challenge, error) {
	ctx, err := DecodeContext(r.Context)
	if err != nil {
		return nil, fmt.Errorf("push challenge %s: %w", r.CID, err)
	}
	return &challenge.Challenge{CID: r.CID, Tenant: r.TenantID, UserID: r.UserID, DeviceID: r.DeviceID,
		Purpose: challenge.Purpose(r.Purpose), Context: ctx, Number: r.Number, CreatedAt: utc(r.CreatedAt),
		ExpiresAt: utc(r.ExpiresAt), State: challenge.State(r.State), Reason: challenge.Reason(r.Reason),
		AnsweredAt: utc(r.AnsweredAt)}, nil
}

// utc returns t in UTC, and the zero time as is.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
