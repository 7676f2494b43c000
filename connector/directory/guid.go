package directory

import (
	"fmt"
	"strings"
)

// Users are addressed by a GUID after the lookup (R51): AD's objectGUID or
// OpenLDAP's entryUUID, both written in the canonical lowercase form
// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.

// adGUIDOrder maps the canonical string's byte order to objectGUID's wire
// order: the first three groups are little-endian (a Windows GUID struct).
var adGUIDOrder = [16]int{3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15}

// formatADGUID turns the 16 raw objectGUID bytes into the canonical string.
func formatADGUID(raw []byte) (string, error) {
	if len(raw) != 16 {
		return "", fmt.Errorf("format objectGUID: %d bytes, want 16", len(raw))
	}
	var canon [16]byte
	for i, j := range adGUIDOrder {
		canon[i] = raw[j]
	}
	return formatUUID(canon), nil
}

// parseADGUID turns a canonical GUID string into objectGUID's 16 wire bytes.
func parseADGUID(s string) ([16]byte, error) {
	canon, err := parseUUID(s)
	if err != nil {
		return [16]byte{}, err
	}
	var raw [16]byte
	for i, j := range adGUIDOrder {
		raw[j] = canon[i]
	}
	return raw, nil
}

func formatUUID(b [16]byte) string {
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&0xf])
	}
	return string(out)
}

// parseUUID accepts exactly the canonical 36-character form (either case).
func parseUUID(s string) ([16]byte, error) {
	var b [16]byte
	if len(s) != 36 {
		return b, fmt.Errorf("parse GUID: length %d, want 36", len(s))
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return b, fmt.Errorf("parse GUID: want '-' at %d", i)
			}
			i++
			continue
		}
		hi, ok1 := hexDigit(s[i])
		lo, ok2 := hexDigit(s[i+1])
		if !ok1 || !ok2 {
			return b, fmt.Errorf("parse GUID: bad hex at %d", i)
		}
		b[j] = hi<<4 | lo
		j++
		i += 2
	}
	return b, nil
}

// canonicalUUID validates s and returns it lowercased.
func canonicalUUID(s string) (string, error) {
	b, err := parseUUID(s)
	if err != nil {
		return "", err
	}
	return formatUUID(b), nil
}

// escapeBinary writes every byte as \xx for an LDAP filter value.
func escapeBinary(b []byte) string {
	const hex = "0123456789abcdef"
	var sb strings.Builder
	sb.Grow(3 * len(b))
	for _, c := range b {
		sb.WriteByte('\\')
		sb.WriteByte(hex[c>>4])
		sb.WriteByte(hex[c&0xf])
	}
	return sb.String()
}
