package challenge

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/tenants"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// seqReader returns 0, 1, 2, … as random bytes (so cids and numbers are
// predictable), except that it skips nothing: newNumber sees the next byte.
type seqReader struct {
	mu sync.Mutex
	b  byte
}

func (r *seqReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range p {
		p[i] = r.b
		r.b++
	}
	return len(p), nil
}

const (
	tenantA tenants.ID = "11111111-1111-4111-8111-111111111111"
	tenantB tenants.ID = "22222222-2222-4222-8222-222222222222"
)

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fixture is one user's enrolled device and an issuer on a fake clock.
type fixture struct {
	clock  *fakeClock
	issuer *Issuer
	key    *ecdsa.PrivateKey
	dev    Device
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	clock := newFakeClock()
	is, err := NewIssuer(Config{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	key := newKey(t)
	return &fixture{
		clock:  clock,
		issuer: is,
		key:    key,
		dev: Device{
			Tenant: tenantA, UserID: "user-1", DeviceID: "device-1", KeyID: "key-1",
			PublicKey: &key.PublicKey, PushToken: "fcm-token-1",
		},
	}
}

func (f *fixture) request() Request {
	return Request{
		Tenant: f.dev.Tenant, UserID: f.dev.UserID, DeviceID: f.dev.DeviceID, Purpose: tenants.ActionReset,
		Context: Context{TenantName: "Acme Corp", App: "Self-service portal", IP: "203.0.113.7", Geo: "Berlin, DE", Browser: "Firefox on Windows"},
	}
}

func (f *fixture) issue(t testing.TB) *Challenge {
	t.Helper()
	c, err := f.issuer.Issue(f.request())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// answer signs a response to c with f's key at the fake clock's time.
func (f *fixture) answer(t testing.TB, c *Challenge, d Decision, number int) SignedAnswer {
	t.Helper()
	a, err := Sign(f.key, Response{CID: c.CID, Decision: d, Number: number, KeyID: f.dev.KeyID, TS: f.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// countingSender counts Send calls and keeps the messages.
type countingSender struct {
	mu    sync.Mutex
	calls int
	msgs  []Message
	err   error
}

func (s *countingSender) Send(_ context.Context, m Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.msgs = append(s.msgs, m)
	return s.err
}

func (s *countingSender) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// service is a Service over in-memory parts on f's clock.
type service struct {
	*Service
	store   *MemStore
	history *MemHistory
	sender  *countingSender
}

func (f *fixture) service(t testing.TB) *service {
	t.Helper()
	store, hist, sender := NewMemStore(), NewMemHistory(), &countingSender{}
	lim, err := NewLimiter(hist, Limits{}, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewService(ServiceConfig{Issuer: f.issuer, Store: store, Limiter: lim, Sender: sender, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &service{Service: s, store: store, history: hist, sender: sender}
}

// push sends a challenge through s and fails the test on error.
func (s *service) push(t testing.TB, f *fixture) *Challenge {
	t.Helper()
	c, err := s.Push(t.Context(), f.request(), f.dev)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
