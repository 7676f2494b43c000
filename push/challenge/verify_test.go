package challenge

import (
	"crypto/ecdsa"
	"errors"
	"testing"
	"time"
)

// TestR28WrongNumberRefused: an approval with a wrong or missing number is
// refused and ends the challenge denied, so the number cannot be guessed by
// trying again; the right number afterwards is refused too.
func TestR28WrongNumberRefused(t *testing.T) {
	for name, number := range map[string]int{"wrong": -1, "missing": 0} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			s := f.service(t)
			c := s.push(t, f)
			n := number
			if n < 0 {
				n = 10 + (c.Number-10+1)%90 // another two-digit number
			}
			got, err := s.Respond(t.Context(), tenantA, c.CID, f.dev, f.answer(t, c, DecisionApprove, n))
			if !errors.Is(err, ErrWrongNumber) {
				t.Fatalf("err %v", err)
			}
			if got.State != StateDenied || got.Reason != ReasonWrongNumber {
				t.Errorf("state %s reason %s", got.State, got.Reason)
			}
			_, err = s.Respond(t.Context(), tenantA, c.CID, f.dev, f.answer(t, c, DecisionApprove, c.Number))
			if !errors.Is(err, ErrAlreadyAnswered) {
				t.Errorf("right number after a wrong one: err %v", err)
			}
		})
	}
}

// TestR28R30CorrectNumberAcceptedOnce: the right number approves, once; a
// second answer (the same one replayed, or a new one) is refused.
func TestR28R30CorrectNumberAcceptedOnce(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	c := s.push(t, f)
	a := f.answer(t, c, DecisionApprove, c.Number)
	got, err := s.Respond(t.Context(), tenantA, c.CID, f.dev, a)
	if err != nil || got.State != StateApproved || got.Reason != ReasonApproved || !got.AnsweredAt.Equal(f.clock.Now()) {
		t.Fatalf("approve: %+v, %v", got, err)
	}
	stored, _ := s.store.Get(t.Context(), tenantA, c.CID)
	if stored.State != StateApproved {
		t.Errorf("stored state %s", stored.State)
	}
	f.clock.Advance(time.Second)
	for name, again := range map[string]SignedAnswer{
		"replayed": a,
		"new deny": f.answer(t, c, DecisionDeny, 0),
		"new one":  f.answer(t, c, DecisionApprove, c.Number),
	} {
		if _, err := s.Respond(t.Context(), tenantA, c.CID, f.dev, again); !errors.Is(err, ErrAlreadyAnswered) {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

// TestR30Lifetime: answerable for 120 s: at 119 s accepted, at 121 s
// refused (and the challenge is then expired).
func TestR30Lifetime(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	c := s.push(t, f)
	f.clock.Advance(119 * time.Second)
	if _, err := s.Respond(t.Context(), tenantA, c.CID, f.dev, f.answer(t, c, DecisionApprove, c.Number)); err != nil {
		t.Errorf("at 119 s: %v", err)
	}

	f = newFixture(t)
	s = f.service(t)
	c = s.push(t, f)
	f.clock.Advance(121 * time.Second)
	got, err := s.Respond(t.Context(), tenantA, c.CID, f.dev, f.answer(t, c, DecisionApprove, c.Number))
	if !errors.Is(err, ErrExpired) {
		t.Fatalf("at 121 s: err %v", err)
	}
	if got.State != StateExpired {
		t.Errorf("at 121 s: state %s", got.State)
	}
	// An answer signed in time but arriving late is refused as well.
	f = newFixture(t)
	s = f.service(t)
	c = s.push(t, f)
	f.clock.Advance(100 * time.Second)
	a := f.answer(t, c, DecisionApprove, c.Number)
	f.clock.Advance(21 * time.Second)
	if _, err := s.Respond(t.Context(), tenantA, c.CID, f.dev, a); !errors.Is(err, ErrExpired) {
		t.Errorf("signed at 100 s, arriving at 121 s: err %v", err)
	}
}

func TestR30ShorterLifetime(t *testing.T) {
	f := newFixture(t)
	is, err := NewIssuer(Config{Lifetime: 30 * time.Second, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.issuer = is
	s := f.service(t)
	c := s.push(t, f)
	f.clock.Advance(31 * time.Second)
	if _, err := s.Respond(t.Context(), tenantA, c.CID, f.dev, f.answer(t, c, DecisionApprove, c.Number)); !errors.Is(err, ErrExpired) {
		t.Errorf("at 31 s of 30: err %v", err)
	}
}

// TestR31SignatureRefusals: replayed, tampered, unsigned and other
// devices', users' and tenants' answers are refused and leave the
// challenge pending.
func TestR31SignatureRefusals(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	c := s.push(t, f)
	good := f.answer(t, c, DecisionApprove, c.Number)

	// Another challenge of the same user and device, answered and replayed.
	f.clock.Advance(30 * time.Second)
	other := s.push(t, f)
	otherAnswer := f.answer(t, other, DecisionApprove, other.Number)

	otherKey := newKey(t)
	signWith := func(k *ecdsa.PrivateKey, keyID string) SignedAnswer {
		a, err := Sign(k, Response{CID: c.CID, Decision: DecisionApprove, Number: c.Number, KeyID: keyID, TS: f.clock.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tampered := func(mutate func(p []byte)) SignedAnswer {
		p := append([]byte(nil), good.Payload...)
		mutate(p)
		return SignedAnswer{Payload: p, Signature: good.Signature}
	}
	otherDevice := f.dev
	otherDevice.DeviceID, otherDevice.KeyID, otherDevice.PublicKey = "device-2", "key-2", &otherKey.PublicKey
	otherUser := otherDevice
	otherUser.UserID = "user-2"
	otherTenant := otherDevice
	otherTenant.Tenant = tenantB
	sameIDsOtherKey := f.dev
	sameIDsOtherKey.PublicKey = &otherKey.PublicKey

	cases := []struct {
		name string
		dev  Device
		a    SignedAnswer
		want error
	}{
		{"other challenge's answer replayed", f.dev, otherAnswer, ErrWrongChallenge},
		{"tampered number", f.dev, tampered(func(p []byte) { flipDigit(p, len(p)-len(`,"ts":"2026-03-01T12:00:30Z"}`)-1) }), ErrBadSignature},
		{"tampered ts", f.dev, tampered(func(p []byte) { flipDigit(p, len(p)-len(`0Z"}`)) }), ErrBadSignature},
		{"tampered cid", f.dev, tampered(func(p []byte) { flipDigit(p, len(`{"cid":"`)) }), ErrBadSignature},
		{"tampered signature", f.dev, SignedAnswer{Payload: good.Payload, Signature: append(append([]byte(nil), good.Signature[:len(good.Signature)-1]...), good.Signature[len(good.Signature)-1]^1)}, ErrBadSignature},
		{"unsigned", f.dev, SignedAnswer{Payload: good.Payload}, ErrBadSignature},
		{"signed by another device's key, claiming ours", f.dev, signWith(otherKey, f.dev.KeyID), ErrBadSignature},
		{"another device of the same user", otherDevice, signWith(otherKey, "key-2"), ErrWrongDevice},
		{"a device of another user", otherUser, signWith(otherKey, "key-2"), ErrWrongDevice},
		{"a device of another tenant", otherTenant, signWith(otherKey, "key-2"), ErrWrongDevice},
		{"our device record with another key", sameIDsOtherKey, good, ErrBadSignature},
		{"key id not the device's", f.dev, signWith(f.key, "key-9"), ErrWrongDevice},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Respond(t.Context(), tenantA, c.CID, tc.dev, tc.a)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			stored, _ := s.store.Get(t.Context(), tenantA, c.CID)
			if stored.State != StatePending {
				t.Errorf("state %s after a refused answer", stored.State)
			}
		})
	}
	// The challenge is not visible from another tenant.
	if _, err := s.Respond(t.Context(), tenantB, c.CID, otherTenant, good); !errors.Is(err, ErrNotFound) {
		t.Errorf("other tenant's cid lookup: %v", err)
	}
	// And the genuine answer still works.
	if _, err := s.Respond(t.Context(), tenantA, c.CID, f.dev, good); err != nil {
		t.Errorf("genuine answer: %v", err)
	}
}

// TestR34StaleTimestamp: a ts more than 60 s from the server's clock is
// refused, either way.
func TestR34StaleTimestamp(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	c := s.push(t, f)
	f.clock.Advance(61 * time.Second)
	sign := func(ts time.Time) SignedAnswer {
		a, err := Sign(f.key, Response{CID: c.CID, Decision: DecisionApprove, Number: c.Number, KeyID: f.dev.KeyID, TS: ts})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	now := f.clock.Now()
	for name, ts := range map[string]time.Time{
		"61 s old":           now.Add(-61 * time.Second),
		"61 s in the future": now.Add(61 * time.Second),
		"an hour old":        now.Add(-time.Hour),
	} {
		if _, err := s.Respond(t.Context(), tenantA, c.CID, f.dev, sign(ts)); !errors.Is(err, ErrStaleTimestamp) {
			t.Errorf("%s: err %v", name, err)
		}
	}
	if _, err := s.Respond(t.Context(), tenantA, c.CID, f.dev, sign(now.Add(-60*time.Second))); err != nil {
		t.Errorf("60 s old: %v", err)
	}
}

func TestDenyAndReport(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	c := s.push(t, f)
	got, err := s.Respond(t.Context(), tenantA, c.CID, f.dev, f.answer(t, c, DecisionDeny, 0))
	if err != nil || got.State != StateDenied || got.Reason != ReasonDenied {
		t.Fatalf("deny: %+v, %v", got, err)
	}
	f.clock.Advance(time.Minute)
	c = s.push(t, f)
	got, err = s.Respond(t.Context(), tenantA, c.CID, f.dev, f.answer(t, c, DecisionReport, 0))
	if err != nil || got.State != StateReported {
		t.Fatalf("report: %+v, %v", got, err)
	}
}

func TestNumberMatchingOff(t *testing.T) {
	f := newFixture(t)
	is, _ := NewIssuer(Config{DisableNumberMatching: true, Now: f.clock.Now})
	f.issuer = is
	s := f.service(t)
	c := s.push(t, f)
	if _, err := s.Respond(t.Context(), tenantA, c.CID, f.dev, f.answer(t, c, DecisionApprove, 0)); err != nil {
		t.Errorf("approve without number: %v", err)
	}
}

// flipDigit changes the decimal or hex digit at p[i] to another one, so the
// payload stays well-formed and canonical but differs from what was signed.
func flipDigit(p []byte, i int) {
	if p[i] == '1' {
		p[i] = '2'
	} else {
		p[i] = '1'
	}
}
