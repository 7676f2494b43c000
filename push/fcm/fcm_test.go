package fcm_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/push/challenge"
	"github.com/latchkey/latchkey/push/fcm"
	"github.com/latchkey/latchkey/tenants"
)

// fakeFCM is a local server speaking FCM's HTTP v1 send API: it records every
// request body and answers from a script (status + Retry-After), then 200.
type fakeFCM struct {
	mu     sync.Mutex
	bodies [][]byte
	paths  []string
	script []answer
}

type answer struct {
	status     int
	retryAfter string
	errorCode  string // FcmError detail, e.g. UNREGISTERED, QUOTA_EXCEEDED
}

func (f *fakeFCM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.bodies = append(f.bodies, b)
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	var a answer
	if len(f.script) > 0 {
		a, f.script = f.script[0], f.script[1:]
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if a.status == 0 {
		w.Write([]byte(`{"name":"projects/latchkey-test/messages/0:1234"}`))
		return
	}
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	status := map[int]string{404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE", 400: "INVALID_ARGUMENT"}[a.status]
	w.WriteHeader(a.status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": a.status, "message": "fake " + status, "status": status,
		"details": []any{map[string]any{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": a.errorCode}}}})
}

func (f *fakeFCM) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.bodies)
}

func newSender(t *testing.T, script ...answer) (*fcm.Sender, *fakeFCM, *[]time.Duration) {
	t.Helper()
	f := &fakeFCM{script: script}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	var slept []time.Duration
	s, err := fcm.New(t.Context(), fcm.Config{ProjectID: "latchkey-test", Endpoint: srv.URL + "/v1",
		Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return s, f, &slept
}

func message(t testing.TB) (challenge.Message, *challenge.Challenge) {
	t.Helper()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	is, err := challenge.NewIssuer(challenge.Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	c, err := is.Issue(challenge.Request{Tenant: tenants.ID("0b9c3c1e-0d3a-4f51-9f53-5f5c2a0a0001"), UserID: "user-alice", DeviceID: "dev-1",
		Purpose: tenants.ActionReset, Context: challenge.Context{TenantName: "Acme", IP: "203.0.113.7", Browser: "Firefox on Linux"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := challenge.BuildMessage(c, "device-token-1", now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return m, c
}

// keys lists the dotted paths of every leaf in a JSON document.
func keys(prefix string, v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			keys(prefix+"."+k, vv, out)
		}
	default:
		*out = append(*out, strings.TrimPrefix(prefix, "."))
	}
}

// TestWhatFCMReceivesIsDataOnly_R33: through the real SDK, the request the FCM
// server gets carries only the allowed keys — the challenge id as data, high
// priority, the TTL, the collapse key, a background APNs push — and no
// notification block, user, number or IP.
func TestWhatFCMReceivesIsDataOnly_R33(t *testing.T) {
	s, f, _ := newSender(t)
	m, c := message(t)
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if f.requests() != 1 || f.paths[0] != "POST /v1/projects/latchkey-test/messages:send" {
		t.Fatalf("requests: %v", f.paths)
	}
	var doc map[string]any
	if err := json.Unmarshal(f.bodies[0], &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	keys("", doc, &got)
	sort.Strings(got)
	want := []string{
		"message.android.collapse_key", "message.android.priority", "message.android.ttl",
		"message.apns.headers.apns-collapse-id", "message.apns.headers.apns-expiration",
		"message.apns.headers.apns-priority", "message.apns.headers.apns-push-type",
		"message.apns.payload.aps.content-available",
		"message.data.cid", "message.token",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("FCM request keys:\n%s\nwant:\n%s\nbody: %s", strings.Join(got, "\n"), strings.Join(want, "\n"), f.bodies[0])
	}
	body := string(f.bodies[0])
	n := strconv.Itoa(c.Number) // the number to match, as a JSON string or number value
	for _, secret := range []string{"user-alice", "203.0.113.7", "Firefox", "notification", `"` + n + `"`, ":" + n + ",", ":" + n + "}"} {
		if strings.Contains(body, secret) {
			t.Errorf("the FCM request contains %q: %s", secret, body)
		}
	}
	msg := doc["message"].(map[string]any)
	if msg["data"].(map[string]any)["cid"] != c.CID || msg["android"].(map[string]any)["priority"] != "high" ||
		msg["android"].(map[string]any)["ttl"] != "119s" || msg["token"] != "device-token-1" {
		t.Fatalf("FCM request values: %s", body)
	}
}

// TestUnregisteredTokenIsReported: FCM's UNREGISTERED becomes ErrUnregistered
// (the caller clears the token), without retries.
func TestUnregisteredTokenIsReported(t *testing.T) {
	s, f, _ := newSender(t, answer{status: 404, errorCode: "UNREGISTERED"})
	m, _ := message(t)
	err := s.Send(t.Context(), m)
	if !errors.Is(err, fcm.ErrUnregistered) {
		t.Fatalf("err = %v, want ErrUnregistered", err)
	}
	if f.requests() != 1 {
		t.Fatalf("%d requests for an unregistered token, want 1", f.requests())
	}
}

// Test503IsRetriedBySDK: an unavailable FCM is retried (by the SDK), then the
// message goes through.
func Test503IsRetriedBySDK(t *testing.T) {
	s, f, _ := newSender(t, answer{status: 503, errorCode: "UNAVAILABLE", retryAfter: "0"})
	m, _ := message(t)
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if f.requests() != 2 {
		t.Fatalf("%d requests, want 2 (one 503, one success)", f.requests())
	}
}

// TestQuotaRetriesAreBounded: a 429 is retried after its Retry-After, at most
// twice; a third 429 is returned; a Retry-After beyond the cap or past the
// caller's deadline is not waited for at all.
func TestQuotaRetriesAreBounded(t *testing.T) {
	q := answer{status: 429, errorCode: "QUOTA_EXCEEDED", retryAfter: "2"}
	s, f, slept := newSender(t, q, answer{})
	m, _ := message(t)
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatalf("429 then 200: %v", err)
	}
	if f.requests() != 2 || len(*slept) != 1 || (*slept)[0] != 2*time.Second {
		t.Fatalf("429 then 200: %d requests, slept %v", f.requests(), *slept)
	}

	s, f, _ = newSender(t, q, q, q, q)
	if err := s.Send(t.Context(), m); err == nil || f.requests() != 3 {
		t.Fatalf("four 429s: err %v after %d requests, want an error after 3", err, f.requests())
	}

	s, f, slept = newSender(t, answer{status: 429, errorCode: "QUOTA_EXCEEDED", retryAfter: "60"})
	if err := s.Send(t.Context(), m); err == nil || f.requests() != 1 || len(*slept) != 0 {
		t.Fatalf("Retry-After 60: err %v, %d requests, slept %v", err, f.requests(), *slept)
	}

	s, f, slept = newSender(t, q, answer{})
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if err := s.Send(ctx, m); err == nil || f.requests() != 1 || len(*slept) != 0 {
		t.Fatalf("deadline before the Retry-After: err %v, %d requests, slept %v", err, f.requests(), *slept)
	}
}
