package mobileclient

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// The golden vector of docs/mobile-api.md section 2, "Example".
const (
	goldenKeyPEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgFeMpU+ZJqU7UYhef
R5ZIic8eqypvfR/pZhevtVKwpnehRANCAAQ5Bwlo48HIiiNyYXGZIGaFO12JfwBe
ZWRos8cdhtNHEA3dpkyQQkeUDlYF2W1rYIfrNetxZOBg3dYwAyw8BZEW
-----END PRIVATE KEY-----
`
	goldenPublicKey = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEOQcJaOPByIojcmFxmSBmhTtdiX8AXmVkaLPHHYbTRxAN3aZMkEJHlA5WBdlta2CH6zXrcWTgYN3WMAMsPAWRFg"
	goldenTS        = "2026-12-02T10:00:00Z"
	goldenNonce     = "AAECAwQFBgcICQoLDA0ODw"
	goldenBody      = `{"push_token":"fcm-token-1"}`
	goldenString    = "latchkey-mobile-v1\nPUT\n/api/mobile/v1/device/push-token\n" +
		"dcd02aa06a42b1505258d0b862f76e8652e1d40f6260211a19c56c184e9e74df\n" +
		"2026-12-02T10:00:00Z\nAAECAwQFBgcICQoLDA0ODw"
	goldenSignature = "MEUCIC5CUx39AB9dJqeLE-hpuJnnnW_16ZuSa22z7zTDWpxnAiEA4sESxcoJ9sJ5FEgYLevSrri4U1tHoeOtR90wSwgnl3E"
	goldenGETString = "latchkey-mobile-v1\nGET\n/api/mobile/v1/challenges\n" +
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n" +
		"2026-12-02T10:00:00Z\nAAECAwQFBgcICQoLDA0ODw"
)

func goldenKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ParsePrivateKeyPEM(goldenKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestGoldenKeyIsTheDocumentedScalar(t *testing.T) {
	d := sha256.Sum256([]byte("latchkey mobile-api v1 example device key"))
	want, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
	if err != nil {
		t.Fatal(err)
	}
	if !goldenKey(t).Equal(want) {
		t.Fatal("the example PEM is not the key the doc derives")
	}
	pub, err := EncodePublicKey(&goldenKey(t).PublicKey)
	if err != nil || pub != goldenPublicKey {
		t.Fatalf("public_key = %q, %v; want %q", pub, err, goldenPublicKey)
	}
}

func TestSigningStringGoldenVector_R34(t *testing.T) {
	if got := SigningString("PUT", "/api/mobile/v1/device/push-token", []byte(goldenBody), goldenTS, goldenNonce); got != goldenString {
		t.Errorf("PUT signing string:\n%q\nwant\n%q", got, goldenString)
	}
	if got := SigningString("GET", "/api/mobile/v1/challenges", nil, goldenTS, goldenNonce); got != goldenGETString {
		t.Errorf("GET signing string:\n%q\nwant\n%q", got, goldenGETString)
	}
	if strings.HasSuffix(goldenString, "\n") || strings.Count(goldenString, "\n") != 5 {
		t.Error("the signed string must be six lines with no trailing newline")
	}
	k := goldenKey(t)
	// Deterministic ECDSA (RFC 6979) reproduces the documented signature.
	sig, err := SignString(k, nil, goldenString)
	if err != nil || sig != goldenSignature {
		t.Errorf("deterministic signature = %q, %v; want %q", sig, err, goldenSignature)
	}
	if !VerifyString(&k.PublicKey, goldenString, goldenSignature) {
		t.Fatal("the documented signature does not verify")
	}
	// Any change to any line breaks it.
	lines := strings.Split(goldenString, "\n")
	for i := range lines {
		changed := append([]string(nil), lines...)
		changed[i] += "x"
		if VerifyString(&k.PublicKey, strings.Join(changed, "\n"), goldenSignature) {
			t.Errorf("the signature still verifies with line %d changed", i+1)
		}
	}
	if VerifyString(&k.PublicKey, goldenString+"\n", goldenSignature) {
		t.Error("the signature verifies with a trailing newline")
	}
}

func TestGoldenVectorIsInTheDoc(t *testing.T) {
	doc, err := os.ReadFile("../../../../docs/mobile-api.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{goldenKeyPEM, goldenPublicKey, goldenString, goldenSignature, goldenBody, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"} {
		if !bytes.Contains(doc, []byte(want)) {
			t.Errorf("docs/mobile-api.md does not contain %q", want)
		}
	}
}

// fixedReader reads 0, 1, 2, … : fixed nonces and key ids.
type fixedReader struct{ b byte }

func (r *fixedReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.b
		r.b++
	}
	return len(p), nil
}

func TestSignRequestSetsTheFourHeaders_R34(t *testing.T) {
	k := goldenKey(t)
	s := Signer{DeviceID: "dev-1", Key: k, Rand: &fixedReader{}, Now: func() time.Time {
		return time.Date(2026, 12, 2, 11, 0, 0, 0, time.FixedZone("CET", 3600)) // 10:00 UTC
	}}
	req, _ := http.NewRequest("PUT", "https://acme.example.com/api/mobile/v1/device/push-token", strings.NewReader(goldenBody))
	if err := s.SignRequest(req, []byte(goldenBody)); err != nil {
		t.Fatal(err)
	}
	h := req.Header
	if h.Get(HeaderDevice) != "dev-1" || h.Get(HeaderTimestamp) != goldenTS || h.Get(HeaderNonce) != goldenNonce {
		t.Fatalf("headers %v", h)
	}
	if !VerifyString(&k.PublicKey, goldenString, h.Get(HeaderSignature)) {
		t.Error("the request's signature does not verify over the golden string")
	}
	// A second request gets a new nonce.
	req2, _ := http.NewRequest("GET", "https://acme.example.com/api/mobile/v1/challenges?x=1", nil)
	if err := s.SignRequest(req2, nil); err != nil {
		t.Fatal(err)
	}
	if req2.Header.Get(HeaderNonce) == goldenNonce {
		t.Error("the nonce was reused")
	}
	want := SigningString("GET", "/api/mobile/v1/challenges?x=1", nil, goldenTS, req2.Header.Get(HeaderNonce))
	if !VerifyString(&k.PublicKey, want, req2.Header.Get(HeaderSignature)) {
		t.Error("the query is not part of the signed path")
	}
}

func TestPrivateKeyPEMRoundTrip(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	p, err := MarshalPrivateKeyPEM(k)
	if err != nil || !strings.HasPrefix(p, "-----BEGIN PRIVATE KEY-----\n") {
		t.Fatalf("PEM %q, %v", p, err)
	}
	back, err := ParsePrivateKeyPEM(p)
	if err != nil || !back.Equal(k) {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range []string{"", "junk", strings.Replace(p, "PRIVATE KEY", "EC PRIVATE KEY", 2), p + "trailing"} {
		if _, err := ParsePrivateKeyPEM(bad); err == nil {
			t.Errorf("ParsePrivateKeyPEM(%.30q) accepted", bad)
		}
	}
}

func TestKeyIDIsAcceptedByEveryServer(t *testing.T) {
	id, err := NewKeyID(&fixedReader{})
	if err != nil || id != "cli-0001020304050607" {
		t.Fatalf("NewKeyID = %q, %v", id, err)
	}
}
