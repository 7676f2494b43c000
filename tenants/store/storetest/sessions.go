package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

var sessionTests = []subTest{
	{"create and get round-trip", testSessionCreateGet},
	{"created and last seen default to now", testSessionDefaults},
	{"duplicate id already exists within a tenant only", testSessionDuplicate},
	{"invalid sessions are refused", testSessionInvalid},
	{"touch moves last seen and auth time forward only", testSessionTouch},
	{"revoke sets RevokedAt once (R36)", testSessionRevoke},
	{"revoke user sessions spares the current one and counts live ones (R36)", testSessionRevokeUser},
	{"revoke all sessions of the tenant", testSessionRevokeAll},
	{"deleting the user deletes the user's sessions", testSessionUserDeleted},
	{"unknown and malformed ids are not found", testSessionUnknown},
	{"purge deletes sessions that expired before t, of this tenant only", testSessionPurge},
	{"not visible from another tenant (R41)", testSessionIsolation},
}

// sampleSession is a session of user signed in at t0, expiring 8 hours later.
func sampleSession(t *testing.T, user string) tenants.Session {
	return tenants.Session{
		ID: newHexID(t), UserID: user, AuthAt: t0, CreatedAt: t0, LastSeenAt: t0.Add(time.Minute),
		ExpiresAt: t0.Add(8 * time.Hour), IP: "2001:db8::1", UserAgent: "Mozilla/5.0 (X11; Linux) Ümlaut/1.0",
	}
}

func testSessionCreateGet(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	u := createFlowUser(t, ts, "signed-in")
	in := sampleSession(t, u.ID)
	caller := in
	caller.TenantID = "someone-else"
	got, err := ts.CreateSession(ctx(t), caller)
	must(t, "CreateSession", err)
	want := in
	want.TenantID = ten.ID
	wantSame(t, "CreateSession result", got, want)
	wantUTC(t, "CreateSession result", got.AuthAt, got.CreatedAt, got.LastSeenAt, got.ExpiresAt)
	fromGet, err := ts.GetSession(ctx(t), in.ID)
	must(t, "GetSession", err)
	wantSame(t, "GetSession", fromGet, got)
	wantUTC(t, "GetSession", fromGet.AuthAt, fromGet.CreatedAt, fromGet.LastSeenAt, fromGet.ExpiresAt)

	// Revoked and expired sessions are returned too, as stored.
	dead := sampleSession(t, u.ID)
	dead.ExpiresAt, dead.RevokedAt = t0.Add(-time.Hour), t0.Add(-2*time.Hour)
	_, err = ts.CreateSession(ctx(t), dead)
	must(t, "CreateSession revoked", err)
	fromGet, err = ts.GetSession(ctx(t), dead.ID)
	must(t, "GetSession revoked", err)
	wantStored(t, "RevokedAt", fromGet.RevokedAt, dead.RevokedAt)
}

func testSessionDefaults(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	u := createFlowUser(t, ts, "defaults")
	in := tenants.Session{ID: newHexID(t), UserID: u.ID, ExpiresAt: t0}
	got, err := ts.CreateSession(ctx(t), in)
	must(t, "CreateSession", err)
	wantUTC(t, "defaulted times", got.CreatedAt, got.LastSeenAt)
	if !got.CreatedAt.Equal(got.LastSeenAt) {
		t.Errorf("CreatedAt %s != LastSeenAt %s: both default to the same now", got.CreatedAt, got.LastSeenAt)
	}
	if !got.AuthAt.IsZero() || !got.RevokedAt.IsZero() || got.IP != "" || got.UserAgent != "" {
		t.Errorf("zero fields did not stay zero: %+v", got)
	}
	fromGet, err := ts.GetSession(ctx(t), in.ID)
	must(t, "GetSession", err)
	wantSame(t, "GetSession", fromGet, got)
}

func testSessionDuplicate(t *testing.T, s store.Store) {
	_, tsA := createTenant(t, s)
	_, tsB := createTenant(t, s)
	uA, uB := createFlowUser(t, tsA, "dup"), createFlowUser(t, tsB, "dup")
	in := sampleSession(t, uA.ID)
	_, err := tsA.CreateSession(ctx(t), in)
	must(t, "CreateSession", err)
	_, err = tsA.CreateSession(ctx(t), in)
	wantErr(t, "CreateSession with a taken id", err, store.ErrAlreadyExists)
	in.UserID = uB.ID
	if _, err := tsB.CreateSession(ctx(t), in); err != nil {
		t.Errorf("the same session id in another tenant: %v", err)
	}
}

func testSessionInvalid(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	_, tsOther := createTenant(t, s)
	u := createFlowUser(t, ts, "valid")
	other := createFlowUser(t, tsOther, "other")
	for name, mod := range map[string]func(*tenants.Session){
		"no id":                      func(x *tenants.Session) { x.ID = "" },
		"an id that is not hex":      func(x *tenants.Session) { x.ID = x.ID[:60] + "wxyz" },
		"no user":                    func(x *tenants.Session) { x.UserID = "" },
		"unknown user":               func(x *tenants.Session) { x.UserID = uuid.NewString() },
		"another tenant's user":      func(x *tenants.Session) { x.UserID = other.ID },
		"no expiry":                  func(x *tenants.Session) { x.ExpiresAt = time.Time{} },
		"invalid UTF-8 in the agent": func(x *tenants.Session) { x.UserAgent = "Mozilla\xc3\x28" },
		"a NUL in the agent":         func(x *tenants.Session) { x.UserAgent = "Mozilla\x00" },
	} {
		in := sampleSession(t, u.ID)
		mod(&in)
		_, err := ts.CreateSession(ctx(t), in)
		wantErr(t, "CreateSession with "+name, err, store.ErrInvalid)
	}
	sess, err := ts.CreateSession(ctx(t), sampleSession(t, u.ID))
	must(t, "CreateSession", err)
	wantErr(t, "TouchSession at the zero time", ts.TouchSession(ctx(t), sess.ID, time.Time{}, time.Time{}), store.ErrInvalid)
	wantErr(t, "RevokeSession at the zero time", ts.RevokeSession(ctx(t), sess.ID, time.Time{}), store.ErrInvalid)
	_, err = ts.RevokeUserSessions(ctx(t), u.ID, "", time.Time{})
	wantErr(t, "RevokeUserSessions at the zero time", err, store.ErrInvalid)
	_, err = ts.RevokeAllSessions(ctx(t), time.Time{})
	wantErr(t, "RevokeAllSessions at the zero time", err, store.ErrInvalid)
	got, err := ts.GetSession(ctx(t), sess.ID)
	must(t, "GetSession", err)
	wantSame(t, "session after refused calls", got, sess)
}

func testSessionTouch(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	u := createFlowUser(t, ts, "toucher")
	sess, err := ts.CreateSession(ctx(t), sampleSession(t, u.ID))
	must(t, "CreateSession", err)

	seen := t0.Add(10 * time.Minute)
	must(t, "TouchSession", ts.TouchSession(ctx(t), sess.ID, seen, time.Time{}))
	got, err := ts.GetSession(ctx(t), sess.ID)
	must(t, "GetSession", err)
	wantStored(t, "LastSeenAt", got.LastSeenAt, seen)
	wantStored(t, "AuthAt (zero authAt keeps it)", got.AuthAt, sess.AuthAt)

	stepUp := t0.Add(20 * time.Minute)
	must(t, "TouchSession with step-up", ts.TouchSession(ctx(t), sess.ID, stepUp, stepUp))
	got, err = ts.GetSession(ctx(t), sess.ID)
	must(t, "GetSession", err)
	wantStored(t, "LastSeenAt", got.LastSeenAt, stepUp)
	wantStored(t, "AuthAt (R37)", got.AuthAt, stepUp)

	// A touch from a slower node that arrives late moves nothing back.
	must(t, "TouchSession late", ts.TouchSession(ctx(t), sess.ID, seen, seen))
	got, err = ts.GetSession(ctx(t), sess.ID)
	must(t, "GetSession", err)
	wantStored(t, "LastSeenAt after a late touch", got.LastSeenAt, stepUp)
	wantStored(t, "AuthAt after a late touch", got.AuthAt, stepUp)
	want := sess
	want.LastSeenAt, want.AuthAt = got.LastSeenAt, got.AuthAt
	wantSame(t, "session after touches", got, want)

	// A session created without AuthAt gets one at its first step-up.
	bare, err := ts.CreateSession(ctx(t), tenants.Session{ID: newHexID(t), UserID: u.ID, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)})
	must(t, "CreateSession without AuthAt", err)
	must(t, "TouchSession", ts.TouchSession(ctx(t), bare.ID, t0.Add(time.Minute), t0.Add(time.Minute)))
	got, err = ts.GetSession(ctx(t), bare.ID)
	must(t, "GetSession", err)
	wantStored(t, "AuthAt of a session that had none", got.AuthAt, t0.Add(time.Minute))
}

func testSessionRevoke(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	u := createFlowUser(t, ts, "revoked")
	sess, err := ts.CreateSession(ctx(t), sampleSession(t, u.ID))
	must(t, "CreateSession", err)
	at := t0.Add(30 * time.Minute)
	must(t, "RevokeSession", ts.RevokeSession(ctx(t), sess.ID, at))
	must(t, "RevokeSession again", ts.RevokeSession(ctx(t), sess.ID, at.Add(time.Hour)))
	got, err := ts.GetSession(ctx(t), sess.ID)
	must(t, "GetSession", err)
	wantStored(t, "RevokedAt (kept from the first revocation)", got.RevokedAt, at)
	want := sess
	want.RevokedAt = got.RevokedAt
	wantSame(t, "revoked session", got, want)
}

func testSessionRevokeUser(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	u := createFlowUser(t, ts, "resetter")
	other := createFlowUser(t, ts, "bystander")
	mk := func(user string, mod func(*tenants.Session)) tenants.Session {
		in := sampleSession(t, user)
		if mod != nil {
			mod(&in)
		}
		got, err := ts.CreateSession(ctx(t), in)
		must(t, "CreateSession", err)
		return got
	}
	current := mk(u.ID, nil)
	live1, live2 := mk(u.ID, nil), mk(u.ID, nil)
	early := t0.Add(-time.Hour)
	revoked := mk(u.ID, func(x *tenants.Session) { x.RevokedAt = early })
	expired := mk(u.ID, func(x *tenants.Session) { x.ExpiresAt = t0.Add(time.Minute) })
	bystander := mk(other.ID, nil)

	at := t0.Add(time.Hour) // after expired's expiry
	n, err := ts.RevokeUserSessions(ctx(t), u.ID, current.ID, at)
	must(t, "RevokeUserSessions", err)
	if n != 2 {
		t.Errorf("RevokeUserSessions = %d, want 2 (the live ones but the current)", n)
	}
	for _, tc := range []struct {
		name    string
		s       tenants.Session
		revoked time.Time
	}{
		{"the current session", current, time.Time{}},
		{"a live session", live1, at},
		{"another live session", live2, at},
		{"an already revoked session", revoked, early},
		{"an expired session", expired, time.Time{}},
		{"another user's session", bystander, time.Time{}},
	} {
		got, err := ts.GetSession(ctx(t), tc.s.ID)
		must(t, "GetSession", err)
		wantStored(t, tc.name+": RevokedAt", got.RevokedAt, tc.revoked)
	}
	// With no exception, the current session goes too.
	n, err = ts.RevokeUserSessions(ctx(t), u.ID, "", at.Add(time.Second))
	must(t, "RevokeUserSessions without exception", err)
	if n != 1 {
		t.Errorf("RevokeUserSessions without exception = %d, want 1", n)
	}
	for _, id := range []string{uuid.NewString(), "not-a-uuid", ""} {
		n, err := ts.RevokeUserSessions(ctx(t), id, "", at)
		if err != nil || n != 0 {
			t.Errorf("RevokeUserSessions(%q) = %d, %v; want 0, nil", id, n, err)
		}
	}
}

func testSessionRevokeAll(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	_, tsOther := createTenant(t, s)
	u1, u2 := createFlowUser(t, ts, "one"), createFlowUser(t, ts, "two")
	var ids []string
	for _, u := range []string{u1.ID, u1.ID, u2.ID} {
		sess, err := ts.CreateSession(ctx(t), sampleSession(t, u))
		must(t, "CreateSession", err)
		ids = append(ids, sess.ID)
	}
	outsider, err := tsOther.CreateSession(ctx(t), sampleSession(t, createFlowUser(t, tsOther, "one").ID))
	must(t, "CreateSession other tenant", err)

	at := t0.Add(time.Hour)
	n, err := ts.RevokeAllSessions(ctx(t), at)
	must(t, "RevokeAllSessions", err)
	if n != 3 {
		t.Errorf("RevokeAllSessions = %d, want 3", n)
	}
	for _, id := range ids {
		got, err := ts.GetSession(ctx(t), id)
		must(t, "GetSession", err)
		wantStored(t, "RevokedAt", got.RevokedAt, at)
	}
	n, err = ts.RevokeAllSessions(ctx(t), at.Add(time.Minute))
	must(t, "RevokeAllSessions again", err)
	if n != 0 {
		t.Errorf("RevokeAllSessions again = %d, want 0", n)
	}
	got, err := tsOther.GetSession(ctx(t), outsider.ID)
	must(t, "GetSession other tenant", err)
	if !got.RevokedAt.IsZero() {
		t.Errorf("RevokeAllSessions reached another tenant's session (R41)")
	}
}

func testSessionUserDeleted(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	u, keep := createFlowUser(t, ts, "leaver"), createFlowUser(t, ts, "stayer")
	gone, err := ts.CreateSession(ctx(t), sampleSession(t, u.ID))
	must(t, "CreateSession", err)
	kept, err := ts.CreateSession(ctx(t), sampleSession(t, keep.ID))
	must(t, "CreateSession", err)
	must(t, "DeleteUser", ts.DeleteUser(ctx(t), u.ID))
	_, err = ts.GetSession(ctx(t), gone.ID)
	wantErr(t, "GetSession of the deleted user's session", err, store.ErrNotFound)
	if _, err := ts.GetSession(ctx(t), kept.ID); err != nil {
		t.Errorf("GetSession of another user's session: %v", err)
	}
}

func testSessionUnknown(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	for _, id := range []string{newHexID(t), "NOT-HEX", ""} {
		_, err := ts.GetSession(ctx(t), id)
		wantErr(t, "GetSession("+id+")", err, store.ErrNotFound)
		wantErr(t, "TouchSession("+id+")", ts.TouchSession(ctx(t), id, t0, time.Time{}), store.ErrNotFound)
		wantErr(t, "RevokeSession("+id+")", ts.RevokeSession(ctx(t), id, t0), store.ErrNotFound)
	}
}

func testSessionIsolation(t *testing.T, s store.Store) {
	a, tsA := createTenant(t, s)
	b, tsB := createTenant(t, s)
	uA := createFlowUser(t, tsA, "alice")
	sA, err := tsA.CreateSession(ctx(t), sampleSession(t, uA.ID))
	must(t, "CreateSession A", err)

	_, err = tsB.GetSession(ctx(t), sA.ID)
	wantErr(t, "GetSession of A's session through B (R41)", err, store.ErrNotFound)
	wantErr(t, "TouchSession of A's session through B (R41)", tsB.TouchSession(ctx(t), sA.ID, t0.Add(time.Hour), t0.Add(time.Hour)), store.ErrNotFound)
	wantErr(t, "RevokeSession of A's session through B (R41)", tsB.RevokeSession(ctx(t), sA.ID, t0), store.ErrNotFound)
	if n, err := tsB.RevokeUserSessions(ctx(t), uA.ID, "", t0); err != nil || n != 0 {
		t.Errorf("RevokeUserSessions of A's user through B = %d, %v; want 0 (R41)", n, err)
	}
	if n, err := tsB.RevokeAllSessions(ctx(t), t0); err != nil || n != 0 {
		t.Errorf("RevokeAllSessions through B = %d, %v; want 0 (R41)", n, err)
	}
	_, err = tsB.CreateSession(ctx(t), sampleSession(t, uA.ID))
	wantErr(t, "CreateSession through B for A's user (R41)", err, store.ErrInvalid)
	// A TenantID supplied by the caller is ignored.
	uB := createFlowUser(t, tsB, "bob")
	in := sampleSession(t, uB.ID)
	in.TenantID = a.ID
	sB, err := tsB.CreateSession(ctx(t), in)
	must(t, "CreateSession through B naming A", err)
	if sB.TenantID != b.ID {
		t.Errorf("session created through B has TenantID %s, want %s", sB.TenantID, b.ID)
	}
	_, err = tsA.GetSession(ctx(t), sB.ID)
	wantErr(t, "GetSession of B's session through A", err, store.ErrNotFound)

	got, err := tsA.GetSession(ctx(t), sA.ID)
	must(t, "GetSession A", err)
	wantSame(t, "A's session after B's attempts", got, sA)
}

func testSessionPurge(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	_, tsOther := createTenant(t, s)
	u := createFlowUser(t, ts, "purged")
	var ids []string
	for _, exp := range []time.Duration{-time.Hour, -time.Microsecond, 0, time.Hour} {
		in := sampleSession(t, u.ID)
		in.ExpiresAt = t0.Add(exp)
		_, err := ts.CreateSession(ctx(t), in)
		must(t, "CreateSession", err)
		ids = append(ids, in.ID)
	}
	// Revoked but not yet expired: kept until its expiry passes.
	must(t, "RevokeSession", ts.RevokeSession(ctx(t), ids[3], t0.Add(-2*time.Hour)))
	other := sampleSession(t, createFlowUser(t, tsOther, "other").ID)
	other.ExpiresAt = t0.Add(-time.Hour)
	_, err := tsOther.CreateSession(ctx(t), other)
	must(t, "CreateSession other tenant", err)

	n, err := ts.PurgeSessions(ctx(t), t0)
	must(t, "PurgeSessions", err)
	if n != 2 {
		t.Errorf("PurgeSessions = %d, want 2 (expired strictly before)", n)
	}
	for i, id := range ids {
		_, err := ts.GetSession(ctx(t), id)
		if i < 2 {
			wantErr(t, "GetSession of a purged session", err, store.ErrNotFound)
		} else if err != nil {
			t.Errorf("GetSession of session %d (not expired before t0): %v", i, err)
		}
	}
	if _, err := tsOther.GetSession(ctx(t), other.ID); err != nil {
		t.Errorf("the purge reached another tenant's session: %v", err)
	}
	_, err = ts.PurgeSessions(ctx(t), time.Time{})
	wantErr(t, "PurgeSessions at the zero time", err, store.ErrInvalid)
}
