package passkey

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzFinishLogin feeds FinishLogin arbitrary response bytes against a
// genuine session: it never panics, every failure wraps one of the
// package's sentinel errors, and whatever it accepts is the registered
// user's registered credential.
func FuzzFinishLogin(f *testing.F) {
	s, _ := newService()
	u := newUser(f, s, "ann")
	d := newDevice(u)
	u = register(f, s, acme, u, d)
	sess, good := login(f, s, acme, &u, false, d) // counter 0: reusable
	for _, seed := range [][]byte{
		good,
		good[:len(good)/2],
		[]byte(""), []byte("{}"), []byte("null"), []byte("[]"), []byte(`"x"`),
		[]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{"authenticatorData":"","clientDataJSON":"","signature":""}}`),
		bytes.Replace(good, []byte(`"public-key"`), []byte(`"password"`), 1),
	} {
		f.Add(seed)
	}
	sentinels := []error{ErrMalformed, ErrRefused, ErrUserVerification, ErrCloneWarning}
	f.Fuzz(func(t *testing.T, resp []byte) {
		res, err := s.FinishLogin(acme, nil, &u, sess, resp)
		if err == nil {
			if !bytes.Equal(res.UserHandle, u.ID) || !bytes.Equal(res.Credential.ID, d.cred.ID) {
				t.Fatalf("accepted a response for someone else: %+v", res)
			}
			return
		}
		for _, e := range sentinels {
			if errors.Is(err, e) {
				return
			}
		}
		t.Fatalf("error %v wraps none of the package's sentinels", err)
	})
}
