package storetest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/audit"
	"github.com/latchkey/latchkey/tenants/store"
)

var auditTests = []subTest{
	{"append and list round-trip every field", testAuditAppend},
	{"list pages by sequence", testAuditPages},
	{"concurrent appends form one chain", testAuditConcurrent},
	{"chains of different tenants are independent", testAuditIndependent},
	{"not visible from another tenant", testAuditIsolation},
}

func sampleEvent(action string) tenants.AuditEvent {
	return tenants.AuditEvent{
		Time:          auditTime,
		Actor:         "admin:42",
		Action:        action,
		Target:        "user:7",
		IP:            "2001:db8::1",
		UserAgent:     "Mozilla/5.0 (X11; Linux x86_64)",
		Outcome:       "success",
		CorrelationID: "req-123",
		Detail:        map[string]string{"reason": "forgot", "channel": "web", "quote": "\"'\\"},
	}
}

// listAll reads a tenant's whole audit log page by page and verifies it.
func listAll(t *testing.T, ts store.TenantStore) []tenants.AuditEvent {
	t.Helper()
	var (
		all []tenants.AuditEvent
		v   audit.Verifier
	)
	after := int64(0)
	for {
		page, err := ts.ListAudit(ctx(t), after, 64)
		must(t, "ListAudit", err)
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if err := v.Add(e); err != nil {
				t.Fatalf("audit chain (R19): %v", err)
			}
		}
		all = append(all, page...)
		after = page[len(page)-1].Seq
	}
	return all
}

func testAuditAppend(t *testing.T, s store.Store) {
	ten, ts := createTenant(t, s)
	in := sampleEvent("password.reset")
	in.Seq, in.PrevHash, in.Hash = 99, []byte("forged"), []byte("forged")
	first, err := ts.AppendAudit(ctx(t), in)
	must(t, "AppendAudit", err)
	want := in
	want.TenantID, want.Seq, want.Time = ten.ID, 1, auditTime.UTC()
	want.PrevHash = audit.Genesis
	want.Hash = audit.Hash(want)
	wantSame(t, "AppendAudit result", first, want)
	wantUTC(t, "AppendAudit Time", first.Time)

	// A zero time is set by the store; a nil detail round-trips as empty.
	second, err := ts.AppendAudit(ctx(t), tenants.AuditEvent{Actor: "system", Action: "tenant.create", Outcome: "success"})
	must(t, "AppendAudit", err)
	if second.Seq != 2 || !bytes.Equal(second.PrevHash, first.Hash) {
		t.Errorf("second event: Seq %d, PrevHash %x; want 2, %x", second.Seq, second.PrevHash, first.Hash)
	}
	wantUTC(t, "AppendAudit with zero Time", second.Time)
	if !bytes.Equal(second.Hash, audit.Hash(second)) {
		t.Errorf("second event's hash does not cover its fields")
	}

	got := listAll(t, ts)
	wantSame(t, "ListAudit", got, []tenants.AuditEvent{first, second})
	if len(got) == 2 {
		wantUTC(t, "ListAudit times", got[0].Time, got[1].Time)
		if got[0].Time.Nanosecond() != auditTime.Nanosecond() {
			t.Errorf("sub-second part lost: %d ns, want %d", got[0].Time.Nanosecond(), auditTime.Nanosecond())
		}
	}
	if err := audit.Verify(got); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func testAuditPages(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	for i := range 7 {
		_, err := ts.AppendAudit(ctx(t), sampleEvent(fmt.Sprintf("action.%d", i)))
		must(t, "AppendAudit", err)
	}
	var sizes []int
	after := int64(0)
	for range 5 {
		page, err := ts.ListAudit(ctx(t), after, 3)
		must(t, "ListAudit", err)
		sizes = append(sizes, len(page))
		for i, e := range page {
			if e.Seq != after+int64(i)+1 {
				t.Errorf("ListAudit(after %d) item %d has Seq %d", after, i, e.Seq)
			}
		}
		if len(page) == 0 {
			break
		}
		after = page[len(page)-1].Seq
	}
	if fmt.Sprint(sizes) != "[3 3 1 0]" {
		t.Errorf("page sizes = %v, want [3 3 1 0]", sizes)
	}
	page, err := ts.ListAudit(ctx(t), 5, 100)
	must(t, "ListAudit", err)
	if len(page) != 2 || page[0].Seq != 6 || page[1].Action != "action.6" {
		t.Errorf("ListAudit(after 5) = %+v", page)
	}
}

func testAuditConcurrent(t *testing.T, s store.Store) {
	_, ts := createTenant(t, s)
	const workers, each = 8, 25
	ok := concurrently(t, workers, each, func() error {
		_, err := ts.AppendAudit(ctx(t), sampleEvent("concurrent"))
		return err
	})
	if ok != workers*each {
		t.Errorf("%d of %d appends succeeded; appends must not fail under concurrency", ok, workers*each)
	}
	all := listAll(t, ts) // verifies the chain
	if len(all) != workers*each {
		t.Fatalf("chain has %d events, want %d", len(all), workers*each)
	}
	if last := all[len(all)-1].Seq; last != workers*each {
		t.Errorf("last Seq = %d, want %d", last, workers*each)
	}
}

func testAuditIndependent(t *testing.T, s store.Store) {
	_, tsA := createTenant(t, s)
	_, tsB := createTenant(t, s)
	concurrently(t, 4, 5, func() error {
		if _, err := tsA.AppendAudit(ctx(t), sampleEvent("a")); err != nil {
			return err
		}
		_, err := tsB.AppendAudit(ctx(t), sampleEvent("b"))
		return err
	})
	for name, ts := range map[string]store.TenantStore{"A": tsA, "B": tsB} {
		all := listAll(t, ts)
		if len(all) != 20 {
			t.Errorf("tenant %s has %d events, want 20", name, len(all))
		}
	}
}

func testAuditIsolation(t *testing.T, s store.Store) {
	a, tsA := createTenant(t, s)
	b, tsB := createTenant(t, s)
	for range 3 {
		_, err := tsA.AppendAudit(ctx(t), sampleEvent("a.event"))
		must(t, "AppendAudit A", err)
	}
	aBefore := listAll(t, tsA)

	page, err := tsB.ListAudit(ctx(t), 0, 100)
	must(t, "ListAudit B", err)
	if len(page) != 0 {
		t.Errorf("B lists %d audit events, want none (R41)", len(page))
	}
	// A TenantID supplied by the caller is ignored: B starts its own chain.
	e := sampleEvent("b.event")
	e.TenantID = a.ID
	got, err := tsB.AppendAudit(ctx(t), e)
	must(t, "AppendAudit through B naming A", err)
	if got.TenantID != b.ID || got.Seq != 1 || !bytes.Equal(got.PrevHash, audit.Genesis) {
		t.Errorf("event appended through B: TenantID %s Seq %d; want B's first event", got.TenantID, got.Seq)
	}
	bAll := listAll(t, tsB)
	if len(bAll) != 1 || bAll[0].Action != "b.event" {
		t.Errorf("B's log = %+v", bAll)
	}
	wantSame(t, "A's log after B's append", listAll(t, tsA), aBefore)
}
