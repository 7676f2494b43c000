package directory

import (
	"fmt"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// LDAP_SERVER_POLICY_HINTS (MS-ADTS 3.1.1.3.4.1.38): sent with an admin
// reset, AD applies password history and minimum age as on a change (R46).
const (
	OIDPolicyHints           = "1.2.840.113556.1.4.2239" // Windows Server 2012 and later
	OIDPolicyHintsDeprecated = "1.2.840.113556.1.4.2066" // 2008 R2, same behaviour
)

// policyHintsValue is BER SEQUENCE { INTEGER 1 } (Flags = 1: enforce policy).
const policyHintsValue = "\x30\x03\x02\x01\x01"

// policyHintsControl is the critical policy-hints request control. go-ldap has
// no type for it, and its ControlString encodes TRUE as 0x01, which Samba's
// ASN.1 reader takes as FALSE (directory-testing.md caveat 4); this one uses
// the DER TRUE (0xFF) that Windows clients send.
type policyHintsControl struct {
	oid string
}

// GetControlType returns the OID.
func (c policyHintsControl) GetControlType() string { return c.oid }

// Encode returns the BER of the control: SEQUENCE { oid, TRUE, value }.
func (c policyHintsControl) Encode() *ber.Packet {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, c.oid, "Control Type (LDAP_SERVER_POLICY_HINTS)"))
	p.AppendChild(ber.NewLDAPBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, true, "Criticality"))
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, policyHintsValue, "Control Value"))
	return p
}

// String describes the control.
func (c policyHintsControl) String() string {
	return fmt.Sprintf("Control Type: LDAP_SERVER_POLICY_HINTS (%q)  Criticality: true  Control Value: flags=1", c.oid)
}

var _ ldap.Control = policyHintsControl{}

// pickPolicyHints returns the policy-hints OID the server advertises in
// supportedControl (2239 preferred, else 2066), or "".
func pickPolicyHints(supported []string) string {
	has := map[string]bool{}
	for _, s := range supported {
		has[s] = true
	}
	switch {
	case has[OIDPolicyHints]:
		return OIDPolicyHints
	case has[OIDPolicyHintsDeprecated]:
		return OIDPolicyHintsDeprecated
	}
	return ""
}

// passwordModifyRequest builds the RFC 3062 Password Modify extended request
// with the ppolicy request control, which go-ldap's PasswordModify cannot
// carry (we need the response control to tell too-short from in-history).
func passwordModifyRequest(userDN, oldPassword, newPassword string) *ldap.ExtendedRequest {
	seq := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Password Modify Request")
	if userDN != "" {
		seq.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, userDN, "User Identity"))
	}
	if oldPassword != "" {
		seq.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 1, oldPassword, "Old Password"))
	}
	if newPassword != "" {
		seq.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 2, newPassword, "New Password"))
	}
	req := ldap.NewExtendedRequest(oidPasswordModify, seq)
	req.Controls = []ldap.Control{ldap.NewControlBeheraPasswordPolicy()}
	return req
}

const oidPasswordModify = "1.3.6.1.4.1.4203.1.11.1"
