package retention_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/retention"
	"github.com/latchkey/latchkey/tenants/store"
	"github.com/latchkey/latchkey/tenants/store/postgres"
	"github.com/latchkey/latchkey/tenants/store/postgres/pgtest"
	"github.com/latchkey/latchkey/tenants/store/sqlite"
)

var t0 = time.Date(2030, 3, 4, 12, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func hexID(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// rows is what one tenant holds: the ids of what must go and what must stay.
type rows struct {
	ten                          tenants.Tenant
	goneFlow, keptFlow           string
	goneSession, keptSession     string
	goneSent, goneDead, pending  string
	keptSent                     string
	goneChallenge, keptChallenge string
}

// seed fills one tenant: old rows the sweep must delete next to young ones it
// must keep, as seen at t0 with the default retention of 7 days.
func seed(t *testing.T, s store.Store, c *clock, slug string) rows {
	t.Helper()
	ctx := t.Context()
	c.Set(t0.Add(-9 * 24 * time.Hour))
	ten, err := s.Platform().CreateTenant(ctx, tenants.Tenant{Slug: slug, Name: slug}, []tenants.Host{{Host: slug + ".retention.test"}})
	if err != nil {
		t.Fatal(err)
	}
	ts := s.Tenant(ten.ID)
	u, err := ts.CreateUser(ctx, tenants.User{DirectoryGUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", len(slug)), Username: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	r := rows{ten: ten}
	flow := func(exp time.Time) string {
		f := tenants.Flow{ID: hexID(t, 32), Action: tenants.ActionReset, Channel: tenants.ChannelWeb, UserID: u.ID, State: []byte(`{}`), ExpiresAt: exp}
		if _, err := ts.CreateFlow(ctx, f); err != nil {
			t.Fatal(err)
		}
		return f.ID
	}
	r.goneFlow, r.keptFlow = flow(t0.Add(-time.Minute)), flow(t0.Add(time.Minute))
	session := func(exp time.Time) string {
		id := hexID(t, 32)
		if _, err := ts.CreateSession(ctx, tenants.Session{ID: id, UserID: u.ID, AuthAt: exp.Add(-time.Hour), CreatedAt: exp.Add(-time.Hour),
			LastSeenAt: exp.Add(-time.Hour), ExpiresAt: exp, IP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	r.goneSession, r.keptSession = session(t0.Add(-8*24*time.Hour)), session(t0.Add(-6*24*time.Hour))
	msg := func() string {
		m, err := ts.EnqueueMessage(ctx, tenants.OutboxMessage{Channel: tenants.MessageEmail, Kind: "reset_done", To: "ann@example.com", Sealed: []byte("sealed")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.ClaimMessages(ctx, c.Now(), time.Minute, 1); err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	// Eight days old: one sent, one dead, one still pending (never goes).
	c.Set(t0.Add(-8 * 24 * time.Hour))
	r.goneSent = msg()
	if err := ts.MarkMessageSent(ctx, r.goneSent, c.Now()); err != nil {
		t.Fatal(err)
	}
	r.goneDead = msg()
	if err := ts.MarkMessageFailed(ctx, r.goneDead, "550 mailbox unknown", c.Now(), true); err != nil {
		t.Fatal(err)
	}
	r.pending = msg()
	if err := ts.MarkMessageFailed(ctx, r.pending, "421 later", t0.Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	c.Set(t0.Add(-6 * 24 * time.Hour))
	r.keptSent = msg()
	if err := ts.MarkMessageSent(ctx, r.keptSent, c.Now()); err != nil {
		t.Fatal(err)
	}
	d, err := ts.CreateDevice(ctx, tenants.Device{UserID: u.ID, Name: "phone", Platform: "cli", KeyID: "k1", PublicKey: []byte{1, 2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	challenge := func(exp time.Time) string {
		ch := tenants.PushChallenge{CID: hexID(t, 16), UserID: u.ID, DeviceID: d.ID, Purpose: "reset", Context: []byte(`{}`),
			State: "pending", CreatedAt: exp.Add(-2 * time.Minute), ExpiresAt: exp}
		if err := ts.CreateChallenge(ctx, ch); err != nil {
			t.Fatal(err)
		}
		return ch.CID
	}
	r.goneChallenge, r.keptChallenge = challenge(t0.Add(-8*24*time.Hour)), challenge(t0.Add(-time.Hour))
	if _, err := ts.Hit(ctx, "ip:192.0.2.1", time.Minute, t0.Add(-time.Hour), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Hit(ctx, "ip:192.0.2.1", time.Hour, t0, 1); err != nil {
		t.Fatal(err)
	}
	c.Set(t0)
	return r
}

func (r rows) check(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	ts := s.Tenant(r.ten.ID)
	exists := func(what string, err error, want bool) {
		t.Helper()
		switch {
		case want && err != nil:
			t.Errorf("%s of %s was deleted (%v)", what, r.ten.Slug, err)
		case !want && err == nil:
			t.Errorf("%s of %s is still there", what, r.ten.Slug)
		}
	}
	_, err := ts.GetFlow(ctx, r.goneFlow)
	exists("expired flow", err, false)
	_, err = ts.GetFlow(ctx, r.keptFlow)
	exists("live flow", err, true)
	_, err = ts.GetSession(ctx, r.goneSession)
	exists("session ended 8 days ago", err, false)
	_, err = ts.GetSession(ctx, r.keptSession)
	exists("session ended 6 days ago", err, true)
	for _, m := range []struct {
		what string
		id   string
		want bool
	}{{"sent message of 8 days ago", r.goneSent, false}, {"dead message of 8 days ago", r.goneDead, false},
		{"pending message of 8 days ago", r.pending, true}, {"sent message of 6 days ago", r.keptSent, true}} {
		_, err := ts.GetMessage(ctx, m.id)
		exists(m.what, err, m.want)
	}
	_, err = ts.GetChallenge(ctx, r.goneChallenge)
	exists("challenge expired 8 days ago", err, false)
	_, err = ts.GetChallenge(ctx, r.keptChallenge)
	exists("challenge expired an hour ago", err, true)
	if n, err := ts.Count(ctx, "ip:192.0.2.1", time.Hour, t0); err != nil || n != 1 {
		t.Errorf("current counter = %d, %v; want kept at 1", n, err)
	}
}

// runSweep seeds two tenants, sweeps once at t0 and checks both: every
// tenant is swept, old rows go, young and pending ones stay; a second sweep
// finds nothing.
func runSweep(t *testing.T, s store.Store, c *clock) {
	a, b := seed(t, s, c, "ret-a"+hexID(t, 3)), seed(t, s, c, "ret-b"+hexID(t, 3))
	sw := &retention.Sweeper{Store: s, Now: c.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r, err := sw.Sweep(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := retention.Report{Tenants: r.Tenants, Flows: 2, Counters: 2, Sessions: 2, Messages: 4, Challenges: 2}
	if r != want || r.Tenants < 2 {
		t.Errorf("report %+v, want %+v over at least 2 tenants", r, want)
	}
	a.check(t, s)
	b.check(t, s)
	again, err := sw.Sweep(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if again != (retention.Report{Tenants: again.Tenants}) {
		t.Errorf("second sweep deleted %+v, want nothing", again)
	}
}

func TestSweepSQLite(t *testing.T) {
	c := &clock{t: t0}
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "l.db"), sqlite.WithClock(c.Now),
		sqlite.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runSweep(t, s, c)
}

// On PostgreSQL the sweep runs as the application role, through row-level
// security (R41): it needs its DELETE grants and each tenant's scope.
func TestSweepPostgres(t *testing.T) {
	c := &clock{t: t0}
	_, appURL := pgtest.NewDatabase(t)
	s, err := postgres.Open(t.Context(), appURL, postgres.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runSweep(t, s, c)
}
