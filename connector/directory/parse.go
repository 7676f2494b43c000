package directory

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// Windows error codes that lead AD (and Samba) diagnostic messages.
const (
	winAccessDenied        = 0x00000005 // ERROR_ACCESS_DENIED
	winUnwilling           = 0x0000001F // ERROR_GEN_FAILURE: AD's WILL_NOT_PERFORM
	winInvalidPassword     = 0x00000056 // ERROR_INVALID_PASSWORD: wrong old password on a change
	winPasswordRestriction = 0x0000052D // ERROR_PASSWORD_RESTRICTION
	winNoWriteAccess       = 0x00002098 // ERROR_DS_INSUFF_ACCESS_RIGHTS
)

// bindData maps the AD bind "data NNN" value to a code.
var bindData = map[string]Code{
	"525": NotFound,           // user not found
	"52e": InvalidCredentials, // wrong password
	"530": AccessDenied,       // logon not permitted at this time
	"531": AccessDenied,       // logon not permitted from this workstation
	"532": Expired,            // password expired
	"533": Disabled,           // account disabled
	"568": AccessDenied,       // too many security ids (token too large)
	"701": AccountExpired,     // account expired
	"773": MustChange,         // user must reset password
	"775": Locked,             // account locked out
}

// ntStatus maps the NT status names Samba may put in bind errors instead of
// (older Samba) or besides the AD "data NNN" form.
var ntStatus = []struct {
	name string
	code Code
}{
	{"NT_STATUS_PASSWORD_MUST_CHANGE", MustChange},
	{"NT_STATUS_ACCOUNT_LOCKED_OUT", Locked},
	{"NT_STATUS_ACCOUNT_DISABLED", Disabled},
	{"NT_STATUS_PASSWORD_EXPIRED", Expired},
	{"NT_STATUS_ACCOUNT_EXPIRED", AccountExpired},
	{"NT_STATUS_INVALID_LOGON_HOURS", AccessDenied},
	{"NT_STATUS_INVALID_WORKSTATION", AccessDenied},
	{"NT_STATUS_NO_SUCH_USER", NotFound},
	{"NT_STATUS_WRONG_PASSWORD", InvalidCredentials},
	{"NT_STATUS_LOGON_FAILURE", InvalidCredentials},
}

// ppolicyCodes maps the OpenLDAP (draft-behera) ppolicy response error.
var ppolicyCodes = [...]Code{
	0: Expired,             // passwordExpired
	1: Locked,              // accountLocked
	2: MustChange,          // changeAfterReset
	3: AccessDenied,        // passwordModNotAllowed
	4: WrongPassword,       // mustSupplyOldPassword
	5: PasswordRestriction, // insufficientPasswordQuality
	6: TooShort,            // passwordTooShort
	7: TooYoung,            // passwordTooYoung
	8: InHistory,           // passwordInHistory
}

// ParseError classifies err, typically returned by go-ldap: the LDAP result
// code first, then the leading Windows code (0000052D…), the bind "data NNN"
// value, Samba's NT_STATUS names, the OpenLDAP ppolicy response control and,
// only to refine a password-rule refusal, the known wording of Samba and
// OpenLDAP. Anything it does not recognise becomes Unknown. It never panics
// and returns nil only for a nil err. An *Error is returned as it is.
func ParseError(err error) *Error {
	if err == nil {
		return nil
	}
	var de *Error
	if errors.As(err, &de) {
		return de
	}
	out := &Error{Code: Unknown, PPolicy: NoPPolicy, Err: err}
	var le *ldap.Error
	if errors.As(err, &le) {
		out.LDAPCode = le.ResultCode
		msg := ""
		if le.Err != nil {
			msg = le.Err.Error()
		}
		out.WinCode, _ = leadingWinCode(msg)
		out.Data = dataValue(msg)
		if pp, ok := ppolicyFromPacket(le.Packet); ok {
			out.PPolicy = pp
		}
		out.Code = classify(out, msg)
		// Locally produced network failures may still wrap a TLS or ctx cause.
		if out.Code == Unavailable || out.Code == Unknown {
			if c, ok := localCause(err); ok {
				out.Code = c
			}
		}
		return out
	}
	if c, ok := localCause(err); ok {
		out.Code = c
		return out
	}
	// Samba answers an unknown critical control with an ExtendedResponse,
	// which go-ldap reports as a plain error (directory-testing.md caveat 5).
	if strings.Contains(err.Error(), "ldap: unexpected response") {
		out.Code = UnwillingToPerform
	}
	return out
}

// localCause recognises failures that never reached a DC's answer.
func localCause(err error) (Code, bool) {
	var (
		ua  x509.UnknownAuthorityError
		hn  x509.HostnameError
		ci  x509.CertificateInvalidError
		ne  net.Error
		ope *net.OpError
	)
	switch {
	case errors.Is(err, ErrPlaintext):
		return UnwillingToPerform, true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return Unavailable, true
	case errors.As(err, &ua), errors.As(err, &hn), errors.As(err, &ci), errors.Is(err, errPinMismatch):
		return Unavailable, true
	case errors.As(err, &ope), errors.As(err, &ne):
		return Unavailable, true
	}
	return Unknown, false
}

// classify maps a DC-originated LDAP error. Only result codes listed here are
// mapped; every other code is Unknown whatever its text says.
func classify(e *Error, msg string) Code {
	if e.PPolicy >= 0 && int(e.PPolicy) < len(ppolicyCodes) {
		pp := ppolicyCodes[e.PPolicy]
		// On a bind, "invalid credentials" plus ppolicy says why; on a write
		// the control is the precise reason for a policy refusal.
		switch e.LDAPCode {
		case ldap.LDAPResultInvalidCredentials, ldap.LDAPResultConstraintViolation,
			ldap.LDAPResultInsufficientAccessRights, ldap.LDAPResultUnwillingToPerform:
			return pp
		}
	}
	lower := strings.ToLower(msg)
	switch e.LDAPCode {
	case ldap.LDAPResultInvalidCredentials:
		if c, ok := bindData[strings.ToLower(e.Data)]; ok {
			return c
		}
		for _, s := range ntStatus {
			if strings.Contains(msg, s.name) {
				return s.code
			}
		}
		return InvalidCredentials
	case ldap.LDAPResultConstraintViolation:
		switch e.WinCode {
		case winInvalidPassword:
			return WrongPassword
		case winPasswordRestriction:
			return passwordRule(lower)
		}
		if c := passwordRule(lower); c != PasswordRestriction {
			return c // OpenLDAP ppolicy wording
		}
		if strings.Contains(lower, "password fails quality checking policy") {
			return PasswordRestriction
		}
		return ConstraintViolation
	case ldap.LDAPResultInsufficientAccessRights:
		// OpenLDAP after a reset with pwdMustChange: only a password change is allowed.
		if strings.Contains(lower, "operations are restricted to bind/unbind/abandon/starttls/modify password") {
			return MustChange
		}
		return AccessDenied
	case ldap.LDAPResultUnwillingToPerform:
		switch e.WinCode {
		case winPasswordRestriction: // AD: 0000052D: SvcErr … WILL_NOT_PERFORM on a reset
			return passwordRule(lower)
		case winInvalidPassword:
			return WrongPassword
		}
		if strings.Contains(lower, "unwilling to verify old password") { // OpenLDAP exop, wrong old password
			return WrongPassword
		}
		return UnwillingToPerform
	case ldap.LDAPResultStrongAuthRequired, ldap.LDAPResultConfidentialityRequired,
		ldap.LDAPResultUnavailableCriticalExtension, ldap.LDAPResultInappropriateAuthentication:
		return UnwillingToPerform
	case ldap.LDAPResultNoSuchObject:
		return NotFound
	case ldap.LDAPResultBusy, ldap.LDAPResultUnavailable, ldap.LDAPResultServerDown,
		ldap.LDAPResultTimeLimitExceeded, ldap.LDAPResultTimeout, ldap.LDAPResultConnectError,
		ldap.ErrorNetwork:
		return Unavailable
	}
	return Unknown
}

// passwordRule refines a password-policy refusal from Samba's and OpenLDAP's
// wording; without a recognised reason it is PasswordRestriction.
func passwordRule(lower string) Code {
	switch {
	case strings.Contains(lower, "too short"):
		return TooShort
	case strings.Contains(lower, "complexity"):
		return NotComplex
	case strings.Contains(lower, "in history"), strings.Contains(lower, "already used"):
		return InHistory
	case strings.Contains(lower, "too young"):
		return TooYoung
	case strings.Contains(lower, "old password specified doesn't match"):
		return WrongPassword
	}
	return PasswordRestriction
}

// leadingWinCode parses the 8 hex digits and colon that start AD messages.
func leadingWinCode(msg string) (uint32, bool) {
	if len(msg) < 9 || msg[8] != ':' {
		return 0, false
	}
	var v uint32
	for i := 0; i < 8; i++ {
		d, ok := hexDigit(msg[i])
		if !ok {
			return 0, false
		}
		v = v<<4 | uint32(d)
	}
	return v, true
}

// dataValue returns the hex value after ", data " (AD bind errors), or "".
func dataValue(msg string) string {
	i := strings.Index(msg, "data ")
	if i < 0 {
		return ""
	}
	if i > 0 && msg[i-1] != ' ' && msg[i-1] != ',' {
		return ""
	}
	rest := msg[i+len("data "):]
	n := 0
	for n < len(rest) && n < 8 {
		if _, ok := hexDigit(rest[n]); !ok {
			break
		}
		n++
	}
	return strings.ToLower(rest[:n])
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// ppolicyFromPacket finds the OpenLDAP password policy response control in
// an LDAP message (the error's packet) and returns its error value.
func ppolicyFromPacket(p *ber.Packet) (int8, bool) {
	if p == nil || len(p.Children) < 3 {
		return 0, false
	}
	return ppolicyFromControls(decodeControls(p.Children[2]))
}

func decodeControls(p *ber.Packet) []ldap.Control {
	var out []ldap.Control
	if p == nil {
		return nil
	}
	for _, child := range p.Children {
		if c, err := ldap.DecodeControl(child); err == nil && c != nil {
			out = append(out, c)
		}
	}
	return out
}

func ppolicyFromControls(cs []ldap.Control) (int8, bool) {
	c, ok := ldap.FindControl(cs, ldap.ControlTypeBeheraPasswordPolicy).(*ldap.ControlBeheraPasswordPolicy)
	if !ok || c == nil || c.Error < 0 {
		return 0, false
	}
	return c.Error, true
}
