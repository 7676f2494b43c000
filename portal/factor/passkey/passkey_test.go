package passkey

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// creationOptions is the part of BeginRegistration's JSON the tests check.
type creationOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		Timeout   int    `json:"timeout"`
		RP        struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"rp"`
		User struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"user"`
		AuthenticatorSelection struct {
			ResidentKey      string `json:"residentKey"`
			UserVerification string `json:"userVerification"`
		} `json:"authenticatorSelection"`
		ExcludeCredentials []struct {
			ID string `json:"id"`
		} `json:"excludeCredentials"`
	} `json:"publicKey"`
}

type requestOptions struct {
	PublicKey struct {
		Challenge        string `json:"challenge"`
		RPID             string `json:"rpId"`
		UserVerification string `json:"userVerification"`
		AllowCredentials []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
	} `json:"publicKey"`
}

func decodeChallenge(t *testing.T, s string) []byte {
	t.Helper()
	c, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("challenge %q: %v", s, err)
	}
	return c
}

func TestRegisterThenLogin_R35(t *testing.T) {
	s, clk := newService()
	u := newUser(t, s, "ann@acme.example")
	d := newDevice(u)

	optsJSON, sess, err := s.BeginRegistration(acme, u)
	if err != nil {
		t.Fatal(err)
	}
	var co creationOptions
	if err := json.Unmarshal(optsJSON, &co); err != nil {
		t.Fatal(err)
	}
	pk := co.PublicKey
	if pk.RP.ID != acme.ID || pk.RP.Name != "Acme" || pk.User.Name != u.Name {
		t.Errorf("rp/user in options = %+v %+v", pk.RP, pk.User)
	}
	if pk.AuthenticatorSelection.UserVerification != "required" || pk.AuthenticatorSelection.ResidentKey != "preferred" {
		t.Errorf("authenticatorSelection = %+v, want UV required, resident key preferred", pk.AuthenticatorSelection)
	}
	if pk.Timeout != int(Timeout.Milliseconds()) {
		t.Errorf("timeout = %d ms, want %d", pk.Timeout, Timeout.Milliseconds())
	}
	if got := decodeChallenge(t, pk.Challenge); len(got) != ChallengeSize {
		t.Errorf("challenge is %d bytes, want %d", len(got), ChallengeSize)
	}

	clk.t = clk.t.Add(time.Minute)
	cred, err := s.FinishRegistration(acme, u, sess, d.attest(t, acme, optsJSON))
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	if !bytes.Equal(cred.ID, d.cred.ID) || len(cred.PublicKey) == 0 || !cred.CreatedAt.Equal(clk.t) || len(cred.AAGUID) != 16 {
		t.Fatalf("credential = %+v", cred)
	}

	// The caller stores the credential as JSON; use the round-tripped copy.
	raw, err := json.Marshal(cred)
	if err != nil {
		t.Fatal(err)
	}
	var stored Credential
	if err := json.Unmarshal(raw, &stored); err != nil {
		t.Fatal(err)
	}
	stored.Name = "test key"
	u.Credentials = []Credential{stored}

	// A second registration excludes the existing credential.
	optsJSON, _, err = s.BeginRegistration(acme, u)
	if err != nil {
		t.Fatal(err)
	}
	co = creationOptions{}
	if err := json.Unmarshal(optsJSON, &co); err != nil {
		t.Fatal(err)
	}
	if len(co.PublicKey.ExcludeCredentials) != 1 || co.PublicKey.ExcludeCredentials[0].ID != base64.RawURLEncoding.EncodeToString(cred.ID) {
		t.Errorf("excludeCredentials = %+v", co.PublicKey.ExcludeCredentials)
	}

	for _, requireUV := range []bool{false, true} {
		t.Run(fmt.Sprintf("requireUV=%v", requireUV), func(t *testing.T) {
			d.cred.Counter++
			optsJSON, sess, err := s.BeginLogin(acme, &u, requireUV)
			if err != nil {
				t.Fatal(err)
			}
			var ro requestOptions
			if err := json.Unmarshal(optsJSON, &ro); err != nil {
				t.Fatal(err)
			}
			wantUV := map[bool]string{false: "preferred", true: "required"}[requireUV]
			if ro.PublicKey.RPID != acme.ID || ro.PublicKey.UserVerification != wantUV || len(ro.PublicKey.AllowCredentials) != 1 {
				t.Errorf("request options = %+v", ro.PublicKey)
			}
			if got := decodeChallenge(t, ro.PublicKey.Challenge); len(got) != ChallengeSize {
				t.Errorf("challenge is %d bytes, want %d", len(got), ChallengeSize)
			}
			clk.t = clk.t.Add(time.Minute)
			res, err := s.FinishLogin(acme, nil, &u, sess, d.assert(t, acme, optsJSON))
			if err != nil {
				t.Fatalf("FinishLogin: %v", err)
			}
			if !bytes.Equal(res.UserHandle, u.ID) || !res.UserVerified || res.CloneWarning {
				t.Errorf("assertion = %+v", res)
			}
			c := res.Credential
			if c.SignCount != d.cred.Counter || !c.LastUsedAt.Equal(clk.t) || c.Name != "test key" || !c.CreatedAt.Equal(stored.CreatedAt) {
				t.Errorf("updated credential = %+v, want sign count %d, last used %v", c, d.cred.Counter, clk.t)
			}
			u.Credentials = []Credential{c}
		})
	}
}

// Begin takes the challenge from Service.Rand, 32 bytes of it, fresh for
// every ceremony (R35).
func TestChallengeComesFromRand_R35(t *testing.T) {
	seq := bytes.Repeat([]byte{0xA5}, 3*ChallengeSize)
	for i := range seq {
		seq[i] = byte(i)
	}
	s := &Service{Now: (&clock{t: t0}).Now, Rand: bytes.NewReader(seq)}
	u := User{ID: []byte("user-1"), Name: "ann"}
	var seen []string
	for range 3 {
		optsJSON, _, err := s.BeginLogin(acme, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		var ro requestOptions
		if err := json.Unmarshal(optsJSON, &ro); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, ro.PublicKey.Challenge)
	}
	for i, c := range seen {
		want := seq[i*ChallengeSize : (i+1)*ChallengeSize]
		if got := decodeChallenge(t, c); !bytes.Equal(got, want) {
			t.Errorf("challenge %d = %x, want %x", i, got, want)
		}
	}
	// Rand exhausted: Begin fails rather than using a weaker challenge.
	if _, _, err := s.BeginRegistration(acme, u); err == nil {
		t.Error("BeginRegistration with an exhausted Rand succeeded")
	}
}

func TestWrongOriginRefused_R35(t *testing.T) {
	s, _ := newService()
	u := newUser(t, s, "ann")
	d := newDevice(u)
	wrong := []RP{
		{ID: acme.ID, Origin: "http://evil.localhost:8080"},
		{ID: acme.ID, Origin: "http://acme.localhost:8081"},  // other port
		{ID: acme.ID, Origin: "https://acme.localhost:8080"}, // other scheme
	}
	for _, client := range wrong {
		opts, sess, err := s.BeginRegistration(acme, u)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.FinishRegistration(acme, u, sess, d.attest(t, client, opts)); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "origin") {
			t.Errorf("registration from %s: err = %v, want ErrRefused about the origin", client.Origin, err)
		}
	}
	u = register(t, s, acme, u, d)
	for _, client := range wrong {
		opts, sess, err := s.BeginLogin(acme, &u, false)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.FinishLogin(acme, nil, &u, sess, d.assert(t, client, opts))
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "origin") {
			t.Errorf("login from %s: err = %v, want ErrRefused about the origin", client.Origin, err)
		}
	}
}

func TestOtherTenantRPIDRefused_R35(t *testing.T) {
	s, _ := newService()
	u := newUser(t, s, "ann")
	d := newDevice(u)
	// The browser is at acme's origin but the authenticator signs for
	// globex's RP ID (rpIdHash = SHA-256("globex.localhost")).
	otherRPID := RP{ID: globex.ID, Origin: acme.Origin}

	opts, sess, err := s.BeginRegistration(acme, u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishRegistration(acme, u, sess, d.attest(t, otherRPID, opts)); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "RP Hash mismatch") {
		t.Errorf("registration with globex rpIdHash at acme: err = %v, want ErrRefused for the RP hash", err)
	}

	u = register(t, s, acme, u, d)
	opts, sess, err = s.BeginLogin(acme, &u, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishLogin(acme, nil, &u, sess, d.assert(t, otherRPID, opts)); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "RP Hash mismatch") {
		t.Errorf("assertion with globex rpIdHash at acme: err = %v, want ErrRefused for the RP hash", err)
	}
	resp := d.assert(t, acme, opts)

	// A fully valid globex ceremony (globex session, globex response) is
	// refused when finished at acme: the session belongs to globex.
	gs, gresp := login(t, s, globex, &u, false, d)
	if _, err := s.FinishLogin(acme, nil, &u, gs, gresp); !errors.Is(err, ErrSession) {
		t.Errorf("globex session finished at acme: err = %v, want ErrSession", err)
	}
	// An acme session cannot be finished as globex either.
	if _, err := s.FinishLogin(globex, nil, &u, sess, resp); !errors.Is(err, ErrSession) {
		t.Errorf("acme session finished at globex: err = %v, want ErrSession", err)
	}
	// Control: the same acme ceremony answered for acme passes.
	if _, err := s.FinishLogin(acme, nil, &u, sess, resp); err != nil {
		t.Fatalf("control: the genuine acme assertion should pass: %v", err)
	}
}

func TestUserVerificationRequired_R35(t *testing.T) {
	s, _ := newService()
	u := newUser(t, s, "ann")
	noUV := newDevice(u)
	noUV.auth.Options.UserNotVerified = true

	// Registration always requires UV.
	opts, sess, err := s.BeginRegistration(acme, u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishRegistration(acme, u, sess, noUV.attest(t, acme, opts)); !errors.Is(err, ErrUserVerification) {
		t.Errorf("registration with UV=0: err = %v, want ErrUserVerification", err)
	}

	d := newDevice(u)
	u = register(t, s, acme, u, d)
	d.auth.Options.UserNotVerified = true

	// Reset (requireUV): UV=0 refused.
	sess, resp := login(t, s, acme, &u, true, d)
	if _, err := s.FinishLogin(acme, nil, &u, sess, resp); !errors.Is(err, ErrUserVerification) {
		t.Errorf("requireUV login with UV=0: err = %v, want ErrUserVerification", err)
	}
	// Also for a discoverable reset.
	sess, resp = login(t, s, acme, nil, true, d)
	lookup := func([]byte) (User, error) { return u, nil }
	if _, err := s.FinishLogin(acme, lookup, nil, sess, resp); !errors.Is(err, ErrUserVerification) {
		t.Errorf("requireUV discoverable login with UV=0: err = %v, want ErrUserVerification", err)
	}
	// Not a reset: UV preferred, UV=0 accepted and reported.
	sess, resp = login(t, s, acme, &u, false, d)
	res, err := s.FinishLogin(acme, nil, &u, sess, resp)
	if err != nil {
		t.Fatalf("UV-preferred login with UV=0: %v", err)
	}
	if res.UserVerified {
		t.Error("UserVerified = true for an assertion with UV=0")
	}
}

// takeOnce is the caller's side of single use: a store whose Take deletes
// the session it returns, atomically, as the flow engine's conditional
// update does.
type takeOnce struct {
	mu sync.Mutex
	m  map[string]Session
}

func (s *takeOnce) Put(k string, v Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]Session{}
	}
	s.m[k] = v
}

func (s *takeOnce) Take(k string) (Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	delete(s.m, k)
	return v, ok
}

func TestReusedChallengeRefused_R35(t *testing.T) {
	s, clk := newService()
	u := newUser(t, s, "ann")
	d := newDevice(u)
	u = register(t, s, acme, u, d)

	t.Run("caller consumes the session", func(t *testing.T) {
		var store takeOnce
		opts, sess, err := s.BeginLogin(acme, &u, true)
		if err != nil {
			t.Fatal(err)
		}
		store.Put("flow-1", sess)
		finish := func() error {
			sess, ok := store.Take("flow-1")
			if !ok {
				return errors.New("no pending passkey ceremony")
			}
			d.cred.Counter++ // a new, validly signed assertion each time
			_, err := s.FinishLogin(acme, nil, &u, sess, d.assert(t, acme, opts))
			return err
		}
		if err := finish(); err != nil {
			t.Fatalf("first use: %v", err)
		}
		if err := finish(); err == nil {
			t.Fatal("second use of the same challenge succeeded")
		}
	})

	t.Run("package alone does not consume it", func(t *testing.T) {
		// Documents the contract: within Timeout the package verifies a
		// replayed Session again, so the caller's delete is required.
		opts, sess, err := s.BeginLogin(acme, &u, true)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			d.cred.Counter++
			res, err := s.FinishLogin(acme, nil, &u, sess, d.assert(t, acme, opts))
			if err != nil {
				t.Fatalf("use %d: %v", i, err)
			}
			u.Credentials = []Credential{res.Credential}
		}
	})

	t.Run("expired session refused", func(t *testing.T) {
		opts, sess, err := s.BeginLogin(acme, &u, true)
		if err != nil {
			t.Fatal(err)
		}
		d.cred.Counter++
		resp := d.assert(t, acme, opts)
		start := clk.t
		defer func() { clk.t = start }()
		clk.t = start.Add(Timeout)
		if _, err := s.FinishLogin(acme, nil, &u, sess, resp); !errors.Is(err, ErrExpired) {
			t.Errorf("at Timeout: err = %v, want ErrExpired", err)
		}
		clk.t = start.Add(Timeout - time.Second)
		if _, err := s.FinishLogin(acme, nil, &u, sess, resp); err != nil {
			t.Errorf("just before Timeout: %v", err)
		}
	})

	t.Run("expired registration refused", func(t *testing.T) {
		d2 := newDevice(u)
		opts, sess, err := s.BeginRegistration(acme, u)
		if err != nil {
			t.Fatal(err)
		}
		start := clk.t
		defer func() { clk.t = start }()
		clk.t = start.Add(Timeout + time.Hour)
		if _, err := s.FinishRegistration(acme, u, sess, d2.attest(t, acme, opts)); !errors.Is(err, ErrExpired) {
			t.Errorf("err = %v, want ErrExpired", err)
		}
	})

	t.Run("assertion bound to its own challenge", func(t *testing.T) {
		opts1, _, err := s.BeginLogin(acme, &u, true)
		if err != nil {
			t.Fatal(err)
		}
		_, sess2, err := s.BeginLogin(acme, &u, true)
		if err != nil {
			t.Fatal(err)
		}
		d.cred.Counter++
		_, err = s.FinishLogin(acme, nil, &u, sess2, d.assert(t, acme, opts1))
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "challenge") {
			t.Errorf("assertion over challenge 1 with session 2: err = %v, want ErrRefused for the challenge", err)
		}
		var ro requestOptions
		if err2 := json.Unmarshal(opts1, &ro); err2 != nil {
			t.Fatal(err2)
		}
		if err != nil && strings.Contains(err.Error(), ro.PublicKey.Challenge) {
			t.Errorf("error message echoes the challenge: %v", err)
		}
	})
}

func TestSignCountRegression_R35(t *testing.T) {
	s, _ := newService()
	base := newUser(t, s, "ann")
	d := newDevice(base)
	base = register(t, s, acme, base, d)

	cases := []struct {
		stored, received uint32
		clone            bool
	}{
		{0, 0, false}, // authenticator without a counter
		{0, 1, false},
		{5, 6, false},
		{5, 5, true},
		{5, 3, true},
		{5, 0, true}, // go-webauthn: a non-zero stored count then 0 is also a warning
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d->%d", c.stored, c.received), func(t *testing.T) {
			u := base
			u.Credentials = []Credential{base.Credentials[0]}
			u.Credentials[0].SignCount = c.stored
			d.cred.Counter = c.received
			sess, resp := login(t, s, acme, &u, false, d)
			res, err := s.FinishLogin(acme, nil, &u, sess, resp)
			if res.CloneWarning != c.clone {
				t.Errorf("CloneWarning = %v, want %v (err %v)", res.CloneWarning, c.clone, err)
			}
			if c.clone {
				if !errors.Is(err, ErrCloneWarning) {
					t.Errorf("err = %v, want ErrCloneWarning", err)
				}
				if !bytes.Equal(res.Credential.ID, d.cred.ID) || res.Credential.SignCount != c.stored || !res.Credential.LastUsedAt.IsZero() {
					t.Errorf("flagged credential = %+v, want the stored one unchanged", res.Credential)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if res.Credential.SignCount != c.received {
				t.Errorf("SignCount = %d, want %d", res.Credential.SignCount, c.received)
			}
		})
	}
}

func TestPasswordlessLoginUsesLookup_R35(t *testing.T) {
	s, _ := newService()
	ann := newUser(t, s, "ann")
	d := newDevice(ann)
	ann = register(t, s, acme, ann, d)
	bob := newUser(t, s, "bob")
	bob = register(t, s, acme, bob, newDevice(bob))
	users := map[string]User{string(ann.ID): ann, string(bob.ID): bob}
	errNotFound := errors.New("no such user")
	var asked [][]byte
	lookup := func(h []byte) (User, error) {
		asked = append(asked, h)
		u, ok := users[string(h)]
		if !ok {
			return User{}, errNotFound
		}
		return u, nil
	}

	opts, sess, err := s.BeginLogin(acme, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	var ro requestOptions
	if err := json.Unmarshal(opts, &ro); err != nil {
		t.Fatal(err)
	}
	if len(ro.PublicKey.AllowCredentials) != 0 {
		t.Errorf("discoverable login lists credentials: %+v", ro.PublicKey.AllowCredentials)
	}
	d.cred.Counter = 1
	res, err := s.FinishLogin(acme, lookup, nil, sess, d.assert(t, acme, opts))
	if err != nil {
		t.Fatalf("FinishLogin: %v", err)
	}
	if !bytes.Equal(res.UserHandle, ann.ID) || !bytes.Equal(res.Credential.ID, d.cred.ID) || res.Credential.SignCount != 1 {
		t.Errorf("assertion = %+v, want ann's credential", res)
	}
	if len(asked) != 1 || !bytes.Equal(asked[0], ann.ID) {
		t.Errorf("lookup called with %x, want once with ann's handle", asked)
	}

	t.Run("unknown user handle", func(t *testing.T) {
		d.cred.Counter++
		stranger := *d
		stranger.auth.Options.UserHandle = []byte("nobody")
		sess, resp := login(t, s, acme, nil, false, &stranger)
		_, err := s.FinishLogin(acme, lookup, nil, sess, resp)
		if !errors.Is(err, ErrRefused) || !errors.Is(err, errNotFound) {
			t.Errorf("err = %v, want ErrRefused wrapping the lookup error", err)
		}
	})

	t.Run("handle of another user", func(t *testing.T) {
		// Ann's credential claiming to be Bob's: Bob does not own it.
		d.cred.Counter++
		claim := *d
		claim.auth.Options.UserHandle = bob.ID
		sess, resp := login(t, s, acme, nil, false, &claim)
		if _, err := s.FinishLogin(acme, lookup, nil, sess, resp); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "credential") {
			t.Errorf("err = %v, want ErrRefused: bob does not own the credential", err)
		}
	})

	t.Run("lookup returns a user with another ID", func(t *testing.T) {
		// A buggy lookup: the user it returns owns the credential but is
		// not the one the handle names.
		d.cred.Counter++
		sess, resp := login(t, s, acme, nil, false, d)
		wrongID := ann
		wrongID.ID = bob.ID
		bad := func([]byte) (User, error) { return wrongID, nil }
		if _, err := s.FinishLogin(acme, bad, nil, sess, resp); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "User handle") {
			t.Errorf("err = %v, want ErrRefused for the user handle", err)
		}
	})

	t.Run("misuse", func(t *testing.T) {
		sess, resp := login(t, s, acme, nil, false, d)
		if _, err := s.FinishLogin(acme, nil, nil, sess, resp); !errors.Is(err, ErrUser) {
			t.Errorf("discoverable without lookup: err = %v, want ErrUser", err)
		}
		if _, err := s.FinishLogin(acme, lookup, &ann, sess, resp); !errors.Is(err, ErrSession) {
			t.Errorf("discoverable with a user: err = %v, want ErrSession", err)
		}
		sess, resp = login(t, s, acme, &ann, false, d)
		if _, err := s.FinishLogin(acme, lookup, nil, sess, resp); !errors.Is(err, ErrUser) {
			t.Errorf("user login without the user: err = %v, want ErrUser", err)
		}
		if _, err := s.FinishLogin(acme, nil, &bob, sess, resp); !errors.Is(err, ErrSession) {
			t.Errorf("ann's login finished for bob: err = %v, want ErrSession", err)
		}
	})
}

func TestSessionKindAndIntegrity_R35(t *testing.T) {
	s, _ := newService()
	u := newUser(t, s, "ann")
	d := newDevice(u)
	_, regSess, err := s.BeginRegistration(acme, u)
	if err != nil {
		t.Fatal(err)
	}
	u = register(t, s, acme, u, d)
	loginSess, resp := login(t, s, acme, &u, false, d)

	if _, err := s.FinishLogin(acme, nil, &u, regSess, resp); !errors.Is(err, ErrSession) {
		t.Errorf("registration session used for login: err = %v, want ErrSession", err)
	}
	if _, err := s.FinishRegistration(acme, u, loginSess, resp); !errors.Is(err, ErrSession) {
		t.Errorf("login session used for registration: err = %v, want ErrSession", err)
	}
	for name, bad := range map[string]Session{
		"nil":      nil,
		"garbage":  Session("not json"),
		"unknown":  Session(`{"v":1,"kind":"login","rp_id":"acme.localhost","extra":1}`),
		"version":  Session(bytes.Replace(loginSess, []byte(`"v":1`), []byte(`"v":2`), 1)),
		"huge":     Session(bytes.Repeat([]byte(" "), maxSession+1)),
		"no-chal":  Session(`{"v":1,"kind":"login","rp_id":"acme.localhost","origin":"http://acme.localhost:8080","expires":"2030-01-01T00:00:00Z","data":{"challenge":"","rpId":"acme.localhost"}}`),
		"short-ch": Session(`{"v":1,"kind":"login","rp_id":"acme.localhost","origin":"http://acme.localhost:8080","expires":"2030-01-01T00:00:00Z","data":{"challenge":"AAAA","rpId":"acme.localhost"}}`),
	} {
		if _, err := s.FinishLogin(acme, nil, &u, bad, resp); !errors.Is(err, ErrSession) {
			t.Errorf("%s session: err = %v, want ErrSession", name, err)
		}
	}
	if _, err := s.FinishLogin(acme, nil, &u, loginSess, resp); err != nil {
		t.Errorf("control: the genuine session should pass: %v", err)
	}
}

func TestMalformedResponse(t *testing.T) {
	s, _ := newService()
	u := newUser(t, s, "ann")
	d := newDevice(u)
	u = register(t, s, acme, u, d)
	sess, good := login(t, s, acme, &u, false, d)
	for name, resp := range map[string][]byte{
		"empty":     nil,
		"not json":  []byte("hello"),
		"null":      []byte("null"),
		"array":     []byte("[]"),
		"object":    []byte("{}"),
		"truncated": good[:len(good)/2],
		"bad b64":   []byte(`{"id":"!!","rawId":"!!","type":"public-key","response":{"authenticatorData":"!!","clientDataJSON":"!!","signature":"!!"}}`),
		"huge":      bytes.Repeat([]byte("a"), maxResponse+1),
	} {
		_, err := s.FinishLogin(acme, nil, &u, sess, resp)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "passkey: malformed response") {
			t.Errorf("%s: message %q does not say what went wrong", name, err)
		}
		if _, err := s.FinishRegistration(acme, u, sess, resp); err == nil {
			t.Errorf("%s: FinishRegistration accepted it", name)
		}
	}
	_, regSess, err := s.BeginRegistration(acme, u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishRegistration(acme, u, regSess, []byte(`{"type":"public-key"}`)); !errors.Is(err, ErrMalformed) {
		t.Errorf("registration: err = %v, want ErrMalformed", err)
	}
}

func TestDuplicateRegistrationRefused(t *testing.T) {
	s, _ := newService()
	u := newUser(t, s, "ann")
	d := newDevice(u)
	u = register(t, s, acme, u, d)
	opts, sess, err := s.BeginRegistration(acme, u)
	if err != nil {
		t.Fatal(err)
	}
	// A client that ignores excludeCredentials re-registers the same one.
	if _, err := s.FinishRegistration(acme, u, sess, d.attest(t, acme, opts)); !errors.Is(err, ErrDuplicate) {
		t.Errorf("err = %v, want ErrDuplicate", err)
	}
}

func TestRegistrationForAnotherUserRefused(t *testing.T) {
	s, _ := newService()
	ann, bob := newUser(t, s, "ann"), newUser(t, s, "bob")
	opts, sess, err := s.BeginRegistration(acme, ann)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishRegistration(acme, bob, sess, newDevice(ann).attest(t, acme, opts)); !errors.Is(err, ErrSession) {
		t.Errorf("err = %v, want ErrSession", err)
	}
}

func TestRPValidation_R35(t *testing.T) {
	s, _ := newService()
	u := newUser(t, s, "ann")
	good := []RP{
		acme,
		{ID: "passwords.acme.com", Origin: "https://passwords.acme.com"},
		{ID: "passwords.acme.com", Origin: "https://passwords.acme.com:8443"},
		{ID: "localhost", Origin: "http://localhost:3000"},
	}
	for _, rp := range good {
		if _, _, err := s.BeginRegistration(rp, u); err != nil {
			t.Errorf("%+v: %v", rp, err)
		}
	}
	bad := []RP{
		{},
		{ID: "acme.localhost"},
		{ID: "acme.localhost:8080", Origin: "http://acme.localhost:8080"},
		{ID: "Acme.localhost", Origin: "http://Acme.localhost"},
		{ID: "acme.localhost", Origin: "http://globex.localhost:8080"},
		{ID: "localhost", Origin: "http://acme.localhost:8080"}, // parent domain: would span tenants
		{ID: "acme.localhost", Origin: "http://acme.localhost:8080/"},
		{ID: "acme.localhost", Origin: "http://acme.localhost:8080/login"},
		{ID: "acme.localhost", Origin: "http://u@acme.localhost:8080"},
		{ID: "passwords.acme.com", Origin: "http://passwords.acme.com"}, // http off localhost
		{ID: "passwords.acme.com", Origin: "ftp://passwords.acme.com"},
		{ID: "127.0.0.1", Origin: "http://127.0.0.1:8080"},
		{ID: "acme.localhost.", Origin: "http://acme.localhost.:8080"},
	}
	for _, rp := range bad {
		if _, _, err := s.BeginRegistration(rp, u); !errors.Is(err, ErrRP) {
			t.Errorf("BeginRegistration(%+v): err = %v, want ErrRP", rp, err)
		}
		if _, _, err := s.BeginLogin(rp, nil, false); !errors.Is(err, ErrRP) {
			t.Errorf("BeginLogin(%+v): err = %v, want ErrRP", rp, err)
		}
	}
}

func TestUserValidation(t *testing.T) {
	s, _ := newService()
	for _, u := range []User{
		{Name: "ann"},
		{ID: bytes.Repeat([]byte{1}, 65), Name: "ann"},
		{ID: []byte{1}},
	} {
		if _, _, err := s.BeginRegistration(acme, u); !errors.Is(err, ErrUser) {
			t.Errorf("BeginRegistration(%+v): err = %v, want ErrUser", u, err)
		}
	}
	if _, _, err := s.BeginLogin(acme, &User{ID: []byte{1}, Name: "ann"}, false); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("login for a user without passkeys: err = %v, want ErrNoCredentials", err)
	}
	if _, _, err := s.BeginLogin(acme, &User{Credentials: []Credential{{ID: []byte{1}}}}, false); !errors.Is(err, ErrUser) {
		t.Errorf("login for a user without ID: err = %v, want ErrUser", err)
	}
}

func TestZeroServiceWorks(t *testing.T) {
	var s Service
	u := User{ID: []byte("u1"), Name: "ann"}
	d := newDevice(u)
	u = register(t, &s, acme, u, d)
	sess, resp := login(t, &s, acme, &u, true, d)
	if _, err := s.FinishLogin(acme, nil, &u, sess, resp); err != nil {
		t.Fatal(err)
	}
	h, err := s.NewUserHandle()
	if err != nil || len(h) != UserHandleSize {
		t.Fatalf("NewUserHandle = %x, %v", h, err)
	}
}
