package challenge

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestR33MessageSnapshot: the FCM message is data-only {cid}, high
// priority, TTL = remaining lifetime, a collapse key, and nothing else: no
// notification block, username, number, IP or other context.
func TestR33MessageSnapshot(t *testing.T) {
	f := newFixture(t)
	is, _ := NewIssuer(Config{Rand: &seqReader{}, Now: f.clock.Now})
	c, err := is.Issue(f.request())
	if err != nil {
		t.Fatal(err)
	}
	m, err := BuildMessage(c, "fcm-token-1", f.clock.Now().Add(1500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(map[string]any{"message": m})
	if err != nil {
		t.Fatal(err)
	}
	exp := strconv.FormatInt(c.ExpiresAt.Unix(), 10)
	want := `{"message":{"token":"fcm-token-1","data":{"cid":"000102030405060708090a0b0c0d0e0f"},` +
		`"android":{"priority":"high","ttl":"118s","collapse_key":"latchkey-challenge"},` +
		`"apns":{"headers":{"apns-push-type":"background","apns-priority":"5","apns-expiration":"` + exp + `","apns-collapse-id":"latchkey-challenge"},` +
		`"payload":{"aps":{"content-available":1}}}}}`
	if string(got) != want {
		t.Fatalf("snapshot\n got %s\nwant %s", got, want)
	}

	var doc map[string]any
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	var paths []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if obj, ok := v.(map[string]any); ok {
			for k, v := range obj {
				walk(prefix+"."+k, v)
			}
			return
		}
		paths = append(paths, prefix)
	}
	walk("", doc)
	slices.Sort(paths)
	allowed := []string{
		".message.android.collapse_key", ".message.android.priority", ".message.android.ttl",
		".message.apns.headers.apns-collapse-id", ".message.apns.headers.apns-expiration",
		".message.apns.headers.apns-priority", ".message.apns.headers.apns-push-type",
		".message.apns.payload.aps.content-available",
		".message.data.cid", ".message.token",
	}
	if !slices.Equal(paths, allowed) {
		t.Errorf("keys %v\nallowed %v", paths, allowed)
	}
	s := string(got)
	for _, secret := range []string{"notification", f.dev.UserID, c.Context.IP, c.Context.TenantName, c.Context.Browser, c.Context.Geo, string(c.Tenant), `"` + strconv.Itoa(c.Number) + `"`, ":" + strconv.Itoa(c.Number) + ","} {
		if strings.Contains(s, secret) {
			t.Errorf("message contains %q", secret)
		}
	}
}

func TestBuildMessageExpiry(t *testing.T) {
	f := newFixture(t)
	c := f.issue(t)
	if _, err := BuildMessage(c, "tok", c.ExpiresAt.Add(-999*time.Millisecond)); !errors.Is(err, ErrExpired) {
		t.Errorf("under a second left: %v", err)
	}
	if _, err := BuildMessage(c, "", f.clock.Now()); err == nil {
		t.Error("no token accepted")
	}
	m, err := BuildMessage(c, "tok", f.clock.Now())
	if err != nil || m.Android.TTL != "120s" {
		t.Errorf("fresh challenge: %+v, %v", m.Android, err)
	}
}

func TestPushSendsTheBuiltMessage(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	c := s.push(t, f)
	if len(s.sender.msgs) != 1 || s.sender.msgs[0].Data.CID != c.CID || s.sender.msgs[0].Token != f.dev.PushToken {
		t.Errorf("sent %+v", s.sender.msgs)
	}
	// A failed send keeps the challenge for polling.
	s.sender.err = errors.New("fcm down")
	f.clock.Advance(time.Minute)
	c, err := s.Push(t.Context(), f.request(), f.dev)
	if !errors.Is(err, ErrSendFailed) || c == nil {
		t.Fatalf("failed send: %v, %v", c, err)
	}
	if got, err := s.store.Get(t.Context(), tenantA, c.CID); err != nil || got.State != StatePending {
		t.Errorf("stored after failed send: %+v, %v", got, err)
	}
	if _, err := s.Respond(t.Context(), tenantA, c.CID, f.dev, f.answer(t, c, DecisionApprove, c.Number)); err != nil {
		t.Errorf("answer after polling: %v", err)
	}
	// A device record of someone else is refused before anything happens.
	dev := f.dev
	dev.UserID = "user-2"
	if _, err := s.Push(t.Context(), f.request(), dev); !errors.Is(err, ErrWrongDevice) {
		t.Errorf("other user's device: %v", err)
	}
}
