package tenants

import "time"

// Organisation groups a tenant's users that share a policy, the way Passly's
// "Directory Manager → organisation" or LogonBox's authentication policies do.
type Organisation struct {
	TenantID ID
	ID       string // random UUID
	Name     string
	// Rules decide which users belong here; the first organisation (by Priority,
	// then Name) with a matching rule wins. An organisation without rules only
	// receives users as the tenant's default organisation.
	Rules    []MatchRule
	Priority int // lower first
	// Policy overrides the tenant's default policy; unset fields inherit.
	Policy          Policy
	ResourceVersion int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// MatchKind names what a MatchRule compares.
type MatchKind string

// The kinds of organisation rules.
const (
	MatchDNSuffix  MatchKind = "dn_suffix"  // the user's DN ends with Value (an OU or domain)
	MatchGroup     MatchKind = "group"      // the user is a member of the group whose DN is Value
	MatchUPNDomain MatchKind = "upn_domain" // the user's UPN ends with "@"+Value
)

// MatchRule is one rule on directory data.
type MatchRule struct {
	Kind  MatchKind `json:"kind"`
	Value string    `json:"value"`
}
