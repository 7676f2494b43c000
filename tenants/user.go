package tenants

import "time"

// User is a directory user's enrollment record: what Latchkey keeps about a
// person beyond the directory itself. It never holds a password.
type User struct {
	TenantID ID
	ID       string // random UUID
	// DirectoryGUID is the user's objectGUID (AD) or entryUUID (LDAP), the stable
	// address of the account; Username is the sAMAccountName/uid used to sign in.
	DirectoryGUID  string
	Username       string
	UPN            string
	DisplayName    string
	OrganisationID string
	Email          string // recovery email (directory or self-registered)
	EmailVerified  bool
	Phone          string // E.164
	PhoneVerified  bool
	Locale         string
	IsAdmin        bool // tenant admin: policy always requires two strong factors
	// Enrollment is what the user set up for self-service (JSON).
	Enrollment Enrollment
	// FailedVerifications counts failed verifications (wrong codes, answers)
	// since the last success; at the tenant's threshold self-service locks
	// until SelfServiceLockedUntil (separate from the directory lockout).
	FailedVerifications    int
	SelfServiceLockedUntil time.Time
	// FrozenAt is set when the user reported "this wasn't me": self-service
	// stays frozen for the account until an admin lifts it (zero: not frozen).
	FrozenAt time.Time
	// PushHistory is the push-approval history the flow engine keeps for
	// the user (its own JSON, opaque to the store; nil when there is none).
	PushHistory []byte
	CreatedAt   time.Time
	UpdatedAt   time.Time
}
