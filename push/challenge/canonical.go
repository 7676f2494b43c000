package challenge

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// member is one name/value pair of a flat JSON object. Exactly one of str
// and num is meaningful, as isNum says.
type member struct {
	name  string
	str   string
	num   int64
	isNum bool
}

// maxSafeInteger is the largest integer RFC 8785 (via I-JSON, RFC 7493)
// serialises exactly: 2^53 − 1.
const maxSafeInteger = 1<<53 - 1

// canonicalJSON serialises a flat object of strings and integers as RFC 8785
// (JCS) does: members sorted by their names' UTF-16 code units, no
// whitespace, strings with only the escapes JCS uses, integers in plain
// decimal. It is not a general JCS implementation: nested values, floats,
// booleans and null are not needed by the push protocol and not supported.
func canonicalJSON(members []member) ([]byte, error) {
	ms := slices.Clone(members)
	slices.SortFunc(ms, func(a, b member) int { return compareUTF16(a.name, b.name) })
	buf := make([]byte, 0, 128)
	buf = append(buf, '{')
	for i, m := range ms {
		if i > 0 {
			if ms[i-1].name == m.name {
				return nil, fmt.Errorf("canonical json: duplicate member %q", m.name)
			}
			buf = append(buf, ',')
		}
		var err error
		if buf, err = appendString(buf, m.name); err != nil {
			return nil, err
		}
		buf = append(buf, ':')
		if m.isNum {
			if m.num > maxSafeInteger || m.num < -maxSafeInteger {
				return nil, fmt.Errorf("canonical json: member %q: integer outside ±(2^53−1)", m.name)
			}
			buf = strconv.AppendInt(buf, m.num, 10)
		} else if buf, err = appendString(buf, m.str); err != nil {
			return nil, err
		}
	}
	return append(buf, '}'), nil
}

// compareUTF16 orders strings by their UTF-16 code units (RFC 8785 §3.2.3).
func compareUTF16(a, b string) int {
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

var errInvalidUTF8 = errors.New("canonical json: string is not valid UTF-8")

// appendString appends s as a JSON string the way ECMAScript's
// JSON.stringify does (RFC 8785 §3.2.2.2): '"' and '\\' escaped, the
// controls \b \t \n \f \r by their short escapes, other controls below U+0020
// as \u00xx with lower-case hex, everything else as its UTF-8 bytes.
func appendString(buf []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return nil, errInvalidUTF8
	}
	const hexdigits = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c == '\b':
			buf = append(buf, '\\', 'b')
		case c == '\t':
			buf = append(buf, '\\', 't')
		case c == '\n':
			buf = append(buf, '\\', 'n')
		case c == '\f':
			buf = append(buf, '\\', 'f')
		case c == '\r':
			buf = append(buf, '\\', 'r')
		case c < 0x20:
			buf = append(buf, '\\', 'u', '0', '0', hexdigits[c>>4], hexdigits[c&0xf])
		default:
			buf = append(buf, c)
		}
	}
	return append(buf, '"'), nil
}
