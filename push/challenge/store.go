package challenge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/latchkey/latchkey/tenants"
)

var (
	// ErrNotFound: no challenge with that cid in that tenant.
	ErrNotFound = errors.New("push challenge not found")
	// ErrExists: a challenge with that cid already exists.
	ErrExists = errors.New("push challenge already exists")
	// ErrInvalidTransition: a transition the state machine does not have.
	ErrInvalidTransition = errors.New("invalid push challenge transition")
)

// Transition is a conditional state change: it happens only if the
// challenge is in From when it is applied.
type Transition struct {
	From   State // always StatePending today
	To     State
	Reason Reason
	At     time.Time
}

// Store keeps challenges. Every method is scoped to a tenant: a challenge of
// another tenant is ErrNotFound. A database backend implements Answer as one
// "UPDATE … SET state=$to … WHERE tenant=$t AND cid=$c AND state=$from" and
// reports won when it changed a row.
type Store interface {
	// Create stores a new challenge (ErrExists if its cid is taken).
	Create(ctx context.Context, c *Challenge) error
	// Get returns a copy of a challenge, or ErrNotFound.
	Get(ctx context.Context, tenant tenants.ID, cid string) (*Challenge, error)
	// Answer applies t if the challenge is still in t.From and reports
	// whether this call made the change. Losing (the challenge had left
	// t.From) is won=false with a nil error. ErrNotFound if there is no such
	// challenge, ErrInvalidTransition if t is not a transition of the state
	// machine.
	Answer(ctx context.Context, tenant tenants.ID, cid string, t Transition) (won bool, err error)
}

// MemStore is an in-memory Store, safe for concurrent use, for tests and a
// single box. It never forgets challenges; DeleteBefore drops old ones.
type MemStore struct {
	mu sync.Mutex
	m  map[string]Challenge // by cid; cids are unique across tenants
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{m: map[string]Challenge{}} }

// Create implements Store.
func (s *MemStore) Create(ctx context.Context, c *Challenge) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("create push challenge: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[c.CID]; ok {
		return fmt.Errorf("create push challenge: %w", ErrExists)
	}
	s.m[c.CID] = *c
	return nil
}

// Get implements Store.
func (s *MemStore) Get(ctx context.Context, tenant tenants.ID, cid string) (*Challenge, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get push challenge: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.m[cid]
	if !ok || c.Tenant != tenant {
		return nil, fmt.Errorf("get push challenge: %w", ErrNotFound)
	}
	return &c, nil
}

// Answer implements Store.
func (s *MemStore) Answer(ctx context.Context, tenant tenants.ID, cid string, t Transition) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("answer push challenge: %w", err)
	}
	if !CanTransition(t.From, t.To) {
		return false, fmt.Errorf("answer push challenge: %w: %s → %s", ErrInvalidTransition, t.From, t.To)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.m[cid]
	if !ok || c.Tenant != tenant {
		return false, fmt.Errorf("answer push challenge: %w", ErrNotFound)
	}
	if c.State != t.From {
		return false, nil
	}
	c.State, c.Reason, c.AnsweredAt = t.To, t.Reason, t.At.UTC()
	s.m[cid] = c
	return true, nil
}

// DeleteBefore drops challenges that expired before cutoff and returns how
// many it dropped.
func (s *MemStore) DeleteBefore(cutoff time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, c := range s.m {
		if c.ExpiresAt.Before(cutoff) {
			delete(s.m, k)
			n++
		}
	}
	return n
}
