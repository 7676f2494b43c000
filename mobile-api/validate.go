package mobileapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on what a device sends.
const (
	maxKeyID     = 128
	maxName      = 64 // characters
	maxPushToken = 4096
)

// decodeJSON reads exactly one JSON object into v, refusing unknown
// members and trailing data, with a message fit for the client.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errors.New("the body is empty; send a JSON object")
	}
	if !utf8.Valid(body) { // the decoder would quietly turn it into U+FFFD
		return errors.New("the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field != "" {
			return fmt.Errorf("member %q has the wrong type", typ.Field)
		}
		return fmt.Errorf("the body is not the expected JSON object: %s", clip(err.Error()))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

// clip keeps a decoder message short (it may quote the input).
func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

func jsonContentType(v string) bool {
	mt, _, err := mime.ParseMediaType(v)
	return err == nil && mt == "application/json"
}

// validKeyID accepts what push/challenge accepts as a signed key_id: 1–128
// characters of [A-Za-z0-9._:-] (the test TestKeyIDsMatchTheAnswerFormat
// checks both agree).
func validKeyID(s string) bool {
	if s == "" || len(s) > maxKeyID {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("._:-", r))
	})
}

// checkName accepts a device name of 1–64 characters without control or
// bidi characters (it is shown in the settings and in notifications).
func checkName(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return errors.New("name is empty")
	case !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxName:
		return fmt.Errorf("name must be 1–%d characters of UTF-8", maxName)
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) }):
		return errors.New("name contains control characters")
	}
	return nil
}

// checkPushToken accepts "" (poll only) or up to 4096 printable ASCII
// characters without spaces (FCM tokens are [A-Za-z0-9_:-]).
func checkPushToken(s string) error {
	if len(s) > maxPushToken {
		return fmt.Errorf("push_token is longer than %d characters", maxPushToken)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return errors.New("push_token must be printable ASCII without spaces")
	}
	return nil
}

// validCID reports whether s is 32 lower-case hex digits.
func validCID(s string) bool {
	return len(s) == 32 && !strings.ContainsFunc(s, func(r rune) bool { return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') })
}
