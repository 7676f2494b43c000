package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// fakeStore implements Store in memory with the semantics store.go
// documents (the sqlite backend is tested with the same scenarios).
type fakeStore struct {
	mu       sync.Mutex
	sessions map[string]tenants.Session
	touches  int
	calls    int
	// failGet and failRevoke make those calls fail (for error paths).
	failGet    error
	failRevoke func(id string) error
}

func newFake() *fakeStore { return &fakeStore{sessions: map[string]tenants.Session{}} }

func (f *fakeStore) CreateSession(_ context.Context, s tenants.Session) (tenants.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if _, dup := f.sessions[s.ID]; dup {
		return tenants.Session{}, store.ErrAlreadyExists
	}
	if len(s.ID) != 64 || s.UserID == "" || s.ExpiresAt.IsZero() {
		return tenants.Session{}, fmt.Errorf("bad session: %w", store.ErrInvalid)
	}
	s.TenantID = "t1"
	f.sessions[s.ID] = s
	return s, nil
}

func (f *fakeStore) GetSession(_ context.Context, id string) (tenants.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failGet != nil {
		return tenants.Session{}, f.failGet
	}
	s, ok := f.sessions[id]
	if !ok {
		return tenants.Session{}, store.ErrNotFound
	}
	return s, nil
}

func (f *fakeStore) TouchSession(_ context.Context, id string, seen, authAt time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	s, ok := f.sessions[id]
	if !ok {
		return store.ErrNotFound
	}
	f.touches++
	if seen.After(s.LastSeenAt) {
		s.LastSeenAt = seen
	}
	if !authAt.IsZero() && authAt.After(s.AuthAt) {
		s.AuthAt = authAt
	}
	f.sessions[id] = s
	return nil
}

func (f *fakeStore) RevokeSession(_ context.Context, id string, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failRevoke != nil {
		if err := f.failRevoke(id); err != nil {
			return err
		}
	}
	s, ok := f.sessions[id]
	if !ok {
		return store.ErrNotFound
	}
	if s.RevokedAt.IsZero() {
		s.RevokedAt = at
	}
	f.sessions[id] = s
	return nil
}

func (f *fakeStore) RevokeUserSessions(_ context.Context, userID, except string, at time.Time) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	n := 0
	for id, s := range f.sessions {
		if s.UserID == userID && id != except && s.RevokedAt.IsZero() && s.ExpiresAt.After(at) {
			s.RevokedAt = at
			f.sessions[id] = s
			n++
		}
	}
	return n, nil
}

var errDown = errors.New("database down")
