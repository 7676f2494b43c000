package notify_test

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/latchkey/latchkey/portal/notify"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

// testKey is the sealing key of the tests.
var testKey = bytes.Repeat([]byte{0x42}, notify.KeySize)

func newSealer(t testing.TB) *notify.Sealer {
	t.Helper()
	s, err := notify.NewSealer(testKey, nil)
	if err != nil {
		t.Fatalf("NewSealer: %v", err)
	}
	return s
}

// harness is an outbox and a worker on one store and clock.
type harness struct {
	st     store.Store
	clock  *fakeClock
	sealer *notify.Sealer
	outbox *notify.Outbox
	worker *notify.Worker
	logs   *bytes.Buffer // slog's handler serialises the writes
	tenant tenants.Tenant
}

func newHarness(t *testing.T, st store.Store, tenant tenants.Tenant, email notify.EmailSender, sms notify.SMSSender) *harness {
	t.Helper()
	h := &harness{st: st, clock: newClock(), sealer: newSealer(t), logs: &bytes.Buffer{}, tenant: tenant}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.worker = &notify.Worker{Store: st, Sealer: h.sealer, Email: email, SMS: sms, Now: h.clock.Now, Logger: log,
		Rand: rand.NewChaCha8([32]byte{9})}
	h.outbox = &notify.Outbox{Store: st, Sealer: h.sealer, Now: h.clock.Now, Wake: h.worker.Wake, Logger: log}
	return h
}

var sampleTenant = tenants.Tenant{ID: "tenant-1", Slug: "acme", Name: "Acme",
	Branding: tenants.Branding{DisplayName: "Acme Corp", SupportText: "Call the help desk on 1234"}}

func sampleData() notify.Data {
	return notify.Data{DisplayName: "Jane Doe", Username: "jdoe", Action: tenants.ActionReset,
		Time: time.Date(2025, 3, 14, 9, 26, 0, 0, time.UTC), IP: "203.0.113.7",
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		ReportURL: "https://acme.example.test/report/tok"}
}

// notify queues kind for the harness tenant.
func (h *harness) notify(t *testing.T, ch tenants.MessageChannel, kind, to string, d notify.Data) string {
	t.Helper()
	id, err := h.outbox.Notify(t.Context(), &h.tenant, ch, kind, "en", to, d)
	if err != nil {
		t.Fatalf("Notify %s: %v", kind, err)
	}
	return id
}

// round runs one round and fails the test on a store error.
func (h *harness) round(t *testing.T) (sent, failed int) {
	t.Helper()
	sent, failed, err := h.worker.RunOnce(t.Context())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	return sent, failed
}

func (h *harness) message(t *testing.T, id string) tenants.OutboxMessage {
	t.Helper()
	m, err := h.st.Tenant(h.tenant.ID).GetMessage(t.Context(), id)
	if err != nil {
		t.Fatalf("GetMessage: %v", err)
	}
	return m
}

// untilSent runs rounds, moving the clock to each retry's due time, until the
// message is no longer pending (at most limit rounds), and returns it.
func (h *harness) untilSettled(t *testing.T, id string, limit int) tenants.OutboxMessage {
	t.Helper()
	for range limit {
		h.round(t)
		m := h.message(t, id)
		if m.State != tenants.OutboxPending {
			return m
		}
		h.clock.Set(m.NextAttemptAt)
	}
	t.Fatalf("message %s still pending after %d rounds", id, limit)
	return tenants.OutboxMessage{}
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func notifyID(s string) tenants.ID { return tenants.ID(s) }
