package directory

import (
	"context"
	"fmt"
	"time"
)

// Directory is what the connector can do to user accounts in one directory.
// After Lookup every operation addresses the user by GUID and re-reads the
// DN (R51), so a renamed or moved account is still the same account. Errors
// are *Error values (use CodeOf or errors.As).
type Directory interface {
	// Lookup finds the one user whose sAMAccountName, userPrincipalName or
	// mail (AD) or uid or mail (OpenLDAP) equals login. No match gives
	// NotFound, several give Ambiguous.
	Lookup(ctx context.Context, login string) (Entry, error)
	// Get reads the user with this GUID (for guardrails before a write).
	Get(ctx context.Context, guid string) (Entry, error)
	// Status reads lock, disable, expiry and must-change state.
	Status(ctx context.Context, guid string) (Status, error)
	// VerifyPassword binds as the user on a separate, unpooled connection.
	// nil means the password is right and usable. MustChange and Expired are
	// returned only for a right password; Locked, Disabled and AccountExpired
	// may be returned whatever the password. loginOrGUID is a GUID or a login.
	VerifyPassword(ctx context.Context, loginOrGUID, password string) error
	// Reset sets a new password as the service account (admin reset).
	Reset(ctx context.Context, guid, newPassword string, opts ResetOptions) error
	// Change sets a new password given the current one; the DC checks the
	// old password, minimum age, history and complexity. It works for users
	// who must change their password and therefore cannot bind.
	Change(ctx context.Context, guid, oldPassword, newPassword string) error
	// Unlock clears a lockout and the bad-password count.
	Unlock(ctx context.Context, guid string) error
	// ForceChange makes the user change the password at next logon.
	ForceChange(ctx context.Context, guid string) error
	// Policy returns the password policy in effect for the user.
	Policy(ctx context.Context, guid string) (Policy, error)
	// Info returns what the server advertises (cached after the first read).
	Info(ctx context.Context) (ServerInfo, error)
	// Ping checks that a service connection works.
	Ping(ctx context.Context) error
	// Close releases the pooled connections.
	Close() error
}

// Entry is a user as found in the directory.
type Entry struct {
	GUID        string   // objectGUID (AD) or entryUUID (OpenLDAP), canonical lowercase
	DN          string   // distinguished name at the time of reading
	Username    string   // sAMAccountName (AD) or uid (OpenLDAP)
	UPN         string   // userPrincipalName (AD only)
	Mail        string   // mail
	Mobile      string   // mobile
	DisplayName string   // displayName (OpenLDAP: falls back to cn)
	Groups      []string // memberOf DNs (direct membership only)
	AdminCount  int      // adminCount (AD: 1 for accounts SDProp protects)
}

// Status is the account's state as the DC reports it.
type Status struct {
	Locked bool
	// LockoutEnds is when a lockout lapses by itself; zero when not locked,
	// when the lockout lasts until an administrator unlocks, or when the
	// policy could not be read.
	LockoutEnds time.Time
	// BadPwdCount is the number of recent bad passwords (AD: as counted by
	// the DC that answered; OpenLDAP: the recorded pwdFailureTime values).
	BadPwdCount int
	Disabled    bool // AD userAccountControl ACCOUNTDISABLE
	// Expired: the password is past its maximum age (not set when the user
	// must change it anyway; see MustChange).
	Expired bool
	// MustChange: an administrator requires a change at next logon (AD
	// pwdLastSet=0; OpenLDAP pwdReset).
	MustChange bool
	// AccountExpired: AD accountExpires is in the past.
	AccountExpired bool
	// PasswordLastSet is when the password was last set (zero if unknown or
	// when a change is forced).
	PasswordLastSet time.Time
}

// ResetOptions tune an admin reset.
type ResetOptions struct {
	Unlock     bool // also clear a lockout, in the same modify on AD
	MustChange bool // require a change at next logon; otherwise the password is usable at once
}

// Policy is the effective password policy for one user.
type Policy struct {
	// Source is "domain" (AD domain policy), or the DN of the PSO (AD
	// fine-grained policy) or of the ppolicy entry (OpenLDAP).
	Source           string
	MinLength        int
	Complexity       bool // AD pwdProperties bit 0 / PSO complexity; OpenLDAP: always false
	HistoryLength    int
	MinAge           time.Duration
	MaxAge           time.Duration // 0: never expires
	LockoutThreshold int           // 0: no lockout
	LockoutDuration  time.Duration // 0: until an administrator unlocks
	LockoutWindow    time.Duration // bad attempts are counted within this window (0: forever)
}

// ServerInfo is what the directory advertises in its RootDSE.
type ServerInfo struct {
	DefaultNamingContext string
	SupportedControls    []string
	SupportedExtensions  []string
	// PolicyHintsOID is the advertised LDAP_SERVER_POLICY_HINTS OID, or ""
	// when resets cannot enforce history (admin UI: "history not enforced").
	PolicyHintsOID string
	Vendor         string
}

// New validates cfg and returns the Directory for its dialect. It does not
// connect; the first operation does.
func New(cfg Config) (Directory, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c, err := newClient(cfg.withDefaults())
	if err != nil {
		return nil, err
	}
	switch cfg.Dialect {
	case DialectAD:
		return &adDirectory{client: c}, nil
	case DialectOpenLDAP:
		return &openLDAPDirectory{client: c}, nil
	}
	return nil, fmt.Errorf("new directory: unknown dialect %q", cfg.Dialect)
}
