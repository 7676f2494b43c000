package notify_test

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/portal/notify"
	"github.com/latchkey/latchkey/portal/notify/notifytest"
	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store/sqlite"
)

// openSQLite opens a fresh SQLite store in dir with one tenant.
func openSQLite(t *testing.T, dir string) (*sqlite.Store, tenants.Tenant) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "latchkey.db"),
		sqlite.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	ten, err := st.Platform().CreateTenant(t.Context(), tenants.Tenant{Slug: "acme", Name: "Acme",
		Branding: tenants.Branding{DisplayName: "Acme Corp"}}, []tenants.Host{{Host: "acme.example.test"}})
	if err != nil {
		st.Close()
		t.Fatalf("CreateTenant: %v", err)
	}
	return st, ten
}

// TestSQLiteOutboxRetryAndNoCodeOnDisk_R22_R60 runs the worker against a
// real SQLite store: a code email survives a 451 and is delivered once, an
// SMS survives a 503 and is delivered once, and afterwards the database
// files on disk hold neither code in clear.
func TestSQLiteOutboxRetryAndNoCodeOnDisk_R22_R60(t *testing.T) {
	dir := t.TempDir()
	st, ten := openSQLite(t, dir)
	sink := notifytest.NewSMTPSink(t, notifytest.SMTPOptions{Username: "mailer", Password: "s3cret"})
	tw := notifytest.NewTwilioFake(t)
	h := newHarness(t, st, ten, sink.Sender(from), tw.Sender("+15005550006"))
	const mailCode, smsCode = "918273", "564738"
	sink.FailNext(1, 451)
	tw.FailNext(1, 503)
	d := sampleData()
	d.Code, d.ExpiresIn = mailCode, 10
	e := h.notify(t, tenants.MessageEmail, notify.KindEmailCode, "jane@acme.example.test", d)
	d.Code = smsCode
	s := h.notify(t, tenants.MessageSMS, notify.KindSMSCode, "+4915112345678", d)

	if sent, failed := h.round(t); sent != 0 || failed != 2 {
		t.Fatalf("first round: sent %d failed %d, want 0 2", sent, failed)
	}
	for _, id := range []string{e, s} {
		if m := h.untilSettled(t, id, 3); m.State != tenants.OutboxSent || m.Attempts != 2 {
			t.Fatalf("%s: state %s attempts %d, want sent after 2", id, m.State, m.Attempts)
		}
	}
	h.clock.Advance(notify.DefaultLease * 10)
	if sent, failed := h.round(t); sent+failed != 0 {
		t.Fatal("a settled message was attempted again")
	}
	if len(sink.Messages()) != 1 || !bytes.Contains([]byte(sink.Messages()[0].Text), []byte(mailCode)) ||
		len(tw.Messages()) != 1 || !strings.HasPrefix(tw.Messages()[0].Body, smsCode) {
		t.Fatalf("deliveries: %d emails, %d SMS", len(sink.Messages()), len(tw.Messages()))
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) == 0 {
		t.Fatal("no database files to scan")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{mailCode, smsCode} {
			if bytes.Contains(b, []byte(c)) {
				t.Errorf("%s holds the code %s in clear", filepath.Base(f), c)
			}
		}
	}
	if bytes.Contains([]byte(h.logs.String()), []byte(mailCode)) || bytes.Contains([]byte(h.logs.String()), []byte(smsCode)) {
		t.Error("the logs hold a code")
	}
}

// TestSQLiteConcurrentWorkersSendEachOnce_R60: two workers (two nodes)
// claiming from the same store at the same time never send a message twice.
func TestSQLiteConcurrentWorkersSendEachOnce_R60(t *testing.T) {
	st, ten := openSQLite(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	sink := notifytest.NewSMTPSink(t, notifytest.SMTPOptions{})
	h := newHarness(t, st, ten, sink.Sender(from), nil)
	h.worker.Batch = 3
	other := &notify.Worker{Store: st, Sealer: h.sealer, Email: sink.Sender(from), Now: h.clock.Now, Batch: 3,
		Logger: h.worker.Logger}
	const n = 12
	ids := map[string]bool{}
	for range n {
		ids["<"+h.notify(t, tenants.MessageEmail, notify.KindResetDone, "jane@acme.example.test", sampleData())+"@latchkey>"] = true
	}
	for round := 0; len(sink.Messages()) < n && round < n; round++ {
		var wg sync.WaitGroup
		for _, w := range []*notify.Worker{h.worker, other} {
			wg.Go(func() {
				if _, _, err := w.RunOnce(t.Context()); err != nil {
					t.Errorf("RunOnce: %v", err)
				}
			})
		}
		wg.Wait()
	}
	seen := map[string]int{}
	for _, m := range sink.Messages() {
		seen[m.MessageID]++
	}
	if len(seen) != n {
		t.Fatalf("%d distinct messages delivered, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 || !ids[id] {
			t.Errorf("%s delivered %d times", id, c)
		}
	}
}
