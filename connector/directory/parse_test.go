package directory

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

func ldapErr(code uint16, msg string) error {
	return &ldap.Error{ResultCode: code, Err: errors.New(msg)}
}

// ppolicyMessage is an LDAP response message (as it comes off the wire) with
// resultCode and the ppolicy response control carrying error ppErr.
func ppolicyMessage(resultCode int64, msg string, ppErr byte) *ber.Packet {
	env := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Response")
	env.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(1), "MessageID"))
	res := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationBindResponse, nil, "Bind Response")
	res.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, resultCode, "resultCode"))
	res.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "matchedDN"))
	res.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, msg, "diagnosticMessage"))
	env.AppendChild(res)
	val := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "PasswordPolicyResponseValue")
	e := ber.Encode(ber.ClassContext, ber.TypePrimitive, 1, nil, "error")
	e.Data.Write([]byte{ppErr})
	val.AppendChild(e)
	ctrl := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
	ctrl.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, ldap.ControlTypeBeheraPasswordPolicy, "type"))
	ctrl.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, string(val.Bytes()), "value"))
	ctrls := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
	ctrls.AppendChild(ctrl)
	env.AppendChild(ctrls)
	p, err := ber.DecodePacketErr(env.Bytes())
	if err != nil {
		panic(err)
	}
	return p
}

func TestParseErrorTable_R48(t *testing.T) {
	bind := func(data string) string {
		return "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data " + data + ", v1db1"
	}
	cases := []struct {
		name     string
		err      error
		want     Code
		winCode  uint32
		data     string
		ldapCode uint16
	}{
		// Samba 4.17 (directory-testing.md, step 4)
		{"samba too short", ldapErr(19, "0000052D: Constraint violation - check_password_restrictions: the password is too short. It should be equal or longer than 7 characters!"), TooShort, 0x52D, "", 19},
		{"samba not complex", ldapErr(19, "0000052D: Constraint violation - check_password_restrictions: the password does not meet the complexity criteria!"), NotComplex, 0x52D, "", 19},
		{"samba in history", ldapErr(19, "0000052D: Constraint violation - check_password_restrictions: the password was already used (in history)!"), InHistory, 0x52D, "", 19},
		{"samba previous password", ldapErr(19, "0000052D: Constraint violation - check_password_restrictions: the password was already used (previous password)!"), InHistory, 0x52D, "", 19},
		{"samba too young", ldapErr(19, "0000052D: Constraint violation - check_password_restrictions: password is too young to change!"), TooYoung, 0x52D, "", 19},
		{"samba wrong old password", ldapErr(19, "00000056: Constraint violation - check_password_restrictions: The old password specified doesn't match!"), WrongPassword, 0x56, "", 19},
		{"samba replace own unicodePwd", ldapErr(50, "error in module acl: insufficient access rights during LDB_MODIFY (50)"), AccessDenied, 0, "", 50},
		{"samba pwdLastSet 12345", ldapErr(80, "00000057: setup_last_set_field: pwdLastSet must be 0 or -1 only! at ../../source4/dsdb/samdb/ldb_modules/password_hash.c:2436:setup_last_set_field"), Unknown, 0x57, "", 80},
		{"samba plain bind", ldapErr(8, "BindSimple: Transport encryption required."), UnwillingToPerform, 0, "", 8},
		// Windows (security.md)
		{"windows 52D AtrErr", ldapErr(19, "0000052D: AtrErr: DSID-03191083, #1: 0: 0000052D: DSID-03191083, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 9005a (unicodePwd)"), PasswordRestriction, 0x52D, "0", 19},
		{"windows 52D SvcErr unwilling", ldapErr(53, "0000052D: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM), data 0"), PasswordRestriction, 0x52D, "0", 53},
		{"windows wrong old 00000056", ldapErr(19, "00000056: AtrErr: DSID-03190F80, #1: 0: 00000056: DSID-03190F80, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 9005a (unicodePwd)"), WrongPassword, 0x56, "0", 19},
		{"windows access denied", ldapErr(50, "00000005: SecErr: DSID-03152857, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0"), AccessDenied, 5, "0", 50},
		{"windows insufficient rights 2098", ldapErr(50, "00002098: SecErr: DSID-03150F94, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0"), AccessDenied, 0x2098, "0", 50},
		{"windows unwilling 1F", ldapErr(53, "0000001F: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM), data 0"), UnwillingToPerform, 0x1F, "0", 53},
		{"windows constraint other", ldapErr(19, "000020B5: AtrErr: DSID-031516FC, #1: 0: 000020B5: DSID-031516FC, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 90083 (pwdLastSet)"), ConstraintViolation, 0x20B5, "0", 19},
		// bind data codes (AD and Samba share them)
		{"bind 525", ldapErr(49, bind("525")), NotFound, 0x80090308, "525", 49},
		{"bind 52e", ldapErr(49, bind("52e")), InvalidCredentials, 0x80090308, "52e", 49},
		{"bind 52E upper", ldapErr(49, bind("52E")), InvalidCredentials, 0x80090308, "52e", 49},
		{"bind 530", ldapErr(49, bind("530")), AccessDenied, 0x80090308, "530", 49},
		{"bind 531", ldapErr(49, bind("531")), AccessDenied, 0x80090308, "531", 49},
		{"bind 532", ldapErr(49, bind("532")), Expired, 0x80090308, "532", 49},
		{"bind 533", ldapErr(49, bind("533")), Disabled, 0x80090308, "533", 49},
		{"bind 701", ldapErr(49, bind("701")), AccountExpired, 0x80090308, "701", 49},
		{"bind 773", ldapErr(49, bind("773")), MustChange, 0x80090308, "773", 49},
		{"bind 775", ldapErr(49, bind("775")), Locked, 0x80090308, "775", 49},
		{"bind unknown data", ldapErr(49, bind("999")), InvalidCredentials, 0x80090308, "999", 49},
		{"bind no text", ldapErr(49, ""), InvalidCredentials, 0, "", 49},
		// Samba NT_STATUS forms
		{"NT_STATUS_PASSWORD_MUST_CHANGE", ldapErr(49, "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, NT_STATUS_PASSWORD_MUST_CHANGE"), MustChange, 0x80090308, "", 49},
		{"NT_STATUS_ACCOUNT_LOCKED_OUT", ldapErr(49, "NT_STATUS_ACCOUNT_LOCKED_OUT"), Locked, 0, "", 49},
		{"NT_STATUS_ACCOUNT_DISABLED", ldapErr(49, "Simple Bind Failed: NT_STATUS_ACCOUNT_DISABLED"), Disabled, 0, "", 49},
		{"NT_STATUS_PASSWORD_EXPIRED", ldapErr(49, "NT_STATUS_PASSWORD_EXPIRED"), Expired, 0, "", 49},
		{"NT_STATUS_ACCOUNT_EXPIRED", ldapErr(49, "NT_STATUS_ACCOUNT_EXPIRED"), AccountExpired, 0, "", 49},
		{"NT_STATUS_LOGON_FAILURE", ldapErr(49, "NT_STATUS_LOGON_FAILURE"), InvalidCredentials, 0, "", 49},
		// result codes without text
		{"insufficientAccessRights 50", ldapErr(50, ""), AccessDenied, 0, "", 50},
		{"unwillingToPerform 53", ldapErr(53, ""), UnwillingToPerform, 0, "", 53},
		{"busy 51", ldapErr(51, ""), Unavailable, 0, "", 51},
		{"unavailable 52", ldapErr(52, ""), Unavailable, 0, "", 52},
		{"server down 81", ldapErr(81, ""), Unavailable, 0, "", 81},
		{"timeout 85", ldapErr(85, ""), Unavailable, 0, "", 85},
		{"network 200", ldapErr(ldap.ErrorNetwork, "ldap: connection closed"), Unavailable, 0, "", 200},
		{"noSuchObject 32", ldapErr(32, "0000208D: NameErr: DSID-03100241, problem 2001 (NO_OBJECT), data 0, best match of:"), NotFound, 0x208D, "0", 32},
		{"strongAuthRequired 8", ldapErr(8, "00002028: LdapErr: DSID-0C090259, The server requires binds to turn on integrity checking if SSL\\TLS are not already active on the connection, data 0, v4563"), UnwillingToPerform, 0x2028, "0", 8},
		{"confidentiality 13", ldapErr(13, ""), UnwillingToPerform, 0, "", 13},
		{"unavailable critical extension 12", ldapErr(12, "critical extension is not recognized"), UnwillingToPerform, 0, "", 12},
		{"other 80", ldapErr(80, "something"), Unknown, 0, "", 80},
		{"sizeLimit 4", ldapErr(4, ""), Unknown, 0, "", 4},
		// OpenLDAP wording without the control
		{"slapd history text", ldapErr(19, "Password is in history of old passwords"), InHistory, 0, "", 19},
		{"slapd quality text", ldapErr(19, "Password fails quality checking policy"), PasswordRestriction, 0, "", 19},
		{"slapd too young text", ldapErr(19, "Password is too young to change"), TooYoung, 0, "", 19},
		{"slapd wrong old (exop)", ldapErr(53, "unwilling to verify old password"), WrongPassword, 0, "", 53},
		{"slapd must change restricted", ldapErr(50, "Operations are restricted to bind/unbind/abandon/StartTLS/modify password"), MustChange, 0, "", 50},
		{"slapd no user modification", ldapErr(19, "pwdFailureTime: no user modification allowed"), ConstraintViolation, 0, "", 19},
		// Samba's ExtendedResponse to an unknown critical control
		{"samba unexpected response", errors.New("ldap: unexpected response: 24"), UnwillingToPerform, 0, "", 0},
		// local causes
		{"plaintext", fmt.Errorf("x: %w", ErrPlaintext), UnwillingToPerform, 0, "", 0},
		{"ctx canceled", context.Canceled, Unavailable, 0, "", 0},
		{"ctx deadline", fmt.Errorf("ldap request interrupted: %w", context.DeadlineExceeded), Unavailable, 0, "", 0},
		{"pin mismatch", fmt.Errorf("tls: %w", errPinMismatch), Unavailable, 0, "", 0},
		{"unknown CA", fmt.Errorf("tls handshake: %w", x509.UnknownAuthorityError{}), Unavailable, 0, "", 0},
		{"dial refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, Unavailable, 0, "", 0},
		{"network wrapping TLS", &ldap.Error{ResultCode: ldap.ErrorNetwork, Err: x509.UnknownAuthorityError{}}, Unavailable, 0, "", 200},
		{"plain error", errors.New("boom"), Unknown, 0, "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := ParseError(c.err)
			if e.Code != c.want || e.WinCode != c.winCode || e.Data != c.data || e.LDAPCode != c.ldapCode {
				t.Fatalf("ParseError = code %v win %08X data %q ldap %d; want %v %08X %q %d",
					e.Code, e.WinCode, e.Data, e.LDAPCode, c.want, c.winCode, c.data, c.ldapCode)
			}
			if e.PPolicy != NoPPolicy {
				t.Fatalf("PPolicy = %d", e.PPolicy)
			}
			if !errors.Is(e, c.err) {
				t.Fatal("the cause is not kept")
			}
		})
	}
}

func TestParseErrorPPolicy(t *testing.T) {
	cases := []struct {
		rc   int64
		msg  string
		pp   byte
		want Code
	}{
		{49, "", 1, Locked},     // accountLocked on a bind
		{49, "", 0, Expired},    // passwordExpired
		{49, "", 2, MustChange}, // changeAfterReset
		{19, "Password fails quality checking policy", 6, TooShort},
		{19, "Password is in history of old passwords", 8, InHistory},
		{19, "Password is too young to change", 7, TooYoung},
		{19, "Password fails quality checking policy", 5, PasswordRestriction},
		{50, "", 3, AccessDenied},
		{53, "", 4, WrongPassword},
		{80, "", 1, Unknown}, // only listed result codes take the control's reason
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("rc%d_pp%d", c.rc, c.pp), func(t *testing.T) {
			p := ppolicyMessage(c.rc, c.msg, c.pp)
			err := ldap.GetLDAPError(p)
			e := ParseError(err)
			if e.Code != c.want || e.PPolicy != int8(c.pp) {
				t.Fatalf("got %v ppolicy %d, want %v ppolicy %d (%v)", e.Code, e.PPolicy, c.want, c.pp, err)
			}
		})
	}
}

func TestParseErrorKeepsDirectoryError(t *testing.T) {
	orig := newError("reset password", TooShort, errors.New("x"))
	if got := ParseError(fmt.Errorf("wrapped: %w", orig)); got != orig {
		t.Fatalf("ParseError re-classified an *Error: %v", got)
	}
	if ParseError(nil) != nil {
		t.Fatal("ParseError(nil) != nil")
	}
	w := wrap("unlock", ldapErr(50, "")).(*Error)
	if w.Op != "unlock" || w.Code != AccessDenied {
		t.Fatalf("wrap: %+v", w)
	}
	if !errors.Is(w, &Error{Code: AccessDenied}) || errors.Is(w, &Error{Code: Locked}) {
		t.Fatal("errors.Is on codes")
	}
	if c, ok := CodeOf(nil); ok || c != Unknown {
		t.Fatal("CodeOf(nil)")
	}
}

func TestCodeNames(t *testing.T) {
	for c := Code(0); c < numCodes; c++ {
		b, err := c.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		back, ok := ParseCode(string(b))
		if !ok || back != c {
			t.Fatalf("round trip of %v", c)
		}
	}
	if _, err := numCodes.MarshalText(); err == nil {
		t.Fatal("an out-of-range code marshalled")
	}
}
