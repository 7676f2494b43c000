package protocol

import "time"

// Account is the answer to lookup: what the control plane may know about a
// directory account. The target of every later command is GUID.
type Account struct {
	GUID        string   `json:"guid"`
	DN          string   `json:"dn"`
	Username    string   `json:"username"`
	UPN         string   `json:"upn,omitempty"`
	Mail        string   `json:"mail,omitempty"`
	Mobile      string   `json:"mobile,omitempty"`
	DisplayName string   `json:"display_name,omitempty"`
	Groups      []string `json:"groups,omitempty"`
}

// AccountStatus is the answer to read_status.
type AccountStatus struct {
	Locked      bool      `json:"locked"`
	LockoutEnds time.Time `json:"lockout_ends,omitzero"`
	BadPwdCount int       `json:"bad_pwd_count"`
	Disabled    bool      `json:"disabled"`
	Expired     bool      `json:"expired"`
	MustChange  bool      `json:"must_change"`
}

// PasswordPolicy is the answer to read_policy: the directory's effective policy
// for the account (domain policy, or its fine-grained policy).
type PasswordPolicy struct {
	MinLength        int           `json:"min_length"`
	Complexity       bool          `json:"complexity"`
	History          int           `json:"history"`
	MinAge           time.Duration `json:"min_age"`
	MaxAge           time.Duration `json:"max_age"`
	LockoutThreshold int           `json:"lockout_threshold"`
	LockoutDuration  time.Duration `json:"lockout_duration"`
	Source           string        `json:"source,omitempty"` // "domain" or the PSO's DN
}
