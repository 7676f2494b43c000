package fakeserver

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/cmd/latchkey-authenticator/internal/mobileclient"
	"github.com/latchkey/latchkey/push/challenge"
)

// These tests prove the fake is strict: the client's tests against it mean
// something only if it refuses what the real server must refuse.

type rig struct {
	t      *testing.T
	s      *Server
	url    string
	key    *ecdsa.PrivateKey
	signer mobileclient.Signer
}

func newRig(t *testing.T) *rig {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	r := &rig{t: t, s: s, url: ts.URL}
	r.key, _ = mobileclient.GenerateKey()
	pub, _ := mobileclient.EncodePublicKey(&r.key.PublicKey)
	link, _ := s.NewEnrollment(ts.URL, User{ID: "u1", Username: "ann"})
	u, _ := url.Parse(link)
	body, _ := json.Marshal(mobileclient.EnrollRequest{EnrollmentID: u.Query().Get("id"), Secret: u.Query().Get("secret"),
		PublicKey: pub, KeyID: "k1", Platform: "cli", Name: "n"})
	resp := r.do("POST", mobileclient.PathEnroll, body, nil)
	if resp.StatusCode != 201 {
		t.Fatalf("enroll: %d", resp.StatusCode)
	}
	var out mobileclient.Enrolled
	json.NewDecoder(resp.Body).Decode(&out)
	r.signer = mobileclient.Signer{DeviceID: out.DeviceID, Key: r.key, Rand: rand.Reader, Now: time.Now}
	return r
}

// do sends a request; sign (when not nil) may alter it after signing.
func (r *rig) do(method, path string, body []byte, sign func(*http.Request)) *http.Response {
	r.t.Helper()
	req, _ := http.NewRequest(method, r.url+path, bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if sign != nil {
		sign(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (r *rig) signed(body []byte) func(*http.Request) {
	return func(req *http.Request) {
		if err := r.signer.SignRequest(req, body); err != nil {
			r.t.Fatal(err)
		}
	}
}

func wantError(t *testing.T, resp *http.Response, status int, code string) {
	t.Helper()
	var eb mobileclient.ErrorBody
	json.NewDecoder(resp.Body).Decode(&eb)
	if resp.StatusCode != status || eb.Error != code {
		t.Fatalf("got %d %q, want %d %q", resp.StatusCode, eb.Error, status, code)
	}
}

func TestFakeRefusesBadRequestSignatures_R34(t *testing.T) {
	r := newRig(t)
	if resp := r.do("GET", mobileclient.PathChallenges, nil, r.signed(nil)); resp.StatusCode != 200 {
		t.Fatalf("a well-signed request: %d", resp.StatusCode)
	}
	wantError(t, r.do("GET", mobileclient.PathChallenges, nil, nil), 401, "unauthenticated")
	// Signed for another path.
	wantError(t, r.do("GET", mobileclient.PathDevice, nil, func(req *http.Request) {
		other, _ := http.NewRequest("GET", r.url+mobileclient.PathChallenges, nil)
		r.signed(nil)(other)
		req.Header = other.Header
	}), 401, "unauthenticated")
	// Body changed after signing.
	body := []byte(`{"name":"a"}`)
	wantError(t, r.do("PATCH", mobileclient.PathDevice, []byte(`{"name":"b"}`), r.signed(body)), 401, "unauthenticated")
	// Query added after signing.
	wantError(t, r.do("GET", mobileclient.PathChallenges+"?x=1", nil, func(req *http.Request) {
		other, _ := http.NewRequest("GET", r.url+mobileclient.PathChallenges, nil)
		r.signed(nil)(other)
		req.Header = other.Header
	}), 401, "unauthenticated")
	// Timestamp not in the one form.
	wantError(t, r.do("GET", mobileclient.PathChallenges, nil, func(req *http.Request) {
		r.signed(nil)(req)
		req.Header.Set(mobileclient.HeaderTimestamp, time.Now().UTC().Format(time.RFC3339Nano))
	}), 401, "unauthenticated")
	// Short nonce, properly signed.
	wantError(t, r.do("GET", mobileclient.PathChallenges, nil, func(req *http.Request) {
		ts := time.Now().UTC().Format(mobileclient.TimestampFormat)
		nonce := base64.RawURLEncoding.EncodeToString(make([]byte, 15))
		sig, _ := mobileclient.SignString(r.key, rand.Reader, mobileclient.SigningString("GET", mobileclient.PathChallenges, nil, ts, nonce))
		req.Header.Set(mobileclient.HeaderDevice, r.signer.DeviceID)
		req.Header.Set(mobileclient.HeaderTimestamp, ts)
		req.Header.Set(mobileclient.HeaderNonce, nonce)
		req.Header.Set(mobileclient.HeaderSignature, sig)
	}), 401, "unauthenticated")
}

func TestFakeRefusesNonCanonicalAndForeignAnswers_R31(t *testing.T) {
	r := newRig(t)
	ch, err := r.s.Push(r.signer.DeviceID, "reset", challenge.Context{TenantName: "Acme", IP: "203.0.113.7", Browser: "x"})
	if err != nil {
		t.Fatal(err)
	}
	path := mobileclient.PathChallenges + "/" + ch.CID + "/answer"
	envelope := func(payload []byte, key *ecdsa.PrivateKey) []byte {
		d := sha256.Sum256(payload)
		sig, _ := ecdsa.SignASN1(rand.Reader, key, d[:])
		return challenge.SignedAnswer{Payload: payload, Signature: sig}.Encode()
	}
	ts := time.Now().UTC().Format(challenge.TimestampFormat)
	// Members out of order, signed by the right key.
	reordered := []byte(`{"decision":"approve","cid":"` + ch.CID + `","key_id":"k1","number":` + itoa(ch.Number) + `,"ts":"` + ts + `"}`)
	b := envelope(reordered, r.key)
	wantError(t, r.do("POST", path, b, r.signed(b)), 400, "malformed")
	// Canonical, but signed by another key.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	canon, _ := challenge.Response{CID: ch.CID, Decision: "approve", Number: ch.Number, KeyID: "k1", TS: time.Now()}.CanonicalJSON()
	b = envelope(canon, other)
	wantError(t, r.do("POST", path, b, r.signed(b)), 401, "unauthenticated")
	// Naming another key id.
	canon, _ = challenge.Response{CID: ch.CID, Decision: "approve", Number: ch.Number, KeyID: "k2", TS: time.Now()}.CanonicalJSON()
	b = envelope(canon, r.key)
	wantError(t, r.do("POST", path, b, r.signed(b)), 401, "unauthenticated")
	if c, _ := r.s.Challenge(ch.CID); c.State != challenge.StatePending {
		t.Fatalf("refused answers changed the challenge to %s", c.State)
	}
	// And the right one is accepted.
	canon, _ = challenge.Response{CID: ch.CID, Decision: "approve", Number: ch.Number, KeyID: "k1", TS: time.Now()}.CanonicalJSON()
	b = envelope(canon, r.key)
	if resp := r.do("POST", path, b, r.signed(b)); resp.StatusCode != 200 {
		t.Fatalf("the right answer: %d", resp.StatusCode)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestFakeEnrollmentIsStrict_R32(t *testing.T) {
	s, _ := New(Config{})
	ts := httptest.NewServer(s)
	defer ts.Close()
	post := func(body string) *http.Response {
		resp, err := http.Post(ts.URL+mobileclient.PathEnroll, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	link, _ := s.NewEnrollment(ts.URL, User{ID: "u1", Username: "ann"})
	u, _ := url.Parse(link)
	id, secret := u.Query().Get("id"), u.Query().Get("secret")
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	p256, _ := mobileclient.GenerateKey()
	good, _ := mobileclient.EncodePublicKey(&p256.PublicKey)
	req := func(secret, pub string) string {
		b, _ := json.Marshal(mobileclient.EnrollRequest{EnrollmentID: id, Secret: secret, PublicKey: pub, KeyID: "k1", Platform: "cli", Name: "n"})
		return string(b)
	}
	wantError(t, post(req(secret, base64.RawURLEncoding.EncodeToString(der))), 400, "malformed")
	wantError(t, post(`{"enrollment_id":"`+id+`","extra":1}`), 400, "malformed")
	wrong := []byte(secret)
	wrong[0] ^= 1
	wantError(t, post(req(string(wrong), good)), 410, "enrollment_invalid")
	if resp := post(req(secret, good)); resp.StatusCode != 201 {
		t.Fatalf("the right secret: %d", resp.StatusCode)
	}
}

func TestFakeFCMMessageIsDataOnly_R33(t *testing.T) {
	r := newRig(t)
	r.do("PUT", mobileclient.PathPushToken, []byte(`{"push_token":"tok"}`), r.signed([]byte(`{"push_token":"tok"}`)))
	ch, err := r.s.Push(r.signer.DeviceID, "reset", challenge.Context{TenantName: "Acme", IP: "203.0.113.7", Browser: "x"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-r.s.FCM():
		b, _ := json.Marshal(m.Data)
		if m.Token != "tok" || string(b) != `{"cid":"`+ch.CID+`"}` {
			t.Fatalf("message %+v", m)
		}
	default:
		t.Fatal("no FCM message")
	}
}
