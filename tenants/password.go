package tenants

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Codes of password violations and rules. The portal maps them to localised
// text; they never carry the password or the word that matched.
const (
	PasswordTooShort     = "too_short"     // fewer code points than the minimum; Limit = minimum
	PasswordTooLong      = "too_long"      // more than 256 code points; Limit = 256
	PasswordClasses      = "classes"       // too few character classes; Limit = classes required
	PasswordBannedWord   = "banned_word"   // contains a banned word
	PasswordContextWord  = "context_word"  // contains the user's name, username, tenant name…
	PasswordInvalidChars = "invalid_chars" // not UTF-8, or contains control characters
	PasswordMinLength    = "min_length"    // rule: at least Value code points
	PasswordMaxLength    = "max_length"    // rule: at most Value code points
	PasswordHistory      = "history"       // rule: not one of the last Value passwords
	// minContextWord is the shortest context word (in code points) checked.
	minContextWord = 3
)

// PasswordViolation is one rule a candidate password breaks.
type PasswordViolation struct {
	Code  string `json:"code"`
	Limit int    `json:"limit,omitempty"`
}

// PasswordRule is one rule shown to users before they type (security.md R11).
// Codes: min_length, max_length, classes, history (Value is the number),
// banned_word and context_word (Value is 0 or the shortest word checked).
type PasswordRule struct {
	Code  string `json:"code"`
	Value int    `json:"value,omitempty"`
}

// minLength is the enforced minimum: MinLength, but never below 8 (R11).
func (pp PasswordPolicy) minLength() int {
	return max(pp.MinLength, MinPasswordLength)
}

// Check returns every rule pw breaks, in a fixed order, or nil. Length is
// counted in Unicode code points and the password is never truncated (R11):
// anything up to 256 code points is accepted, so a 64-character passphrase or
// one made of emoji is fine. Character classes are upper case, lower case,
// digits and everything else (symbols, spaces, caseless letters, emoji).
// Banned words and contextWords (the user's names, username, email, the
// tenant's name…) match case-insensitively anywhere in the password; each
// context word is also split at non-letters and non-digits ("ann.lee@acme.com"
// checks "ann", "lee", "acme", "com" as well) and parts shorter than 3 code
// points are ignored.
func (pp PasswordPolicy) Check(pw string, contextWords []string) []PasswordViolation {
	var out []PasswordViolation
	if !utf8.ValidString(pw) || strings.ContainsFunc(pw, unicode.IsControl) {
		out = append(out, PasswordViolation{Code: PasswordInvalidChars})
	}
	n := utf8.RuneCountInString(pw)
	if n < pp.minLength() {
		out = append(out, PasswordViolation{Code: PasswordTooShort, Limit: pp.minLength()})
	}
	if n > MaxPasswordLength {
		out = append(out, PasswordViolation{Code: PasswordTooLong, Limit: MaxPasswordLength})
	}
	if pp.RequiredClasses > 0 && characterClasses(pw) < pp.RequiredClasses {
		out = append(out, PasswordViolation{Code: PasswordClasses, Limit: pp.RequiredClasses})
	}
	lower := strings.ToLower(pw)
	for _, w := range pp.BannedWords {
		if w = strings.ToLower(strings.TrimSpace(w)); w != "" && strings.Contains(lower, w) {
			out = append(out, PasswordViolation{Code: PasswordBannedWord})
			break
		}
	}
	if containsContextWord(lower, contextWords) {
		out = append(out, PasswordViolation{Code: PasswordContextWord})
	}
	return out
}

func containsContextWord(lowerPW string, words []string) bool {
	for _, w := range words {
		w = strings.ToLower(strings.TrimSpace(w))
		parts := strings.FieldsFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		for _, p := range append(parts, w) {
			if utf8.RuneCountInString(p) >= minContextWord && strings.Contains(lowerPW, p) {
				return true
			}
		}
	}
	return false
}

// characterClasses counts which of upper, lower, digit and other appear in pw.
func characterClasses(pw string) int {
	var upper, lower, digit, other int
	for _, r := range pw {
		switch {
		case unicode.IsUpper(r):
			upper = 1
		case unicode.IsLower(r):
			lower = 1
		case unicode.IsDigit(r):
			digit = 1
		default:
			other = 1
		}
	}
	return upper + lower + digit + other
}

// Rules lists the policy as structured rules for the portal to show before the
// user types, in display order.
func (pp PasswordPolicy) Rules() []PasswordRule {
	rules := []PasswordRule{
		{Code: PasswordMinLength, Value: pp.minLength()},
		{Code: PasswordMaxLength, Value: MaxPasswordLength},
	}
	if pp.RequiredClasses > 0 {
		rules = append(rules, PasswordRule{Code: PasswordClasses, Value: pp.RequiredClasses})
	}
	if len(pp.BannedWords) > 0 {
		rules = append(rules, PasswordRule{Code: PasswordBannedWord})
	}
	rules = append(rules, PasswordRule{Code: PasswordContextWord, Value: minContextWord})
	if pp.History > 0 {
		rules = append(rules, PasswordRule{Code: PasswordHistory, Value: pp.History})
	}
	return rules
}
