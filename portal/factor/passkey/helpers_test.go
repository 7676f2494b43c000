package passkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
)

var (
	acme   = RP{ID: "acme.localhost", Origin: "http://acme.localhost:8080", DisplayName: "Acme"}
	globex = RP{ID: "globex.localhost", Origin: "http://globex.localhost:8080", DisplayName: "Globex"}
	t0     = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
)

// clock is a settable fake clock.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func newService() (*Service, *clock) {
	c := &clock{t: t0}
	return &Service{Now: c.Now}, c
}

func virtualRP(rp RP) virtualwebauthn.RelyingParty {
	return virtualwebauthn.RelyingParty{ID: rp.ID, Name: rp.DisplayName, Origin: rp.Origin}
}

func newUser(t testing.TB, s *Service, name string) User {
	t.Helper()
	id, err := s.NewUserHandle()
	if err != nil {
		t.Fatal(err)
	}
	return User{ID: id, Name: name, DisplayName: "Ann Example"}
}

// device is a virtual authenticator holding one credential for a user.
type device struct {
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

func newDevice(u User) *device {
	return &device{
		auth: virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: u.ID}),
		cred: ec2Credential(),
	}
}

// ec2Credential is a virtual P-256 credential. virtualwebauthn encodes the
// key's coordinates with big.Int.Bytes, which drops leading zero bytes, and
// such a COSE key (about 1 in 64) is rightly refused as malformed; so only
// keys whose coordinates fill 32 bytes are handed to it.
func ec2Credential() virtualwebauthn.Credential {
	for {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		if len(k.X.Bytes()) != 32 || len(k.Y.Bytes()) != 32 {
			continue
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		return virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, der)
	}
}

// attest answers creation options as a browser at (the possibly wrong)
// client RP would.
func (d *device) attest(t testing.TB, client RP, optionsJSON []byte) []byte {
	t.Helper()
	opts, err := virtualwebauthn.ParseAttestationOptions(string(optionsJSON))
	if err != nil {
		t.Fatalf("parse creation options: %v", err)
	}
	return []byte(virtualwebauthn.CreateAttestationResponse(virtualRP(client), d.auth, d.cred, *opts))
}

// assert answers request options as a browser at client would, with the
// device's current counter.
func (d *device) assert(t testing.TB, client RP, optionsJSON []byte) []byte {
	t.Helper()
	opts, err := virtualwebauthn.ParseAssertionOptions(string(optionsJSON))
	if err != nil {
		t.Fatalf("parse request options: %v", err)
	}
	return []byte(virtualwebauthn.CreateAssertionResponse(virtualRP(client), d.auth, d.cred, *opts))
}

// register runs a full registration of d for u at rp and returns u with
// the new credential added.
func register(t testing.TB, s *Service, rp RP, u User, d *device) User {
	t.Helper()
	opts, sess, err := s.BeginRegistration(rp, u)
	if err != nil {
		t.Fatalf("BeginRegistration: %v", err)
	}
	cred, err := s.FinishRegistration(rp, u, sess, d.attest(t, rp, opts))
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	cred.Name = "test key"
	u.Credentials = append(u.Credentials, cred)
	return u
}

// login begins a login for u (nil: discoverable) and returns the session
// and the device's answer to it.
func login(t testing.TB, s *Service, rp RP, u *User, requireUV bool, d *device) (Session, []byte) {
	t.Helper()
	opts, sess, err := s.BeginLogin(rp, u, requireUV)
	if err != nil {
		t.Fatalf("BeginLogin: %v", err)
	}
	return sess, d.assert(t, rp, opts)
}
