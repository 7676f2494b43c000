package notify_test

// Which tests prove what:
//   - R14 (notify after an action; the message carries no secret, the flow
//     never waits for a provider): TestNotifyQueuesWithoutProvider_R14 here,
//     TestNotificationsNeverShowTheCode_R14 in templates_test.go.
//   - R60 (provider down: no loss, no duplicate): TestSMTPOutageRetriedDeliveredOnce_R60,
//     TestTwilio503ThenOKSendsExactlyOnce_R60, TestNoProviderMessagesWait_R60,
//     TestStoreDownRoundLosesNothing_R60, TestCancelledSendIsNotCounted_R60
//     and, on SQLite, TestSQLiteOutboxRetryAndNoCodeOnDisk_R22_R60.
//   - R22 (no code in clear in the database or the logs):
//     TestNoCodeInClearInStoreOrLogs_R22 and the SQLite test.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchkey/latchkey/portal/notify"
	"github.com/latchkey/latchkey/portal/notify/notifytest"
	"github.com/latchkey/latchkey/tenants"
)

const from = "Acme IT <noreply@acme.example.test>"

func newSMTPHarness(t *testing.T, opts notifytest.SMTPOptions) (*harness, *notifytest.SMTPSink) {
	sink := notifytest.NewSMTPSink(t, opts)
	return newHarness(t, newFakeStore(), sampleTenant, sink.Sender(from), nil), sink
}

func TestWorkerDeliversTextAndHTMLOverSTARTTLSWithAuth(t *testing.T) {
	h, sink := newSMTPHarness(t, notifytest.SMTPOptions{Username: "mailer", Password: "s3cret"})
	d := sampleData()
	d.DisplayName = "Jane <script>alert(1)</script> Doe"
	id := h.notify(t, tenants.MessageEmail, notify.KindResetDone, "jane@acme.example.test", d)

	if sent, failed := h.round(t); sent != 1 || failed != 0 {
		t.Fatalf("round: sent %d failed %d, want 1 0", sent, failed)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 {
		t.Fatalf("sink got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.ParseErr != nil {
		t.Fatalf("sink could not parse the message: %v", m.ParseErr)
	}
	if !m.TLS || m.User != "mailer" {
		t.Errorf("TLS %v user %q: want an encrypted, authenticated session", m.TLS, m.User)
	}
	if m.MessageID != "<"+id+"@latchkey>" {
		t.Errorf("Message-ID %q, want <%s@latchkey>", m.MessageID, id)
	}
	if len(m.To) != 1 || m.To[0] != "jane@acme.example.test" || m.From != "noreply@acme.example.test" {
		t.Errorf("envelope %q → %q", m.From, m.To)
	}
	if m.Subject != "Your Acme Corp password was reset" {
		t.Errorf("subject %q", m.Subject)
	}
	if !strings.Contains(m.Text, "The password of your account jdoe was reset.") || !strings.Contains(m.Text, "Firefox on Linux") {
		t.Errorf("text body:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, "<strong>jdoe</strong>") || !strings.Contains(m.HTML, "&lt;script&gt;") ||
		strings.Contains(m.HTML, "<script>") {
		t.Errorf("HTML body (escaped display name expected):\n%s", m.HTML)
	}
	if ct := m.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative") {
		t.Errorf("Content-Type %q, want multipart/alternative", ct)
	}
	got := h.message(t, id)
	if got.State != tenants.OutboxSent || got.Attempts != 1 || !got.SentAt.Equal(h.clock.Now()) {
		t.Errorf("stored message: state %s attempts %d sent at %v", got.State, got.Attempts, got.SentAt)
	}
}

func TestSMTPOutageRetriedDeliveredOnce_R60(t *testing.T) {
	h, sink := newSMTPHarness(t, notifytest.SMTPOptions{Username: "mailer", Password: "s3cret"})
	sink.FailNext(2, 451)
	id := h.notify(t, tenants.MessageEmail, notify.KindChangeDone, "jane@acme.example.test", sampleData())
	start := h.clock.Now()

	if sent, failed := h.round(t); sent != 0 || failed != 1 {
		t.Fatalf("first round: sent %d failed %d, want 0 1", sent, failed)
	}
	m := h.message(t, id)
	if m.State != tenants.OutboxPending || m.Attempts != 1 || !m.NextAttemptAt.After(start) ||
		!strings.Contains(m.LastError, "451") || !m.LeaseUntil.IsZero() {
		t.Fatalf("after 451: %+v", m)
	}
	// Not due yet: a round at the same instant does nothing.
	if sent, failed := h.round(t); sent != 0 || failed != 0 {
		t.Fatalf("round before the backoff: sent %d failed %d, want nothing", sent, failed)
	}
	h.clock.Set(m.NextAttemptAt)
	h.round(t)
	m2 := h.message(t, id)
	if m2.State != tenants.OutboxPending || m2.Attempts != 2 || !m2.NextAttemptAt.After(m.NextAttemptAt) {
		t.Fatalf("after the second 451: %+v", m2)
	}
	final := h.untilSettled(t, id, 3)
	if final.State != tenants.OutboxSent || final.Attempts != 3 {
		t.Fatalf("final: state %s attempts %d, want sent after 3", final.State, final.Attempts)
	}
	// Later rounds send nothing more.
	for range 3 {
		h.clock.Advance(time.Hour)
		if sent, _ := h.round(t); sent != 0 {
			t.Fatal("a sent message was sent again")
		}
	}
	if n := len(sink.Messages()); n != 1 {
		t.Fatalf("sink received %d messages, want exactly 1", n)
	}
}

func TestSMTPRejectedRecipientIsDeadAfterOneAttempt(t *testing.T) {
	h, sink := newSMTPHarness(t, notifytest.SMTPOptions{Username: "mailer", Password: "s3cret"})
	sink.FailNext(1, 554)
	id := h.notify(t, tenants.MessageEmail, notify.KindUnlockDone, "nobody@acme.example.test", sampleData())
	if sent, failed := h.round(t); sent != 0 || failed != 1 {
		t.Fatalf("round: sent %d failed %d", sent, failed)
	}
	m := h.message(t, id)
	if m.State != tenants.OutboxDead || m.Attempts != 1 || !strings.Contains(m.LastError, "554") {
		t.Fatalf("after 554: state %s attempts %d error %q, want dead after 1", m.State, m.Attempts, m.LastError)
	}
	h.clock.Advance(time.Hour)
	h.round(t)
	if n := len(sink.Messages()); n != 0 {
		t.Fatalf("sink received %d messages, want 0", n)
	}
}

func TestMaxAttemptsThenDead(t *testing.T) {
	h, sink := newSMTPHarness(t, notifytest.SMTPOptions{})
	h.worker.MaxAttempts = 3
	sink.FailNext(100, 421)
	id := h.notify(t, tenants.MessageEmail, notify.KindFrozen, "jane@acme.example.test", sampleData())
	m := h.untilSettled(t, id, 5)
	if m.State != tenants.OutboxDead || m.Attempts != 3 {
		t.Fatalf("state %s after %d attempts, want dead after 3", m.State, m.Attempts)
	}
}

func TestSMTPTLSPolicies(t *testing.T) {
	ctx := t.Context()
	mail := notify.Email{MessageID: "<x@latchkey>", To: "jane@acme.example.test", Subject: "Hi", Text: "hello"}
	t.Run("implicit TLS", func(t *testing.T) {
		sink := notifytest.NewSMTPSink(t, notifytest.SMTPOptions{ImplicitTLS: true, Username: "u", Password: "p"})
		if err := sink.Sender(from).SendEmail(ctx, mail); err != nil {
			t.Fatalf("SendEmail: %v", err)
		}
		if m := sink.Messages(); len(m) != 1 || !m[0].TLS || m[0].User != "u" {
			t.Fatalf("messages %+v", m)
		}
	})
	t.Run("STARTTLS required, server offers none: refused, retryable", func(t *testing.T) {
		sink := notifytest.NewSMTPSink(t, notifytest.SMTPOptions{NoTLS: true})
		s := sink.Sender(from)
		s.TLS = notify.TLSStartTLS
		err := s.SendEmail(ctx, mail)
		if err == nil || notify.IsPermanent(err) {
			t.Fatalf("err = %v, want a temporary error (no downgrade to clear text)", err)
		}
		if n := len(sink.Messages()); n != 0 {
			t.Fatalf("%d messages went out in clear", n)
		}
	})
	t.Run("opportunistic falls back to clear", func(t *testing.T) {
		sink := notifytest.NewSMTPSink(t, notifytest.SMTPOptions{NoTLS: true})
		s := sink.Sender(from)
		s.TLS = notify.TLSOpportunistic
		if err := s.SendEmail(ctx, mail); err != nil {
			t.Fatalf("SendEmail: %v", err)
		}
		if m := sink.Messages(); len(m) != 1 || m[0].TLS {
			t.Fatalf("messages %+v", m)
		}
	})
	t.Run("untrusted certificate refused", func(t *testing.T) {
		sink := notifytest.NewSMTPSink(t, notifytest.SMTPOptions{})
		s := sink.Sender(from)
		s.RootCAs = nil // system roots do not know the sink
		if err := s.SendEmail(ctx, mail); err == nil {
			t.Fatal("sent to a server with an untrusted certificate")
		}
	})
	t.Run("wrong password is retried, not sent", func(t *testing.T) {
		sink := notifytest.NewSMTPSink(t, notifytest.SMTPOptions{Username: "u", Password: "p"})
		s := sink.Sender(from)
		s.Password = "wrong"
		if err := s.SendEmail(ctx, mail); err == nil || notify.IsPermanent(err) {
			t.Fatalf("err = %v, want a temporary error", err)
		}
	})
	t.Run("clear text only on loopback", func(t *testing.T) {
		s := &notify.SMTPSender{Host: "smtp.example.com", From: from, TLS: notify.TLSNone}
		if err := s.Validate(); err == nil {
			t.Fatal("TLS none accepted for a remote host")
		}
		if err := s.SendEmail(ctx, mail); !notify.IsPermanent(err) {
			t.Fatalf("SendEmail err = %v, want permanent", err)
		}
	})
}

func TestTwilio503ThenOKSendsExactlyOnce_R60(t *testing.T) {
	tw := notifytest.NewTwilioFake(t)
	h := newHarness(t, newFakeStore(), sampleTenant, nil, tw.Sender("+15005550006"))
	tw.FailNext(1, http.StatusServiceUnavailable)
	id := h.notify(t, tenants.MessageSMS, notify.KindResetDone, "+4915112345678", sampleData())
	if sent, failed := h.round(t); sent != 0 || failed != 1 {
		t.Fatalf("first round: sent %d failed %d", sent, failed)
	}
	m := h.untilSettled(t, id, 3)
	if m.State != tenants.OutboxSent || m.Attempts != 2 {
		t.Fatalf("state %s attempts %d, want sent after 2", m.State, m.Attempts)
	}
	h.clock.Advance(time.Hour)
	h.round(t)
	got := tw.Messages()
	if len(got) != 1 {
		t.Fatalf("Twilio got %d messages, want exactly 1", len(got))
	}
	if got[0].To != "+4915112345678" || got[0].From != "+15005550006" ||
		!strings.HasPrefix(got[0].Body, "Acme Corp: the password of your account jdoe was reset") {
		t.Fatalf("SMS %+v", got[0])
	}
}

func TestTwilio400IsDead(t *testing.T) {
	tw := notifytest.NewTwilioFake(t)
	h := newHarness(t, newFakeStore(), sampleTenant, nil, tw.Sender("+15005550006"))
	tw.FailNext(1, http.StatusBadRequest)
	id := h.notify(t, tenants.MessageSMS, notify.KindSMSCode, "+4915112345678", notify.Data{Code: "552211", ExpiresIn: 10})
	h.round(t)
	m := h.message(t, id)
	if m.State != tenants.OutboxDead || m.Attempts != 1 || !strings.Contains(m.LastError, "21211") {
		t.Fatalf("state %s attempts %d error %q, want dead after 1", m.State, m.Attempts, m.LastError)
	}
	if len(tw.Messages()) != 0 {
		t.Fatal("Twilio accepted a message")
	}
}

func TestTwilioStatusClassification(t *testing.T) {
	tw := notifytest.NewTwilioFake(t)
	for _, tc := range []struct {
		status    int
		permanent bool
	}{{400, true}, {401, true}, {404, true}, {408, false}, {429, false}, {500, false}, {503, false}} {
		tw.FailNext(1, tc.status)
		err := tw.Sender("+15005550006").SendSMS(t.Context(), "t", "+4915112345678", "hi")
		if err == nil || notify.IsPermanent(err) != tc.permanent {
			t.Errorf("status %d: err %v, permanent %v, want permanent %v", tc.status, err, notify.IsPermanent(err), tc.permanent)
		}
	}
	bad := tw.Sender("+15005550006")
	bad.AuthToken = "wrong"
	if err := bad.SendSMS(t.Context(), "t", "+4915112345678", "hi"); !notify.IsPermanent(err) || !strings.Contains(err.Error(), "20003") {
		t.Errorf("bad credentials: %v, want permanent 20003", err)
	}
}

func TestNoProviderMessagesWait_R60(t *testing.T) {
	st := newFakeStore()
	h := newHarness(t, st, sampleTenant, nil, nil)
	id := h.notify(t, tenants.MessageEmail, notify.KindResetDone, "jane@acme.example.test", sampleData())
	if sent, failed := h.round(t); sent != 0 || failed != 0 {
		t.Fatalf("round without providers: sent %d failed %d", sent, failed)
	}
	if m := h.message(t, id); m.State != tenants.OutboxPending || m.Attempts != 0 {
		t.Fatalf("message %+v, want pending with no attempt", m)
	}
	// A worker with a provider delivers it once the first claim lapses.
	sink := notifytest.NewSMTPSink(t, notifytest.SMTPOptions{})
	other := &notify.Worker{Store: st, Sealer: h.sealer, Email: sink.Sender(from), Now: h.clock.Now, Logger: h.worker.Logger}
	h.clock.Advance(notify.DefaultLease)
	if sent, _, err := other.RunOnce(t.Context()); err != nil || sent != 1 {
		t.Fatalf("second worker: sent %d err %v", sent, err)
	}
	if len(sink.Messages()) != 1 {
		t.Fatal("not delivered")
	}
}

func TestStoreDownRoundLosesNothing_R60(t *testing.T) {
	st := newFakeStore()
	sink := notifytest.NewSMTPSink(t, notifytest.SMTPOptions{})
	h := newHarness(t, st, sampleTenant, sink.Sender(from), nil)
	id := h.notify(t, tenants.MessageEmail, notify.KindResetDone, "jane@acme.example.test", sampleData())
	st.setDown(errDBDown)
	if _, _, err := h.worker.RunOnce(t.Context()); !errors.Is(err, errDBDown) {
		t.Fatalf("RunOnce err = %v, want the store's error", err)
	}
	st.setDown(nil)
	if m := h.untilSettled(t, id, 2); m.State != tenants.OutboxSent || m.Attempts != 1 {
		t.Fatalf("after recovery: %+v", m)
	}
	if len(sink.Messages()) != 1 {
		t.Fatal("not delivered exactly once")
	}
}

// blockingSender blocks until ctx ends.
type blockingSender struct{ started chan struct{} }

func (b blockingSender) SendEmail(ctx context.Context, _ notify.Email) error {
	close(b.started)
	<-ctx.Done()
	return ctx.Err()
}

func TestCancelledSendIsNotCounted_R60(t *testing.T) {
	b := blockingSender{started: make(chan struct{})}
	h := newHarness(t, newFakeStore(), sampleTenant, b, nil)
	id := h.notify(t, tenants.MessageEmail, notify.KindResetDone, "jane@acme.example.test", sampleData())
	ctx, cancel := context.WithCancel(t.Context())
	go func() { <-b.started; cancel() }()
	if _, _, err := h.worker.RunOnce(ctx); err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if m := h.message(t, id); m.State != tenants.OutboxPending || m.Attempts != 0 {
		t.Fatalf("after shutdown mid-send: %+v, want pending, no attempt counted", m)
	}
}

func TestNotifyQueuesWithoutProvider_R14(t *testing.T) {
	// The provider is down (nothing listens): Notify still succeeds at once,
	// because it only writes the store; the worker finds the outage later.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	down := &notify.SMTPSender{Host: "127.0.0.1", Port: port, From: from, DialTimeout: time.Second}
	h := newHarness(t, newFakeStore(), sampleTenant, down, nil)
	woken := 0
	h.outbox.Wake = func() { woken++ }
	id := h.notify(t, tenants.MessageEmail, notify.KindResetDone, "jane@acme.example.test", sampleData())
	if m := h.message(t, id); m.State != tenants.OutboxPending || m.Attempts != 0 || woken != 1 {
		t.Fatalf("after Notify: %+v, woken %d", m, woken)
	}
	if _, failed := h.round(t); failed != 1 {
		t.Fatal("the worker did not meet the outage")
	}
	if m := h.message(t, id); m.State != tenants.OutboxPending {
		t.Fatalf("after the outage: %s, want pending", m.State)
	}
}

func TestNoCodeInClearInStoreOrLogs_R22(t *testing.T) {
	st := newFakeStore()
	sink := notifytest.NewSMTPSink(t, notifytest.SMTPOptions{})
	tw := notifytest.NewTwilioFake(t)
	h := newHarness(t, st, sampleTenant, sink.Sender(from), tw.Sender("+15005550006"))
	const code = "804713"
	d := sampleData()
	d.Code, d.ExpiresIn = code, 10
	sink.FailNext(1, 451)
	tw.FailNext(1, 503)
	e := h.notify(t, tenants.MessageEmail, notify.KindEmailCode, "jane@acme.example.test", d)
	s := h.notify(t, tenants.MessageSMS, notify.KindSMSCode, "+4915112345678", d)
	h.untilSettled(t, e, 3)
	h.untilSettled(t, s, 3)
	if len(sink.Messages()) != 1 || !strings.Contains(sink.Messages()[0].Text, code) ||
		len(tw.Messages()) != 1 || !strings.Contains(tw.Messages()[0].Body, code) {
		t.Fatal("the codes were not delivered")
	}
	if containsClear(st.all(), code) {
		t.Fatal("the store holds the code in clear")
	}
	if strings.Contains(h.logs.String(), code) {
		t.Fatalf("the logs hold the code:\n%s", h.logs.String())
	}
}

func TestUnopenableMessageIsDead(t *testing.T) {
	st := newFakeStore()
	sink := notifytest.NewSMTPSink(t, notifytest.SMTPOptions{})
	h := newHarness(t, st, sampleTenant, sink.Sender(from), nil)
	other, err := notify.NewSealer(make([]byte, notify.KeySize), nil) // another key
	if err != nil {
		t.Fatal(err)
	}
	o := &notify.Outbox{Store: st, Sealer: other, Now: h.clock.Now}
	id, err := o.Enqueue(t.Context(), sampleTenant.ID, tenants.MessageEmail, notify.KindResetDone, "jane@acme.example.test",
		notify.Content{Subject: "s", Text: "t"})
	if err != nil {
		t.Fatal(err)
	}
	h.round(t)
	if m := h.message(t, id); m.State != tenants.OutboxDead || m.Attempts != 1 {
		t.Fatalf("%+v, want dead after 1", m)
	}
	if len(sink.Messages()) != 0 {
		t.Fatal("sent something")
	}
}

func TestRunWakesWithoutPoll(t *testing.T) {
	st := newFakeStore()
	rounds := make(chan struct{}, 10)
	st.afterDue = func() { rounds <- struct{}{} }
	sink := notifytest.NewSMTPSink(t, notifytest.SMTPOptions{})
	h := newHarness(t, st, sampleTenant, sink.Sender(from), nil)
	h.worker.Poll = time.Hour // only Wake can start another round
	for range 10 {
		h.worker.Wake() // never blocks; the ten coalesce into one
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.worker.Run(ctx) }()
	// Round 1 at start, round 2 for the coalesced wakes; then Run idles.
	for range 2 {
		select {
		case <-rounds:
		case <-waitCtx(t).Done():
			t.Fatal("Run did not run its rounds")
		}
	}
	id := h.notify(t, tenants.MessageEmail, notify.KindResetDone, "jane@acme.example.test", sampleData())
	if _, err := sink.WaitFor(waitCtx(t), func(m notifytest.Msg) bool { return m.MessageID == "<"+id+"@latchkey>" }); err != nil {
		t.Fatalf("not delivered after Wake: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := len(rounds); n != 1 {
		t.Fatalf("%d more rounds, want exactly the one Enqueue's wake started", n)
	}
}

func TestRunRefusesIncompleteWorker(t *testing.T) {
	if err := (&notify.Worker{}).Run(t.Context()); err == nil {
		t.Fatal("Run without a store succeeded")
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	sink := notifytest.NewSMTPSink(t, notifytest.SMTPOptions{})
	h := newHarness(t, newFakeStore(), sampleTenant, sink.Sender(from), nil)
	h.worker.Registerer = reg
	sink.FailNext(1, 451)
	a := h.notify(t, tenants.MessageEmail, notify.KindResetDone, "a@acme.example.test", sampleData())
	h.untilSettled(t, a, 3)
	sink.FailNext(1, 550)
	b := h.notify(t, tenants.MessageEmail, notify.KindResetDone, "b@acme.example.test", sampleData())
	h.untilSettled(t, b, 3)
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got[fmt.Sprintf("%s{%s}", mf.GetName(), m.GetLabel()[0].GetValue())] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{"latchkey_notify_sent_total{email}": 1, "latchkey_notify_failed_total{email}": 1,
		"latchkey_notify_dead_total{email}": 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

func TestEnqueueRefusesBadRecipients(t *testing.T) {
	h := newHarness(t, newFakeStore(), sampleTenant, nil, nil)
	for _, tc := range []struct {
		ch tenants.MessageChannel
		to string
	}{
		{tenants.MessageEmail, "not an address"}, {tenants.MessageEmail, "Jane <jane@x.test>"},
		{tenants.MessageEmail, "jane@x.test\r\nBcc: evil@x.test"}, {tenants.MessageSMS, "0151 1234567"},
		{tenants.MessageSMS, "+0123456789"}, {"pigeon", "jane@x.test"},
	} {
		if _, err := h.outbox.Enqueue(t.Context(), sampleTenant.ID, tc.ch, notify.KindResetDone, tc.to, notify.Content{Text: "x"}); !errors.Is(err, notify.ErrRecipient) {
			t.Errorf("Enqueue(%s, %q) err = %v, want ErrRecipient", tc.ch, tc.to, err)
		}
	}
}
