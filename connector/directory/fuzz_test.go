package directory

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// FuzzParseError: the parser never panics, and whatever the DC sends the
// classification stays in range (R48, R61).
func FuzzParseError(f *testing.F) {
	f.Add(uint16(19), "0000052D: Constraint violation - check_password_restrictions: the password is too short. It should be equal or longer than 7 characters!", []byte(nil))
	f.Add(uint16(19), "00000056: Constraint violation - check_password_restrictions: The old password specified doesn't match!", []byte(nil))
	f.Add(uint16(49), "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 775, v1db1", []byte(nil))
	f.Add(uint16(49), "NT_STATUS_PASSWORD_MUST_CHANGE", []byte(nil))
	f.Add(uint16(53), "0000001F: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM), data 0", []byte(nil))
	f.Add(uint16(50), "", []byte(nil))
	f.Add(uint16(49), "", ppolicyMessage(49, "", 1).Bytes())
	f.Add(uint16(19), "Password fails quality checking policy", ppolicyMessage(19, "Password fails quality checking policy", 6).Bytes())
	f.Add(uint16(0), "data ", []byte{0x30, 0x00})
	f.Add(uint16(65535), "ffffffff:", []byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, code uint16, msg string, packet []byte) {
		var p *ber.Packet
		if len(packet) > 0 {
			p, _ = ber.DecodePacketErr(packet)
		}
		for _, err := range []error{
			&ldap.Error{ResultCode: code, Err: errors.New(msg), Packet: p},
			&ldap.Error{ResultCode: code, Packet: p},
			errors.New(msg),
		} {
			e := ParseError(err)
			if e == nil {
				t.Fatal("nil for a non-nil error")
			}
			if e.Code >= numCodes {
				t.Fatalf("code %d out of range", e.Code)
			}
			if e.PPolicy != NoPPolicy && (e.PPolicy < 0 || int(e.PPolicy) >= len(ppolicyCodes)) {
				t.Fatalf("ppolicy %d out of range", e.PPolicy)
			}
			if len(e.Data) > 8 {
				t.Fatalf("data %q too long", e.Data)
			}
			_ = e.Error()
			if _, err := e.Code.MarshalText(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// FuzzEncodePassword: quoted UTF-16LE that decodes back to the password (R44).
func FuzzEncodePassword(f *testing.F) {
	for _, s := range []string{"Pa", `"`, `a"b`, "Pä🔑", "\U0010FFFF", "x\x00y", "héllo wörld", strings.Repeat("A", 256)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		enc, err := EncodePassword(pw)
		if pw == "" || !utf8.ValidString(pw) {
			if err == nil {
				t.Fatalf("encoded an empty or invalid password %q", pw)
			}
			return
		}
		if err != nil {
			t.Fatalf("encode %q: %v", pw, err)
		}
		b := []byte(enc)
		if len(b)%2 != 0 || !bytes.HasPrefix(b, []byte{'"', 0}) || !bytes.HasSuffix(b, []byte{'"', 0}) {
			t.Fatalf("not quoted UTF-16LE: % x", b)
		}
		if bytes.HasPrefix(b, []byte{0xff, 0xfe}) {
			t.Fatal("BOM")
		}
		got, err := decodePassword(enc)
		if err != nil || got != pw {
			t.Fatalf("round trip %q → %q (%v)", pw, got, err)
		}
	})
}
