package mobileapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/push/challenge"
)

// TestKeyIDsMatchTheAnswerFormat: enrollment accepts exactly the key ids a
// signed answer can carry, so no device enrolls with a key id it can never
// answer with.
func TestKeyIDsMatchTheAnswerFormat(t *testing.T) {
	ts := time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)
	cases := []string{"k", "dev-key-1", "A.b_c:d-9", strings.Repeat("k", 128), strings.Repeat("k", 129), "", "my key", "clé",
		"a/b", "a\"b", "a\\b", "tab\there", "x\x00"}
	for _, id := range cases {
		payload, err := challenge.Response{CID: strings.Repeat("0", 32), Decision: challenge.DecisionDeny, KeyID: id, TS: ts}.CanonicalJSON()
		answerOK := err == nil
		if answerOK {
			_, err = challenge.ParseResponse(payload)
			answerOK = err == nil
		}
		if got := validKeyID(id); got != answerOK {
			t.Errorf("key id %q: enrollment accepts %v, answers accept %v", id, got, answerOK)
		}
	}
}

// TestSignedStringLayout: the signed string is the documented six lines.
func TestSignedStringLayout(t *testing.T) {
	got := string(SignedString("GET", "/api/mobile/v1/challenges?x=1", nil, "2026-12-02T10:00:00Z", "bm9uY2Vub25jZW5vbmNlMTIz"))
	want := "latchkey-mobile-v1\nGET\n/api/mobile/v1/challenges?x=1\n" +
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n2026-12-02T10:00:00Z\nbm9uY2Vub25jZW5vbmNlMTIz"
	if got != want {
		t.Fatalf("signed string\n%q\nwant\n%q", got, want)
	}
}

// TestSignRequestVerifies: what SignRequest makes, ParseAuth and Verify
// accept, and only for the same method, path and body.
func TestSignRequestVerifies(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)
	hdr, err := SignRequest(priv, "dev-1", "PUT", "/api/mobile/v1/device/push-token", []byte(`{"push_token":""}`), now, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseAuth(hdr[HeaderDevice], hdr[HeaderTimestamp], hdr[HeaderNonce], hdr[HeaderSignature])
	if err != nil {
		t.Fatal(err)
	}
	if !a.Verify(&priv.PublicKey, "PUT", "/api/mobile/v1/device/push-token", []byte(`{"push_token":""}`)) {
		t.Fatal("signature does not verify")
	}
	if a.Verify(&priv.PublicKey, "PUT", "/api/mobile/v1/device/push-token", []byte(`{"push_token":"x"}`)) ||
		a.Verify(&priv.PublicKey, "POST", "/api/mobile/v1/device/push-token", []byte(`{"push_token":""}`)) {
		t.Fatal("signature verifies for another request")
	}
	if !a.Fresh(now.Add(RequestSkew)) || a.Fresh(now.Add(RequestSkew+time.Second)) || a.Fresh(now.Add(-RequestSkew-time.Second)) {
		t.Fatal("freshness window is not ±60 s")
	}
}

// FuzzParseAuth: the header parser never panics, and what it accepts is
// well-formed: a short device id, a canonical UTC timestamp, a nonce of
// 16–64 bytes and a bounded signature.
func FuzzParseAuth(f *testing.F) {
	f.Add("7a0d1a9e-2d7c-4b7e-9a51-0c8f6f7b1e2a", "2026-12-02T10:00:00Z", "bm9uY2Vub25jZW5vbmNlMTIz", "MEUCIQ")
	f.Add("", "", "", "")
	f.Add("dev", "2026-12-02T10:00:00+01:00", "AAAAAAAAAAAAAAAAAAAAAA", "AA==")
	f.Add("../../etc", "2026-02-30T10:00:00Z", strings.Repeat("A", 200), strings.Repeat("B", 200))
	f.Fuzz(func(t *testing.T, device, ts, nonce, sig string) {
		a, err := ParseAuth(device, ts, nonce, sig)
		if err != nil {
			return
		}
		n, nerr := b64.DecodeString(a.Nonce)
		switch {
		case a.DeviceID == "" || len(a.DeviceID) > maxDeviceID:
			t.Fatalf("device id %q accepted", a.DeviceID)
		case a.Timestamp.Format(challenge.TimestampFormat) != ts || a.Timestamp.Location() != time.UTC:
			t.Fatalf("timestamp %q accepted as %v", ts, a.Timestamp)
		case nerr != nil || len(n) < minNonceBytes || len(n) > maxNonceBytes:
			t.Fatalf("nonce %q accepted", nonce)
		case len(a.Signature) == 0 || len(a.Signature) > maxSigBytes:
			t.Fatalf("signature of %d bytes accepted", len(a.Signature))
		}
	})
}

// FuzzEnrollRequest: decoding and checking an enrollment body never panics
// and accepts only a P-256 key and valid fields.
func FuzzEnrollRequest(f *testing.F) {
	f.Add([]byte(`{"enrollment_id":"AAAAAAAAAAAAAAAAAAAAAA","secret":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","public_key":"","key_id":"k","platform":"cli","name":"n","push_token":""}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[`))
	f.Add([]byte(`{"name":"\u202e"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req enrollRequest
		if decodeJSON(body, &req) != nil {
			return
		}
		nd, err := req.check()
		if err != nil {
			return
		}
		if !validKeyID(nd.KeyID) || checkName(nd.Name) != nil || checkPushToken(nd.PushToken) != nil || len(nd.PublicKey) == 0 {
			t.Fatalf("accepted %+v", nd)
		}
	})
}
