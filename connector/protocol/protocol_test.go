package protocol

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func keys(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func body() CommandBody {
	return CommandBody{V: Version, ID: "0123456789abcdef0123456789abcdef", Tenant: "tenant-a", Connector: "conn-1", Seq: 7,
		Op: OpUnlock, Target: "6f1e2d3c-0000-4000-8000-000000000001", IssuedAt: t0, ExpiresAt: t0.Add(60 * time.Second)}
}

// R54, R55: each tampering with a command makes the agent refuse it, with its own reason.
func TestVerifyCommandRefusals_R54_R55(t *testing.T) {
	pub, priv := keys(t)
	otherPub, otherPriv := keys(t)
	sign := func(b CommandBody, k ed25519.PrivateKey) SignedCommand {
		sc, err := SignCommand(k, b)
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}
	good := sign(body(), priv)
	if b, err := VerifyCommand(pub, good, "tenant-a", "conn-1", t0.Add(time.Second)); err != nil || b.Op != OpUnlock {
		t.Fatalf("a good command was refused: %v", err)
	}

	tampered := good
	tampered.Body = bytes.Replace(append([]byte(nil), good.Body...), []byte(`"unlock"`), []byte(`"reset"`), 1)

	cases := []struct {
		name   string
		key    ed25519.PublicKey
		sc     SignedCommand
		tenant string
		now    time.Time
		want   Refusal
	}{
		{"tampered body", pub, tampered, "tenant-a", t0, RefuseSignature},
		{"signed by another key", pub, sign(body(), otherPriv), "tenant-a", t0, RefuseSignature},
		{"verified with another key", otherPub, good, "tenant-a", t0, RefuseSignature},
		{"wrong tenant", pub, good, "tenant-b", t0, RefuseTenant},
		{"expired", pub, good, "tenant-a", t0.Add(60 * time.Second), RefuseExpired},
		{"lifetime over 120s", pub, sign(func() CommandBody { b := body(); b.ExpiresAt = t0.Add(121 * time.Second); return b }(), priv), "tenant-a", t0, RefuseExpired},
		{"issued in the future", pub, sign(func() CommandBody {
			b := body()
			b.IssuedAt, b.ExpiresAt = t0.Add(5*time.Minute), t0.Add(6*time.Minute)
			return b
		}(), priv), "tenant-a", t0, RefuseExpired},
		{"unknown operation", pub, sign(func() CommandBody { b := body(); b.Op = "delete_user"; return b }(), priv), "tenant-a", t0, RefuseOperation},
		{"reset without password", pub, sign(func() CommandBody { b := body(); b.Op = OpReset; return b }(), priv), "tenant-a", t0, RefuseBadPayload},
		{"short id", pub, sign(func() CommandBody { b := body(); b.ID = "abc"; return b }(), priv), "tenant-a", t0, RefuseMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := VerifyCommand(c.key, c.sc, c.tenant, "conn-1", c.now)
			if got := ReasonOf(err); got != c.want {
				t.Fatalf("want refusal %q, got %q (%v)", c.want, got, err)
			}
		})
	}
	if _, err := VerifyCommand(pub, good, "tenant-a", "conn-2", t0); ReasonOf(err) != RefuseConnector {
		t.Fatalf("wrong connector: %v", err)
	}
}

// R56: a sealed password opens only for its own command, tenant, account and
// connector key.
func TestSealedSecretIsBoundToCommandAndKey_R56(t *testing.T) {
	priv, pub, err := GenerateSealKey()
	if err != nil {
		t.Fatal(err)
	}
	otherPriv, _, err := GenerateSealKey()
	if err != nil {
		t.Fatal(err)
	}
	aad := SecretAAD("cmd1", "tenant-a", "guid-1", "password")
	s, err := SealSecret(pub, []byte("Correct horse 🐎"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(s.CT, []byte("Correct")) {
		t.Fatal("ciphertext contains the plaintext")
	}
	pt, err := OpenSecret(priv, s, aad)
	if err != nil || string(pt) != "Correct horse 🐎" {
		t.Fatalf("open: %q %v", pt, err)
	}
	for name, try := range map[string]func() ([]byte, error){
		"other command": func() ([]byte, error) {
			return OpenSecret(priv, s, SecretAAD("cmd2", "tenant-a", "guid-1", "password"))
		},
		"other tenant": func() ([]byte, error) {
			return OpenSecret(priv, s, SecretAAD("cmd1", "tenant-b", "guid-1", "password"))
		},
		"other account": func() ([]byte, error) {
			return OpenSecret(priv, s, SecretAAD("cmd1", "tenant-a", "guid-2", "password"))
		},
		"other field": func() ([]byte, error) {
			return OpenSecret(priv, s, SecretAAD("cmd1", "tenant-a", "guid-1", "old_password"))
		},
		"other connector": func() ([]byte, error) { return OpenSecret(otherPriv, s, aad) },
		"tampered": func() ([]byte, error) {
			bad := &Sealed{Enc: s.Enc, CT: append([]byte(nil), s.CT...)}
			bad.CT[0] ^= 1
			return OpenSecret(priv, bad, aad)
		},
	} {
		if _, err := try(); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: want ErrOpen, got %v", name, err)
		}
	}
}

func TestResultSignature(t *testing.T) {
	pub, priv := keys(t)
	sr, err := SignResult(priv, ResultBody{CommandID: "c", Tenant: "t", Connector: "k", Status: StatusDone, Time: t0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyResult(pub, sr, "t", "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyResult(pub, sr, "other", "k"); err == nil {
		t.Fatal("a result for another tenant was accepted")
	}
	sr.Body = bytes.Replace(sr.Body, []byte("done"), []byte("refused"), 1)
	if _, err := VerifyResult(pub, sr, "t", "k"); err == nil {
		t.Fatal("a tampered result was accepted")
	}
}

func TestEnvelopeRoundTripAndRejections(t *testing.T) {
	b, err := Encode(TypeHello, "h1", Hello{Version: Version, ConnectorID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	e, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	h, err := Payload[Hello](e)
	if err != nil || h.ConnectorID != "c" {
		t.Fatalf("%+v %v", h, err)
	}
	for name, in := range map[string]string{
		"unknown type":   `{"type":"exec","id":"1","payload":{}}`,
		"no id":          `{"type":"hello","payload":{}}`,
		"bad id":         `{"type":"hello","id":"a b","payload":{}}`,
		"payload array":  `{"type":"hello","id":"1","payload":[]}`,
		"no payload":     `{"type":"hello","id":"1"}`,
		"not json":       `hello`,
		"oversize frame": `{"type":"hello","id":"1","payload":{"x":"` + strings.Repeat("a", MaxFrameBytes) + `"}}`,
	} {
		if _, err := Decode([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: want ErrMalformed, got %v", name, err)
		}
	}
}

// R61: the frame decoder and the command verifier never panic, and what Decode
// accepts is a known type with a valid id and an object payload.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"type":"hello","id":"1","payload":{"version":1}}`))
	f.Add([]byte(`{"type":"command","id":"c1","payload":{"body":"e30=","sig":""}}`))
	f.Add([]byte(`{"type":"result","id":"x","payload":{}}`))
	f.Add([]byte(`[]`))
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		if err != nil {
			return
		}
		if !knownTypes[e.Type] || checkID(e.ID) != nil {
			t.Fatalf("accepted %q", b)
		}
		if sc, err := Payload[SignedCommand](e); err == nil {
			if _, err := VerifyCommand(pub, sc, "t", "c", t0); err == nil {
				t.Fatal("an unsigned command verified")
			}
		}
		var anyv map[string]any
		if json.Unmarshal(e.Payload, &anyv) != nil {
			t.Fatal("payload is not an object")
		}
	})
}
