package directory

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/unicode"
)

var utf16le = unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)

// errBadPassword is the cause when a password cannot be sent at all.
var errBadPassword = errors.New("password is empty or not valid UTF-8")

// EncodePassword returns the AD unicodePwd value for pw (MS-ADTS 3.1.1.3.1.5.1,
// R44): the password in double quotes, UTF-16LE, no BOM. Characters outside
// the BMP become surrogate pairs; a '"' inside the password is kept as it is.
// Empty passwords and invalid UTF-8 are refused: they would set a password
// other than the one the user typed.
func EncodePassword(pw string) (string, error) {
	if pw == "" || !utf8.ValidString(pw) {
		return "", fmt.Errorf("encode password: %w", errBadPassword)
	}
	s, err := utf16le.NewEncoder().String(`"` + pw + `"`)
	if err != nil {
		return "", fmt.Errorf("encode password: %w", err)
	}
	return s, nil
}

// decodePassword is EncodePassword's inverse (tests and diagnostics only).
func decodePassword(v string) (string, error) {
	if len(v)%2 != 0 {
		return "", errors.New("decode password: odd length")
	}
	s, err := utf16le.NewDecoder().String(v)
	if err != nil {
		return "", fmt.Errorf("decode password: %w", err)
	}
	if len(s) < 2 || !strings.HasPrefix(s, `"`) || !strings.HasSuffix(s, `"`) {
		return "", errors.New("decode password: not quoted")
	}
	return s[1 : len(s)-1], nil
}
