package notifytest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/portal/notify"
)

// WebhookTolerance is how far a signature's timestamp may be from the sink's
// clock.
const WebhookTolerance = 5 * time.Minute

// WebhookSink is an HTTPS server receiving notify.WebhookSender's POSTs: it
// verifies X-Latchkey-Signature with its key (401 when it does not verify,
// 400 for a body that is not a WebhookBody) and answers 204 to what it
// accepts.
type WebhookSink struct {
	Key      []byte
	srv      *httptest.Server
	msgs     recorder[notify.WebhookBody]
	fail     failer
	rejected atomic.Int64
}

// NewWebhookSink starts a sink verifying with key (random when nil); it
// stops when tb ends.
func NewWebhookSink(tb testing.TB, key []byte) *WebhookSink {
	tb.Helper()
	if key == nil {
		key = []byte(randomHex(32))
	}
	s := &WebhookSink{Key: key}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	return s
}

// URL is the webhook URL; Client trusts the sink's certificate.
func (s *WebhookSink) URL() string          { return s.srv.URL + "/sms" }
func (s *WebhookSink) Client() *http.Client { return s.srv.Client() }

// Sender returns a WebhookSender pointed at the sink with its key.
func (s *WebhookSink) Sender() *notify.WebhookSender {
	return &notify.WebhookSender{URL: s.URL(), Key: s.Key, HTTPClient: s.Client()}
}

// Messages returns the verified bodies so far, in order.
func (s *WebhookSink) Messages() []notify.WebhookBody { return s.msgs.all() }

// WaitFor returns the first verified body that matches, waiting until ctx
// ends.
func (s *WebhookSink) WaitFor(ctx context.Context, match func(notify.WebhookBody) bool) (notify.WebhookBody, error) {
	return s.msgs.waitFor(ctx, match)
}

// Rejected counts requests refused for their signature.
func (s *WebhookSink) Rejected() int { return int(s.rejected.Load()) }

// FailNext makes the next n verified requests fail with HTTP status.
func (s *WebhookSink) FailNext(n, status int) { s.fail.set(n, status) }

func (s *WebhookSink) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	if err := notify.VerifyWebhookSignature(s.Key, r.Header.Get(notify.SignatureHeader), body, time.Now(), WebhookTolerance); err != nil {
		s.rejected.Add(1)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var b notify.WebhookBody
	if err := json.Unmarshal(body, &b); err != nil || b.To == "" || b.Text == "" || b.ID == "" {
		http.Error(w, "not a webhook body", http.StatusBadRequest)
		return
	}
	if status, ok := s.fail.take(); ok {
		http.Error(w, "simulated failure", status)
		return
	}
	s.msgs.add(b)
	w.WriteHeader(http.StatusNoContent)
}
