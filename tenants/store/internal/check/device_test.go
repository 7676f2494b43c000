package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/tenants"
	"github.com/latchkey/latchkey/tenants/store"
)

func validDevice() tenants.Device {
	return tenants.Device{UserID: "7d0c3d5e-8a1b-4c2d-9e3f-1a2b3c4d5e6f", Name: "Ann's Pixel", Platform: "ios",
		KeyID: "key-1", PublicKey: []byte{0x30, 0x59}}
}

func TestDeviceLimits(t *testing.T) {
	if err := NewDevice(validDevice()); err != nil {
		t.Fatalf("NewDevice(valid) = %v", err)
	}
	for name, tc := range map[string]struct {
		mod func(*tenants.Device)
		ok  bool
	}{
		"100 runes":        {func(d *tenants.Device) { d.Name = strings.Repeat("ä", 100) }, true},
		"101 runes":        {func(d *tenants.Device) { d.Name = strings.Repeat("ä", 101) }, false},
		"DEL in name":      {func(d *tenants.Device) { d.Name = "a\x7fb" }, false},
		"key id 128":       {func(d *tenants.Device) { d.KeyID = strings.Repeat("k", 128) }, true},
		"key id 129":       {func(d *tenants.Device) { d.KeyID = strings.Repeat("k", 129) }, false},
		"key id DEL":       {func(d *tenants.Device) { d.KeyID = "k\x7f" }, false},
		"key id space":     {func(d *tenants.Device) { d.KeyID = "k 1" }, true},
		"public key 200":   {func(d *tenants.Device) { d.PublicKey = make([]byte, 200) }, true},
		"public key 201":   {func(d *tenants.Device) { d.PublicKey = make([]byte, 201) }, false},
		"push token 4096":  {func(d *tenants.Device) { d.PushToken = strings.Repeat("t", 4096) }, true},
		"push token 4097":  {func(d *tenants.Device) { d.PushToken = strings.Repeat("t", 4097) }, false},
		"platform windows": {func(d *tenants.Device) { d.Platform = "windows" }, false},
	} {
		d := validDevice()
		tc.mod(&d)
		err := NewDevice(d)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, store.ErrInvalid)) {
			t.Errorf("NewDevice with %s = %v, want ok=%v (else ErrInvalid)", name, err, tc.ok)
		}
	}
}

func TestAnswerStates(t *testing.T) {
	at := time.Unix(1_900_000_000, 0)
	for _, from := range ChallengeStates {
		for _, to := range ChallengeStates {
			if err := Answer(from, to, "", at); err != nil {
				t.Errorf("Answer(%s, %s) = %v", from, to, err)
			}
		}
	}
	for _, bad := range [][2]string{{"", "approved"}, {"pending", ""}, {"Pending", "approved"}, {"pending", "done"}} {
		if err := Answer(bad[0], bad[1], "", at); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Answer(%q, %q) = %v, want ErrInvalid", bad[0], bad[1], err)
		}
	}
}

// FuzzChallengeContext: whatever a caller passes as a challenge's context,
// the check never panics, and what it accepts is a JSON object of at most
// MaxContext bytes of UTF-8 (what both backends then store).
func FuzzChallengeContext(f *testing.F) {
	for _, seed := range []string{`{}`, ` {"a":1} `, `[]`, `null`, `{"a":`, "{\"a\":\"\xff\"}", `"{}"`, ``} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if challengeContext(b) != nil {
			return
		}
		var obj map[string]json.RawMessage
		if len(b) > MaxContext || json.Unmarshal(b, &obj) != nil || obj == nil {
			t.Fatalf("challengeContext accepted %q, which is not a JSON object of at most %d bytes", b, MaxContext)
		}
		if !bytes.Equal(bytes.ToValidUTF8(b, nil), b) {
			t.Fatalf("challengeContext accepted invalid UTF-8 %q", b)
		}
	})
}
