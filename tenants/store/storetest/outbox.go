package storetest

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

var outboxTests = []subTest{
	{"enqueue stores a pending message; get and list return it", testOutboxEnqueue},
	{"invalid messages are refused", testOutboxInvalid},
	{"claim leases due messages oldest first, up to the limit", testOutboxClaim},
	{"a leased message is not claimable until the lease lapses", testOutboxLease},
	{"two concurrent claimers never get the same message", testOutboxConcurrentClaims},
	{"mark sent records the delivery once", testOutboxSent},
	{"mark failed retries later or gives up (dead)", testOutboxFailed},
	{"tenants with due messages lists only those, oldest first", testOutboxDueTenants},
	{"list is newest first and limited", testOutboxList},
	{"unknown and malformed ids are not found", testOutboxUnknown},
	{"purge deletes sent and dead messages created before t, never pending ones", testOutboxPurge},
	{"not visible from another tenant (R41)", testOutboxIsolation},
}

// sampleMessage is an email due at due; its sealed content holds every byte
// value.
func sampleMessage(due time.Time) tenants.OutboxMessage {
	return tenants.OutboxMessage{
		Channel: tenants.MessageEmail, Kind: "code", To: "alice@mail.example",
		Sealed: logoBytes(), NextAttemptAt: due,
	}
}

func enqueue(t *testing.T, ts store.TenantStore, m tenants.OutboxMessage) tenants.OutboxMessage {
	t.Helper()
	got, err := ts.EnqueueMessage(ctx(t), m)
	must(t, "EnqueueMessage", err)
	return got
}

func claim(t *testing.T, ts store.TenantStore, now time.Time, lease time.Duration, limit int) []tenants.OutboxMessage {
	t.Helper()
	got, err := ts.ClaimMessages(ctx(t), now, lease, limit)
	must(t, "ClaimMessages", err)
	return got
}

func ids(ms []tenants.OutboxMessage) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func getMessage(t *testing.T, ts store.TenantStore, id string) tenants.OutboxMessage {
	t.Helper()
	m, err := ts.GetMessage(ctx(t), id)
	must(t, "GetMessage", err)
	return m
}

func testOutboxEnqueue(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	in := sampleMessage(t0)
	caller := in
	caller.TenantID, caller.State, caller.Attempts = "someone-else", tenants.OutboxSent, 3
	caller.LeaseUntil, caller.SentAt, caller.LastError = t0, t0, "old"
	caller.CreatedAt = t0.Add(-time.Hour)
	got := enqueue(t, ts, caller)
	if _, err := uuid.Parse(got.ID); err != nil {
		t.Errorf("ID %q is not a UUID: %v", got.ID, err)
	}
	wantUTC(t, "EnqueueMessage result", got.CreatedAt, got.NextAttemptAt)
	want := in
	want.TenantID, want.ID, want.State, want.CreatedAt = ten.ID, got.ID, tenants.OutboxPending, got.CreatedAt
	wantSame(t, "EnqueueMessage result", got, want)
	if got.CreatedAt.Equal(caller.CreatedAt) {
		t.Errorf("CreatedAt is the caller's, want the store's own time")
	}
	wantSame(t, "GetMessage", getMessage(t, ts, got.ID), got)

	// NextAttemptAt defaults to CreatedAt; a caller's id is kept; an SMS.
	id := uuid.NewString()
	sms := enqueue(t, ts, tenants.OutboxMessage{ID: id, Channel: tenants.MessageSMS, Kind: "code", To: "+41791234567"})
	if sms.ID != id {
		t.Errorf("ID = %q, want the caller's %q", sms.ID, id)
	}
	if !sms.NextAttemptAt.Equal(sms.CreatedAt) {
		t.Errorf("NextAttemptAt %s != CreatedAt %s: it defaults to now", sms.NextAttemptAt, sms.CreatedAt)
	}
	wantSame(t, "GetMessage of the SMS", getMessage(t, ts, id), sms)
	_, err := ts.EnqueueMessage(ctx(t), tenants.OutboxMessage{ID: id, Channel: tenants.MessageSMS, Kind: "code", To: "+41791234567"})
	wantErr(t, "EnqueueMessage with a taken id", err, store.ErrAlreadyExists)
}

func testOutboxInvalid(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	for name, mod := range map[string]func(*tenants.OutboxMessage){
		"no channel":                    func(m *tenants.OutboxMessage) { m.Channel = "" },
		"an unknown channel":            func(m *tenants.OutboxMessage) { m.Channel = "pigeon" },
		"no kind":                       func(m *tenants.OutboxMessage) { m.Kind = "" },
		"no recipient":                  func(m *tenants.OutboxMessage) { m.To = "" },
		"a recipient that is not UTF-8": func(m *tenants.OutboxMessage) { m.To = "bob\xff@example" },
		"a malformed id":                func(m *tenants.OutboxMessage) { m.ID = "not-a-uuid" },
		"sealed content over 1 MiB":     func(m *tenants.OutboxMessage) { m.Sealed = make([]byte, 1<<20+1) },
	} {
		m := sampleMessage(t0)
		mod(&m)
		_, err := ts.EnqueueMessage(ctx(t), m)
		wantErr(t, "EnqueueMessage with "+name, err, store.ErrInvalid)
	}
	for _, tc := range []struct {
		name  string
		now   time.Time
		lease time.Duration
		limit int
	}{
		{"a zero time", time.Time{}, time.Minute, 10},
		{"a zero lease", t0, 0, 10},
		{"a negative lease", t0, -time.Minute, 10},
		{"a zero limit", t0, time.Minute, 0},
		{"a negative limit", t0, time.Minute, -1},
	} {
		_, err := ts.ClaimMessages(ctx(t), tc.now, tc.lease, tc.limit)
		wantErr(t, "ClaimMessages with "+tc.name, err, store.ErrInvalid)
	}
	_, err := ts.ListMessages(ctx(t), 0)
	wantErr(t, "ListMessages with limit 0", err, store.ErrInvalid)
	_, err = s.Platform().TenantsWithDueMessages(ctx(t), t0, 0)
	wantErr(t, "TenantsWithDueMessages with limit 0", err, store.ErrInvalid)
	_, err = s.Platform().TenantsWithDueMessages(ctx(t), time.Time{}, 10)
	wantErr(t, "TenantsWithDueMessages at the zero time", err, store.ErrInvalid)
	m := enqueue(t, ts, sampleMessage(t0))
	wantErr(t, "MarkMessageSent at the zero time", ts.MarkMessageSent(ctx(t), m.ID, time.Time{}), store.ErrInvalid)
	wantErr(t, "MarkMessageFailed to retry at the zero time",
		ts.MarkMessageFailed(ctx(t), m.ID, "boom", time.Time{}, false), store.ErrInvalid)
	wantSame(t, "message after refused marks", getMessage(t, ts, m.ID), m)
}

func testOutboxClaim(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	// Enqueued in this order, so created in this order; due at various times.
	var due []tenants.OutboxMessage
	for _, at := range []time.Duration{-time.Hour, 0, -2 * time.Hour, time.Second, -time.Minute} {
		m := enqueue(t, ts, sampleMessage(t0.Add(at)))
		if at <= 0 {
			due = append(due, m)
		}
	}
	lease := 5 * time.Minute
	first := claim(t, ts, t0, lease, 2)
	if !slices.Equal(ids(first), ids(due[:2])) {
		t.Errorf("first claim = %v, want the two oldest due %v", ids(first), ids(due[:2]))
	}
	for _, m := range first {
		wantStored(t, "LeaseUntil", m.LeaseUntil, t0.Add(lease))
		if m.State != tenants.OutboxPending || m.Attempts != 0 {
			t.Errorf("a claim changed state or attempts: %+v", m)
		}
		wantSame(t, "GetMessage of a claimed message", getMessage(t, ts, m.ID), m)
	}
	rest := claim(t, ts, t0, lease, 10)
	if !slices.Equal(ids(rest), ids(due[2:])) {
		t.Errorf("second claim = %v, want the other due messages %v", ids(rest), ids(due[2:]))
	}
	if got := claim(t, ts, t0, lease, 10); len(got) != 0 {
		t.Errorf("third claim = %v, want none (all due ones are leased, one is not due)", ids(got))
	}
}

func testOutboxLease(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	m := enqueue(t, ts, sampleMessage(t0))
	lease := time.Minute
	if got := claim(t, ts, t0, lease, 10); len(got) != 1 {
		t.Fatalf("claim = %d messages, want 1", len(got))
	}
	if got := claim(t, ts, t0.Add(lease-time.Microsecond), lease, 10); len(got) != 0 {
		t.Errorf("claim while the lease lives = %v, want none", ids(got))
	}
	// A worker that died never settles: at the lease's end the message is
	// claimable again, with a new lease.
	again := claim(t, ts, t0.Add(lease), lease, 10)
	if len(again) != 1 || again[0].ID != m.ID {
		t.Fatalf("claim after the lease lapsed = %v, want %s", ids(again), m.ID)
	}
	wantStored(t, "LeaseUntil of the second claim", again[0].LeaseUntil, t0.Add(2*lease))
}

func testOutboxConcurrentClaims(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	const total = 30
	for range total {
		enqueue(t, ts, sampleMessage(t0.Add(-time.Minute)))
	}
	var (
		mu  sync.Mutex
		got = map[string]int{}
	)
	errs := race(2, func(int) error {
		// Each round claims at least one message until none is left, so
		// total rounds are enough; more means leased messages came back.
		for range total + 1 {
			ms, err := ts.ClaimMessages(ctx(t), t0, time.Hour, 3)
			if err != nil {
				return err
			}
			if len(ms) == 0 {
				return nil
			}
			mu.Lock()
			for _, m := range ms {
				got[m.ID]++
			}
			mu.Unlock()
		}
		return errors.New("the claims never ran dry: leased messages were handed out again")
	})
	for _, err := range errs {
		must(t, "concurrent ClaimMessages", err)
	}
	if len(got) != total {
		t.Errorf("the claimers got %d distinct messages, want %d", len(got), total)
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("message %s was claimed %d times while leased", id, n)
		}
	}
}

func testOutboxSent(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	m := enqueue(t, ts, sampleMessage(t0))
	claim(t, ts, t0, time.Minute, 1)
	at := t0.Add(10 * time.Second)
	must(t, "MarkMessageSent", ts.MarkMessageSent(ctx(t), m.ID, at))
	got := getMessage(t, ts, m.ID)
	want := m
	want.State, want.SentAt, want.Attempts = tenants.OutboxSent, got.SentAt, 1
	wantSame(t, "sent message", got, want)
	wantStored(t, "SentAt", got.SentAt, at)
	if !got.LeaseUntil.IsZero() {
		t.Errorf("LeaseUntil = %s, want cleared", got.LeaseUntil)
	}
	if again := claim(t, ts, t0.Add(time.Hour), time.Minute, 10); len(again) != 0 {
		t.Errorf("a sent message was claimed again: %v", ids(again))
	}
	// Settling it twice (a second worker after a lapsed lease) is a conflict
	// and changes nothing.
	wantErr(t, "MarkMessageSent twice", ts.MarkMessageSent(ctx(t), m.ID, at.Add(time.Second)), store.ErrConflict)
	wantErr(t, "MarkMessageFailed after sent", ts.MarkMessageFailed(ctx(t), m.ID, "late", t0, false), store.ErrConflict)
	wantSame(t, "sent message after the second marks", getMessage(t, ts, m.ID), got)
}

func testOutboxFailed(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	m := enqueue(t, ts, sampleMessage(t0))
	claim(t, ts, t0, time.Hour, 1)
	next := t0.Add(2 * time.Minute)
	must(t, "MarkMessageFailed", ts.MarkMessageFailed(ctx(t), m.ID, "421 try again later", next, false))
	got := getMessage(t, ts, m.ID)
	want := m
	want.Attempts, want.LastError, want.NextAttemptAt = 1, "421 try again later", got.NextAttemptAt
	wantSame(t, "failed message", got, want)
	wantStored(t, "NextAttemptAt", got.NextAttemptAt, next)
	if got.State != tenants.OutboxPending || !got.LeaseUntil.IsZero() {
		t.Errorf("failed message state %s lease %s, want pending without a lease", got.State, got.LeaseUntil)
	}
	// Not due before next (although the lease is gone), due at next.
	if early := claim(t, ts, next.Add(-time.Microsecond), time.Minute, 10); len(early) != 0 {
		t.Errorf("claim before the next attempt = %v, want none", ids(early))
	}
	retry := claim(t, ts, next, time.Minute, 10)
	if len(retry) != 1 || retry[0].ID != m.ID || retry[0].Attempts != 1 {
		t.Fatalf("claim at the next attempt = %+v, want the message with 1 attempt", retry)
	}

	// Giving up: dead, never claimable again. A long error is cut, never refused.
	long := strings.Repeat("é", 3000)
	must(t, "MarkMessageFailed dead", ts.MarkMessageFailed(ctx(t), m.ID, long, time.Time{}, true))
	got = getMessage(t, ts, m.ID)
	if got.State != tenants.OutboxDead || got.Attempts != 2 || !got.LeaseUntil.IsZero() || !got.SentAt.IsZero() {
		t.Errorf("dead message = %+v, want dead after 2 attempts, no lease, not sent", got)
	}
	if got.LastError == "" || len(got.LastError) > 1000 || !strings.HasPrefix(long, got.LastError) {
		t.Errorf("LastError of %d bytes, want a non-empty prefix of at most 1000 bytes of the error", len(got.LastError))
	}
	if again := claim(t, ts, t0.Add(365*24*time.Hour), time.Minute, 10); len(again) != 0 {
		t.Errorf("a dead message was claimed: %v", ids(again))
	}
	wantErr(t, "MarkMessageSent of a dead message", ts.MarkMessageSent(ctx(t), m.ID, t0), store.ErrConflict)
}

func testOutboxDueTenants(t *testing.T, s store.Store) {
	// Its own era: no other test's message is due this early.
	era := time.Date(2001, 2, 3, 4, 5, 6, 789000000, time.UTC)
	mk := func(due ...time.Duration) (tenants.ID, store.TenantStore, []tenants.OutboxMessage) {
		ten, ts := createTenant(t, s)
		var ms []tenants.OutboxMessage
		for _, d := range due {
			ms = append(ms, enqueue(t, ts, sampleMessage(era.Add(d))))
		}
		return ten.ID, ts, ms
	}
	oldest, tsOldest, msOldest := mk(-3*time.Hour, -time.Minute)
	older, tsOlder, msOlder := mk(-2 * time.Hour)
	notYet, tsNotYet, msNotYet := mk(time.Hour)
	leased, tsLeased, msLeased := mk(-4 * time.Hour)
	settled, tsSettled, msSettled := mk(-5*time.Hour, -5*time.Hour)
	claim(t, tsLeased, era, time.Hour, 10)
	must(t, "MarkMessageSent", tsSettled.MarkMessageSent(ctx(t), msSettled[0].ID, era))
	must(t, "MarkMessageFailed dead", tsSettled.MarkMessageFailed(ctx(t), msSettled[1].ID, "gone", time.Time{}, true))
	t.Cleanup(func() { // leave nothing due behind for a later run on the same database
		for ts, ms := range map[store.TenantStore][]tenants.OutboxMessage{
			tsOldest: msOldest, tsOlder: msOlder, tsNotYet: msNotYet, tsLeased: msLeased,
		} {
			for _, m := range ms {
				_ = ts.MarkMessageFailed(ctx(t), m.ID, "test over", time.Time{}, true)
			}
		}
	})

	got, err := s.Platform().TenantsWithDueMessages(ctx(t), era, 100)
	must(t, "TenantsWithDueMessages", err)
	if !slices.Equal(got, []tenants.ID{oldest, older}) {
		t.Errorf("TenantsWithDueMessages = %v, want [%s %s] (oldest due first; not %s (not due), %s (leased), %s (settled))",
			got, oldest, older, notYet, leased, settled)
	}
	got, err = s.Platform().TenantsWithDueMessages(ctx(t), era, 1)
	must(t, "TenantsWithDueMessages limit 1", err)
	if !slices.Equal(got, []tenants.ID{oldest}) {
		t.Errorf("TenantsWithDueMessages limit 1 = %v, want [%s]", got, oldest)
	}
	// When the lease lapses and the hour passes, all three are due.
	got, err = s.Platform().TenantsWithDueMessages(ctx(t), era.Add(time.Hour), 100)
	must(t, "TenantsWithDueMessages an hour later", err)
	if !slices.Equal(got, []tenants.ID{leased, oldest, older, notYet}) {
		t.Errorf("TenantsWithDueMessages an hour later = %v, want [%s %s %s %s]", got, leased, oldest, older, notYet)
	}
}

func testOutboxList(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	var made []tenants.OutboxMessage
	for range 5 {
		made = append(made, enqueue(t, ts, sampleMessage(t0)))
	}
	all, err := ts.ListMessages(ctx(t), 100)
	must(t, "ListMessages", err)
	if len(all) != 5 {
		t.Fatalf("ListMessages = %d messages, want 5", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].CreatedAt.After(all[i-1].CreatedAt) {
			t.Errorf("ListMessages is not newest first at %d", i)
		}
	}
	for _, m := range made {
		i := slices.IndexFunc(all, func(x tenants.OutboxMessage) bool { return x.ID == m.ID })
		if i < 0 {
			t.Errorf("ListMessages lacks %s", m.ID)
			continue
		}
		wantSame(t, "listed message", all[i], m)
	}
	two, err := ts.ListMessages(ctx(t), 2)
	must(t, "ListMessages limit 2", err)
	wantSame(t, "ListMessages limit 2", two, all[:2])
}

func testOutboxUnknown(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	for _, id := range []string{uuid.NewString(), "not-a-uuid", ""} {
		_, err := ts.GetMessage(ctx(t), id)
		wantErr(t, "GetMessage("+id+")", err, store.ErrNotFound)
		wantErr(t, "MarkMessageSent("+id+")", ts.MarkMessageSent(ctx(t), id, t0), store.ErrNotFound)
		wantErr(t, "MarkMessageFailed("+id+")", ts.MarkMessageFailed(ctx(t), id, "x", t0, false), store.ErrNotFound)
	}
	ghost := s.Tenant(tenants.ID(uuid.NewString()))
	_, err := ghost.EnqueueMessage(ctx(t), sampleMessage(t0))
	wantErr(t, "EnqueueMessage for a tenant that does not exist", err, store.ErrNotFound)
}

func testOutboxIsolation(t *testing.T, s store.Store) {
	a, tsA := createTenant(t, s)
	b, tsB := createTenant(t, s)
	mA := enqueue(t, tsA, sampleMessage(t0.Add(-time.Minute)))

	_, err := tsB.GetMessage(ctx(t), mA.ID)
	wantErr(t, "GetMessage of A's message through B (R41)", err, store.ErrNotFound)
	wantErr(t, "MarkMessageSent of A's message through B (R41)", tsB.MarkMessageSent(ctx(t), mA.ID, t0), store.ErrNotFound)
	wantErr(t, "MarkMessageFailed of A's message through B (R41)",
		tsB.MarkMessageFailed(ctx(t), mA.ID, "x", t0, true), store.ErrNotFound)
	if got := claim(t, tsB, t0, time.Minute, 100); len(got) != 0 {
		t.Errorf("ClaimMessages through B returned %v (R41)", ids(got))
	}
	if list, err := tsB.ListMessages(ctx(t), 100); err != nil || len(list) != 0 {
		t.Errorf("ListMessages through B = %v, %v; want none (R41)", ids(list), err)
	}
	// A TenantID supplied by the caller is ignored.
	in := sampleMessage(t0)
	in.TenantID = a.ID
	mB := enqueue(t, tsB, in)
	if mB.TenantID != b.ID {
		t.Errorf("message enqueued through B has TenantID %s, want %s", mB.TenantID, b.ID)
	}
	_, err = tsA.GetMessage(ctx(t), mB.ID)
	wantErr(t, "GetMessage of B's message through A", err, store.ErrNotFound)

	wantSame(t, "A's message after B's attempts", getMessage(t, tsA, mA.ID), mA)
	if got := claim(t, tsA, t0, time.Minute, 100); len(got) != 1 || got[0].ID != mA.ID {
		t.Errorf("A's claim = %v, want only %s", ids(got), mA.ID)
	}
}

func testOutboxPurge(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	_, tsOther := createTenant(t, s)
	pending := enqueue(t, ts, sampleMessage(t0))
	sent := enqueue(t, ts, sampleMessage(t0))
	dead := enqueue(t, ts, sampleMessage(t0))
	leased := enqueue(t, ts, sampleMessage(t0))
	otherSent := enqueue(t, tsOther, sampleMessage(t0))
	// Lease all of them; leased stays leased (a worker is sending it).
	if got := claim(t, ts, t0, time.Hour, 10); len(got) != 4 {
		t.Fatalf("claimed %d, want 4", len(got))
	}
	if got := claim(t, tsOther, t0, time.Hour, 10); len(got) != 1 {
		t.Fatalf("claimed %d of the other tenant, want 1", len(got))
	}
	must(t, "MarkMessageSent", ts.MarkMessageSent(ctx(t), sent.ID, t0))
	must(t, "MarkMessageFailed dead", ts.MarkMessageFailed(ctx(t), dead.ID, "550 no such user", t0, true))
	must(t, "MarkMessageSent other tenant", tsOther.MarkMessageSent(ctx(t), otherSent.ID, t0))
	must(t, "MarkMessageFailed retry", ts.MarkMessageFailed(ctx(t), pending.ID, "421 later", t0.Add(time.Minute), false))

	// Strictly before the creation time: nothing goes.
	if n, err := ts.PurgeMessages(ctx(t), sent.CreatedAt); err != nil || n != 0 {
		t.Errorf("PurgeMessages at the creation time = %d, %v; want 0", n, err)
	}
	n, err := ts.PurgeMessages(ctx(t), time.Now().Add(time.Hour))
	must(t, "PurgeMessages", err)
	if n != 2 {
		t.Errorf("PurgeMessages = %d, want 2 (the sent and the dead one)", n)
	}
	for _, id := range []string{sent.ID, dead.ID} {
		_, err := ts.GetMessage(ctx(t), id)
		wantErr(t, "GetMessage of a purged message", err, store.ErrNotFound)
	}
	for _, id := range []string{pending.ID, leased.ID} {
		if _, err := ts.GetMessage(ctx(t), id); err != nil {
			t.Errorf("a pending message was purged: %v", err)
		}
	}
	if _, err := tsOther.GetMessage(ctx(t), otherSent.ID); err != nil {
		t.Errorf("the purge reached another tenant's message: %v", err)
	}
	_, err = ts.PurgeMessages(ctx(t), time.Time{})
	wantErr(t, "PurgeMessages at the zero time", err, store.ErrInvalid)
}
