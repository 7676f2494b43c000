package pages

import (
	"unicode"
	"unicode/utf8"
)

// MaxUsernameLength is the longest username prefill accepted, in characters.
const MaxUsernameLength = 256

// PrefillUsername returns raw when it may prefill the username field of a
// deep link: valid UTF-8, at most MaxUsernameLength characters, no control
// characters, and not only spaces. Anything else yields "" (the parameter is
// ignored, not trimmed or repaired). The value is escaped when rendered.
func PrefillUsername(raw string) string {
	if raw == "" || len(raw) > MaxUsernameLength*utf8.UTFMax || !utf8.ValidString(raw) {
		return ""
	}
	if utf8.RuneCountInString(raw) > MaxUsernameLength {
		return ""
	}
	blank := true
	for _, r := range raw {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ""
		}
		if !unicode.IsSpace(r) {
			blank = false
		}
	}
	if blank {
		return ""
	}
	return raw
}
