// Package hubtest is a test helper for code around the connector hub: an
// in-memory hub.Store (and hub.SeenStore) of connector records, for tests
// that run a real hub without a database.
package hubtest

import (
	"context"
	"sync"
	"time"

	"github.com/latchkey/latchkey/connector/hub"
)

// Store is a concurrency-safe map of connector records.
type Store struct {
	mu   sync.Mutex
	recs map[string]hub.ConnectorRecord
	seen map[string]time.Time
}

// NewStore returns a Store holding recs.
func NewStore(recs ...hub.ConnectorRecord) *Store {
	s := &Store{recs: map[string]hub.ConnectorRecord{}, seen: map[string]time.Time{}}
	for _, r := range recs {
		s.recs[r.ID] = r
	}
	return s
}

// Put adds or replaces a record.
func (s *Store) Put(r hub.ConnectorRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs[r.ID] = r
}

// Revoke marks a connector revoked, as `latchkey connector revoke` does.
func (s *Store) Revoke(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.recs[id]
	r.Revoked = true
	s.recs[id] = r
}

// Len is the number of records.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs)
}

// Connector implements hub.Store.
func (s *Store) Connector(_ context.Context, id string) (hub.ConnectorRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[id]
	if !ok {
		return r, hub.ErrUnknownConnector
	}
	return r, nil
}

// Seen implements hub.SeenStore.
func (s *Store) Seen(_ context.Context, rec hub.ConnectorRecord, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen[rec.ID] = at
	return nil
}

// LastSeen is when the hub last reported the connector (zero: never).
func (s *Store) LastSeen(id string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[id]
}
