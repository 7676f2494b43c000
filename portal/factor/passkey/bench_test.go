package passkey

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"testing"
)

// B10 compares a whole FinishLogin (session decode, response parse, CBOR
// COSE key decode, origin/RP hash/flag checks, signature) with the bare
// ECDSA P-256 verification at its core, on the same key and signed
// message, so the library's overhead can be reported as a ratio.
//
//	go test ./portal/factor/passkey -run x -bench B10 -benchtime 2000x

// b10Fixture is one registered credential (counter 0, so the same
// assertion verifies every time) and one assertion for it.
type b10Fixture struct {
	s    *Service
	u    User
	sess Session
	resp []byte
	pub  *ecdsa.PublicKey
	msg  []byte // authenticatorData || SHA-256(clientDataJSON)
	sig  []byte // ASN.1 DER
}

func newB10Fixture(b *testing.B) b10Fixture {
	b.Helper()
	s, _ := newService()
	u := newUser(b, s, "ann")
	d := newDevice(u)
	u = register(b, s, acme, u, d)
	sess, resp := login(b, s, acme, &u, true, d)
	if _, err := s.FinishLogin(acme, nil, &u, sess, resp); err != nil {
		b.Fatalf("fixture does not verify: %v", err)
	}

	var r struct {
		Response struct {
			AuthenticatorData string `json:"authenticatorData"`
			ClientDataJSON    string `json:"clientDataJSON"`
			Signature         string `json:"signature"`
		} `json:"response"`
	}
	if err := json.Unmarshal(resp, &r); err != nil {
		b.Fatal(err)
	}
	dec := func(s string) []byte {
		v, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
	cdHash := sha256.Sum256(dec(r.Response.ClientDataJSON))
	key, err := x509.ParsePKCS8PrivateKey(d.cred.Key.Data)
	if err != nil {
		b.Fatal(err)
	}
	f := b10Fixture{
		s: s, u: u, sess: sess, resp: resp,
		pub: &key.(*ecdsa.PrivateKey).PublicKey,
		msg: append(dec(r.Response.AuthenticatorData), cdHash[:]...),
		sig: dec(r.Response.Signature),
	}
	h := sha256.Sum256(f.msg)
	if !ecdsa.VerifyASN1(f.pub, h[:], f.sig) {
		b.Fatal("raw ECDSA check of the fixture fails")
	}
	return f
}

func BenchmarkB10Assertion(b *testing.B) {
	f := newB10Fixture(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.s.FinishLogin(acme, nil, &f.u, f.sess, f.resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkB10RawECDSA hashes the signed message and verifies the
// signature, which is the least any verifier must do.
func BenchmarkB10RawECDSA(b *testing.B) {
	f := newB10Fixture(b)
	b.ReportAllocs()
	for b.Loop() {
		h := sha256.Sum256(f.msg)
		if !ecdsa.VerifyASN1(f.pub, h[:], f.sig) {
			b.Fatal("verify failed")
		}
	}
}
