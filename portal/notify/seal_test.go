package notify_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/latchkey/latchkey/portal/notify"
)

func TestSealRoundTripAndBinding(t *testing.T) {
	s := newSealer(t)
	c := notify.Content{Subject: "Your code", Text: "Code: 123456", HTML: "<p>123456</p>"}
	sealed, err := s.Seal("tenant-a", "msg-1", c)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if bytes.Contains(sealed, []byte("123456")) {
		t.Fatal("sealed bytes contain the code in clear (R22)")
	}
	got, err := s.Open("tenant-a", "msg-1", sealed)
	if err != nil || got != c {
		t.Fatalf("Open = %+v, %v; want %+v", got, err, c)
	}
	again, _ := s.Seal("tenant-a", "msg-1", c)
	if bytes.Equal(again, sealed) {
		t.Fatal("two seals of the same content are equal: the nonce is not random")
	}
	for name, open := range map[string]func() (notify.Content, error){
		"other tenant":  func() (notify.Content, error) { return s.Open("tenant-b", "msg-1", sealed) },
		"other message": func() (notify.Content, error) { return s.Open("tenant-a", "msg-2", sealed) },
		"AD shifted":    func() (notify.Content, error) { return s.Open("tenant-a|msg", "1", sealed) },
		"tampered": func() (notify.Content, error) {
			b := bytes.Clone(sealed)
			b[len(b)-1] ^= 1
			return s.Open("tenant-a", "msg-1", b)
		},
		"other key": func() (notify.Content, error) {
			o, _ := notify.NewSealer(bytes.Repeat([]byte{7}, notify.KeySize), nil)
			return o.Open("tenant-a", "msg-1", sealed)
		},
		"as a secret": func() (notify.Content, error) {
			_, err := s.OpenSecret("tenant-a", sealed)
			return notify.Content{}, err
		},
	} {
		if _, err := open(); !errors.Is(err, notify.ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
}

func TestSealSecret(t *testing.T) {
	s := newSealer(t)
	sealed, err := s.SealSecret("tenant-a", []byte("twilio-token"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.OpenSecret("tenant-a", sealed); err != nil || string(got) != "twilio-token" {
		t.Fatalf("OpenSecret = %q, %v", got, err)
	}
	if _, err := s.OpenSecret("tenant-b", sealed); !errors.Is(err, notify.ErrOpen) {
		t.Fatalf("another tenant opened the secret: %v", err)
	}
	if _, err := s.Open("tenant-a", "sms-provider", sealed); !errors.Is(err, notify.ErrOpen) {
		t.Fatalf("a secret opened as message content: %v", err)
	}
}

func TestNewSealerKeyLength(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33} {
		if _, err := notify.NewSealer(make([]byte, n), nil); err == nil {
			t.Errorf("a %d-byte key was accepted", n)
		}
	}
}

func FuzzOpen(f *testing.F) {
	// A fixed nonce source, so that every fuzz worker process seals the
	// same good blob.
	s, err := notify.NewSealer(testKey, rand.NewChaCha8([32]byte{1}))
	if err != nil {
		f.Fatal(err)
	}
	good, _ := s.Seal("t", "m", notify.Content{Text: "hello"})
	f.Add([]byte{}, "t", "m")
	f.Add([]byte{1}, "t", "m")
	f.Add(good, "t", "m")
	f.Add(good[:len(good)-1], "t", "m")
	f.Add(append([]byte{2}, good[1:]...), "t", "m")
	f.Fuzz(func(t *testing.T, b []byte, tenant, id string) {
		c, err := s.Open(notifyID(tenant), id, b)
		if err != nil {
			if !errors.Is(err, notify.ErrOpen) {
				t.Fatalf("error %v is not ErrOpen", err)
			}
			return
		}
		// Only the genuine blob opens.
		if !bytes.Equal(b, good) || tenant != "t" || id != "m" || c.Text != "hello" {
			t.Fatalf("forged blob opened: %x → %+v", b, c)
		}
		if _, err := s.OpenSecret(notifyID(tenant), b); err == nil {
			t.Fatal("content opened as a secret")
		}
	})
}
