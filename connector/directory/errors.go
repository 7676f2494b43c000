package directory

import (
	"errors"
	"fmt"
	"strings"
)

// Code is the small, stable classification of a directory failure. Callers
// turn it into a localized generic message; the DC's own text never reaches a
// user (R48). The zero value is Unknown.
type Code uint8

// The codes. Bind-related ones (InvalidCredentials, MustChange, Locked,
// Disabled, Expired, AccountExpired) reveal account state and may be shown
// only after the user has been verified by other means.
const (
	Unknown             Code = iota // anything not recognised: show "reference <id>"
	PasswordRestriction             // 0000052D without a more precise reason
	WrongPassword                   // the current password given for a change is wrong
	TooShort                        // below the minimum length
	NotComplex                      // fails the complexity (character classes) rule
	InHistory                       // one of the remembered previous passwords
	TooYoung                        // changed too recently (minimum age)
	AccessDenied                    // the service account lacks the right, or the target is out of its scope
	UnwillingToPerform              // refused: unencrypted connection, malformed value, unsupported control
	Unavailable                     // DC unreachable, busy, timed out, TLS failure, or the caller's ctx ended
	InvalidCredentials              // a bind failed: unknown user or wrong password (AD data 52e)
	MustChange                      // password must be changed before use (AD data 773, ppolicy pwdReset)
	Locked                          // account locked out (AD data 775, ppolicy accountLocked)
	Disabled                        // account disabled (AD data 533)
	Expired                         // password expired (AD data 532, ppolicy passwordExpired)
	AccountExpired                  // account expired (AD data 701)
	NotFound                        // no such user (lookup, GUID, AD data 525)
	Ambiguous                       // a login matched more than one entry (R51)
	ConstraintViolation             // LDAP 19 that is not a password rule
	numCodes
)

var codeNames = [numCodes]string{
	Unknown:             "Unknown",
	PasswordRestriction: "PasswordRestriction",
	WrongPassword:       "WrongPassword",
	TooShort:            "TooShort",
	NotComplex:          "NotComplex",
	InHistory:           "InHistory",
	TooYoung:            "TooYoung",
	AccessDenied:        "AccessDenied",
	UnwillingToPerform:  "UnwillingToPerform",
	Unavailable:         "Unavailable",
	InvalidCredentials:  "InvalidCredentials",
	MustChange:          "MustChange",
	Locked:              "Locked",
	Disabled:            "Disabled",
	Expired:             "Expired",
	AccountExpired:      "AccountExpired",
	NotFound:            "NotFound",
	Ambiguous:           "Ambiguous",
	ConstraintViolation: "ConstraintViolation",
}

// String returns the code's stable name, e.g. "TooShort".
func (c Code) String() string {
	if c < numCodes {
		return codeNames[c]
	}
	return fmt.Sprintf("Code(%d)", uint8(c))
}

// MarshalText encodes the code as its name (for the wire and logs).
func (c Code) MarshalText() ([]byte, error) {
	if c >= numCodes {
		return nil, fmt.Errorf("marshal directory code: invalid code %d", uint8(c))
	}
	return []byte(c.String()), nil
}

// ParseCode returns the code named s (as String prints it).
func ParseCode(s string) (Code, bool) {
	for i, n := range codeNames {
		if n == s {
			return Code(i), true
		}
	}
	return Unknown, false
}

// Retryable reports whether the same operation may succeed later or on
// another DC without any change by the user or an administrator.
func (c Code) Retryable() bool { return c == Unavailable }

// IsPasswordRule reports whether the code means the new password was refused
// by the password policy (the user should pick another one).
func (c Code) IsPasswordRule() bool {
	switch c {
	case PasswordRestriction, TooShort, NotComplex, InHistory, TooYoung:
		return true
	}
	return false
}

// NoPPolicy is Error.PPolicy when no OpenLDAP password policy response
// control came back.
const NoPPolicy int8 = -1

// Error is a classified directory failure. Its Error() text carries the raw
// detail for logs; user-facing messages must be derived from Code only.
type Error struct {
	Code     Code
	Op       string // what we were doing, e.g. "reset password"
	LDAPCode uint16 // LDAP result code (0 when the failure was local)
	WinCode  uint32 // leading 8-hex-digit Windows code, e.g. 0x0000052D
	Data     string // AD bind "data NNN" value, e.g. "773"
	PPolicy  int8   // OpenLDAP ppolicy error 0–8, or NoPPolicy
	Err      error  // the underlying error (raw DC text: logs only)
}

// Error implements error. The text is for logs, never for users.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("directory")
	if e.Op != "" {
		b.WriteString(" ")
		b.WriteString(e.Op)
	}
	b.WriteString(": ")
	b.WriteString(e.Code.String())
	var parts []string
	if e.LDAPCode != 0 {
		parts = append(parts, fmt.Sprintf("ldap %d", e.LDAPCode))
	}
	if e.WinCode != 0 {
		parts = append(parts, fmt.Sprintf("win %08X", e.WinCode))
	}
	if e.Data != "" {
		parts = append(parts, "data "+e.Data)
	}
	if e.PPolicy != NoPPolicy && e.PPolicy >= 0 {
		parts = append(parts, fmt.Sprintf("ppolicy %d", e.PPolicy))
	}
	if len(parts) > 0 {
		b.WriteString(" (" + strings.Join(parts, ", ") + ")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(errText(e.Err))
	}
	return b.String()
}

// errText is err.Error(), but a cause whose Error panics (go-ldap's *Error
// with a nil Err does) cannot crash the caller that logs it.
func errText(err error) (s string) {
	defer func() {
		if recover() != nil {
			s = fmt.Sprintf("%T without text", err)
		}
	}()
	return err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, &Error{Code: X}) match on the code alone.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Op == "" && t.Err == nil
}

// CodeOf returns the Code of err and true; nil gives Unknown and false. An
// error that is not an *Error is classified by ParseError.
func CodeOf(err error) (Code, bool) {
	if err == nil {
		return Unknown, false
	}
	return ParseError(err).Code, true
}

// ErrPlaintext is the cause when we refuse to use a connection that is not
// protected by TLS (R43). Nothing is sent on such a connection.
var ErrPlaintext = errors.New("refusing to use an unencrypted LDAP connection")

// newError builds a local (not DC-originated) error.
func newError(op string, code Code, err error) *Error {
	return &Error{Code: code, Op: op, PPolicy: NoPPolicy, Err: err}
}

// wrap classifies err and records the operation; an *Error keeps its
// classification and gains the operation if it had none.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	e := ParseError(err)
	if e.Op == "" {
		c := *e
		c.Op = op
		return &c
	}
	return e
}
