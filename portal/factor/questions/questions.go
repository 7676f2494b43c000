// Package questions implements security questions, the weakest recovery
// factor, for tenants that turn it on (R27): an extra factor only, never
// the only one and never for admins (the policy layer decides that).
//
// Answers are normalised (Normalize) before they are checked at setup
// (ValidateSetup: 3–40 characters, all different, not the question) and
// before they are hashed with Argon2id into a PHC string (Hasher). Hashing
// is bounded by a semaphore so that a flood of answers sheds load with
// ErrBusy instead of exhausting memory (performance.md B1). Decoy picks the
// questions shown for an account that does not exist, so that the page
// looks like a real one and stays the same across attempts (R1).
package questions

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Normalize is the canonical form of an answer (and of a question, for
// comparisons): NFKC, Unicode lower case, runs of white space collapsed to
// one space, and leading and trailing white space and punctuation dropped.
// "  Mr.  Whiskers! " and "mr. whiskers" are the same answer.
func Normalize(s string) string {
	// Invalid UTF-8 becomes U+FFFD first, and NFKC runs again after lower
	// casing, so that Normalize(Normalize(s)) == Normalize(s).
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = norm.NFKC.String(strings.ToLower(norm.NFKC.String(s)))
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return strings.TrimFunc(b.String(), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r)
	})
}
