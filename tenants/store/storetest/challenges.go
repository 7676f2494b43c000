package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

var challengeTests = []subTest{
	{"create and get round-trip", testChallengeCreateGet},
	{"duplicate cid already exists within a tenant only", testChallengeDuplicate},
	{"invalid challenges are refused", testChallengeInvalid},
	{"answer moves the challenge out of its state once (R30)", testChallengeAnswer},
	{"20 concurrent answers to one pending challenge: exactly one wins (R30)", testChallengeConcurrentAnswers},
	{"pending list has only the device's unexpired pending challenges, newest first", testChallengePending},
	{"unknown and malformed cids are not found", testChallengeUnknown},
	{"purge deletes challenges that expired before t, of this tenant only", testChallengePurge},
	{"not visible from another tenant (R41)", testChallengeIsolation},
}

// sampleChallenge is a pending challenge of user on device, created at t0
// and expiring two minutes later, with number matching.
func sampleChallenge(t *testing.T, user, device string) tenants.PushChallenge {
	return tenants.PushChallenge{
		CID: randomLabel(t, 16), UserID: user, DeviceID: device, Purpose: string(tenants.ActionReset),
		Context: []byte(`{"Action":"reset","App":"Latchkey – Anmeldung","Location":"Zürich, CH","IP":"2001:db8::1"}`),
		Number:  42, State: "pending", CreatedAt: t0, ExpiresAt: t0.Add(2 * time.Minute),
	}
}

// deviceOf creates a user with one device.
func deviceOf(t *testing.T, ts store.TenantStore, name string) (tenants.User, tenants.Device) {
	t.Helper()
	u := createFlowUser(t, ts, name)
	return u, createDevice(t, ts, sampleDevice(t, u.ID))
}

func getChallenge(t *testing.T, ts store.TenantStore, cid string) tenants.PushChallenge {
	t.Helper()
	c, err := ts.GetChallenge(ctx(t), cid)
	must(t, "GetChallenge", err)
	return c
}

// wantChallenges compares a list of challenges, first by cid alone so that
// a wrong membership or order reads plainly.
func wantChallenges(t *testing.T, what string, got, want []tenants.PushChallenge) {
	t.Helper()
	cids := func(cs []tenants.PushChallenge) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = c.CID
		}
		return out
	}
	if !slices.Equal(cids(got), cids(want)) {
		t.Errorf("%s: cids %v, want %v", what, cids(got), cids(want))
		return
	}
	wantSame(t, what, got, want)
}

// stored is c as the store gives it back: in the store's tenant.
func stored(c tenants.PushChallenge, tenant tenants.ID) tenants.PushChallenge {
	c.TenantID = tenant
	return c
}

func testChallengeCreateGet(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	u, d := deviceOf(t, ts, "ann")
	in := sampleChallenge(t, u.ID, d.ID)
	caller := in
	caller.TenantID = "someone-else"
	must(t, "CreateChallenge", ts.CreateChallenge(ctx(t), caller))
	got := getChallenge(t, ts, in.CID)
	wantSame(t, "GetChallenge", got, stored(in, ten.ID))
	wantUTC(t, "GetChallenge", got.CreatedAt, got.ExpiresAt)
	if !got.AnsweredAt.IsZero() {
		t.Errorf("AnsweredAt of a pending challenge = %s, want zero", got.AnsweredAt)
	}

	// A challenge without number matching, stored already answered, and one
	// whose context has the largest size allowed.
	done := sampleChallenge(t, u.ID, d.ID)
	done.Number, done.State, done.Reason, done.AnsweredAt = 0, "denied", "denied", t0.Add(time.Minute)
	must(t, "CreateChallenge answered", ts.CreateChallenge(ctx(t), done))
	gotDone := getChallenge(t, ts, done.CID)
	wantSame(t, "GetChallenge answered", gotDone, stored(done, ten.ID))
	wantUTC(t, "GetChallenge answered", gotDone.AnsweredAt)
	big := sampleChallenge(t, u.ID, d.ID)
	big.Context = []byte(`{"x":"` + strings.Repeat("y", 4096-8) + `"}`)
	must(t, "CreateChallenge with a 4 KiB context", ts.CreateChallenge(ctx(t), big))
	wantSame(t, "GetChallenge with a 4 KiB context", getChallenge(t, ts, big.CID), stored(big, ten.ID))
}

func testChallengeDuplicate(t *testing.T, s store.Store) {
	_, tsA := createTenant(t, s)
	_, tsB := createTenant(t, s)
	uA, dA := deviceOf(t, tsA, "dup")
	c := sampleChallenge(t, uA.ID, dA.ID)
	must(t, "CreateChallenge", tsA.CreateChallenge(ctx(t), c))
	again := c
	again.Number, again.Purpose = 77, string(tenants.ActionUnlock)
	wantErr(t, "CreateChallenge with a taken cid", tsA.CreateChallenge(ctx(t), again), store.ErrAlreadyExists)
	wantSame(t, "the challenge after the duplicate", getChallenge(t, tsA, c.CID).Number, 42)

	uB, dB := deviceOf(t, tsB, "dup")
	inB := sampleChallenge(t, uB.ID, dB.ID)
	inB.CID = c.CID
	if err := tsB.CreateChallenge(ctx(t), inB); err != nil {
		t.Errorf("the same cid in another tenant: %v", err)
	}
}

func testChallengeInvalid(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	_, tsOther := createTenant(t, s)
	u, d := deviceOf(t, ts, "valid")
	mate, mateDevice := deviceOf(t, ts, "mate")
	otherUser, otherDevice := deviceOf(t, tsOther, "other")
	for name, mod := range map[string]func(*tenants.PushChallenge){
		"no cid":                             func(c *tenants.PushChallenge) { c.CID = "" },
		"a cid of 31 hex digits":             func(c *tenants.PushChallenge) { c.CID = c.CID[:31] },
		"a cid of 33 hex digits":             func(c *tenants.PushChallenge) { c.CID += "a" },
		"an upper-case cid":                  func(c *tenants.PushChallenge) { c.CID = strings.ToUpper(c.CID) },
		"a cid that is not hex":              func(c *tenants.PushChallenge) { c.CID = "g" + c.CID[1:] },
		"no user":                            func(c *tenants.PushChallenge) { c.UserID = "" },
		"a malformed user id":                func(c *tenants.PushChallenge) { c.UserID = "not-a-uuid" },
		"unknown user":                       func(c *tenants.PushChallenge) { c.UserID = uuid.NewString() },
		"no device":                          func(c *tenants.PushChallenge) { c.DeviceID = "" },
		"a malformed device id":              func(c *tenants.PushChallenge) { c.DeviceID = "not-a-uuid" },
		"unknown device":                     func(c *tenants.PushChallenge) { c.DeviceID = uuid.NewString() },
		"another user's device":              func(c *tenants.PushChallenge) { c.DeviceID = mateDevice.ID },
		"the device's owner as another user": func(c *tenants.PushChallenge) { c.UserID = mate.ID },
		"another tenant's device":            func(c *tenants.PushChallenge) { c.DeviceID = otherDevice.ID },
		"another tenant's user and device": func(c *tenants.PushChallenge) {
			c.UserID, c.DeviceID = otherUser.ID, otherDevice.ID
		},
		"no purpose":                   func(c *tenants.PushChallenge) { c.Purpose = "" },
		"invalid UTF-8 in the purpose": func(c *tenants.PushChallenge) { c.Purpose = "reset\xff" },
		"no context":                   func(c *tenants.PushChallenge) { c.Context = nil },
		"a context that is not JSON":   func(c *tenants.PushChallenge) { c.Context = []byte(`{"a":`) },
		"a JSON array as context":      func(c *tenants.PushChallenge) { c.Context = []byte(`["reset"]`) },
		"JSON null as context":         func(c *tenants.PushChallenge) { c.Context = []byte(`null`) },
		"invalid UTF-8 in the context": func(c *tenants.PushChallenge) {
			c.Context = []byte("{\"a\":\"\xff\"}")
		},
		"a context over 4 KiB": func(c *tenants.PushChallenge) {
			c.Context = []byte(`{"x":"` + strings.Repeat("y", 4096-7) + `"}`)
		},
		"number 1":               func(c *tenants.PushChallenge) { c.Number = 1 },
		"number 9":               func(c *tenants.PushChallenge) { c.Number = 9 },
		"number 100":             func(c *tenants.PushChallenge) { c.Number = 100 },
		"number -42":             func(c *tenants.PushChallenge) { c.Number = -42 },
		"no state":               func(c *tenants.PushChallenge) { c.State = "" },
		"an unknown state":       func(c *tenants.PushChallenge) { c.State = "done" },
		"an upper-case state":    func(c *tenants.PushChallenge) { c.State = "PENDING" },
		"a NUL in the reason":    func(c *tenants.PushChallenge) { c.Reason = "denied\x00" },
		"no creation time":       func(c *tenants.PushChallenge) { c.CreatedAt = time.Time{} },
		"no expiry":              func(c *tenants.PushChallenge) { c.ExpiresAt = time.Time{} },
		"expiry at creation":     func(c *tenants.PushChallenge) { c.ExpiresAt = c.CreatedAt },
		"expiry before creation": func(c *tenants.PushChallenge) { c.ExpiresAt = c.CreatedAt.Add(-time.Second) },
	} {
		c := sampleChallenge(t, u.ID, d.ID)
		mod(&c)
		wantErr(t, "CreateChallenge with "+name, ts.CreateChallenge(ctx(t), c), store.ErrInvalid)
		if c.CID != "" {
			_, err := ts.GetChallenge(ctx(t), c.CID)
			wantErr(t, "GetChallenge of the refused challenge with "+name, err, store.ErrNotFound)
		}
	}
	// The edges are fine.
	for _, n := range []int{0, 10, 99} {
		c := sampleChallenge(t, u.ID, d.ID)
		c.Number, c.ExpiresAt = n, c.CreatedAt.Add(time.Microsecond)
		if err := ts.CreateChallenge(ctx(t), c); err != nil {
			t.Errorf("CreateChallenge with number %d expiring a microsecond after creation: %v", n, err)
		}
	}
	for _, state := range []string{"pending", "approved", "denied", "expired", "reported"} {
		c := sampleChallenge(t, u.ID, d.ID)
		c.State = state
		if err := ts.CreateChallenge(ctx(t), c); err != nil {
			t.Errorf("CreateChallenge in state %s: %v", state, err)
		}
	}
}

func testChallengeAnswer(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	u, d := deviceOf(t, ts, "answerer")
	c := sampleChallenge(t, u.ID, d.ID)
	must(t, "CreateChallenge", ts.CreateChallenge(ctx(t), c))

	at := t0.Add(30 * time.Second)
	won, err := ts.AnswerChallenge(ctx(t), c.CID, "pending", "approved", "approved", at)
	must(t, "AnswerChallenge", err)
	if !won {
		t.Fatalf("the first answer to a pending challenge did not win")
	}
	want := stored(c, ten.ID)
	want.State, want.Reason, want.AnsweredAt = "approved", "approved", at
	got := getChallenge(t, ts, c.CID)
	wantSame(t, "the challenge after the answer", got, want)
	wantUTC(t, "AnsweredAt", got.AnsweredAt)

	// A second answer (a replay, or a deny racing the approval) finds the
	// challenge no longer pending: it loses without an error (R30: one answer).
	won, err = ts.AnswerChallenge(ctx(t), c.CID, "pending", "denied", "denied", at.Add(time.Second))
	must(t, "AnswerChallenge again", err)
	if won {
		t.Errorf("a second answer won")
	}
	wantSame(t, "the challenge after the second answer", getChallenge(t, ts, c.CID), want)

	// The condition is the given from state, whichever it is.
	won, err = ts.AnswerChallenge(ctx(t), c.CID, "approved", "reported", "reported", at.Add(time.Minute))
	must(t, "AnswerChallenge from approved", err)
	if !won {
		t.Errorf("an answer from the challenge's current state did not win")
	}
	want.State, want.Reason, want.AnsweredAt = "reported", "reported", at.Add(time.Minute)
	wantSame(t, "the challenge after the report", getChallenge(t, ts, c.CID), want)

	for name, call := range map[string]func() (bool, error){
		"an unknown from state": func() (bool, error) { return ts.AnswerChallenge(ctx(t), c.CID, "reported ", "denied", "", at) },
		"an empty to state":     func() (bool, error) { return ts.AnswerChallenge(ctx(t), c.CID, "reported", "", "", at) },
		"an unknown to state":   func() (bool, error) { return ts.AnswerChallenge(ctx(t), c.CID, "reported", "done", "", at) },
		"a NUL in the reason":   func() (bool, error) { return ts.AnswerChallenge(ctx(t), c.CID, "reported", "denied", "x\x00", at) },
		"the zero time": func() (bool, error) {
			return ts.AnswerChallenge(ctx(t), c.CID, "reported", "denied", "denied", time.Time{})
		},
	} {
		won, err := call()
		wantErr(t, "AnswerChallenge with "+name, err, store.ErrInvalid)
		if won {
			t.Errorf("AnswerChallenge with %s won", name)
		}
	}
	wantSame(t, "the challenge after the refused answers", getChallenge(t, ts, c.CID), want)
}

func testChallengeConcurrentAnswers(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	u, d := deviceOf(t, ts, "racer")
	c := sampleChallenge(t, u.ID, d.ID)
	must(t, "CreateChallenge", ts.CreateChallenge(ctx(t), c))
	const n = 20
	states := []string{"approved", "denied", "reported"}
	wins := make([]bool, n)
	errs := race(n, func(i int) error {
		var err error
		wins[i], err = ts.AnswerChallenge(ctx(t), c.CID, "pending", states[i%len(states)],
			fmt.Sprintf("answer %d", i), t0.Add(time.Duration(i+1)*time.Second))
		return err
	})
	winner := -1
	for i, err := range errs {
		if err != nil {
			t.Errorf("answer %d: %v", i, err)
		}
		if wins[i] {
			if winner >= 0 {
				t.Errorf("answers %d and %d both won (R30: one answer)", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d answers to a pending challenge won", n)
	}
	got := getChallenge(t, ts, c.CID)
	if got.State != states[winner%len(states)] || got.Reason != fmt.Sprintf("answer %d", winner) {
		t.Errorf("stored state %q reason %q, want the winner's (answer %d)", got.State, got.Reason, winner)
	}
	wantStored(t, "AnsweredAt", got.AnsweredAt, t0.Add(time.Duration(winner+1)*time.Second))
}

func testChallengePending(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	_, tsOther := createTenant(t, s)
	u, d := deviceOf(t, ts, "poller")
	second := createDevice(t, ts, sampleDevice(t, u.ID))
	now := t0.Add(time.Minute)
	mk := func(dev string, created, expires time.Duration, state string) tenants.PushChallenge {
		c := sampleChallenge(t, u.ID, dev)
		c.CreatedAt, c.ExpiresAt, c.State = t0.Add(created), t0.Add(expires), state
		if state != "pending" {
			c.AnsweredAt = c.CreatedAt
		}
		must(t, "CreateChallenge", ts.CreateChallenge(ctx(t), c))
		return stored(c, ten.ID)
	}
	older := mk(d.ID, 0, 2*time.Minute, "pending")
	newer := mk(d.ID, 10*time.Second, 2*time.Minute, "pending")
	justLive := mk(d.ID, 5*time.Second, time.Minute+time.Microsecond, "pending")
	mk(d.ID, -time.Minute, time.Minute, "pending")    // expires exactly at now
	mk(d.ID, -2*time.Minute, -time.Second, "pending") // expired before now
	mk(d.ID, 20*time.Second, 2*time.Minute, "approved")
	mk(d.ID, 20*time.Second, 2*time.Minute, "denied")
	mk(second.ID, 30*time.Second, 2*time.Minute, "pending")
	answered := mk(d.ID, 25*time.Second, 2*time.Minute, "pending")
	won, err := ts.AnswerChallenge(ctx(t), answered.CID, "pending", "expired", "expired", now)
	if err != nil || !won {
		t.Fatalf("AnswerChallenge = %v, %v", won, err)
	}
	uOther, dOther := deviceOf(t, tsOther, "other")
	other := sampleChallenge(t, uOther.ID, dOther.ID)
	must(t, "CreateChallenge other tenant", tsOther.CreateChallenge(ctx(t), other))

	got, err := ts.ListPendingChallenges(ctx(t), d.ID, now)
	must(t, "ListPendingChallenges", err)
	wantChallenges(t, "ListPendingChallenges (newest first)", got, []tenants.PushChallenge{newer, justLive, older})
	for _, c := range got {
		wantUTC(t, "ListPendingChallenges", c.CreatedAt, c.ExpiresAt)
	}
	// The same list at another time: later, only what is still live.
	got, err = ts.ListPendingChallenges(ctx(t), d.ID, t0.Add(time.Minute+time.Microsecond))
	must(t, "ListPendingChallenges later", err)
	wantChallenges(t, "ListPendingChallenges a microsecond later", got, []tenants.PushChallenge{newer, older})

	for _, id := range []string{uuid.NewString(), "not-a-uuid", "", dOther.ID} {
		if list, err := ts.ListPendingChallenges(ctx(t), id, now); err != nil || len(list) != 0 {
			t.Errorf("ListPendingChallenges(%q) = %v, %v; want none", id, list, err)
		}
	}
	_, err = ts.ListPendingChallenges(ctx(t), d.ID, time.Time{})
	wantErr(t, "ListPendingChallenges at the zero time", err, store.ErrInvalid)
}

func testChallengeUnknown(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	for _, cid := range []string{randomLabel(t, 16), strings.Repeat("A", 32), "not-hex", "", "'; DROP TABLE push_challenges; --"} {
		_, err := ts.GetChallenge(ctx(t), cid)
		wantErr(t, "GetChallenge("+cid+")", err, store.ErrNotFound)
		won, err := ts.AnswerChallenge(ctx(t), cid, "pending", "approved", "approved", t0)
		wantErr(t, "AnswerChallenge("+cid+")", err, store.ErrNotFound)
		if won {
			t.Errorf("AnswerChallenge(%q) won", cid)
		}
	}
	ghost := s.Tenant(tenants.ID(uuid.NewString()))
	err := ghost.CreateChallenge(ctx(t), sampleChallenge(t, uuid.NewString(), uuid.NewString()))
	wantErr(t, "CreateChallenge for a tenant that does not exist", err, store.ErrNotFound)
}

func testChallengeIsolation(t *testing.T, s store.Store) {
	a, tsA := createTenant(t, s)
	b, tsB := createTenant(t, s)
	uA, dA := deviceOf(t, tsA, "alice")
	cA := sampleChallenge(t, uA.ID, dA.ID)
	must(t, "CreateChallenge A", tsA.CreateChallenge(ctx(t), cA))
	before := getChallenge(t, tsA, cA.CID)

	_, err := tsB.GetChallenge(ctx(t), cA.CID)
	wantErr(t, "GetChallenge of A's challenge through B (R41)", err, store.ErrNotFound)
	won, err := tsB.AnswerChallenge(ctx(t), cA.CID, "pending", "approved", "approved", t0)
	wantErr(t, "AnswerChallenge of A's challenge through B (R41)", err, store.ErrNotFound)
	if won {
		t.Errorf("B's answer to A's challenge won (R41)")
	}
	if list, err := tsB.ListPendingChallenges(ctx(t), dA.ID, t0); err != nil || len(list) != 0 {
		t.Errorf("ListPendingChallenges of A's device through B = %v, %v; want none (R41)", list, err)
	}
	err = tsB.CreateChallenge(ctx(t), sampleChallenge(t, uA.ID, dA.ID))
	wantErr(t, "CreateChallenge through B for A's user and device (R41)", err, store.ErrInvalid)

	// A TenantID supplied by the caller is ignored; the same cid in B is B's.
	uB, dB := deviceOf(t, tsB, "bob")
	in := sampleChallenge(t, uB.ID, dB.ID)
	in.CID, in.TenantID = cA.CID, a.ID
	must(t, "CreateChallenge through B naming A", tsB.CreateChallenge(ctx(t), in))
	if got := getChallenge(t, tsB, cA.CID); got.TenantID != b.ID || got.UserID != uB.ID {
		t.Errorf("challenge created through B = %+v, want B's", got)
	}
	won, err = tsB.AnswerChallenge(ctx(t), cA.CID, "pending", "denied", "denied", t0)
	if err != nil || !won {
		t.Errorf("AnswerChallenge of B's own challenge = %v, %v", won, err)
	}

	wantSame(t, "A's challenge after B's attempts", getChallenge(t, tsA, cA.CID), before)
	if list, err := tsA.ListPendingChallenges(ctx(t), dA.ID, t0); err != nil || len(list) != 1 {
		t.Errorf("A's pending challenges after B's attempts = %v, %v; want the one", list, err)
	}
}

func testChallengePurge(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	_, tsOther := createTenant(t, s)
	u, d := deviceOf(t, ts, "purged")
	var cids []string
	for _, exp := range []time.Duration{-time.Hour, -time.Microsecond, 0, time.Hour} {
		c := sampleChallenge(t, u.ID, d.ID)
		c.CreatedAt, c.ExpiresAt = t0.Add(exp-2*time.Minute), t0.Add(exp)
		must(t, "CreateChallenge", ts.CreateChallenge(ctx(t), c))
		cids = append(cids, c.CID)
	}
	ou, od := deviceOf(t, tsOther, "other")
	oc := sampleChallenge(t, ou.ID, od.ID)
	oc.CreatedAt, oc.ExpiresAt = t0.Add(-time.Hour), t0.Add(-time.Hour+time.Minute)
	must(t, "CreateChallenge other tenant", tsOther.CreateChallenge(ctx(t), oc))

	n, err := ts.PurgeChallenges(ctx(t), t0)
	must(t, "PurgeChallenges", err)
	if n != 2 {
		t.Errorf("PurgeChallenges = %d, want 2 (expired strictly before)", n)
	}
	for i, cid := range cids {
		_, err := ts.GetChallenge(ctx(t), cid)
		if i < 2 {
			wantErr(t, "GetChallenge of a purged challenge", err, store.ErrNotFound)
		} else if err != nil {
			t.Errorf("GetChallenge of challenge %d (not expired before t0): %v", i, err)
		}
	}
	if _, err := tsOther.GetChallenge(ctx(t), oc.CID); err != nil {
		t.Errorf("the purge reached another tenant's challenge: %v", err)
	}
	_, err = ts.PurgeChallenges(ctx(t), time.Time{})
	wantErr(t, "PurgeChallenges at the zero time", err, store.ErrInvalid)
}
