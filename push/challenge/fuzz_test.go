package challenge

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"
)

// fuzzTarget is a pending challenge and the golden device key, so the seed
// corpus holds one genuinely signed answer (goldenSig over goldenPayload).
func fuzzTarget(t testing.TB) (*Challenge, Device, time.Time) {
	seed, _ := hex.DecodeString(goldenKey)
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), seed)
	if err != nil {
		t.Fatal(err)
	}
	c := &Challenge{
		CID: "000102030405060708090a0b0c0d0e0f", Tenant: tenantA, UserID: "u", DeviceID: "d", Number: 42,
		CreatedAt: time.Date(2026, 3, 1, 11, 59, 30, 0, time.UTC), ExpiresAt: time.Date(2026, 3, 1, 12, 1, 30, 0, time.UTC), State: StatePending,
	}
	dev := Device{Tenant: tenantA, UserID: "u", DeviceID: "d", KeyID: "dev-key-1", PublicKey: &key.PublicKey}
	return c, dev, time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC)
}

// checkVerify calls Verify and fails if it accepts an answer that is not
// canonical or not signed by the device's key. Any verdict with a
// transition counts as accepted (a wrong-number denial included: it changes
// the challenge, so it must be signed too).
func checkVerify(t *testing.T, a SignedAnswer) {
	c, dev, now := fuzzTarget(t)
	v, err := Verify(c, dev, a, now)
	if v.To == "" {
		if err == nil {
			t.Fatal("no transition and no error")
		}
		return
	}
	digest := sha256.Sum256(a.Payload)
	if !ecdsa.VerifyASN1(dev.PublicKey, digest[:], a.Signature) {
		t.Fatalf("accepted an answer not signed by the device: %q", a.Payload)
	}
	canon, cerr := v.Response.CanonicalJSON()
	if cerr != nil || !bytes.Equal(canon, a.Payload) {
		t.Fatalf("accepted non-canonical bytes %q (canonical %q)", a.Payload, canon)
	}
	if v.Response.CID != c.CID || v.Response.KeyID != dev.KeyID {
		t.Fatalf("accepted an answer for another challenge or key: %+v", v.Response)
	}
}

func FuzzVerify(f *testing.F) {
	sig, _ := hex.DecodeString(goldenSig)
	f.Add([]byte(goldenPayload), sig)
	f.Add([]byte(goldenPayload), []byte{})
	f.Add([]byte(` `+goldenPayload), sig)
	f.Add([]byte(`{"cid":"000102030405060708090a0b0c0d0e0f","decision":"deny","key_id":"dev-key-1","ts":"2026-03-01T12:00:00Z"}`), sig)
	f.Add([]byte(`{"cid":"000102030405060708090a0b0c0d0e0f","decision":"approve","key_id":"dev-key-1","number":42,"number":42,"ts":"2026-03-01T12:00:00Z"}`), sig)
	f.Add([]byte(`{"a":[1,{"b":null}],"c":1e400}`), []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, payload, sig []byte) {
		checkVerify(t, SignedAnswer{Payload: payload, Signature: sig})
		checkVerify(t, SignedAnswer{Payload: payload}) // unsigned: never accepted
	})
}

func FuzzDecodeAnswer(f *testing.F) {
	sig, _ := hex.DecodeString(goldenSig)
	f.Add(SignedAnswer{Payload: []byte(goldenPayload), Signature: sig}.Encode())
	f.Add([]byte(`{"payload":"eyJ9","sig":"MAE"}`))
	f.Add([]byte(`{"payload":null,"sig":[]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := DecodeAnswer(body)
		if err != nil {
			if len(a.Payload) != 0 || len(a.Signature) != 0 {
				t.Fatal("a failed decode returned a partly filled answer")
			}
			return
		}
		checkVerify(t, a)
	})
}

// TestFuzzSeedsAcceptGolden makes sure the fuzz seeds do reach acceptance,
// so the fuzzers check the property on accepted answers too.
func TestFuzzSeedsAcceptGolden(t *testing.T) {
	c, dev, now := fuzzTarget(t)
	sig, _ := hex.DecodeString(goldenSig)
	if v, err := Verify(c, dev, SignedAnswer{Payload: []byte(goldenPayload), Signature: sig}, now); err != nil || v.To != StateApproved {
		t.Fatalf("%+v, %v", v, err)
	}
}
