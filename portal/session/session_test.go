package session

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/tenants"
)

// clock is a fake clock the tests move by hand.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time          { return c.t }
func (c *clock) Advance(d time.Duration) { c.t = c.t.Add(d) }

var t0 = time.Date(2030, 1, 2, 9, 0, 0, 0, time.UTC)

// env is one scenario's world: a store with two users and a manager on a
// fake clock.
type env struct {
	st           Store
	alice, bob   string
	clk          *clock
	m            Manager
	storeTouches func() int // nil when the store cannot count them
}

func managerOn(clk *clock) Manager {
	return Manager{Now: clk.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func fakeEnv() *env {
	f := newFake()
	clk := &clock{t: t0}
	return &env{
		st: f, alice: "11111111-1111-4111-8111-111111111111", bob: "22222222-2222-4222-8222-222222222222",
		clk: clk, m: managerOn(clk),
		storeTouches: func() int { f.mu.Lock(); defer f.mu.Unlock(); return f.touches },
	}
}

// scenarios run against every Store (fake and SQLite).
var scenarios = []struct {
	name string
	run  func(t *testing.T, e *env)
}{
	{"start then get (R36)", testStartGet},
	{"idle timeout with a fake clock (R36)", testIdleTimeout},
	{"activity keeps a session alive until its absolute timeout (R36)", testAbsoluteTimeout},
	{"step-up rotates the token; the old one is dead (R36 fixation)", testStepUpRotates},
	{"recently authenticated only within the step-up window (R37)", testRecentlyAuthenticated},
	{"end kills the session; end of junk is no error", testEnd},
	{"end others keeps only the current session (R13)", testEndOthers},
	{"end user kills all of one user's sessions (R37)", testEndUser},
	{"unknown and malformed tokens are no session", testUnknownTokens},
}

func TestScenariosFakeStore(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, fakeEnv()) })
	}
}

func start(t *testing.T, e *env, user string) (string, tenants.Session) {
	t.Helper()
	tok, s, err := e.m.Start(t.Context(), e.st, user, "192.0.2.7", "Mozilla/5.0")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return tok, s
}

func wantLive(t *testing.T, e *env, tok, what string) tenants.Session {
	t.Helper()
	s, err := e.m.Get(t.Context(), e.st, tok)
	if err != nil {
		t.Fatalf("%s: Get: %v", what, err)
	}
	return s
}

func wantDead(t *testing.T, e *env, tok, what string) {
	t.Helper()
	if s, err := e.m.Get(t.Context(), e.st, tok); !errors.Is(err, ErrNoSession) {
		t.Fatalf("%s: Get = %+v, %v; want ErrNoSession", what, s, err)
	}
}

func testStartGet(t *testing.T, e *env) {
	tok, s := start(t, e, e.alice)
	if s.ID != ID(tok) || s.UserID != e.alice || !s.AuthAt.Equal(t0) || !s.CreatedAt.Equal(t0) ||
		!s.ExpiresAt.Equal(t0.Add(DefaultAbsolute)) || s.IP != "192.0.2.7" || s.UserAgent != "Mozilla/5.0" {
		t.Fatalf("started %+v", s)
	}
	got := wantLive(t, e, tok, "fresh")
	if got.ID != s.ID || got.UserID != e.alice {
		t.Fatalf("Get = %+v", got)
	}
}

func testIdleTimeout(t *testing.T, e *env) {
	tok, _ := start(t, e, e.alice)
	e.clk.Advance(DefaultIdle - time.Second)
	s := wantLive(t, e, tok, "idle-1s")
	if !s.LastSeenAt.Equal(e.clk.t) {
		t.Fatalf("LastSeenAt = %v, want %v (touched)", s.LastSeenAt, e.clk.t)
	}
	e.clk.Advance(DefaultIdle - time.Second)
	wantLive(t, e, tok, "idle-1s after the touch")
	e.clk.Advance(DefaultIdle)
	wantDead(t, e, tok, "idle")
	e.clk.Advance(time.Minute)
	wantDead(t, e, tok, "idle, later")
	// A custom Idle is honoured.
	m := e.m
	m.Idle = 2 * time.Minute
	tok2, _, err := m.Start(t.Context(), e.st, e.alice, "", "")
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(2 * time.Minute)
	if _, err := m.Get(t.Context(), e.st, tok2); !errors.Is(err, ErrNoSession) {
		t.Fatalf("custom idle: %v", err)
	}
}

func testAbsoluteTimeout(t *testing.T, e *env) {
	tok, _ := start(t, e, e.alice)
	end := t0.Add(DefaultAbsolute)
	for e.clk.t.Before(end.Add(-10 * time.Minute)) {
		e.clk.Advance(10 * time.Minute)
		wantLive(t, e, tok, "active at "+e.clk.t.Format(time.TimeOnly))
	}
	e.clk.t = end.Add(-time.Second)
	wantLive(t, e, tok, "absolute-1s")
	e.clk.t = end
	wantDead(t, e, tok, "absolute")
}

func testStepUpRotates(t *testing.T, e *env) {
	tok, old := start(t, e, e.alice)
	for range 6 { // an hour of activity
		e.clk.Advance(10 * time.Minute)
		wantLive(t, e, tok, "before step-up")
	}
	newTok, s, err := e.m.StepUp(t.Context(), e.st, tok)
	if err != nil {
		t.Fatal(err)
	}
	if newTok == tok || s.ID == old.ID || s.ID != ID(newTok) {
		t.Fatal("step-up kept the token")
	}
	if !s.CreatedAt.Equal(old.CreatedAt) || !s.ExpiresAt.Equal(old.ExpiresAt) || !s.AuthAt.Equal(e.clk.t) || s.UserID != e.alice {
		t.Fatalf("rotated session %+v from %+v", s, old)
	}
	wantDead(t, e, tok, "old token after step-up")
	wantLive(t, e, newTok, "new token")
	if _, _, err := e.m.StepUp(t.Context(), e.st, tok); !errors.Is(err, ErrNoSession) {
		t.Fatalf("step-up with the old token: %v", err)
	}
	// The absolute expiry did not move.
	e.clk.t = old.ExpiresAt
	wantDead(t, e, newTok, "rotated session at the original absolute expiry")
}

func testRecentlyAuthenticated(t *testing.T, e *env) {
	tok, s := start(t, e, e.alice)
	if !e.m.RecentlyAuthenticated(s) {
		t.Fatal("not recent right after sign-in")
	}
	e.clk.Advance(DefaultStepUp - time.Second)
	if !e.m.RecentlyAuthenticated(wantLive(t, e, tok, "")) {
		t.Fatal("not recent just inside the window")
	}
	e.clk.Advance(time.Second)
	s = wantLive(t, e, tok, "after window")
	if e.m.RecentlyAuthenticated(s) {
		t.Fatal("recent after the window (R37: a change now needs step-up)")
	}
	tok, s, err := e.m.StepUp(t.Context(), e.st, tok)
	if err != nil {
		t.Fatal(err)
	}
	if !e.m.RecentlyAuthenticated(s) || !e.m.RecentlyAuthenticated(wantLive(t, e, tok, "after step-up")) {
		t.Fatal("not recent after step-up")
	}
	if e.m.RecentlyAuthenticated(tenants.Session{}) {
		t.Fatal("zero AuthAt counted as recent")
	}
}

func testEnd(t *testing.T, e *env) {
	tok, _ := start(t, e, e.alice)
	other, _ := start(t, e, e.alice)
	if err := e.m.End(t.Context(), e.st, tok); err != nil {
		t.Fatal(err)
	}
	wantDead(t, e, tok, "ended")
	wantLive(t, e, other, "other session of the same user")
	for _, junk := range []string{"", "x", tok + "A", strings.Repeat("A", 43)} {
		if err := e.m.End(t.Context(), e.st, junk); err != nil {
			t.Fatalf("End(%q): %v", junk, err)
		}
	}
	if err := e.m.End(t.Context(), e.st, tok); err != nil {
		t.Fatalf("End twice: %v", err)
	}
}

func testEndOthers(t *testing.T, e *env) {
	cur, s := start(t, e, e.alice)
	o1, _ := start(t, e, e.alice)
	o2, _ := start(t, e, e.alice)
	b, _ := start(t, e, e.bob)
	n, err := e.m.EndOthers(t.Context(), e.st, s)
	if err != nil || n != 2 {
		t.Fatalf("EndOthers = %d, %v; want 2", n, err)
	}
	wantLive(t, e, cur, "current session")
	wantDead(t, e, o1, "other session 1")
	wantDead(t, e, o2, "other session 2")
	wantLive(t, e, b, "another user's session")
	if _, err := e.m.EndOthers(t.Context(), e.st, tenants.Session{}); err == nil {
		t.Fatal("EndOthers of a zero session worked")
	}
}

func testEndUser(t *testing.T, e *env) {
	a1, _ := start(t, e, e.alice)
	a2, _ := start(t, e, e.alice)
	b, _ := start(t, e, e.bob)
	n, err := e.m.EndUser(t.Context(), e.st, e.alice)
	if err != nil || n != 2 {
		t.Fatalf("EndUser = %d, %v", n, err)
	}
	wantDead(t, e, a1, "alice 1")
	wantDead(t, e, a2, "alice 2")
	wantLive(t, e, b, "bob")
	if _, err := e.m.EndUser(t.Context(), e.st, ""); err == nil {
		t.Fatal("EndUser of no user worked")
	}
}

func testUnknownTokens(t *testing.T, e *env) {
	tok, _ := start(t, e, e.alice)
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	last := tok[:42] + string(tok[42]^1) // the last character changed: unknown or not canonical
	for _, bad := range []string{
		"", "abc", tok[:42], tok + "A", tok + "=", // lengths, padding
		strings.ToUpper(tok[:1]) + tok[1:] + "x",
		base64.StdEncoding.EncodeToString(raw),           // padded standard alphabet
		strings.Repeat("/", 43), strings.Repeat("+", 43), // not base64url
		base64.RawURLEncoding.EncodeToString(make([]byte, 32)), // well-formed, unknown
		last,
		ID(tok), // the stored ID is not a token
	} {
		if bad == tok {
			continue
		}
		wantDead(t, e, bad, "token "+bad)
	}
}

// TestTokenEntropy_R36: a token is 32 random bytes (256 ≥ 128 bits) from
// the injected reader, in unpadded base64url; the store sees only its
// hex SHA-256.
func TestTokenEntropy_R36(t *testing.T) {
	f := newFake()
	seed := bytes.Repeat([]byte{0xAB}, 32)
	m := Manager{Rand: bytes.NewReader(seed)}
	tok, s, err := m.Start(t.Context(), f, "u1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if tok != base64.RawURLEncoding.EncodeToString(seed) || len(tok) != 43 {
		t.Fatalf("token %q is not the injected bytes", tok)
	}
	sum := sha256.Sum256([]byte(tok))
	if s.ID != hex.EncodeToString(sum[:]) {
		t.Fatalf("ID %q is not hex SHA-256 of the token", s.ID)
	}
	for id, stored := range f.sessions {
		if strings.Contains(id, tok) || strings.Contains(stored.ID, tok) || stored.ID == tok {
			t.Fatal("the store holds the token")
		}
	}
	if _, _, err := m.Start(t.Context(), f, "u1", "", ""); err == nil {
		t.Fatal("Start with an exhausted reader worked")
	}

	// With crypto/rand: all distinct, 32 bytes each, and every bit position
	// takes both values (a stuck bit would show).
	var or, and [32]byte
	for i := range and {
		and[i] = 0xff
	}
	seen := map[string]bool{}
	for range 500 {
		tok, _, err := Manager{}.Start(t.Context(), f, "u1", "", "")
		if err != nil {
			t.Fatal(err)
		}
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(b)*8 < 128 || len(b) != TokenBytes {
			t.Fatalf("token %q: %d bytes, %v", tok, len(b), err)
		}
		if seen[tok] {
			t.Fatal("repeated token")
		}
		seen[tok] = true
		for i := range b {
			or[i] |= b[i]
			and[i] &= b[i]
		}
	}
	if or != [32]byte(bytes.Repeat([]byte{0xff}, 32)) || and != [32]byte{} {
		t.Fatalf("stuck bits: or %x and %x", or, and)
	}
}

// TestTouchAtMostOncePerMinute: Get writes LastSeenAt only when it is a
// minute old, to save writes.
func TestTouchAtMostOncePerMinute(t *testing.T) {
	e := fakeEnv()
	tok, _ := start(t, e, e.alice)
	for range 5 {
		e.clk.Advance(10 * time.Second)
		wantLive(t, e, tok, "")
	}
	if n := e.storeTouches(); n != 0 {
		t.Fatalf("%d touches within 50 s", n)
	}
	e.clk.Advance(10 * time.Second) // 60 s
	wantLive(t, e, tok, "")
	wantLive(t, e, tok, "")
	if n := e.storeTouches(); n != 1 {
		t.Fatalf("%d touches at 60 s, want 1", n)
	}
}

func TestStoreErrors(t *testing.T) {
	e := fakeEnv()
	f := e.st.(*fakeStore)
	tok, _ := start(t, e, e.alice)
	f.failGet = errDown
	if _, err := e.m.Get(t.Context(), f, tok); !errors.Is(err, errDown) || errors.Is(err, ErrNoSession) {
		t.Fatalf("Get with the store down: %v (must not look like signed out)", err)
	}
	f.failGet = nil

	// A rotation whose revocation of the old session fails leaves neither
	// token usable for the new session and reports the error.
	oldID := ID(tok)
	f.failRevoke = func(id string) error {
		if id == oldID {
			return errDown
		}
		return nil
	}
	newTok, _, err := e.m.StepUp(t.Context(), f, tok)
	if !errors.Is(err, errDown) || newTok != "" {
		t.Fatalf("StepUp = %q, %v", newTok, err)
	}
	f.failRevoke = nil
	for id, s := range f.sessions {
		if id != oldID && s.RevokedAt.IsZero() {
			t.Fatal("the new session of a failed rotation is alive")
		}
	}
	// Malformed tokens never reach the store.
	before := f.calls
	e.m.Get(t.Context(), f, "junk")
	e.m.StepUp(t.Context(), f, "junk")
	e.m.End(t.Context(), f, "junk")
	if f.calls != before {
		t.Fatal("a malformed token reached the store")
	}
}

func FuzzGet(f *testing.F) {
	e := fakeEnv()
	tok, _, err := e.m.Start(f.Context(), e.st, e.alice, "", "")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{tok, "", "abc", strings.Repeat("A", 43), tok + "="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := e.m.Get(t.Context(), e.st, in)
		if in == tok {
			if err != nil {
				t.Fatalf("the real token: %v", err)
			}
			return
		}
		if !errors.Is(err, ErrNoSession) || s != (tenants.Session{}) {
			t.Fatalf("Get(%q) = %+v, %v", in, s, err)
		}
	})
}
