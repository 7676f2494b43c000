package check

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/tenants/store"
)

func TestHexID(t *testing.T) {
	good := strings.Repeat("0123456789abcdef", 4)
	for id, want := range map[string]bool{
		good: true, good[:63]: false, good + "0": false, strings.ToUpper(good): false,
		good[:63] + "g": false, "": false, strings.Repeat("é", 32): false,
	} {
		if got := HexID(id); got != want {
			t.Errorf("HexID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestCounterRefusesWhatPostgreSQLCannotStore(t *testing.T) {
	now := time.Unix(1_900_000_000, 0)
	for name, key := range map[string]string{"NUL": "a\x00b", "invalid UTF-8": "a\xc3", "257 bytes": strings.Repeat("x", 257)} {
		if err := Counter(key, time.Minute, now, 1); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Counter with %s: %v, want ErrInvalid", name, err)
		}
	}
	if err := Counter("k", 999*time.Nanosecond, now, 1); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Counter with a sub-microsecond window: %v, want ErrInvalid", err)
	}
	if err := Counter(strings.Repeat("x", 256), time.Microsecond, now, 1); err != nil {
		t.Errorf("Counter at the limits: %v", err)
	}
}

func TestWindowIsHalfOpen(t *testing.T) {
	w := 10 * time.Minute
	start := time.Date(2030, 1, 1, 12, 10, 0, 0, time.UTC)
	for _, at := range []time.Time{start, start.Add(w - time.Nanosecond), start.In(time.FixedZone("X", 3600))} {
		if s, e := Window(w, at); !s.Equal(start) || !e.Equal(start.Add(w)) {
			t.Errorf("Window(%s) = [%s, %s), want [%s, %s)", at, s, e, start, start.Add(w))
		}
	}
	if s, _ := Window(w, start.Add(w)); !s.Equal(start.Add(w)) {
		t.Errorf("the window's end belongs to the next window")
	}
}

// FuzzLastError: whatever a provider answers, what is stored is valid UTF-8
// without NUL, at most MaxLastError bytes, and the whole text when it was
// clean and short enough.
func FuzzLastError(f *testing.F) {
	for _, seed := range []string{"", "550 mailbox unavailable", strings.Repeat("é", 600), "a\x00b\xff", strings.Repeat("x", 1001)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := LastError(s)
		if len(got) > MaxLastError || !utf8.ValidString(got) || strings.IndexByte(got, 0) >= 0 {
			t.Fatalf("LastError(%q) = %q", s, got)
		}
		if Text("error", s, MaxLastError) == nil && got != s {
			t.Fatalf("LastError changed storable text %q to %q", s, got)
		}
		if err := Text("error", got, MaxLastError); err != nil {
			t.Fatalf("LastError(%q) = %q, which Text refuses: %v", s, got, err)
		}
	})
}
