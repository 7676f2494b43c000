package flow

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/latchkey/latchkey/tenants"
)

// FuzzNormalizeUsername: never panics; what it accepts is trimmed,
// non-empty, at most 256 bytes of valid UTF-8 without control characters,
// and normalising it again changes nothing.
func FuzzNormalizeUsername(f *testing.F) {
	for _, s := range []string{"alice", "  bob@corp.example.com ", "", " ", "a\x00b", "\xff", "CORP\\carol", strings.Repeat("x", 257), "é\u200b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeUsername(s)
		if err != nil {
			if err != ErrInvalidInput || got != "" {
				t.Fatalf("NormalizeUsername(%q) = %q, %v", s, got, err)
			}
			return
		}
		if got == "" || len(got) > 256 || !utf8.ValidString(got) || strings.ContainsFunc(got, unicode.IsControl) ||
			got != strings.TrimSpace(got) || !strings.Contains(s, got) {
			t.Fatalf("NormalizeUsername(%q) accepted %q", s, got)
		}
		if again, err := NormalizeUsername(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q, %v", got, again, err)
		}
	})
}

// FuzzStepToken: checking a step token never panics, and no string but the
// flow's own token for its current version validates (R16); flow tokens
// that are not ours never reach the store.
func FuzzStepToken(f *testing.F) {
	e := &Engine{Deps: Deps{Key: []byte("fuzz-key-0123456789abcdef-0123456789")}}
	fl := tenants.Flow{TenantID: "3f2c9a4e-1111-4222-8333-444455556666", ID: strings.Repeat("ab", 32), Version: 3}
	own := e.stepToken(fl)
	next := fl
	next.Version++
	other := fl
	other.TenantID = "00000000-1111-4222-8333-444455556666"
	for _, s := range []string{"", own, e.stepToken(next), e.stepToken(other), own[:len(own)-1], own + "A", strings.ToUpper(own), "\x00",
		strings.Repeat("A", 42) + "B", strings.Repeat("A", 20) + "\n" + strings.Repeat("A", 22)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if e.checkStep(fl, s) != (s == own) {
			t.Fatalf("checkStep(%q) wrong (own %q)", s, own)
		}
		if e.checkStep(next, s) && s == own {
			t.Fatal("a step token survived a version change")
		}
		if e.checkStep(other, s) && s == own {
			t.Fatal("a step token is valid for another tenant")
		}
		if validToken(s) && (len(s) != 43 || strings.ContainsFunc(s, func(r rune) bool {
			return !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		})) {
			t.Fatalf("validToken(%q) accepted a non-token", s)
		}
		if validToken(s) {
			// Canonical only: one token, one string (no skipped CR/LF, no
			// stray low bits in the last character).
			b, err := base64.RawURLEncoding.DecodeString(s)
			if err != nil || len(b) != tokenBytes || base64.RawURLEncoding.EncodeToString(b) != s {
				t.Fatalf("validToken(%q) accepted a non-canonical token", s)
			}
		}
	})
}
