// Package directory is the connector's LDAP layer (go-ldap/v3): it finds
// users, reads their account state and password policy, verifies passwords,
// and resets, changes, unlocks and force-changes them.
//
// Two dialects implement Directory:
//
//   - DialectAD (Active Directory and Samba AD DC): users are found by
//     sAMAccountName, userPrincipalName or mail and addressed by objectGUID.
//     A reset is one Modify replacing unicodePwd (quoted, UTF-16LE) plus
//     pwdLastSet (0 = must change, -1 = usable now) and, optionally,
//     lockoutTime=0, with the critical policy-hints control when the DC
//     advertises it; a change is Delete(old)+Add(new) unicodePwd. Lock and
//     expiry come from msDS-User-Account-Control-Computed; the policy from
//     the domain root or the user's resultant PSO. Errors are classified from
//     the LDAP result code, the leading Windows code (0000052D…) and the bind
//     "data NNN" value or NT_STATUS name.
//   - DialectOpenLDAP (slapd with the ppolicy overlay): users are found by
//     uid or mail and addressed by entryUUID. Resets and changes use the
//     RFC 3062 Password Modify extended operation (a change bound as the user,
//     so ppolicy checks quality, history and minimum age); lock state is
//     pwdAccountLockedTime and pwdFailureTime, force change is pwdReset, and
//     the policy is the user's pwdPolicySubentry or Config.PPolicyDN. Errors
//     are classified from the ppolicy response control.
//
// Every connection is LDAPS or StartTLS with certificate checks against a CA
// or a SHA-256 pin; nothing is sent on an unencrypted connection (R43,
// ErrPlaintext). All errors are *Error values carrying a Code (R48).
package directory
