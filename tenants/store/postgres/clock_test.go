package postgres_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/audit"
	"github.com/latchkey/latchkey/tenants/store/postgres"
)

// TestInjectedClockAndRandomness: the store takes its time and its ids from
// the injected sources, and stores times truncated to microseconds (what
// timestamptz keeps), in UTC, so that what it returns equals what it reads
// back — the audit hash included.
func TestInjectedClockAndRandomness(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.FixedZone("UTC+1", 3600))
	want := time.Date(2030, 1, 2, 2, 4, 5, 123456000, time.UTC)
	seed := bytes.Repeat([]byte{0x42}, 16)
	wantID, err := uuid.NewRandomFromReader(bytes.NewReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	s, _, _ := openStore(t,
		postgres.WithClock(func() time.Time { return now }),
		postgres.WithRandom(bytes.NewReader(append(append([]byte{}, seed...), bytes.Repeat([]byte{7}, 64)...))))

	ten, err := s.Platform().CreateTenant(t.Context(), tenants.Tenant{Slug: "clock", Name: "Clock"},
		[]tenants.Host{{Host: "clock.example"}})
	if err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	if string(ten.ID) != wantID.String() {
		t.Errorf("ID = %s, want %s from the injected randomness", ten.ID, wantID)
	}
	if ten.CreatedAt != want || ten.UpdatedAt != want {
		t.Errorf("CreatedAt %v UpdatedAt %v, want %v exactly", ten.CreatedAt, ten.UpdatedAt, want)
	}
	ts := s.Tenant(ten.ID)
	got, err := ts.Get(t.Context())
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.CreatedAt != want || got.UpdatedAt != want {
		t.Errorf("read back CreatedAt %v UpdatedAt %v, want %v exactly", got.CreatedAt, got.UpdatedAt, want)
	}

	// One event timed by the store, one by the caller with nanoseconds.
	first, err := ts.AppendAudit(t.Context(), tenants.AuditEvent{Action: "a"})
	if err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	second, err := ts.AppendAudit(t.Context(), tenants.AuditEvent{Action: "b", Time: now.Add(999 * time.Nanosecond)})
	if err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	if first.Time != want || second.Time != want.Add(time.Microsecond) {
		t.Errorf("event times %v, %v; want %v, %v", first.Time, second.Time, want, want.Add(time.Microsecond))
	}
	events, err := ts.ListAudit(t.Context(), 0, 10)
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	if len(events) != 2 || events[0].Time != first.Time || events[1].Time != second.Time {
		t.Fatalf("ListAudit = %+v", events)
	}
	if err := audit.Verify(events); err != nil {
		t.Errorf("the chain read back does not verify: %v", err)
	}
}
