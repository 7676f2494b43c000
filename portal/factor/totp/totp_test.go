package totp

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"

	"github.com/latchkey/latchkey/tenants"
)

var (
	acme  = &tenants.Tenant{ID: "11111111-1111-4111-8111-111111111111", Slug: "acme", Name: "Acme Corp", Branding: tenants.Branding{DisplayName: "Acme IT"}}
	other = &tenants.Tenant{ID: "22222222-2222-4222-8222-222222222222", Slug: "other", Name: "Other"}
)

// counting is a deterministic byte stream for tests: 0, 1, 2, ...
type counting struct{ n byte }

func (c *counting) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.n
		c.n++
	}
	return len(p), nil
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

func testSealer(t testing.TB) *Sealer {
	t.Helper()
	key := sha256.Sum256([]byte("totp test key"))
	s, err := NewSealer(key[:], nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testService(t testing.TB) *Service {
	return &Service{Sealer: testSealer(t), Now: func() time.Time { return time.Unix(1_700_000_000, 0) }}
}

// enroll makes an enrollment and returns it with the base32 secret from its
// URI (what the phone's app would store).
func enroll(t *testing.T, s *Service, tn *tenants.Tenant) (tenants.TOTPEnrollment, string) {
	t.Helper()
	e, _, key := newKey(t, s, tn)
	return e, key.Secret()
}

// newKey enrolls ann and parses the URI back with pquerna/otp.
func newKey(t *testing.T, s *Service, tn *tenants.Tenant) (tenants.TOTPEnrollment, string, *otp.Key) {
	t.Helper()
	e, uri, err := s.New(tn, "ann@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		t.Fatal(err)
	}
	return e, uri, key
}

// appCode is what an authenticator app shows at time at (computed by
// pquerna/otp from the time, independently of this package's step math).
func appCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := pqtotp.GenerateCodeCustom(secret, at, pqtotp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRFC6238Vectors_R26 checks against the SHA-1 test vectors of RFC 6238
// appendix B (last six of the eight digits).
func TestRFC6238Vectors_R26(t *testing.T) {
	s := testService(t)
	sealed, err := s.Sealer.SealSeed(acme.ID, []byte("12345678901234567890"))
	if err != nil {
		t.Fatal(err)
	}
	e := tenants.TOTPEnrollment{Seed: sealed}
	for _, v := range []struct {
		unix int64
		code string
	}{{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"}} {
		counter, ok := s.Verify(acme, e, v.code, time.Unix(v.unix, 0))
		if !ok || counter != v.unix/30 {
			t.Errorf("T=%d code %s: got (%d, %v), want (%d, true)", v.unix, v.code, counter, ok, v.unix/30)
		}
	}
}

// TestCurrentStepVerifies_R26: the app's code for now is accepted and the
// returned counter is now's step.
func TestCurrentStepVerifies_R26(t *testing.T) {
	s := testService(t)
	e, secret := enroll(t, s, acme)
	now := time.Unix(1_700_000_017, 0)
	counter, ok := s.Verify(acme, e, appCode(t, secret, now), now)
	if !ok || counter != 1_700_000_017/30 {
		t.Fatalf("got (%d, %v), want (%d, true)", counter, ok, 1_700_000_017/30)
	}
}

// TestDriftWindowEdges_R26: with the server's clock at the first and at the
// last second of its step, codes of the steps one either side are accepted
// and two away refused.
func TestDriftWindowEdges_R26(t *testing.T) {
	s := testService(t)
	s.Rand = &counting{} // a fixed seed: no ±2 code equals an accepted one by chance
	e, secret := enroll(t, s, acme)
	const step = 56_666_667
	for _, server := range []time.Time{time.Unix(step*30, 0), time.Unix(step*30+29, 999_999_999)} {
		for delta := int64(-2); delta <= 2; delta++ {
			phone := time.Unix((step+delta)*30+15, 0)
			code := appCode(t, secret, phone)
			counter, ok := s.Verify(acme, e, code, server)
			wantOK := delta >= -1 && delta <= 1
			if ok != wantOK {
				t.Errorf("server %v, phone step %+d: ok=%v, want %v", server.Unix(), delta, ok, wantOK)
			}
			if ok && counter != step+delta {
				t.Errorf("server %v, phone step %+d: counter %d, want %d", server.Unix(), delta, counter, step+delta)
			}
		}
	}
}

// TestSameStepTwiceRefused_R26: once the caller stored the counter as
// LastCounter, the same code (and one of an earlier step) is a replay;
// the next step's code is accepted.
func TestSameStepTwiceRefused_R26(t *testing.T) {
	s := testService(t)
	e, secret := enroll(t, s, acme)
	now := time.Unix(1_700_000_040, 0)
	code := appCode(t, secret, now)
	counter, ok := s.Verify(acme, e, code, now)
	if !ok {
		t.Fatal("first use refused")
	}
	e.LastCounter = counter
	if _, ok := s.Verify(acme, e, code, now); ok {
		t.Error("same code accepted twice")
	}
	if _, err := s.Check(acme, e, code, now.Add(20*time.Second)); !errors.Is(err, ErrReplay) {
		t.Errorf("replay a few seconds later: err %v, want ErrReplay", err)
	}
	if _, err := s.Check(acme, e, appCode(t, secret, now.Add(-30*time.Second)), now); !errors.Is(err, ErrReplay) {
		t.Errorf("earlier step's code: err %v, want ErrReplay", err)
	}
	next := now.Add(30 * time.Second)
	if c, ok := s.Verify(acme, e, appCode(t, secret, next), next); !ok || c != counter+1 {
		t.Errorf("next step: got (%d, %v), want (%d, true)", c, ok, counter+1)
	}
}

// TestMatchPrefersLatestStep_R26: when two steps in the window have the same
// code, the latest is returned, so the code cannot be used again for the
// other one.
func TestMatchPrefersLatestStep_R26(t *testing.T) {
	codes := [2*Drift + 1]string{"111111", "222222", "111111"}
	c, err := match(codes, 10, "111111", 0)
	if err != nil || c != 12 {
		t.Fatalf("got (%d, %v), want (12, nil)", c, err)
	}
	if _, err := match(codes, 10, "111111", 12); !errors.Is(err, ErrReplay) {
		t.Errorf("after storing 12: err %v, want ErrReplay", err)
	}
	if c, err := match(codes, 10, "111111", 10); err != nil || c != 12 {
		t.Errorf("LastCounter 10: got (%d, %v), want (12, nil)", c, err)
	}
	if _, err := match(codes, 10, "333333", 0); !errors.Is(err, ErrWrong) {
		t.Errorf("no match: err %v, want ErrWrong", err)
	}
	if _, err := match([2*Drift + 1]string{"", "222222", "333333"}, -1, "", -5); !errors.Is(err, ErrWrong) {
		t.Errorf("empty code matched a missing step: %v", err)
	}
}

// TestInputNormalised_R26: white space is removed; anything else that is not
// exactly six ASCII digits is refused.
func TestInputNormalised_R26(t *testing.T) {
	s := testService(t)
	e, secret := enroll(t, s, acme)
	now := time.Unix(1_700_000_100, 0)
	code := appCode(t, secret, now)
	for _, in := range []string{code, " " + code + "\n", code[:3] + " " + code[3:], code[:3] + "\u00a0" + code[3:], "\t" + strings.Join(strings.Split(code, ""), " ")} {
		if _, ok := s.Verify(acme, e, in, now); !ok {
			t.Errorf("%q refused", in)
		}
	}
	for _, in := range []string{"", code[:5], code + "0", "0" + code, code[:3] + "-" + code[3:], "１２３４５６", code[:5] + "x", strings.Repeat(" ", 100) + code} {
		if _, ok := s.Verify(acme, e, in, now); ok {
			t.Errorf("%q accepted", in)
		}
	}
}

// TestSeedSealedAtRest_R26: the stored seed is 160 random bits drawn from
// Rand, is not in the sealed bytes (raw or base32), and does not open or
// verify under another tenant.
func TestSeedSealedAtRest_R26(t *testing.T) {
	s := testService(t)
	s.Rand = &counting{}
	e, secret := enroll(t, s, acme)
	seed, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, SeedSize)
	_, _ = io.ReadFull(&counting{}, want)
	if !bytes.Equal(seed, want) || len(seed)*8 != 160 {
		t.Fatalf("seed %x, want the first 20 bytes of Rand", seed)
	}
	if bytes.Contains(e.Seed, seed) || bytes.Contains(bytes.ToUpper(e.Seed), []byte(secret)) {
		t.Error("sealed seed contains the raw seed")
	}
	opened, err := s.Sealer.OpenSeed(acme.ID, e.Seed)
	if err != nil || !bytes.Equal(opened, seed) {
		t.Fatalf("open under own tenant: %x, %v", opened, err)
	}
	if _, err := s.Sealer.OpenSeed(other.ID, e.Seed); !errors.Is(err, ErrOpen) {
		t.Errorf("open under another tenant: err %v, want ErrOpen", err)
	}
	now := s.Now()
	if _, ok := s.Verify(other, e, appCode(t, secret, now), now); ok {
		t.Error("verified under another tenant")
	}
	tampered := bytes.Clone(e.Seed)
	tampered[len(tampered)-1] ^= 1
	if _, err := s.Check(acme, tenants.TOTPEnrollment{Seed: tampered}, appCode(t, secret, now), now); !errors.Is(err, ErrOpen) {
		t.Errorf("tampered seed: err %v, want ErrOpen", err)
	}
	if e2, _ := enroll(t, testService(t), acme); bytes.Equal(e2.Seed, e.Seed) {
		t.Error("two enrollments sealed to the same bytes")
	}
}

// TestSealerKeySeparation: a different key does not open the seed, and the
// key must be 32 bytes.
func TestSealerKeySeparation(t *testing.T) {
	sealed, err := testSealer(t).SealSeed(acme.ID, []byte("0123456789abcdefghij"))
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := NewSealer(bytes.Repeat([]byte{7}, KeySize), nil)
	if _, err := otherKey.OpenSeed(acme.ID, sealed); !errors.Is(err, ErrOpen) {
		t.Errorf("other key: err %v, want ErrOpen", err)
	}
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := NewSealer(make([]byte, n), nil); err == nil {
			t.Errorf("%d-byte key accepted", n)
		}
	}
	for _, blob := range [][]byte{nil, {1}, append([]byte{2}, sealed[1:]...)} {
		if _, err := testSealer(t).OpenSeed(acme.ID, blob); !errors.Is(err, ErrOpen) {
			t.Errorf("blob %x: err %v, want ErrOpen", blob, err)
		}
	}
}

// TestURIRoundTrip_R26: the URI parses back with otp.NewKeyFromURL to the
// same secret and the RFC 6238 parameters, labelled with the issuer.
func TestURIRoundTrip_R26(t *testing.T) {
	s := testService(t)
	e, uri, key := newKey(t, s, acme)
	seed, err := s.Sealer.OpenSeed(acme.ID, e.Seed)
	if err != nil {
		t.Fatal(err)
	}
	if got := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(seed); key.Secret() != got {
		t.Errorf("URI secret %q, sealed seed %q", key.Secret(), got)
	}
	if !strings.HasPrefix(uri, "otpauth://totp/Acme%20IT:ann@acme.example?") {
		t.Errorf("label: %s", uri)
	}
	if key.Type() != "totp" || key.Issuer() != "Acme IT" || key.AccountName() != "ann@acme.example" ||
		key.Period() != 30 || key.Digits() != otp.DigitsSix || key.Algorithm() != otp.AlgorithmSHA1 {
		t.Errorf("key %s: type %s issuer %q account %q period %d digits %v alg %v", uri, key.Type(), key.Issuer(), key.AccountName(), key.Period(), key.Digits(), key.Algorithm())
	}
	for _, p := range []string{"issuer=Acme%20IT", "algorithm=SHA1", "digits=6", "period=30", "secret=" + key.Secret()} {
		if !strings.Contains(uri, p) {
			t.Errorf("URI lacks %s: %s", p, uri)
		}
	}
	if !e.CreatedAt.Equal(s.Now()) || e.LastCounter != 0 {
		t.Errorf("CreatedAt %v LastCounter %d", e.CreatedAt, e.LastCounter)
	}
}

// TestIssuer: Service.Issuer, else display name, else name, else slug;
// colons (the label separator) do not survive.
func TestIssuer(t *testing.T) {
	for _, c := range []struct {
		issuer string
		tn     tenants.Tenant
		want   string
	}{
		{"Latch: Portal", *acme, "Latch Portal"},
		{"", *acme, "Acme IT"},
		{"", tenants.Tenant{ID: "x", Name: "Beta: Inc", Slug: "beta"}, "Beta Inc"},
		{"", tenants.Tenant{ID: "x", Slug: "gamma"}, "gamma"},
		{" : ", tenants.Tenant{ID: "x"}, "Latchkey"},
	} {
		s := testService(t)
		s.Issuer = c.issuer
		_, uri, err := s.New(&c.tn, "bob")
		if err != nil {
			t.Fatal(err)
		}
		key, _ := otp.NewKeyFromURL(uri)
		if key.Issuer() != c.want || key.AccountName() != "bob" {
			t.Errorf("issuer %q tenant %+v: got issuer %q account %q, want %q", c.issuer, c.tn, key.Issuer(), key.AccountName(), c.want)
		}
	}
}

// TestNewErrors: bad account names, a missing sealer or tenant, and a failing
// random source are errors, not panics.
func TestNewErrors(t *testing.T) {
	s := testService(t)
	for _, a := range []string{"", "  ", "ACME:ann"} {
		if _, _, err := s.New(acme, a); !errors.Is(err, ErrAccount) {
			t.Errorf("account %q: err %v, want ErrAccount", a, err)
		}
	}
	if _, _, err := s.New(nil, "ann"); !errors.Is(err, ErrConfig) {
		t.Errorf("nil tenant: %v", err)
	}
	if _, _, err := (&Service{}).New(acme, "ann"); !errors.Is(err, ErrConfig) {
		t.Errorf("no sealer: %v", err)
	}
	s.Rand = failing{}
	if _, _, err := s.New(acme, "ann"); err == nil || !strings.Contains(err.Error(), "no entropy") {
		t.Errorf("failing Rand: %v", err)
	}
	if _, err := (&Service{}).Check(acme, tenants.TOTPEnrollment{}, "123456", time.Now()); !errors.Is(err, ErrConfig) {
		t.Errorf("Check without sealer: %v", err)
	}
}

// TestStepAt: floor division, also before 1970.
func TestStepAt(t *testing.T) {
	for _, c := range []struct{ unix, want int64 }{{0, 0}, {29, 0}, {30, 1}, {59, 1}, {-1, -1}, {-30, -1}, {-31, -2}} {
		if got := stepAt(time.Unix(c.unix, 0)); got != c.want {
			t.Errorf("stepAt(%d) = %d, want %d", c.unix, got, c.want)
		}
	}
}
