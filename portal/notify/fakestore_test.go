package notify_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// fakeStore is an in-memory store.Store with just the outbox, following the
// contract in tenants/store (and the SQLite backend's behaviour): claims
// lease, settling needs a pending message and counts the attempt.
// Everything else panics (nil embedded interfaces).
type fakeStore struct {
	mu   sync.Mutex
	msgs map[string]*tenants.OutboxMessage
	seq  int // insertion order, for "oldest first"
	ord  map[string]int
	// down, when set, is returned by every call (the database is down).
	down error
	// afterDue, when set, is called after each TenantsWithDueMessages.
	afterDue func()
}

func newFakeStore() *fakeStore {
	return &fakeStore{msgs: map[string]*tenants.OutboxMessage{}, ord: map[string]int{}}
}

func (s *fakeStore) Platform() store.Platform               { return fakePlatform{s: s} }
func (s *fakeStore) Tenant(id tenants.ID) store.TenantStore { return fakeTenant{s: s, id: id} }
func (s *fakeStore) Ping(context.Context) error             { return nil }
func (s *fakeStore) Close() error                           { return nil }

func (s *fakeStore) setDown(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = err
}

// all returns copies of every message, in insertion order.
func (s *fakeStore) all() []tenants.OutboxMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []tenants.OutboxMessage
	for _, m := range s.msgs {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return s.ord[out[i].ID] < s.ord[out[j].ID] })
	return out
}

// dueLocked returns the messages due at now, oldest first; s.mu is held.
func (s *fakeStore) dueLocked(now time.Time) []*tenants.OutboxMessage {
	var out []*tenants.OutboxMessage
	for _, m := range s.msgs {
		if m.State == tenants.OutboxPending && !m.NextAttemptAt.After(now) &&
			(m.LeaseUntil.IsZero() || !m.LeaseUntil.After(now)) {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return s.ord[out[i].ID] < s.ord[out[j].ID] })
	return out
}

type fakePlatform struct {
	store.Platform
	s *fakeStore
}

func (p fakePlatform) TenantsWithDueMessages(_ context.Context, now time.Time, limit int) ([]tenants.ID, error) {
	if p.s.afterDue != nil {
		defer p.s.afterDue()
	}
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	if p.s.down != nil {
		return nil, p.s.down
	}
	var ids []tenants.ID
	for _, m := range p.s.dueLocked(now) {
		if !slices.Contains(ids, m.TenantID) && len(ids) < limit {
			ids = append(ids, m.TenantID)
		}
	}
	return ids, nil
}

type fakeTenant struct {
	store.TenantStore
	s  *fakeStore
	id tenants.ID
}

func (t fakeTenant) EnqueueMessage(_ context.Context, m tenants.OutboxMessage) (tenants.OutboxMessage, error) {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if t.s.down != nil {
		return tenants.OutboxMessage{}, t.s.down
	}
	if m.ID == "" || m.Kind == "" || m.To == "" {
		return tenants.OutboxMessage{}, fmt.Errorf("fake: incomplete message: %w", store.ErrInvalid)
	}
	if _, ok := t.s.msgs[m.ID]; ok {
		return tenants.OutboxMessage{}, store.ErrAlreadyExists
	}
	m.TenantID, m.State, m.Attempts, m.LeaseUntil = t.id, tenants.OutboxPending, 0, time.Time{}
	m.Sealed = slices.Clone(m.Sealed)
	t.s.msgs[m.ID] = &m
	t.s.seq++
	t.s.ord[m.ID] = t.s.seq
	return m, nil
}

func (t fakeTenant) ClaimMessages(_ context.Context, now time.Time, lease time.Duration, limit int) ([]tenants.OutboxMessage, error) {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if t.s.down != nil {
		return nil, t.s.down
	}
	var out []tenants.OutboxMessage
	for _, m := range t.s.dueLocked(now) {
		if m.TenantID == t.id && len(out) < limit {
			m.LeaseUntil = now.Add(lease)
			out = append(out, *m)
		}
	}
	return out, nil
}

func (t fakeTenant) settle(id string, fn func(m *tenants.OutboxMessage)) error {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	if t.s.down != nil {
		return t.s.down
	}
	m, ok := t.s.msgs[id]
	if !ok || m.TenantID != t.id {
		return store.ErrNotFound
	}
	if m.State != tenants.OutboxPending {
		return fmt.Errorf("fake: message is %s: %w", m.State, store.ErrConflict)
	}
	m.Attempts++
	m.LeaseUntil = time.Time{}
	fn(m)
	return nil
}

func (t fakeTenant) MarkMessageSent(_ context.Context, id string, at time.Time) error {
	return t.settle(id, func(m *tenants.OutboxMessage) { m.State, m.SentAt = tenants.OutboxSent, at })
}

func (t fakeTenant) MarkMessageFailed(_ context.Context, id, errText string, next time.Time, dead bool) error {
	return t.settle(id, func(m *tenants.OutboxMessage) {
		m.LastError = errText
		if dead {
			m.State = tenants.OutboxDead
		} else {
			m.NextAttemptAt = next
		}
	})
}

func (t fakeTenant) GetMessage(_ context.Context, id string) (tenants.OutboxMessage, error) {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	m, ok := t.s.msgs[id]
	if !ok || m.TenantID != t.id {
		return tenants.OutboxMessage{}, store.ErrNotFound
	}
	return *m, nil
}

func (t fakeTenant) ListMessages(_ context.Context, limit int) ([]tenants.OutboxMessage, error) {
	var out []tenants.OutboxMessage
	for _, m := range slices.Backward(t.s.all()) {
		if m.TenantID == t.id && len(out) < limit {
			out = append(out, m)
		}
	}
	return out, nil
}

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func newClock() *fakeClock {
	c := &fakeClock{}
	c.Set(time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC))
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// containsClear reports whether any stored field of any message holds s in
// clear (R22).
func containsClear(msgs []tenants.OutboxMessage, s string) bool {
	for _, m := range msgs {
		if strings.Contains(string(m.Sealed), s) || strings.Contains(m.LastError, s) ||
			strings.Contains(m.To, s) || strings.Contains(m.Kind, s) || strings.Contains(m.ID, s) {
			return true
		}
	}
	return false
}

var errDBDown = errors.New("fake: database is down")
