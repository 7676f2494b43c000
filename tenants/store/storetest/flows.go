package storetest

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

var flowTests = []subTest{
	{"create and get round-trip; version starts at 1", testFlowCreateGet},
	{"decoy flow without a user round-trips (R1)", testFlowDecoy},
	{"duplicate id already exists within a tenant only", testFlowDuplicate},
	{"invalid flows are refused", testFlowInvalid},
	{"update saves user, state and expiry and bumps the version", testFlowUpdate},
	{"update at a stale version is a conflict and changes nothing (R5)", testFlowStale},
	{"20 concurrent updates at one version: exactly one wins (R5)", testFlowCAS},
	{"delete removes the flow", testFlowDelete},
	{"purge deletes only flows that expired before the time", testFlowPurge},
	{"deleting the user deletes the user's flows", testFlowUserDeleted},
	{"unknown and malformed ids are not found", testFlowUnknown},
	{"not visible from another tenant (R41)", testFlowIsolation},
}

// sampleFlow is a flow about user (empty for a decoy) that expires an hour
// after t0. Its state holds every byte value: the store keeps it opaque.
func sampleFlow(t *testing.T, user string) tenants.Flow {
	return tenants.Flow{
		ID: newHexID(t), Action: tenants.ActionReset, Channel: tenants.ChannelWeb, UserID: user,
		State: append([]byte(`{"step":"identify"}`), logoBytes()...), ExpiresAt: t0.Add(time.Hour),
	}
}

// createFlowUser creates a user to hang flows and sessions on.
func createFlowUser(t *testing.T, ts store.TenantStore, name string) tenants.User {
	t.Helper()
	u, err := ts.CreateUser(ctx(t), tenants.User{Username: name})
	must(t, "CreateUser", err)
	return u
}

// wantFlow compares a stored flow with what was created from in.
func wantFlow(t *testing.T, what string, got tenants.Flow, tenant tenants.ID, in tenants.Flow, version int64) {
	t.Helper()
	want := in
	want.TenantID, want.Version, want.CreatedAt, want.UpdatedAt = tenant, version, got.CreatedAt, got.UpdatedAt
	wantSame(t, what, got, want)
	wantUTC(t, what, got.CreatedAt, got.UpdatedAt, got.ExpiresAt)
}

func testFlowCreateGet(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	u := createFlowUser(t, ts, "flow-user")
	in := sampleFlow(t, u.ID)
	caller := in
	caller.TenantID, caller.Version = "someone-else", 7
	caller.CreatedAt, caller.UpdatedAt = t0.Add(-time.Hour), t0.Add(-time.Hour)
	got, err := ts.CreateFlow(ctx(t), caller)
	must(t, "CreateFlow", err)
	wantFlow(t, "CreateFlow result", got, ten.ID, in, 1)
	if !got.CreatedAt.Equal(got.UpdatedAt) || got.CreatedAt.Equal(caller.CreatedAt) {
		t.Errorf("CreatedAt %s, UpdatedAt %s: want the store's own time, twice", got.CreatedAt, got.UpdatedAt)
	}
	fromGet, err := ts.GetFlow(ctx(t), in.ID)
	must(t, "GetFlow", err)
	wantSame(t, "GetFlow", fromGet, got)
	wantUTC(t, "GetFlow", fromGet.CreatedAt, fromGet.UpdatedAt, fromGet.ExpiresAt)

	// An expired flow is still returned: the engine decides.
	old := sampleFlow(t, "")
	old.ExpiresAt = t0.Add(-24 * time.Hour)
	_, err = ts.CreateFlow(ctx(t), old)
	must(t, "CreateFlow expired", err)
	if _, err := ts.GetFlow(ctx(t), old.ID); err != nil {
		t.Errorf("GetFlow of an expired flow: %v", err)
	}
	// An empty state is fine.
	bare := tenants.Flow{ID: newHexID(t), Action: tenants.ActionSignIn, ExpiresAt: t0}
	_, err = ts.CreateFlow(ctx(t), bare)
	must(t, "CreateFlow bare", err)
	fromGet, err = ts.GetFlow(ctx(t), bare.ID)
	must(t, "GetFlow bare", err)
	wantFlow(t, "bare flow", fromGet, ten.ID, bare, 1)
}

func testFlowDecoy(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	in := sampleFlow(t, "")
	in.Action = "report" // an action the policy does not know is still stored
	got, err := ts.CreateFlow(ctx(t), in)
	must(t, "CreateFlow decoy", err)
	wantFlow(t, "decoy flow", got, ten.ID, in, 1)
	fromGet, err := ts.GetFlow(ctx(t), in.ID)
	must(t, "GetFlow decoy", err)
	if fromGet.UserID != "" {
		t.Errorf("decoy flow has UserID %q", fromGet.UserID)
	}
	// A decoy stays a decoy through its steps.
	fromGet.State = []byte(`{"step":"code"}`)
	next, err := ts.UpdateFlow(ctx(t), fromGet)
	must(t, "UpdateFlow decoy", err)
	if next.UserID != "" || next.Version != 2 {
		t.Errorf("decoy flow after a step = %+v", next)
	}
}

func testFlowDuplicate(t *testing.T, s store.Store) {
	_, tsA := createTenant(t, s)
	_, tsB := createTenant(t, s)
	f := sampleFlow(t, "")
	_, err := tsA.CreateFlow(ctx(t), f)
	must(t, "CreateFlow", err)
	again := f
	again.State = []byte("other")
	_, err = tsA.CreateFlow(ctx(t), again)
	wantErr(t, "CreateFlow with a taken id", err, store.ErrAlreadyExists)
	got, err := tsA.GetFlow(ctx(t), f.ID)
	must(t, "GetFlow", err)
	if !bytes.Equal(got.State, f.State) {
		t.Errorf("the duplicate overwrote the state")
	}
	if _, err := tsB.CreateFlow(ctx(t), f); err != nil {
		t.Errorf("the same flow id in another tenant: %v", err)
	}
}

func testFlowInvalid(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	_, tsOther := createTenant(t, s)
	other := createFlowUser(t, tsOther, "not-mine")
	for name, mod := range map[string]func(*tenants.Flow){
		"no id":                   func(f *tenants.Flow) { f.ID = "" },
		"63 hex digits":           func(f *tenants.Flow) { f.ID = f.ID[:63] },
		"65 hex digits":           func(f *tenants.Flow) { f.ID += "a" },
		"upper-case hex":          func(f *tenants.Flow) { f.ID = strings.ToUpper(f.ID) },
		"not hex":                 func(f *tenants.Flow) { f.ID = "g" + f.ID[1:] },
		"no action":               func(f *tenants.Flow) { f.Action = "" },
		"no expiry":               func(f *tenants.Flow) { f.ExpiresAt = time.Time{} },
		"state over 64 KiB":       func(f *tenants.Flow) { f.State = make([]byte, 64<<10+1) },
		"unknown user":            func(f *tenants.Flow) { f.UserID = uuid.NewString() },
		"another tenant's user":   func(f *tenants.Flow) { f.UserID = other.ID },
		"malformed user id":       func(f *tenants.Flow) { f.UserID = "not-a-uuid" },
		"invalid UTF-8 in action": func(f *tenants.Flow) { f.Action = "reset\xff" },
	} {
		f := sampleFlow(t, "")
		mod(&f)
		_, err := ts.CreateFlow(ctx(t), f)
		wantErr(t, "CreateFlow with "+name, err, store.ErrInvalid)
	}
	full := sampleFlow(t, "")
	full.State = bytes.Repeat([]byte{'x'}, 64<<10)
	if _, err := ts.CreateFlow(ctx(t), full); err != nil {
		t.Errorf("CreateFlow with a state of exactly 64 KiB: %v", err)
	}

	f, err := ts.CreateFlow(ctx(t), sampleFlow(t, ""))
	must(t, "CreateFlow", err)
	for name, mod := range map[string]func(*tenants.Flow){
		"no expiry":             func(f *tenants.Flow) { f.ExpiresAt = time.Time{} },
		"state over 64 KiB":     func(f *tenants.Flow) { f.State = make([]byte, 64<<10+1) },
		"unknown user":          func(f *tenants.Flow) { f.UserID = uuid.NewString() },
		"another tenant's user": func(f *tenants.Flow) { f.UserID = other.ID },
	} {
		next := f
		mod(&next)
		_, err := ts.UpdateFlow(ctx(t), next)
		wantErr(t, "UpdateFlow with "+name, err, store.ErrInvalid)
	}
	got, err := ts.GetFlow(ctx(t), f.ID)
	must(t, "GetFlow", err)
	wantSame(t, "flow after refused updates", got, f)
}

func testFlowUpdate(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	u := createFlowUser(t, ts, "stepper")
	created, err := ts.CreateFlow(ctx(t), sampleFlow(t, ""))
	must(t, "CreateFlow", err)

	step := created
	step.UserID = u.ID
	step.State = []byte(`{"step":"code","sent":true}`)
	step.ExpiresAt = t0.Add(2 * time.Hour)
	// Only UserID, State and ExpiresAt are saved.
	step.Action, step.Channel, step.TenantID = tenants.ActionEnroll, tenants.ChannelMobile, "someone-else"
	step.CreatedAt = t0
	got, err := ts.UpdateFlow(ctx(t), step)
	must(t, "UpdateFlow", err)
	want := created
	want.UserID, want.State, want.ExpiresAt, want.Version = u.ID, step.State, step.ExpiresAt, 2
	want.UpdatedAt = got.UpdatedAt
	wantSame(t, "UpdateFlow result", got, want)
	wantUTC(t, "UpdateFlow result", got.UpdatedAt, got.ExpiresAt)
	if got.UpdatedAt.Before(created.UpdatedAt) {
		t.Errorf("UpdatedAt went back")
	}
	if got.TenantID != ten.ID {
		t.Errorf("TenantID = %s, want %s", got.TenantID, ten.ID)
	}
	fromGet, err := ts.GetFlow(ctx(t), created.ID)
	must(t, "GetFlow", err)
	wantSame(t, "GetFlow after update", fromGet, got)

	// The next step continues from the returned version; the state may
	// empty and the user may go again.
	got.State, got.UserID = nil, ""
	third, err := ts.UpdateFlow(ctx(t), got)
	must(t, "UpdateFlow again", err)
	if third.Version != 3 || len(third.State) != 0 || third.UserID != "" {
		t.Errorf("third step = %+v", third)
	}
}

func testFlowStale(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	created, err := ts.CreateFlow(ctx(t), sampleFlow(t, ""))
	must(t, "CreateFlow", err)
	step := created
	step.State = []byte("one")
	v2, err := ts.UpdateFlow(ctx(t), step)
	must(t, "UpdateFlow", err)
	// Replaying the same step (version 1) now loses.
	step.State = []byte("replayed")
	_, err = ts.UpdateFlow(ctx(t), step)
	wantErr(t, "UpdateFlow at version 1 after a step", err, store.ErrConflict)
	for _, v := range []int64{0, 3, 99, -1} {
		bad := v2
		bad.Version, bad.State = v, []byte("wrong version")
		_, err = ts.UpdateFlow(ctx(t), bad)
		wantErr(t, "UpdateFlow at a version that was never stored", err, store.ErrConflict)
	}
	got, err := ts.GetFlow(ctx(t), created.ID)
	must(t, "GetFlow", err)
	wantSame(t, "flow after the stale updates", got, v2)
}

func testFlowCAS(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	created, err := ts.CreateFlow(ctx(t), sampleFlow(t, ""))
	must(t, "CreateFlow", err)
	const n = 20
	winners := make([]tenants.Flow, n)
	errs := race(n, func(i int) error {
		step := created
		step.State = []byte{byte('A' + i)}
		got, err := ts.UpdateFlow(ctx(t), step)
		winners[i] = got
		return err
	})
	ok, conflicts := tally(t, "UpdateFlow", errs)
	if ok != 1 || conflicts != n-1 {
		t.Fatalf("%d updates succeeded and %d conflicted, want 1 and %d (R5)", ok, conflicts, n-1)
	}
	got, err := ts.GetFlow(ctx(t), created.ID)
	must(t, "GetFlow", err)
	for i, e := range errs {
		if e == nil {
			if got.Version != 2 || !bytes.Equal(got.State, []byte{byte('A' + i)}) {
				t.Errorf("stored flow %+v, want version 2 with the winner's state %q", got, []byte{byte('A' + i)})
			}
			wantSame(t, "the winner's result", winners[i], got)
		}
	}
}

func testFlowDelete(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	f, err := ts.CreateFlow(ctx(t), sampleFlow(t, ""))
	must(t, "CreateFlow", err)
	must(t, "DeleteFlow", ts.DeleteFlow(ctx(t), f.ID))
	_, err = ts.GetFlow(ctx(t), f.ID)
	wantErr(t, "GetFlow after delete", err, store.ErrNotFound)
	_, err = ts.UpdateFlow(ctx(t), f)
	wantErr(t, "UpdateFlow after delete", err, store.ErrNotFound)
	wantErr(t, "DeleteFlow twice", ts.DeleteFlow(ctx(t), f.ID), store.ErrNotFound)
	// The id may be used again.
	if _, err := ts.CreateFlow(ctx(t), f); err != nil {
		t.Errorf("CreateFlow with the id of a deleted flow: %v", err)
	}
}

func testFlowPurge(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	_, tsOther := createTenant(t, s)
	var ids []string
	for _, exp := range []time.Duration{-2 * time.Hour, -time.Microsecond, 0, time.Microsecond, time.Hour} {
		f := sampleFlow(t, "")
		f.ExpiresAt = t0.Add(exp)
		_, err := ts.CreateFlow(ctx(t), f)
		must(t, "CreateFlow", err)
		ids = append(ids, f.ID)
	}
	otherOld := sampleFlow(t, "")
	otherOld.ExpiresAt = t0.Add(-time.Hour)
	_, err := tsOther.CreateFlow(ctx(t), otherOld)
	must(t, "CreateFlow other tenant", err)

	n, err := ts.PurgeFlows(ctx(t), t0)
	must(t, "PurgeFlows", err)
	if n != 2 {
		t.Errorf("PurgeFlows = %d, want 2 (the flows that expired strictly before)", n)
	}
	for i, id := range ids {
		_, err := ts.GetFlow(ctx(t), id)
		if gone := i < 2; gone {
			wantErr(t, "GetFlow of a purged flow", err, store.ErrNotFound)
		} else if err != nil {
			t.Errorf("GetFlow of flow %d (not expired before t0): %v", i, err)
		}
	}
	if _, err := tsOther.GetFlow(ctx(t), otherOld.ID); err != nil {
		t.Errorf("the purge reached another tenant's flow: %v", err)
	}
	n, err = ts.PurgeFlows(ctx(t), t0)
	must(t, "PurgeFlows again", err)
	if n != 0 {
		t.Errorf("PurgeFlows again = %d, want 0", n)
	}
	_, err = ts.PurgeFlows(ctx(t), time.Time{})
	wantErr(t, "PurgeFlows at the zero time", err, store.ErrInvalid)
}

func testFlowUserDeleted(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	u := createFlowUser(t, ts, "leaver")
	keep := createFlowUser(t, ts, "stayer")
	gone, err := ts.CreateFlow(ctx(t), sampleFlow(t, u.ID))
	must(t, "CreateFlow", err)
	kept, err := ts.CreateFlow(ctx(t), sampleFlow(t, keep.ID))
	must(t, "CreateFlow", err)
	decoy, err := ts.CreateFlow(ctx(t), sampleFlow(t, ""))
	must(t, "CreateFlow decoy", err)
	must(t, "DeleteUser", ts.DeleteUser(ctx(t), u.ID))
	_, err = ts.GetFlow(ctx(t), gone.ID)
	wantErr(t, "GetFlow of the deleted user's flow", err, store.ErrNotFound)
	for _, f := range []tenants.Flow{kept, decoy} {
		if _, err := ts.GetFlow(ctx(t), f.ID); err != nil {
			t.Errorf("GetFlow of a flow of another user or none: %v", err)
		}
	}
}

func testFlowUnknown(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	for _, id := range []string{newHexID(t), strings.Repeat("A", 64), "not-hex", "", "'; DROP TABLE flows; --"} {
		_, err := ts.GetFlow(ctx(t), id)
		wantErr(t, "GetFlow("+id+")", err, store.ErrNotFound)
		f := sampleFlow(t, "")
		f.ID, f.Version = id, 1
		_, err = ts.UpdateFlow(ctx(t), f)
		wantErr(t, "UpdateFlow("+id+")", err, store.ErrNotFound)
		wantErr(t, "DeleteFlow("+id+")", ts.DeleteFlow(ctx(t), id), store.ErrNotFound)
	}
}

func testFlowIsolation(t *testing.T, s store.Store) {
	a, tsA := createTenant(t, s)
	b, tsB := createTenant(t, s)
	u := createFlowUser(t, tsA, "alice")
	fA, err := tsA.CreateFlow(ctx(t), sampleFlow(t, u.ID))
	must(t, "CreateFlow A", err)
	old, err := tsA.CreateFlow(ctx(t), tenants.Flow{ID: newHexID(t), Action: tenants.ActionReset, ExpiresAt: t0.Add(-time.Hour)})
	must(t, "CreateFlow A expired", err)

	_, err = tsB.GetFlow(ctx(t), fA.ID)
	wantErr(t, "GetFlow of A's flow through B (R41)", err, store.ErrNotFound)
	hijack := fA
	hijack.State = []byte(`{"step":"done"}`)
	_, err = tsB.UpdateFlow(ctx(t), hijack)
	wantErr(t, "UpdateFlow of A's flow through B (R41)", err, store.ErrNotFound)
	wantErr(t, "DeleteFlow of A's flow through B (R41)", tsB.DeleteFlow(ctx(t), fA.ID), store.ErrNotFound)
	if n, err := tsB.PurgeFlows(ctx(t), t0.Add(24*time.Hour)); err != nil || n != 0 {
		t.Errorf("PurgeFlows through B = %d, %v; want 0", n, err)
	}
	// B cannot hang a flow on A's user.
	_, err = tsB.CreateFlow(ctx(t), sampleFlow(t, u.ID))
	wantErr(t, "CreateFlow through B naming A's user (R41)", err, store.ErrInvalid)
	// A TenantID supplied by the caller is ignored; the same id in B is B's own.
	mine := sampleFlow(t, "")
	mine.ID, mine.TenantID = fA.ID, a.ID
	fB, err := tsB.CreateFlow(ctx(t), mine)
	must(t, "CreateFlow through B with A's flow id", err)
	if fB.TenantID != b.ID {
		t.Errorf("flow created through B has TenantID %s, want %s", fB.TenantID, b.ID)
	}

	got, err := tsA.GetFlow(ctx(t), fA.ID)
	must(t, "GetFlow A", err)
	wantSame(t, "A's flow after B's attempts", got, fA)
	if _, err := tsA.GetFlow(ctx(t), old.ID); err != nil {
		t.Errorf("A's expired flow after B's purge: %v", err)
	}
}
