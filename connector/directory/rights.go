package directory

import "context"

// Rights are the service account's effective rights on one user, as the DC reports them.
type Rights struct {
	Known            bool // false when the server does not report effective rights
	WriteLockoutTime bool
	WritePwdLastSet  bool
	// WriteUnicodePwd: AD reports Reset Password only through a write. The
	// Reset Password control access right is not part of
	// allowedAttributesEffective, so this is true only for an explicit
	// write-property grant on unicodePwd; false does not mean a reset fails.
	WriteUnicodePwd bool // AD reports Reset Password only through a write; see the comment
}

// RightsReader is implemented by directories that can report effective rights.
type RightsReader interface {
	EffectiveRights(ctx context.Context, guid string) (Rights, error)
}
