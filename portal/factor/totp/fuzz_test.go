package totp

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/tenants"
)

// FuzzVerify feeds Verify arbitrary code text (and, when sealed is
// non-empty, an arbitrary stored seed): it never panics, and whatever it
// accepts normalises to six ASCII digits and matches a step of the drift
// window after LastCounter (R26).
func FuzzVerify(f *testing.F) {
	s := testService(f)
	e, _, err := s.New(acme, "ann@acme.example")
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range []string{"123456", " 123 456 ", "12345", "1234567", "12a456", "١٢٣٤٥٦", "\u00a0\u2003", "\xff\xfe"} {
		f.Add(c, []byte(nil), int64(1_700_000_000), int64(0))
	}
	f.Add("000000", []byte{1, 2, 3}, int64(-1), int64(-9))
	f.Fuzz(func(t *testing.T, code string, sealed []byte, unix, last int64) {
		en := tenants.TOTPEnrollment{Seed: e.Seed, LastCounter: last}
		if len(sealed) > 0 {
			en.Seed = sealed
		}
		now := time.Unix(unix, 0)
		counter, ok := s.Verify(acme, en, code, now)
		if !ok {
			return
		}
		n, valid := normalize(code)
		if !valid || len(n) != Digits {
			t.Fatalf("accepted %q, which does not normalise", code)
		}
		if step := stepAt(now); counter < step-Drift || counter > step+Drift || counter <= last {
			t.Fatalf("counter %d outside the window of step %d after %d", counter, step, last)
		}
	})
}
