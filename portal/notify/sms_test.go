package notify_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/portal/notify"
	"github.com/latchkey/latchkey/portal/notify/notifytest"
	"github.com/latchkey/latchkey/tenants"
)

func TestWebhookSignature(t *testing.T) {
	key := []byte("webhook-key")
	body := []byte(`{"tenant":"t","to":"+4915112345678","text":"hi","id":"m"}`)
	at := time.Unix(1741944000, 0)
	sig := notify.SignWebhook(key, at, body)
	if !strings.HasPrefix(sig, "t=1741944000,v1=") || len(sig) != len("t=1741944000,v1=")+64 {
		t.Fatalf("signature %q", sig)
	}
	if err := notify.VerifyWebhookSignature(key, sig, body, at.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("genuine signature rejected: %v", err)
	}
	tampered := bytes.Replace(body, []byte("hi"), []byte("ho"), 1)
	for name, tc := range map[string]struct {
		key, body []byte
		sig       string
		now       time.Time
	}{
		"tampered body":      {key, tampered, sig, at},
		"other key":          {[]byte("other"), body, sig, at},
		"moved timestamp":    {key, body, strings.Replace(sig, "t=1741944000", "t=1741944001", 1), at},
		"stale":              {key, body, sig, at.Add(time.Hour)},
		"from the future":    {key, body, sig, at.Add(-time.Hour)},
		"no signature":       {key, body, "t=1741944000", at},
		"garbage":            {key, body, "v1=zz,t=x", at},
		"truncated v1":       {key, body, sig[:len(sig)-2], at},
		"empty header":       {key, body, "", at},
		"only the timestamp": {key, body, "t=1741944000,v1=", at},
	} {
		if err := notify.VerifyWebhookSignature(tc.key, tc.sig, tc.body, tc.now, 5*time.Minute); !errors.Is(err, notify.ErrBadSignature) {
			t.Errorf("%s: err = %v, want ErrBadSignature", name, err)
		}
	}
}

func TestWebhookSenderAgainstSink(t *testing.T) {
	sink := notifytest.NewWebhookSink(t, nil)
	h := newHarness(t, newFakeStore(), sampleTenant, nil, sink.Sender())
	sink.FailNext(1, http.StatusBadGateway)
	id := h.notify(t, tenants.MessageSMS, notify.KindSMSCode, "+4915112345678", notify.Data{Code: "246810", ExpiresIn: 5})
	if m := h.untilSettled(t, id, 3); m.State != tenants.OutboxSent || m.Attempts != 2 {
		t.Fatalf("%+v", m)
	}
	got := sink.Messages()
	if len(got) != 1 || got[0].ID != id || got[0].Tenant != string(sampleTenant.ID) || got[0].To != "+4915112345678" ||
		!strings.HasPrefix(got[0].Text, "246810 is your Acme Corp verification code") {
		t.Fatalf("sink got %+v", got)
	}
	if sink.Rejected() != 0 {
		t.Fatalf("%d genuine requests rejected", sink.Rejected())
	}
	// A sender with the wrong key is refused by the sink: permanent (401).
	bad := sink.Sender()
	bad.Key = []byte("not the key")
	if err := bad.SendSMS(t.Context(), "t", "+4915112345678", "hi"); !notify.IsPermanent(err) {
		t.Fatalf("wrong key: err %v, want permanent", err)
	}
	if sink.Rejected() != 1 || len(sink.Messages()) != 1 {
		t.Fatalf("rejected %d, messages %d", sink.Rejected(), len(sink.Messages()))
	}
}

func TestRouterPicksTheTenantsProvider(t *testing.T) {
	sealer := newSealer(t)
	platform := notifytest.NewTwilioFake(t)
	own := notifytest.NewTwilioFake(t)
	hook := notifytest.NewWebhookSink(t, nil)
	seal := func(id tenants.ID, secret string) []byte {
		b, err := sealer.SealSecret(id, []byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	byID := map[tenants.ID]tenants.Tenant{
		"plain": {ID: "plain"},
		"twilio": {ID: "twilio", SelfService: tenants.SelfServiceSettings{SMSProvider: &tenants.SMSProvider{
			Kind: notify.ProviderTwilio, URL: own.URL(), AccountSID: own.AccountSID, From: "+15005550007",
			Secret: seal("twilio", own.AuthToken)}}},
		"webhook": {ID: "webhook", SelfService: tenants.SelfServiceSettings{SMSProvider: &tenants.SMSProvider{
			Kind: notify.ProviderWebhook, URL: hook.URL(), Secret: seal("webhook", string(hook.Key))}}},
		"stolen": {ID: "stolen", SelfService: tenants.SelfServiceSettings{SMSProvider: &tenants.SMSProvider{
			Kind: notify.ProviderWebhook, URL: hook.URL(), Secret: seal("webhook", string(hook.Key))}}},
		"plainhttp": {ID: "plainhttp", SelfService: tenants.SelfServiceSettings{SMSProvider: &tenants.SMSProvider{
			Kind: notify.ProviderWebhook, URL: "http://127.0.0.1:1/x", Secret: seal("plainhttp", "k")}}},
	}
	r := &notify.Router{Sealer: sealer, Default: platform.Sender("+15005550006"), HTTPClient: own.Client(),
		Tenant: func(_ context.Context, id tenants.ID) (tenants.Tenant, error) {
			t, ok := byID[id]
			if !ok {
				return t, errors.New("no such tenant")
			}
			return t, nil
		}}
	ctx := t.Context()
	for _, id := range []tenants.ID{"plain", "twilio", "webhook"} {
		if err := r.SendSMS(ctx, id, "+4915112345678", "to "+string(id)); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	if m := platform.Messages(); len(m) != 1 || m[0].Body != "to plain" {
		t.Errorf("platform got %+v", m)
	}
	if m := own.Messages(); len(m) != 1 || m[0].Body != "to twilio" || m[0].From != "+15005550007" {
		t.Errorf("tenant's Twilio got %+v", m)
	}
	if m := hook.Messages(); len(m) != 1 || m[0].Text != "to webhook" || m[0].Tenant != "webhook" {
		t.Errorf("tenant's webhook got %+v", m)
	}
	// Another tenant's sealed secret does not open: permanent, nothing sent.
	for _, id := range []tenants.ID{"stolen", "plainhttp"} {
		if err := r.SendSMS(ctx, id, "+4915112345678", "x"); !notify.IsPermanent(err) {
			t.Errorf("%s: err %v, want permanent", id, err)
		}
	}
	if err := r.SendSMS(ctx, "missing", "+4915112345678", "x"); err == nil || notify.IsPermanent(err) {
		t.Errorf("unknown tenant: err %v, want temporary", err)
	}
	r.Default = nil
	if err := r.SendSMS(ctx, "plain", "+4915112345678", "x"); !errors.Is(err, notify.ErrNoSMSProvider) || notify.IsPermanent(err) {
		t.Errorf("no default: err %v, want temporary ErrNoSMSProvider", err)
	}
	if len(platform.Messages())+len(own.Messages())+len(hook.Messages()) != 3 {
		t.Error("more was sent")
	}
}

func TestValidateSMSProvider(t *testing.T) {
	for _, p := range []tenants.SMSProvider{
		{Kind: "twilio", AccountSID: "AC1", From: "+1555", Secret: []byte{1}},
		{Kind: "twilio", URL: "https://api.twilio.com", AccountSID: "AC1", From: "+1555", Secret: []byte{1}},
		{Kind: "webhook", URL: "https://sms.example.com/hook", Secret: []byte{1}},
	} {
		if err := notify.ValidateSMSProvider(p); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	for _, p := range []tenants.SMSProvider{
		{Kind: "carrier-pigeon", Secret: []byte{1}},
		{Kind: "twilio", From: "+1555", Secret: []byte{1}},
		{Kind: "twilio", AccountSID: "AC1", From: "+1555", URL: "http://api.twilio.com", Secret: []byte{1}},
		{Kind: "webhook", URL: "http://sms.example.com/hook", Secret: []byte{1}},
		{Kind: "webhook", URL: "https://user:pw@sms.example.com/hook", Secret: []byte{1}},
		{Kind: "webhook", URL: "https://sms.example.com/hook"},
	} {
		if err := notify.ValidateSMSProvider(p); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}

func TestExponentialBackoff(t *testing.T) {
	b := notify.ExponentialBackoff(2*time.Second, 10*time.Minute, rand.NewChaCha8([32]byte{3}))
	for attempt := 1; attempt <= 12; attempt++ {
		full := min(2*time.Second<<(attempt-1), 10*time.Minute)
		for range 50 {
			if d := b(attempt); d < full/2 || d > full {
				t.Fatalf("attempt %d: %s outside [%s, %s]", attempt, d, full/2, full)
			}
		}
	}
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[b(5)] = true
	}
	if len(seen) < 10 {
		t.Fatalf("only %d distinct delays in 20: no jitter", len(seen))
	}
}
